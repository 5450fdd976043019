"""A local stand-in for GitHub's OAuth and user API, for tests.

GitHub cannot be reached from here, so tests point allauth's GitHub provider at
this server through GITHUB_URL (the GitHub Enterprise setting): allauth then sends
the browser to {url}/login/oauth/authorize, exchanges the code at
{url}/login/oauth/access_token and reads {url}/api/v3/user and /api/v3/user/emails,
exactly as it would on github.com. Authorizing is automatic, as the person in
`user` (change it between logins to play another GitHub account).
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str
    email: str
    verified: bool = True


@dataclass
class GitHubStandIn:
    client_id: str = "standin-client-id"
    client_secret: str = "standin-client-secret"
    user: GitHubUser = field(default_factory=lambda: GitHubUser(4242, "octo", "Octo Cat", "octo@example.com"))
    requests: list[str] = field(default_factory=list)  # "METHOD /path", in order
    _codes: dict[str, GitHubUser] = field(default_factory=dict)
    _tokens: dict[str, GitHubUser] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the endpoints -------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        self.requests.append(f"{method} {parts.path}")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "GET" and parts.path == "/login/oauth/authorize":
            return self._authorize(handler, query)
        if method == "POST" and parts.path == "/login/oauth/access_token":
            length = int(handler.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
            return self._access_token(handler, {**query, **form})
        if method == "GET" and parts.path in ("/api/v3/user", "/api/v3/user/emails"):
            user = self._tokens.get(handler.headers.get("Authorization", "").removeprefix("token ").strip())
            if user is None:
                return _json(handler, 401, {"message": "Bad credentials"})
            if parts.path == "/api/v3/user":
                return _json(
                    handler,
                    200,
                    {
                        "id": user.id,
                        "login": user.login,
                        "name": user.name,
                        "email": user.email,
                        "avatar_url": "",
                        "html_url": f"{self.url}/{user.login}",
                    },
                )
            return _json(
                handler,
                200,
                [{"email": user.email, "primary": True, "verified": user.verified, "visibility": "private"}],
            )
        return _json(handler, 404, {"message": "Not Found"})

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return _json(handler, 400, {"error": "bad authorize request"})
        code = secrets.token_hex(10)
        self._codes[code] = self.user
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _access_token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _json(handler, 401, {"error": "incorrect_client_credentials"})
        user = self._codes.pop(form.get("code", ""), None)
        if user is None:
            return _json(handler, 400, {"error": "bad_verification_code"})
        token = f"gho_{secrets.token_hex(16)}"
        self._tokens[token] = user
        return _json(handler, 200, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})


def _json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
