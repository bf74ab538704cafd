"""A real HTTP server on 127.0.0.1 for the outbound-HTTP and channel tests.

It records every request (method, path, headers, body bytes) and answers each path from a
script: replies are used in order and the last one repeats. Unscripted paths answer 200.
Test modules wrap it in a fixture (`with Receiver() as receiver: yield receiver`).
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from alerts.channels import Notice


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler still sleeping in a timeout test must not hold up teardown
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real webhook endpoints do
    server: _Server

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply = self.server.receiver._record(Received(self.command, self.path, headers, body))
        if reply.delay:
            threading.Event().wait(reply.delay)
        payload = reply.body.encode()
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (read timeout): nothing to answer

    do_POST = do_GET = do_PUT = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean


class Receiver:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if ssl_context is not None else "http"
        self.port = int(self._server.server_address[1])
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer `path` (without query string) with `replies` in order, then the last forever."""
        with self._lock:
            self._scripts[path] = list(replies)

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    def _record(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            replies = self._scripts.get(received.path.split("?", 1)[0])
            if not replies:
                return Reply()
            return replies.pop(0) if len(replies) > 1 else replies[0]


def sample_notice(**overrides: Any) -> Notice:
    """The Notice the channel tests format (kept here so every kind's test uses the same one)."""
    values: dict[str, Any] = {
        "kind": "opened",
        "title": "Error rate 12.5 % on orders-create",
        "summary": "12.5 % of 400 invocations failed in the last 5 minutes (threshold 5 %).",
        "severity": "critical",
        "organization": "Acme",
        "url": "https://dashbird.example.com/alerts/incidents/42/",
        "incident_id": 42,
        "dedup_key": "dashbird-incident-42",
        "resource": "orders-create",
        "rule": "Errors above 5 %",
        "fields": {"value": "12.5 %", "threshold": "5 %", "window": "5 min", "region": "eu-west-1"},
        "occurred_at": "2026-01-02T03:04:05Z",
    }
    values.update(overrides)
    return Notice(**values)
