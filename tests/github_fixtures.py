"""GitHub for tests: the local stand-in (tests/github_standin.py) playing GitHub's API,
a GitHub App key pair generated here, and settings that point githubkit at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.github_standin import GitHubStandIn

WEBHOOK_SECRET = "whsec-test-0123456789"
APP_CLIENT_ID = "Iv1.standin-app"
APP_CLIENT_SECRET = "standin-app-secret"

_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APP_PRIVATE_KEY = _key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
APP_PUBLIC_KEY = (
    _key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
)

# The stand-in of the running test (build_world connects GitHub through it).
current: dict[str, GitHubStandIn] = {}


def github_env(standin: GitHubStandIn) -> dict[str, str]:
    """The same settings as environment variables, for servers and workers."""
    return {
        "GITHUB_APP_ID": str(standin.app_id),
        "GITHUB_APP_PRIVATE_KEY": APP_PRIVATE_KEY,
        "GITHUB_APP_SLUG": standin.app_slug,
        "GITHUB_APP_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_APP_CLIENT_ID": APP_CLIENT_ID,
        "GITHUB_APP_CLIENT_SECRET": APP_CLIENT_SECRET,
        "GITHUB_API_URL": f"{standin.url}/api/v3",
        "GITHUB_URL": standin.url,
    }


@pytest.fixture(scope="session")
def github_standin() -> Iterator[GitHubStandIn]:
    standin = GitHubStandIn(app_public_key=APP_PUBLIC_KEY, client_id=APP_CLIENT_ID, client_secret=APP_CLIENT_SECRET)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def github(github_standin: GitHubStandIn, settings: Any) -> Iterator[GitHubStandIn]:
    """A configured GitHub App whose API is the stand-in, emptied for this test."""
    standin = github_standin
    with standin._lock:
        standin.installations.clear()
        standin.repos.clear()
        standin.pats.clear()
        standin.requests.clear()
        standin.rate_limit_next = 0
        standin.rate_limit_reset_in = 3600
        standin.rate_limit_only = ""
        standin.setup_url = ""
        standin.install_repositories = []
        standin.forge_installation_id = None
        standin.access_tokens_issued = 0
    settings.GITHUB_APP_ID = str(standin.app_id)
    settings.GITHUB_APP_PRIVATE_KEY = APP_PRIVATE_KEY
    settings.GITHUB_APP_SLUG = standin.app_slug
    settings.GITHUB_APP_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.GITHUB_APP_CLIENT_ID = APP_CLIENT_ID
    settings.GITHUB_APP_CLIENT_SECRET = APP_CLIENT_SECRET
    settings.GITHUB_API_URL = f"{standin.url}/api/v3"
    settings.GITHUB_URL = standin.url
    current["standin"] = standin
    yield standin
    current.pop("standin", None)


@pytest.fixture(scope="module")
def github_server(
    github_standin: GitHubStandIn,
    django_db_setup: Any,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A real server (`manage.py serve`) whose GitHub App is the stand-in."""
    from tests.conftest import start_server, stop_server

    with django_db_blocker.unblock():
        server = start_server(tmp_path_factory.mktemp("github-server"), github_env(github_standin))
    yield server
    stop_server(server)
