"""githubkit clients for the organization's connection, the App itself, and a person.

- As the App (its RS256 JWT): installation details, installation access tokens.
- As an installation: every repository call. githubkit asks GitHub for an installation
  token (an hour) and keeps it in the cache strategy below: Django's cache, which is
  Redis when REDIS_URL is set, so every process shares it. It never reaches the database.
- As a fine-grained personal access token (the alternative to the App).
- As a person (their user token from the App's OAuth): which installations they may see.

Rate limits: a call made while an agent waits is not held for an hour: a rate limit
whose reset is more than a few seconds away is raised (GitHubRateLimited), and the sync
task retries when GitHub says it may. 5xx answers are retried twice.
HTTP caching is off: responses are never shared between organizations' credentials.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from githubkit import AppAuthStrategy, GitHub, TokenAuthStrategy
from githubkit.cache.base import AsyncBaseCache, BaseCache, BaseCacheStrategy
from githubkit.exception import CacheUnsupportedError, GitHubException, RateLimitExceeded, RequestFailed
from githubkit.retry import RetryOption, RetryServerError
from githubkit.typing import RetryDecisionFunc

from orchestra.errors import Conflict

CACHE_PREFIX = "github:"
MAX_PAGES = 10  # 1,000 items of anything is more than a repository summary needs
PER_PAGE = 100
USER_AGENT = "Orchestra (GitHub App)"
_NEXT = re.compile(r'<[^<>]+>;\s*rel="next"')


class DjangoCache(BaseCache, AsyncBaseCache):
    def get(self, key: str) -> str | None:
        value = cache.get(CACHE_PREFIX + key)
        return value if isinstance(value, str) else None

    def set(self, key: str, value: str, ex: timedelta) -> None:
        seconds = int(ex.total_seconds())
        if seconds > 0:
            cache.set(CACHE_PREFIX + key, value, seconds)

    async def aget(self, key: str) -> str | None:
        value = await cache.aget(CACHE_PREFIX + key)
        return value if isinstance(value, str) else None

    async def aset(self, key: str, value: str, ex: timedelta) -> None:
        seconds = int(ex.total_seconds())
        if seconds > 0:
            await cache.aset(CACHE_PREFIX + key, value, seconds)


class DjangoCacheStrategy(BaseCacheStrategy):
    """githubkit's token cache in Django's cache (shared by every process with Redis)."""

    def get_cache_storage(self) -> BaseCache:
        return DjangoCache()

    async def get_async_cache_storage(self) -> AsyncBaseCache:
        return DjangoCache()

    def get_hishel_storage(self) -> Any:
        raise CacheUnsupportedError("HTTP caching is off for Orchestra's GitHub clients")

    async def get_async_hishel_storage(self) -> Any:
        raise CacheUnsupportedError("HTTP caching is off for Orchestra's GitHub clients")


class ShortRateLimitWait:
    """Retry a rate limit only when GitHub allows the next call within `seconds`."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if isinstance(exc, RateLimitExceeded) and retry_count < 1 and exc.retry_after.total_seconds() <= self.seconds:
            return RetryOption(True, exc.retry_after)
        return RetryOption(False)


_server_errors = RetryServerError(max_retry=2)


def _retry(exc: GitHubException, retry_count: int) -> RetryOption:
    option = ShortRateLimitWait()(exc, retry_count)
    return option if option.do_retry else _server_errors(exc, retry_count)


RETRY: RetryDecisionFunc = _retry


def app_configured() -> bool:
    return bool(settings.GITHUB_APP_ID and settings.GITHUB_APP_PRIVATE_KEY)


def _github(auth: Any) -> GitHub[Any]:
    return GitHub(
        auth,
        base_url=settings.GITHUB_API_URL + "/",
        user_agent=USER_AGENT,
        timeout=settings.GITHUB_TIMEOUT_SECONDS,
        cache_strategy=DjangoCacheStrategy(),
        http_cache=False,
        auto_retry=RETRY,
    )


def _app_strategy() -> AppAuthStrategy:
    if not app_configured():
        raise Conflict(
            "GitHub is not connected: this server has no GitHub App (set GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY "
            "and GITHUB_APP_SLUG; see README, Connect GitHub)"
        )
    return AppAuthStrategy(
        settings.GITHUB_APP_ID,
        settings.GITHUB_APP_PRIVATE_KEY,
        client_id=settings.GITHUB_APP_CLIENT_ID or None,
        client_secret=settings.GITHUB_APP_CLIENT_SECRET or None,
    )


def app_client() -> GitHub[Any]:
    """GitHub as the App itself (its JWT)."""
    return _github(_app_strategy())


def installation_client(installation_id: int) -> GitHub[Any]:
    """GitHub as one installation of the App (installation tokens, cached)."""
    return _github(_app_strategy().as_installation(installation_id))


def token_client(token: str) -> GitHub[Any]:
    """GitHub as a personal access token (or a person's user token)."""
    return _github(TokenAuthStrategy(token))


def json_of(response: Any) -> Any:
    """A response's JSON as plain data. githubkit's parsed models validate GitHub's whole
    schema; Orchestra reads the few fields it needs from the JSON itself."""
    return response.json()


def next_page(response: Any) -> bool:
    return bool(_NEXT.search(response.headers.get("link", "")))


def all_pages(fetch: Callable[[int], Any], *, key: str | None = None) -> Iterator[Any]:
    """Items of a paginated list call: `fetch(page)` answers one page (Link header)."""
    for page in range(1, MAX_PAGES + 1):
        response = fetch(page)
        data = response.json()
        yield from (data[key] if key else data)
        if not next_page(response):
            return


def status_of(exc: BaseException) -> int | None:
    return exc.response.status_code if isinstance(exc, RequestFailed) else None


def message_of(exc: BaseException) -> str:
    """GitHub's own message (and validation errors) of a failed call, one line."""
    if not isinstance(exc, RequestFailed):
        return type(exc).__name__
    try:
        body = exc.response.json()
    except ValueError:
        return f"HTTP {exc.response.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {exc.response.status_code}"
    parts = [str(body.get("message") or f"HTTP {exc.response.status_code}")]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            parts.append(str(error.get("message") or error.get("code") or ""))
        else:
            parts.append(str(error))
    return ": ".join(p for p in parts if p)[:300]
