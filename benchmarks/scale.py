"""The single SQLite process against PostgreSQL with 1, 2 and 4 `monitor worker` processes,
on the same loopback feeds, pages fetched and matching on.

The feeds carry real items: FT, WSJ, Economist and NYT items from
../shared/data/raw/orx365-rss-arch/items.jsonl (10,823 distinct items; those whose ids are
in ../shared/eval/reserved-ids.txt are left out), each used once while they last and then
again in later feeds (a copy then becomes another source of the stored article, as a
syndicated story does). Each item links to a page on one of ``--hosts`` loopback addresses
(127.0.0.2 ...) whose text is the item's own title and summary. The single process runs
as `monitor poll`; the distributed runs start their workers first (their start-up is in
their CPU figure, not in the wall time), then one scheduler tick enqueues the polls and the
run ends when the ledger is idle. PostgreSQL and Redis are started here as the tests start
them.

Prints, per run: wall time, entries handled (each fetched, extracted, matched and stored as
an article or as another source of one) and entries/s, articles stored and articles/s, CPU
seconds (the monitor processes; for the distributed runs also PostgreSQL and Redis), peak
memory per process, and for the workers the queue latency (claim time minus enqueue time of
the entry jobs); then the same as a Markdown table.

    .venv/bin/python benchmarks/scale.py             # 2,000 feeds x 1 item on 50 hosts
    .venv/bin/python benchmarks/scale.py --quick     # 100 feeds x 1 on 10 hosts, 1 and 2 workers
    .venv/bin/python benchmarks/scale.py [--feeds N] [--items N] [--hosts N] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import pwd
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]

import redis  # noqa: E402
from services import create_database, postgres_cluster, redis_process  # noqa: E402

from monitor import config, worker  # noqa: E402
from monitor.models import Entry  # noqa: E402
from storage import open_db  # noqa: E402
from storage.postgres import PostgresStorage  # noqa: E402
from storage.postgres.jobs import JobLedger  # noqa: E402

NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
TICKS = os.sysconf("SC_CLK_TCK")
SHARED = ROOT.parent / "shared"
ITEMS = SHARED / "data" / "raw" / "orx365-rss-arch" / "items.jsonl"
RESULTS: list[tuple[str, ...]] = []  # the Markdown table's rows


def reserved_ids() -> set[str]:
    lines = (SHARED / "eval" / "reserved-ids.txt").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def real_entries() -> list[Entry]:
    """The distinct real items, blind ones left out (ids: source + ':' + sha1(url)[:12])."""
    blind = reserved_ids()
    entries: dict[str, Entry] = {}
    for line in ITEMS.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        link = str(item.get("link") or "")
        ident = "orx365:" + hashlib.sha1(link.encode()).hexdigest()[:12]
        if not link or ident in blind or link in entries:
            continue
        entries[link] = Entry(
            feed_url="",
            guid=link,
            link=link,
            title=str(item.get("title") or ""),
            summary=str(item.get("summary") or ""),
            published=published(item.get("published")),
        )
    return list(entries.values())


def published(raw: object) -> dt.datetime | None:
    try:
        return parsedate_to_datetime(str(raw)) if raw else None
    except (TypeError, ValueError):
        return None


def page(entry: Entry) -> bytes:
    paragraphs = "".join(
        f"<p>{escape(entry.summary or entry.title)} ({k})</p>" for k in range(1, 5)
    )
    return (
        f"<html><head><title>{escape(entry.title)}</title></head><body><article>"
        f"<h1>{escape(entry.title)}</h1>{paragraphs}</article></body></html>"
    ).encode()


def serve(host: str, bodies: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            kind = "application/rss+xml" if self.path.endswith(".xml") else "text/html"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def build_feeds(args: argparse.Namespace, tmp: Path) -> tuple[Path, list[ThreadingHTTPServer]]:
    entries = real_entries()
    bodies: list[dict[str, bytes]] = [{} for _ in range(args.hosts)]
    servers = [serve(f"127.0.0.{h + 2}", bodies[h]) for h in range(args.hosts)]
    lines = ["feeds:"]
    for n in range(args.feeds):
        server = servers[n % args.hosts]
        host, port = server.server_address[:2]
        base = f"http://{host}:{port}"
        items = []
        for k in range(args.items):
            entry = entries[(n * args.items + k) % len(entries)]
            bodies[n % args.hosts][f"/page/{n}/{k}.html"] = page(entry)
            date = (entry.published or NOW).astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
            items.append(
                f"<item><guid isPermaLink='false'>{n}-{k}</guid>"
                f"<title>{escape(entry.title)}</title><link>{base}/page/{n}/{k}.html</link>"
                f"<description>{escape(entry.summary)}</description><pubDate>{date}</pubDate>"
                "</item>"
            )
        bodies[n % args.hosts][f"/feed/{n}.xml"] = (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {n}</title>{''.join(items)}</channel></rss>"
        ).encode()
        lines += [f"  - url: {base}/feed/{n}.xml", "    interval: 60"]
    path = tmp / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path, servers


def env_for(settings: config.Settings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_DATA_DIR": settings.data_dir,
        "MONITOR_WATCHLISTS_DIR": settings.watchlists_dir,
        "MONITOR_FEEDS_FILE": settings.feeds_file,
        "MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "MONITOR_PER_HOST_DELAY": str(settings.per_host_delay),
        # One `monitor poll` handles every entry (by default it defers pages past 300 s to
        # the next poll), as the workers do.
        "MONITOR_POLL_BUDGET_SECONDS": "86400",
        **extra,
    }


def reap(process: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Wait for ``process``; (CPU seconds, peak resident MB) of that process alone."""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def cpu_of_user(user: str) -> float:
    """CPU seconds used so far by the live processes of ``user`` (the PostgreSQL server)."""
    uid = pwd.getpwnam(user).pw_uid
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != uid:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / TICKS


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def run_single(settings: config.Settings) -> None:
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "poll"],
        env=env_for(settings),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    cpu, peak = reap(process)
    wall = time.perf_counter() - start
    db = open_db(settings.database)
    stored = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    entries = int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
    db.close()
    print(
        f"single SQLite process: {wall:.1f} s wall, {entries} entries ({entries / wall:.0f}/s), "
        f"{stored} articles ({stored / wall:.0f}/s), {cpu:.1f} CPU s ({cpu / wall:.2f} cores), "
        f"peak {peak:.0f} MB",
        flush=True,
    )
    RESULTS.append(
        (
            "single SQLite process (`monitor poll`, start-up included)",
            f"{wall:.1f} s",
            f"{entries / wall:.1f}",
            f"{stored / wall:.1f}",
            f"{cpu:.1f} s ({cpu / wall:.2f} cores)",
            "-",
            f"{peak:.0f} MB",
            "-",
        )
    )


