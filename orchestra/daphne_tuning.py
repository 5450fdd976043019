"""One setting Daphne does not expose.

Twisted parses every POST body that looks like a form into `request.args`, and to
decide, parses the Content-Type header through the `email` package: about 15% of the
CPU of a small MCP request. Daphne never reads `request.args` (it hands the raw body
to the ASGI application, and Django parses forms itself), so the work is wasted, and
for large multipart uploads it doubles the memory. Turn it off for Daphne's requests.
"""

from __future__ import annotations

from typing import Any


def skip_twisted_form_parsing() -> None:
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # not served by Daphne
        return
    if getattr(WebRequest, "_orchestra_tuned", False):
        return
    original = WebRequest.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parsePOSTFormSubmission", False)
        original(self, *args, **kwargs)

    WebRequest.__init__ = __init__
    WebRequest._orchestra_tuned = True
