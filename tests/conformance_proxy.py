"""A tiny reverse proxy that adds `Authorization: Bearer TOKEN` to every request.

The MCP conformance suite (npm `@modelcontextprotocol/conformance`) cannot send an
Authorization header, and every Orchestra request needs one. Put this in front of the
server and point the suite at the proxy:

    python tests/conformance_proxy.py --listen-port 8765 --target http://127.0.0.1:8000 --token TOKEN
    conformance server --url http://127.0.0.1:8765/mcp --scenario tools-list

It forwards every request (any method, path, query, headers and body) unchanged and
adds only the Authorization header. The Host header reaches the target exactly as the
client sent it, so DNS-rebinding checks still see the original Host. Responses are
passed through status, headers and body alike, and bodies are streamed chunk by chunk
as they arrive (long-lived `text/event-stream` responses included). When the client
goes away mid-stream, the upstream connection is closed so the target sees the
disconnect too. Standard library only. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import http.client
import select
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 section 7.6.1) describe one connection, not the message,
# so they are not forwarded; framing is redone on each side.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
CHUNK = 64 * 1024


class ClientGone(Exception):
    """The client closed its connection."""


def _hop_by_hop(headers: list[tuple[str, str]]) -> set[str]:
    names = set(HOP_BY_HOP)
    for name, value in headers:
        if name.lower() == "connection":
            names.update(part.strip().lower() for part in value.split(",") if part.strip())
    return names


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    # BaseHTTPRequestHandler dispatches to do_<METHOD>; answer every method the same way.
    def __getattr__(self, name: str):
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:
        if self.server.verbose:
            sys.stderr.write(f"[proxy] {self.address_string()} {format % args}\n")

    def log_error(self, format: str, *args) -> None:
        self.log_message(format, *args)

    # --- request --------------------------------------------------------------------
    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ClientGone
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers, dropped
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)  # CRLF after each chunk
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        return self.rfile.read(int(length))

    def _proxy(self) -> None:
        try:
            self._forward()
        except (ClientGone, BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            self.close_connection = True

    def _forward(self) -> None:
        target = self.server.target
        body = self._read_body()
        incoming = list(self.headers.items())
        drop = _hop_by_hop(incoming) | {"expect"}  # 100-continue was answered here already
        had_chunked_body = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        headers = []
        for name, value in incoming:
            lname = name.lower()
            if lname in drop:
                continue
            if lname == "authorization" and self.server.token:
                continue  # replaced by ours below
            headers.append((name, value))
        if self.server.token:
            headers.append(("Authorization", f"Bearer {self.server.token}"))
        if not any(name.lower() == "host" for name, _ in headers):
            headers.append(("Host", target.netloc))  # an HTTP/1.0 client may send none
        if had_chunked_body and body is not None:
            headers.append(("Content-Length", str(len(body))))

        conn_cls = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(target.hostname, target.port)
        path = target.path.rstrip("/") + self.path if target.path not in ("", "/") else self.path
        try:
            conn.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders(body)
            upstream = conn.getresponse()
        except OSError as exc:
            conn.close()
            self._bad_gateway(exc)
            return
        try:
            self._relay(upstream, conn)
        finally:
            upstream.close()
            conn.close()

    def _bad_gateway(self, exc: Exception) -> None:
        message = f"conformance_proxy: cannot reach target: {exc}\n".encode()
        self.send_response_only(502)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(message)))
        self.end_headers()
        self.wfile.write(message)
        self.log_message('"%s" 502 (%s)', self.requestline, exc)

    # --- response -------------------------------------------------------------------
    def _relay(self, upstream: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> None:
        response_headers = upstream.getheaders()
        drop = _hop_by_hop(response_headers)
        length = upstream.getheader("Content-Length")
        no_body = self.command == "HEAD" or upstream.status in (204, 304) or 100 <= upstream.status < 200
        chunked_out = not no_body and length is None and self.request_version == "HTTP/1.1"
        if not no_body and length is None and not chunked_out:
            self.close_connection = True  # HTTP/1.0 client: the body ends when we close

        # send_response_only: no Server or Date header of our own.
        self.send_response_only(upstream.status, upstream.reason)
        for name, value in response_headers:
            if name.lower() not in drop:
                self.send_header(name, value)
        if chunked_out:
            self.send_header("Transfer-Encoding", "chunked")
        if upstream.will_close and length is None and not chunked_out:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        self.log_message('"%s" %s', self.requestline, upstream.status)
        if no_body:
            return

        done = threading.Event()
        watcher = threading.Thread(target=self._watch_client, args=(done, conn), daemon=True)
        watcher.start()
        try:
            while True:
                try:
                    data = upstream.read1(CHUNK)
                except (OSError, http.client.HTTPException, ValueError):
                    if done.is_set():
                        raise ClientGone from None
                    # Upstream broke off mid-body; end our side the same way.
                    self.close_connection = True
                    return
                if not data:
                    break
                if chunked_out:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                self.wfile.flush()
            if chunked_out:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        finally:
            done.set()

    def _watch_client(self, done: threading.Event, conn: http.client.HTTPConnection) -> None:
        """While a body streams, notice the client hanging up and close the upstream
        connection, so a long-lived stream ends on the target too."""
        sock = self.connection
        while not done.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], 0.25)
            except (OSError, ValueError):
                return
            if not readable:
                continue
            try:
                peeked = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                peeked = b""
            if peeked:
                return  # the client is talking (a next request), not hanging up
            if done.is_set():
                return
            done.set()
            try:
                if conn.sock is not None:
                    conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], target: str, token: str, verbose: bool) -> None:
        super().__init__(address, ProxyHandler)
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SystemExit(f"--target must be an http(s) URL, got {target!r}")
        self.target = parts
        self.token = token
        self.verbose = verbose

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, ClientGone)):
            return
        if self.verbose:
            super().handle_error(request, client_address)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--listen-port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--target", required=True, help="e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="sent as Authorization: Bearer TOKEN ('' sends none)")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    server = ProxyServer((args.listen_host, args.listen_port), args.target, args.token, args.verbose)

    def stop(signum, frame) -> None:
        # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"conformance_proxy listening on http://{host}:{port} -> {args.target}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