def run_workers(
    settings: config.Settings,
    count: int,
    database_url: str,
    redis_url: str,
    expected: int,
    threads: int = 1,
) -> None:
    env = env_for(settings, MONITOR_DATABASE_URL=database_url, MONITOR_QUEUE_URL=redis_url)
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    storage = PostgresStorage(database_url)
    ledger = JobLedger(storage.conn)
    broker = worker.make_broker(redis_url)
    dispatcher = worker.Dispatcher(ledger, broker)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "worker", "--threads", str(threads)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        time.sleep(6)  # start-up: imports, the watchlists, the matcher
        pg_cpu, redis_before = cpu_of_user("postgres"), redis_cpu(client)
        start = time.perf_counter()
        scaled = dataclasses.replace(settings, database_url=database_url, queue_url=redis_url)
        worker.dispatch_tick(storage, dispatcher, scaled, NOW)
        while True:
            status = ledger.status()
            done = status.by_kind.get("ingest_entry", {}).get("done", 0)
            if status.queued == 0 and status.running == 0 and done >= expected:
                break
            time.sleep(0.1)
    except BaseException:  # interrupted: leave no worker behind
        for process in processes:
            process.kill()
        raise
    wall = time.perf_counter() - start
    pg_cpu = cpu_of_user("postgres") - pg_cpu
    redis_used = redis_cpu(client) - redis_before
    rows = storage.conn.execute(
        "SELECT extract(epoch FROM started_at - enqueued_at) AS wait FROM jobs "
        "WHERE kind = 'ingest_entry'"
    ).fetchall()
    waits = sorted(float(r["wait"]) for r in rows)
    stored = storage.count_articles()
    entries = int(storage.conn.execute("SELECT count(*) AS n FROM entries").fetchone()["n"])
    for process in processes:
        process.send_signal(signal.SIGTERM)
    usage = [reap(process) for process in processes]
    broker.close()
    storage.close()
    cpu = sum(u[0] for u in usage)
    peak = max(u[1] for u in usage)
    median, p95 = statistics.median(waits), waits[int(len(waits) * 0.95)]
    name = f"PostgreSQL, {count} worker(s) x {threads} thread(s)"
    print(
        f"{name}: {wall:.1f} s wall, {entries} entries ({entries / wall:.0f}/s), {stored} "
        f"articles ({stored / wall:.0f}/s), workers {cpu:.1f} CPU s incl. start-up "
        f"({cpu / wall:.2f} cores), PostgreSQL {pg_cpu:.1f} CPU s, Redis {redis_used:.1f} CPU s, "
        f"peak per worker {peak:.0f} MB; queue latency median {median:.1f} s, p95 {p95:.1f} s, "
        f"max {waits[-1]:.1f} s",
        flush=True,
    )
    RESULTS.append(
        (
            name,
            f"{wall:.1f} s",
            f"{entries / wall:.1f}",
            f"{stored / wall:.1f}",
            f"{cpu:.1f} s ({cpu / wall:.2f} cores)",
            f"{pg_cpu:.1f} s / {redis_used:.1f} s",
            f"{peak:.0f} MB",
            f"{median:.1f} s / {p95:.1f} s",
        )
    )


