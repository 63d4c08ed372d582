"""`monitor serve`: the output directory (feeds, digest pages, baseline pages) over HTTP.

``/`` is index.html (today's digest, the baselines, the feeds); folders are never listed.
``POST /feedback`` (the right/wrong buttons beside each follow-up) records a reader's verdict.
It changes state, so it is refused unless the request comes from a page of this server: its
Origin (or, without one, its Referer) must be this server's own address, and the Host it was
sent to must be one of those addresses too (a DNS-rebinding page names its own host).

Static files only, from the standard library's server, with validators so feed readers can
poll cheaply: every file carries an ETag (from its mtime and size) and Last-Modified, and a
conditional request (If-None-Match, or If-Modified-Since without it) gets 304 when the file
is unchanged. Outputs are written atomically and only when their bytes change, so the
validators change exactly when the content does.
"""

from __future__ import annotations

import email.utils
import functools
import html
import io
import os
import socket
from collections.abc import Callable
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.errors import ConfigError, MonitorError

# (article id, baseline id, "right" or "wrong") -> stored; MonitorError says what is wrong
FeedbackSink = Callable[[int, str, str], None]
FORM_BYTES = 4096  # a verdict form is a few dozen bytes

# Feed files get their registered media types; mimetypes only knows "application/xml".
_TYPES = {
    "feed.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
}
_SUFFIX_TYPES = {".atom": "application/atom+xml; charset=utf-8"}  # baselines/<id>.atom
# What / shows before the first run has written index.html.
_NOTHING_YET = (
    b"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Follow-up monitor</title>"
    b"</head><body><h1>Follow-up monitor</h1><p>Nothing written yet: run "
    b"<code>monitor run --once</code> (or leave <code>monitor run</code> running) and reload."
    b"</p></body></html>\n"
)


def etag_of(stat: os.stat_result) -> str:
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'


class OutputHandler(SimpleHTTPRequestHandler):
    server_version = "followup-monitor"

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "quiet", False):
            return
        super().log_message(format, *args)

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        name = Path(path).name
        if name in _TYPES:
            return _TYPES[name]
        if Path(name).suffix in _SUFFIX_TYPES:
            return _SUFFIX_TYPES[Path(name).suffix]
        kind = super().guess_type(path)
        return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind

    def end_headers(self) -> None:
        etag = getattr(self, "_etag", None)
        if etag:
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "no-cache")  # revalidate; 304s are cheap
        super().end_headers()

    def send_head(self) -> Any:
        self._etag = None
        path = self.translate_path(self.path)
        if os.path.isfile(path):
            stat = os.stat(path)
            self._etag = etag_of(stat)
            if self._not_modified(stat):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
                self.end_headers()
                return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> Any:
        """No raw directory listings: / without index.html says how to get one, any other
        folder is not found (index.html links everything worth reading)."""
        if Path(path).resolve() != Path(self.directory).resolve():
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_NOTHING_YET)))
        self.end_headers()
        return io.BytesIO(_NOTHING_YET)

    def do_POST(self) -> None:
        sink: FeedbackSink | None = getattr(self.server, "feedback", None)
        if urlsplit(self.path).path != "/feedback" or sink is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return
        if not self._same_origin():
            self.send_error(HTTPStatus.FORBIDDEN, "feedback is only taken from this server's pages")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= FORM_BYTES:
            self.send_error(HTTPStatus.BAD_REQUEST, "expected a small form")
            return
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        article, baseline, verdict = (
            form.get(k, [""])[0] for k in ("article", "baseline", "verdict")
        )
        try:
            if not article.isdigit():
                raise MonitorError(f"article must be a stored article's number, not {article!r}")
            sink(int(article), baseline, verdict)
        except MonitorError as exc:
            self._reply(HTTPStatus.BAD_REQUEST, f"Feedback not recorded: {exc}")
            return
        self.send_response(HTTPStatus.SEE_OTHER)  # back to the page, at the item
        back = urlsplit(self.headers.get("Referer") or "/").path or "/"
        self.send_header("Location", f"{back}#story-{int(article)}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _own_origins(self) -> set[str]:
        port = self.server.server_address[1]  # type: ignore[index]  # (host, port) for IP
        own = {f"http://{host}:{port}" for host in ("127.0.0.1", "localhost", "[::1]")}
        base = getattr(self.server, "base_url", "")
        if base:
            parts = urlsplit(base)
            own.add(f"{parts.scheme}://{parts.netloc}")
        return own

    def _same_origin(self) -> bool:
        origin = self.headers.get("Origin")
        if not origin:
            referer = urlsplit(self.headers.get("Referer") or "")
            origin = f"{referer.scheme}://{referer.netloc}" if referer.netloc else ""
        own = self._own_origins()
        host = self.headers.get("Host") or ""
        return origin in own and any(urlsplit(o).netloc == host for o in own)

    def _reply(self, status: HTTPStatus, message: str) -> None:
        body = (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Feedback</title>"
            f"</head><body><p>{html.escape(message)}</p><p><a href='/'>Back</a></p></body></html>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_modified(self, stat: os.stat_result) -> bool:
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:  # RFC 9110: it wins over If-Modified-Since
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or etag_of(stat) in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since:
            try:
                since = email.utils.parsedate_to_datetime(if_modified_since)
            except (TypeError, ValueError):
                return False
            return int(stat.st_mtime) <= since.timestamp()
        return False


def make_server(
    directory: str | Path,
    host: str,
    port: int,
    feedback: FeedbackSink | None = None,
    base_url: str = "",
) -> ThreadingHTTPServer:
    """A server for ``directory`` bound to host:port (port 0 picks a free one); with
    ``feedback``, POST /feedback from its own pages (or from ``base_url``'s) records verdicts."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    handler = functools.partial(OutputHandler, directory=str(directory))
    if not 0 <= port <= 65535:
        raise ConfigError(f"cannot serve on port {port}: ports are 0 to 65535", hint=PORT_HINT)
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except socket.gaierror as exc:
        raise ConfigError(
            f"cannot serve on {host}: no such address ({exc.strerror})",
            hint="set serve_host to an address of this machine, such as 127.0.0.1 or 0.0.0.0",
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror}", hint=PORT_HINT) from exc
    server.daemon_threads = True
    server.feedback = feedback  # type: ignore[attr-defined]
    server.base_url = base_url  # type: ignore[attr-defined]
    return server


PORT_HINT = "another program may be using the port: pick another with --port or serve_port"
