"""Helpers of the people tests that drive a real server (tests.people_fixtures
starts it): its mailbox, the GitHub stand-in, forms posted the way a browser does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import httpx2

from tests.conftest import LiveServer
from tests.github_standin import GitHubStandIn, GitHubUser
from tests.mailbox import Mailbox


@dataclass
class PeopleServer:
    server: LiveServer
    mailbox: Mailbox
    github: GitHubStandIn

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, follow_redirects=True, timeout=20)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def post_form(client: httpx2.Client, path: str, data: dict[str, str], *, page: str | None = None) -> httpx2.Response:
    """Submit a form the way a browser does: read the page's CSRF token, post."""
    html = client.get(page or path).text
    return client.post(path, data={"csrfmiddlewaretoken": csrf_of(html), **data})


def link_in(body: str, fragment: str) -> str:
    links = [unescape(link) for link in re.findall(r"https?://\S+", body) if fragment in link]
    assert links, f"no link with {fragment!r} in:\n{body}"
    return links[0]


__all__ = ["GitHubUser", "PeopleServer", "csrf_of", "link_in", "post_form"]