def print_table() -> None:
    print(
        "\n| run | wall | entries/s | articles/s | CPU of the monitor processes "
        "| PostgreSQL / Redis CPU | peak memory per process | queue latency (median / p95) |"
    )
    print("| --- " * 8 + "|")
    for row in RESULTS:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=1, help="items per feed")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--per-host-delay", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--no-single", action="store_true", help="skip the SQLite run")
    parser.add_argument(
        "--quick", action="store_true", help="quick check: 100 feeds x 1 on 10 hosts, 1-2 workers"
    )
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.items, args.hosts, args.workers = 100, 1, 10, [1, 2]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        feeds_file, servers = build_feeds(args, tmp)
        base = dataclasses.replace(
            config.load(None, env={}),
            watchlists_dir=str(ROOT / "watchlists"),
            feeds_file=str(feeds_file),
            per_host_delay=args.per_host_delay,
        )
        expected = args.feeds * args.items
        print(
            f"{args.feeds} feeds x {args.items} real items, pages on {args.hosts} loopback "
            f"hosts, per_host_delay={args.per_host_delay}s, {os.cpu_count()} cores, "
            f"load average before {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        if not args.no_single:
            run_single(dataclasses.replace(base, data_dir=str(tmp / "single")))
        with postgres_cluster() as pg, redis_process() as rd:
            for n, count in enumerate(args.workers):
                url = create_database(pg, f"bench_{n}")
                data = str(tmp / f"workers{count}")
                run_workers(
                    dataclasses.replace(base, data_dir=data),
                    count,
                    url,
                    rd.url,
                    expected,
                    args.threads,
                )
        for server in servers:
            server.shutdown()
    print_table()
    print(f"load average after: {os.getloadavg()[0]:.1f} (the machine is shared)")


if __name__ == "__main__":
    main()
