"""GitHub's failures as tool errors: one line a model can act on, never a 500."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed

from githubint.client import message_of, status_of
from orchestra.errors import PermissionDenied, RateLimited, ToolError, UpstreamError


def unwrap(exc: GitHubException) -> GitHubException:
    """The failure itself: one raised while getting an installation token (inside the
    auth flow) reaches us wrapped in a RequestError."""
    while isinstance(exc, RequestError) and isinstance(exc.exc, GitHubException):
        exc = exc.exc
    return exc


def github_error(exc: GitHubException, doing: str) -> ToolError:
    exc = unwrap(exc)
    if isinstance(exc, RateLimitExceeded):
        reset = datetime.now(UTC) + exc.retry_after
        return RateLimited(
            f"GitHub's rate limit is exhausted while {doing}; retry after {reset:%Y-%m-%dT%H:%M:%SZ}",
            details={"retry_after_seconds": int(exc.retry_after.total_seconds()), "reset_at": reset.isoformat()},
        )
    status = status_of(exc)
    if status in (401, 403):
        return PermissionDenied(f"GitHub refused {doing}: {message_of(exc)}", details={"github_status": status})
    if isinstance(exc, RequestFailed):
        return UpstreamError(f"GitHub failed {doing}: {message_of(exc)}", details={"github_status": status})
    return UpstreamError(f"GitHub could not be reached while {doing}", details={"github_error": type(exc).__name__})


@contextlib.contextmanager
def github_errors(doing: str) -> Iterator[None]:
    """Turn any githubkit failure in the block into a tool error."""
    try:
        yield
    except GitHubException as exc:
        raise github_error(exc, doing) from None
