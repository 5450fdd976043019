"""The conformance suite's `authorization` command against Orchestra's issuer: the
metadata endpoint scenario, and the authorization code grant, whose printed
authorization URL a signed-in person consents to through real HTTP (the suite's
callback server then receives the code and exchanges it)."""

from __future__ import annotations

import re
import subprocess
import time

import httpx2
import pytest
from oauth2_provider.models import get_application_model

from tests.acceptance.test_conformance import CONFORMANCE, NODE, NODE_DIR, require
from tests.conftest import free_port
from tests.oauth.flow import hidden_fields, verified

pytestmark = [pytest.mark.acceptance]


def authorization(*args: str, **kwargs) -> subprocess.Popen[str]:
    require(CONFORMANCE)
    return subprocess.Popen(
        [str(NODE), str(CONFORMANCE), "authorization", *args],
        cwd=NODE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_authorization_server_metadata_endpoint(live) -> None:
    process = authorization("--url", live.url, "--scenario", "authorization-server-metadata-endpoint")
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out[-3000:]
    assert "FAILURE" not in out and " 0 failed" in out, out[-3000:]


def test_authorization_code_grant(live, alice, acme) -> None:
    verified(alice, "pw-alice-123456")
    app = get_application_model().objects.create(
        name="Conformance suite",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="http://127.0.0.1/callback",  # loopback: the suite's port, whatever it is
        client_secret="",
        registration_source="dcr",
    )
    port = free_port()
    process = authorization(
        # Every scenario (the code grant reads what the metadata scenario found).
        "--url",
        live.url,
        "--client-id",
        app.client_id,
        "--resource",
        live.mcp_url,
        "--port",
        str(port),
    )
    assert process.stdout is not None
    lines: list[str] = []
    url = None
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.match(rf"{re.escape(live.url)}/oauth/authorize/\?", line.strip()):
            url = line.strip()
    assert url, "".join(lines)

    with httpx2.Client(base_url=live.url, follow_redirects=False, timeout=30) as person:
        login = person.get("/accounts/login/")
        person.post(
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": hidden_fields(login.text)["csrfmiddlewaretoken"],
                "login": "alice@example.com",
                "password": "pw-alice-123456",
            },
        )
        page = person.get(url)
        assert page.status_code == 200, page.text[:2000]
        data = {**hidden_fields(page.text), "mode": "live", "access": "write", "project": "", "allow": "on"}
        answer = person.post("/oauth/authorize/", data=data)
        assert answer.status_code == 302, answer.text[:2000]
        callback = answer.headers["location"]
        assert callback.startswith(f"http://127.0.0.1:{port}/callback?")
        assert httpx2.get(callback, timeout=10).status_code == 200  # the suite's callback server

    out, _ = process.communicate(timeout=120)
    output = "".join(lines) + out
    assert process.returncode == 0, output[-3000:]
    assert "FAILURE" not in output and " 0 failed" in output, output[-3000:]
