"""Real servers on loopback for the tests: an HTTP server whose routes a test scripts, and an
SMTP server (aiosmtpd) that collects messages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from services import postgres_server, postgres_url, redis_server, redis_url  # noqa: F401

from monitor import config

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@dataclass
class Route:
    """What the test server answers on one path. ``handler`` overrides everything else."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between 1 KB chunks of the body
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None


@dataclass
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float


class TestHTTPServer:
    """A threaded HTTP server on 127.0.0.1:0; ``routes`` maps a path to a Route."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def handle(self) -> None:
                # A client that gives up (timeouts, size limits) resets the connection; that
                # is the behaviour under test, not a server error worth a traceback.
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass

            def do_GET(self) -> None:
                with server._lock:
                    server.log.append(
                        LoggedRequest(
                            "GET", self.path, dict(self.headers.items()), time.monotonic()
                        )
                    )
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                if route.handler is not None:
                    route.handler(self)
                    return
                if route.delay:
                    time.sleep(route.delay)
                etag = route.headers.get("ETag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    if route.drip:
                        for start in range(0, len(route.body), 1024):
                            self.wfile.write(route.body[start : start + 1024])
                            self.wfile.flush()
                            time.sleep(route.drip)
                    else:
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_HEAD = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        # A short poll interval makes shutdown() at teardown take 50 ms instead of 500 ms.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **kwargs: Any) -> str:
        """Serve ``body`` at ``path``; returns the full URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kwargs)
        return self.url(path)

    def requests_for(self, path: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if r.path == path]


@pytest.fixture
def http_server() -> Iterator[TestHTTPServer]:
    server = TestHTTPServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


class SMTPCollector:
    """aiosmtpd handler that keeps every message; ``refuse`` makes it answer 451."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 Requested action aborted: try again later"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SMTPServer:
    host: str
    port: int
    collector: SMTPCollector

    @property
    def messages(self) -> list[Message]:
        return self.collector.messages


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    from aiosmtpd.controller import Controller

    collector = SMTPCollector()
    # aiosmtpd's start() connects to the configured port to check the server is up, so it
    # cannot be 0: take a free port from the OS first.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", controller.server.sockets[0].getsockname()[1], collector)
    finally:
        controller.stop()


@pytest.fixture
def settings(tmp_path: Path) -> config.Settings:
    """Settings pointing at a temporary data directory and the shipped watchlists; loopback
    addresses are allowed because the test servers live there."""
    return config.load(
        None,
        env={},
        data_dir=str(tmp_path / "data"),
        allow_private_addresses=True,
        per_host_delay=0.0,
        http_timeout=5.0,
    )
