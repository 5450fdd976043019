"""The REST API's body parser: JSON through the same bounded parser as MCP.

DRF's own JSONParser uses Python's json, which recurses: a body nested about 1,000
deep raised RecursionError (an HTML 500). Kept apart from the views, like
rest_auth.py: DRF imports parser classes while it is itself being imported.
"""

from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from orchestra import bounded_json


class BoundedJSONParser(JSONParser):
    """application/json, nested at most bounded_json.MAX_DOCUMENT_DEPTH deep; NaN and
    Infinity are refused (they are not JSON)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return bounded_json.loads(stream.read())
        except ValueError as exc:  # JsonTooDeep included
            raise ParseError(f"JSON parse error - {exc}") from None
