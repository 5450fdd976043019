"""A local stand-in for a client's https metadata document (CIMD), and the fetcher the
test server uses to reach it: the client id `https://client.test/…` is fetched from
CIMD_STANDIN_URL (http://127.0.0.1:port) instead, and nothing else is reachable."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from oauth2_provider.cimd import CIMDError

CLIENT_ID = "https://client.test/oauth/client-metadata.json"


class StandInFetcher:
    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        parts = urlsplit(client_id)
        if parts.scheme != "https" or parts.hostname != "client.test":
            raise CIMDError("the stand-in serves client.test only")
        url = os.environ["CIMD_STANDIN_URL"] + parts.path
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (a local http stand-in)
            return json.loads(response.read()), 300


def metadata(redirect_uri: str) -> dict[str, Any]:
    return {
        "client_id": CLIENT_ID,
        "client_name": "CIMD agent",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    }


class StandIn:
    """Serves the metadata document over HTTP on a free local port."""

    def __init__(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.requests: list[str] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests.append(self.path)
                if self.path != urlsplit(CLIENT_ID).path:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
