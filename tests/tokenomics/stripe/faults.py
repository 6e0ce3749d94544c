"""Fault injection at the HTTP boundary: a small proxy between `stripe_client` and localstripe.

It forwards every request to localstripe, and for the first `drops` POSTs to `drop_path` it lets
localstripe execute the request and then closes the connection without answering: a response lost
after Stripe committed. The stripe library sees a connection error and retries.

localstripe ignores `Idempotency-Key`, so the proxy also plays that part of Stripe (documented at
docs.stripe.com/api/idempotent_requests): the first response under a key is saved once the request
was executed and replayed to every later request with that key; the same key with other
parameters is a 400 idempotency_error. Without this, no retry strategy could be tested here; with
it, the tests check what is ours: that every retry carries the same derived key and parameters.
"""

from __future__ import annotations

import http.client
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_CONFLICT = (
    b'{"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be used '
    b'with the same parameters they were first used with."}}'
)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    key: str | None
    outcome: str  # "forwarded", "replayed", "conflict"
    dropped: bool


@dataclass
class _Saved:
    body: bytes
    status: int
    headers: list[tuple[str, str]]
    response: bytes


@dataclass
class DroppingProxy:
    target: str  # localstripe's base URL
    drop_path: str = ""
    drops: int = 0
    seen: list[Seen] = field(default_factory=list)
    _saved: dict[str, _Saved] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def requests(self, *, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.split("?")[0] == path]

    def start(self) -> DroppingProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_DELETE(self) -> None:
                proxy._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        target = urlsplit(self.target)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=30)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_HEADERS}
        conn.request(handler.command, handler.path, body=body or None, headers=headers)
        response = conn.getresponse()
        data = response.read()
        out = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS]
        conn.close()
        return response.status, out, data

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        key = handler.headers.get("Idempotency-Key")
        path = handler.path.split("?")[0]
        with self._lock:
            saved = self._saved.get(key) if key and handler.command == "POST" else None
            if saved is not None and saved.body != body:
                outcome = "conflict"
                status, headers, data = 400, [("Content-Type", "application/json")], _CONFLICT
            elif saved is not None:
                outcome = "replayed"
                status, headers, data = saved.status, saved.headers, saved.response
            else:
                outcome = "forwarded"
                status, headers, data = self._forward(handler, body)
                if key and handler.command == "POST":
                    self._saved[key] = _Saved(body=body, status=status, headers=headers, response=data)
            drop = handler.command == "POST" and path == self.drop_path and self.drops > 0
            if drop:
                self.drops -= 1
            self.seen.append(Seen(handler.command, handler.path, key, outcome, drop))
        if drop:
            # Executed (and saved) above; the answer never reaches the client.
            handler.close_connection = True
            return
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
