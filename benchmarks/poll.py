"""Poll 1,000 feeds served on loopback: a first poll, then an unchanged second poll.

The feeds are real items (FT, WSJ, Economist, NYT snapshots from ../shared, 20 items each,
cycled so every feed is distinct) served with an ETag by threaded HTTP servers on 50
loopback addresses (127.0.0.2 ...), so the fetcher sees 50 hosts as it would in real life.
Page fetching is off: this measures polling, parsing, dedupe, matching (the shipped
watchlists) and storing. The second poll, an hour later, must be all 304s.

Prints, for each poll: wall time, requests, bytes served, articles stored, and the process's
peak resident memory.

    .venv/bin/python benchmarks/poll.py [--feeds N] [--hosts N] [--items N]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import resource
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import config, pipeline  # noqa: E402
from monitor.feeds import parse_feed  # noqa: E402
from monitor.models import Entry  # noqa: E402
from storage import open_db  # noqa: E402

RAW = ROOT.parent / "shared" / "data" / "raw"
NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.bytes = 0

    def add(self, size: int, not_modified: bool) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += size
            self.not_modified += not_modified


def real_entries() -> list[Entry]:
    entries: list[Entry] = []
    for path in sorted((RAW / "orx365-rss-arch" / "snapshots").glob("*.xml")):
        try:
            entries += parse_feed(path.read_bytes(), {}, str(path)).entries
        except Exception:  # some snapshots are empty
            continue
    return entries


def feed_body(n: int, entries: list[Entry], items: int) -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {n}</title>'
    ]
    for k in range(items):
        entry = entries[(n * items + k) % len(entries)]
        date = (entry.published or NOW).strftime("%a, %d %b %Y %H:%M:%S GMT")
        parts.append(
            f"<item><guid isPermaLink='false'>{n}-{k}-{escape(entry.guid)}</guid>"
            f"<title>{escape(entry.title)}</title>"
            f"<link>{escape(entry.link)}?feed={n}</link>"
            f"<description>{escape(entry.summary)}</description><pubDate>{date}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def serve(host: str, bodies: dict[str, bytes], counter: Counter) -> ThreadingHTTPServer:
    etags = {path: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for path, body in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                counter.add(0, True)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            counter.add(len(body), False)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument(
        "--per-host-delay", type=float, default=None, help="override the setting (default 1.0)"
    )
    args = parser.parse_args()

    entries = real_entries()
    bodies: list[dict[str, bytes]] = [{} for _ in range(args.hosts)]
    for n in range(args.feeds):
        bodies[n % args.hosts][f"/feed/{n}.xml"] = feed_body(n, entries, args.items)
    counter = Counter()
    servers = [serve(f"127.0.0.{h + 2}", bodies[h], counter) for h in range(args.hosts)]

    with tempfile.TemporaryDirectory() as tmp:
        feeds_file = Path(tmp) / "feeds.yaml"
        lines = ["feeds:"]
        for n in range(args.feeds):
            server = servers[n % args.hosts]
            host, port = server.server_address[:2]
            lines += [
                f"  - url: http://{host}:{port}/feed/{n}.xml",
                "    interval: 60",
                "    fetch_pages: false",
            ]
        feeds_file.write_text("\n".join(lines) + "\n")
        settings = dataclasses.replace(
            config.load(None, env={}, data_dir=str(Path(tmp) / "data")),
            allow_private_addresses=True,
            watchlists_dir=str(ROOT / "watchlists"),
        )
        if args.per_host_delay is not None:
            settings = dataclasses.replace(settings, per_host_delay=args.per_host_delay)
        floor = -(-args.feeds // args.hosts) * settings.per_host_delay
        print(
            f"{args.feeds} feeds x {args.items} real items on {args.hosts} loopback hosts; "
            f"max_concurrency={settings.max_concurrency}, "
            f"per_host_concurrency={settings.per_host_concurrency}, "
            f"per_host_delay={settings.per_host_delay}s "
            f"(politeness alone needs about {floor:.0f} s per poll)"
        )
        db = open_db(settings.database)
        for label, now in (
            ("first poll", NOW),
            ("second poll (unchanged)", NOW + dt.timedelta(hours=1)),
        ):
            before = (counter.requests, counter.bytes, counter.not_modified)
            start = time.perf_counter()
            report = pipeline.poll_due_feeds(db, settings, now, feeds_file)
            wall = time.perf_counter() - start
            requests = counter.requests - before[0]
            sent = counter.bytes - before[1]
            not_modified = counter.not_modified - before[2]
            print(
                f"{label}: {wall:.1f} s wall, {requests} requests ({not_modified} answered 304), "
                f"{sent / 1e6:.1f} MB served, {report.new} new articles, "
                f"{len(report.failed)} failed; peak RSS so far {peak_mb():.0f} MB"
            )
        db.close()
    for server in servers:
        server.shutdown()


if __name__ == "__main__":
    main()
