"""Fetch benchmark: N feeds on loopback (spread over several 127.0.0.x hosts), a first fetch
(all 200) and a conditional second fetch (all 304). Prints wall time, requests, bytes and
peak memory (max RSS of this process; the servers run in a child process). Fetching only:
parsing and storage are measured by benchmarks/poll.py.

    .venv/bin/python benchmarks/poll_fetch.py [--feeds 1000] [--hosts 8]
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import resource
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor import config
from monitor.fetch import FetchRequest, fetch_all
from monitor.models import Fetched

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "pages" / "cna-big5.html"


def serve_forever(hosts: int, body: bytes, ports: Any, requests: Any, sent: Any) -> None:
    """In a child process, so the servers do not compete with the fetcher for the GIL."""
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every 200.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            fresh = self.headers.get("If-None-Match") == etag
            payload = b"" if fresh else body
            self.send_response(304 if fresh else 200)
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            with requests.get_lock():
                requests.value += 1
                sent.value += len(payload)

    servers = [ThreadingHTTPServer((f"127.0.0.{n + 1}", 0), Handler) for n in range(hosts)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports.put([server.server_address[1] for server in servers])
    threading.Event().wait()


def run(requests: list[FetchRequest], settings: config.Settings) -> tuple[list[Any], float]:
    started = time.perf_counter()
    results = fetch_all(requests, settings)
    return results, time.perf_counter() - started


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=8)
    args = parser.parse_args()

    body = SAMPLE.read_bytes() * 8  # a feed-sized body (~14 KB)
    ports_queue: Any = multiprocessing.Queue()
    requests_served = multiprocessing.Value("l", 0)
    bytes_sent = multiprocessing.Value("l", 0)
    child = multiprocessing.Process(
        target=serve_forever,
        args=(args.hosts, body, ports_queue, requests_served, bytes_sent),
        daemon=True,
    )
    child.start()
    ports = ports_queue.get(timeout=30)
    urls = [
        f"http://127.0.0.{i % args.hosts + 1}:{ports[i % args.hosts]}/f{i}"
        for i in range(args.feeds)
    ]
    settings = config.load(None, env={}, allow_private_addresses=True, per_host_delay=0.0)
    print(
        f"{args.feeds} feeds on {args.hosts} hosts; max_concurrency={settings.max_concurrency}, "
        f"per_host_concurrency={settings.per_host_concurrency}, per_host_delay=0"
    )
    print(f"RSS before: {max_rss_mb():.0f} MB")

    first, wall = run([FetchRequest(u, trusted=True) for u in urls], settings)
    ok = sum(1 for r in first if isinstance(r, Fetched) and r.status == 200)
    print(
        f"first poll:  {wall:6.2f} s  {requests_served.value} requests  "
        f"{bytes_sent.value:,} bytes  {ok} x 200  max RSS {max_rss_mb():.0f} MB"
    )

    requests_served.value = bytes_sent.value = 0
    again = [
        FetchRequest(r.url, etag=r.headers.get("etag"), trusted=True)
        for r in first
        if isinstance(r, Fetched)
    ]
    second, wall = run(again, settings)
    unchanged = sum(1 for r in second if isinstance(r, Fetched) and r.status == 304)
    print(
        f"second poll: {wall:6.2f} s  {requests_served.value} requests  "
        f"{bytes_sent.value:,} bytes  {unchanged} x 304  max RSS {max_rss_mb():.0f} MB"
    )
    child.terminate()


if __name__ == "__main__":
    main()
