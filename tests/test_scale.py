"""The scale-out path end to end: real feeds served on loopback, the scheduler's tick
enqueueing jobs, two `monitor worker` processes running them against PostgreSQL and Redis
started by the tests, and a digest sent to a loopback SMTP server; then the same feeds
through the single SQLite process, which must give the same articles, follow-ups and
digest."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import conftest
import pytest
import redis
import services
from psycopg.rows import tuple_row

from monitor import pipeline, worker
from monitor.config import Settings
from monitor.match import Matcher
from storage import open_db
from storage.postgres import PostgresStorage
from storage.postgres.jobs import JobLedger

REPO = Path(__file__).resolve().parents[1]
FEEDS = conftest.DATA / "feeds"
NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
NEXT_DAY = NOW + dt.timedelta(days=1)
RSS = "application/rss+xml; charset=utf-8"


def story_page(n: int) -> bytes:
    """A page of its own per story; the even ones are about Nvidia's China chips."""
    topic = (
        "Nvidia said China approved purchases of its H200 chips despite US export controls"
        if n % 2 == 0
        else "The city council approved a new bus timetable for the winter months"
    )
    paragraphs = "".join(
        f"<p>Paragraph {k} of story {n}: {topic}, officials said on Thursday, adding that "
        f"figure {n * 13 + k} in the report was revised after the review.</p>"
        for k in range(1, 6)
    )
    return (
        f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}: {topic}"
        f"</h1>{paragraphs}</article></body></html>"
    ).encode()


def rss(server: conftest.TestHTTPServer, name: str, numbers: range) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{name}-{n}</guid><title>Story {n}</title>"
        f"<link>{server.url(f'/{name}/{n}.html')}</link><description>Entry {n}</description>"
        "<pubDate>Thu, 19 Feb 2026 10:00:00 GMT</pubDate></item>"
        for n in numbers
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}'
        f"</title>{items}</channel></rss>"
    ).encode()


def serve_feeds(server: conftest.TestHTTPServer, tmp_path: Path) -> Path:
    """Three real feeds (their links go off this machine, so their pages are not fetched)
    and two feeds whose pages are served here, one story shared by both."""
    lines = ["feeds:"]
    for path, name, kind in (
        ("ft-home.xml", "FT", RSS),
        ("36kr-ai.xml", "36氪", RSS),
        ("scmp-china.json", "SCMP", "application/feed+json"),
    ):
        url = server.add(f"/{path}", (FEEDS / path).read_bytes(), headers={"Content-Type": kind})
        lines += [f"  - url: {url}", f"    name: {name}", "    fetch_pages: false"]
    for name, numbers in (("alpha", range(12)), ("beta", range(10, 20))):
        for n in numbers:
            server.add(f"/{name}/{n}.html", story_page(n), headers={"Content-Type": "text/html"})
        url = server.add(f"/{name}.xml", rss(server, name, numbers), headers={"Content-Type": RSS})
        lines += [f"  - url: {url}", f"    name: {name}"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mails(server: conftest.SMTPServer) -> list[tuple[str, str]]:
    """(subject, plain-text body) of every message the server took."""
    found = []
    for message in server.messages:
        plain = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        body = plain.get_payload(decode=True)
        assert isinstance(body, bytes)
        found.append((str(message["Subject"]), body.decode(plain.get_content_charset() or "utf-8")))
    return found


def digest_content(mail: list[tuple[str, str]]) -> list[tuple[str, dict[str, set[str]]]]:
    """Each digest as its subject (which counts its stories) and, per baseline section,
    every link it gives. Article ids follow the order in which articles were stored, which
    across workers is the order they finished, and the digest orders stories of equal score
    (and picks the lead of a group of copies) by id; so the order may differ, not the
    content."""
    content = []
    for subject, body in mail:
        sections: dict[str, set[str]] = {}
        section = ""
        for line in body.splitlines():
            if line.startswith("## "):
                section = line
            sections.setdefault(section, set()).update(re.findall(r"https?://[^\s<>,]+", line))
        content.append((subject, sections))
    return content


Story = frozenset[str]
# Each story as the set of URLs it was seen under (its article's and every source's): which
# copy of a syndicated story is stored as "the" article depends on which finished first.
STORIES = """
    SELECT a.id, a.url, s.url FROM articles a JOIN article_sources s ON s.article_id = a.id
"""
FOLLOW_UPS = "SELECT article_id, baseline_id, score FROM matches"


def snapshot(
    stories: list[tuple[int, str, str]], matches: list[tuple[int, str, float]]
) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    urls: dict[int, set[str]] = {}
    for article_id, url, source in stories:
        urls.setdefault(article_id, {url}).add(source)
    by_id = {article_id: frozenset(found) for article_id, found in urls.items()}
    follow_ups = {(by_id[a], baseline, round(score, 6)) for a, baseline, score in matches}
    return set(by_id.values()), follow_ups


def snapshot_sqlite(path: Path) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    db = open_db(path)
    try:
        return snapshot(db.execute(STORIES).fetchall(), db.execute(FOLLOW_UPS).fetchall())
    finally:
        db.close()


def snapshot_postgres(url: str) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    storage = PostgresStorage(url)
    try:
        with storage.conn.cursor(row_factory=tuple_row) as cursor:
            stories = cursor.execute(STORIES).fetchall()
            matches = cursor.execute(FOLLOW_UPS).fetchall()
        return snapshot(stories, matches)
    finally:
        storage.close()


@contextlib.contextmanager
def workers(
    count: int, env: dict[str, str], log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    for n in range(count):
        # The worker writes to its own copy of the descriptor; ours is closed at once.
        with (log_dir / f"worker{n}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "monitor", "worker"],
                    env=env,
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_idle(
    ledger: JobLedger, processes: list[subprocess.Popen[bytes]], log_dir: Path
) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = ledger.status()
        if status.queued == 0 and status.running == 0:
            assert status.failed == 0, status.recent_errors
            return
        for process in processes:
            if process.poll() is not None:
                logs = "".join(p.read_text() for p in log_dir.glob("worker*.log"))
                pytest.fail(f"a worker exited with {process.returncode}:\n{logs[-3000:]}")
        time.sleep(0.2)
    logs = "".join(p.read_text(errors="replace") for p in log_dir.glob("worker*.log"))
    running = ledger.conn.execute("SELECT * FROM jobs WHERE status <> 'done'").fetchall()
    pytest.fail(f"jobs still pending after 180 s: {running}\n{logs[-4000:]}")


def scale_env(
    settings: Settings, feeds_file: Path, database_url: str, queue_url: str
) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_DATA_DIR": settings.data_dir,
        "MONITOR_WATCHLISTS_DIR": settings.watchlists_dir,
        "MONITOR_FEEDS_FILE": str(feeds_file),
        "MONITOR_DATABASE_URL": database_url,
        "MONITOR_QUEUE_URL": queue_url,
        "MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "MONITOR_PER_HOST_DELAY": str(settings.per_host_delay),
        "MONITOR_HTTP_TIMEOUT": str(settings.http_timeout),
        "MONITOR_SMTP_HOST": settings.smtp_host,
        "MONITOR_SMTP_PORT": str(settings.smtp_port),
        "MONITOR_SMTP_SECURITY": settings.smtp_security,
        "MONITOR_MAIL_TO": ",".join(settings.mail_to),
        "MONITOR_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
    }


def test_two_workers_on_postgresql_store_what_the_single_sqlite_process_stores(
    http_server: conftest.TestHTTPServer,
    smtp_server: conftest.SMTPServer,
    settings: Settings,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    feeds_file = serve_feeds(http_server, tmp_path)
    base = dataclasses.replace(
        settings,
        watchlists_dir=str(REPO / "watchlists"),
        feeds_file=str(feeds_file),
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_to=("ana@example.org",),
        per_host_delay=0.02,
    )

    # The single process on SQLite: one poll cycle and its digests, then a day later.
    single = dataclasses.replace(base, data_dir=str(tmp_path / "single"))
    db = open_db(single.database)
    try:
        matcher: Matcher = pipeline.build_matcher(single)
        for now in (NOW, NEXT_DAY):
            pipeline.poll_due_feeds(db, single, now, matcher=matcher)
            pipeline.send_pending_digests(db, single, now)
    finally:
        db.close()
    single_mail = mails(smtp_server)
    smtp_server.collector.messages.clear()
    expected_stories, expected_follow_ups = snapshot_sqlite(single.database)

    # The distributed run: the scheduler's tick, two worker processes, PostgreSQL, Redis.
    scaled = dataclasses.replace(
        base, data_dir=str(tmp_path / "scaled"), database_url=postgres_url, queue_url=redis_url
    )
    env = scale_env(scaled, feeds_file, postgres_url, redis_url)
    storage = PostgresStorage(postgres_url)
    broker = worker.make_broker(redis_url)
    ledger = JobLedger(storage.conn)
    dispatcher = worker.Dispatcher(ledger, broker)
    try:
        with workers(2, env, tmp_path) as processes:
            for now in (NOW, NEXT_DAY):
                with worker.sole_scheduler(storage):
                    report = worker.dispatch_tick(storage, dispatcher, scaled, now)
                assert report.due == 5
                wait_until_idle(ledger, processes, tmp_path)
        runners = {
            row["worker"].rsplit(":", 1)[0]
            for row in storage.conn.execute("SELECT worker FROM jobs").fetchall()
        }
    finally:
        broker.close()
        storage.close()
    scaled_mail = mails(smtp_server)

    stories, follow_ups = snapshot_postgres(postgres_url)
    assert len(expected_stories) > 40
    assert any(len(story) > 1 for story in expected_stories), "a story seen twice"
    assert len(expected_follow_ups) >= 5, "the feeds must give follow-ups to compare"
    assert stories == expected_stories
    assert follow_ups == expected_follow_ups
    assert len(runners) == 2, "both workers ran jobs"
    assert [subject for subject, _ in scaled_mail] == [subject for subject, _ in single_mail]
    assert digest_content(scaled_mail) == digest_content(single_mail)


def test_a_worker_killed_mid_page_fetch_loses_nothing_and_stores_nothing_twice(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    pages, slow = 8, 3
    for n in range(pages):
        http_server.add(
            f"/k/{n}.html",
            story_page(n),
            headers={"Content-Type": "text/html"},
            delay=3.0 if n == slow else 0.0,
        )
    feed = http_server.add(
        "/k.xml", rss(http_server, "k", range(pages)), headers={"Content-Type": RSS}
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - url: {feed}\n", encoding="utf-8")
    scaled = dataclasses.replace(
        settings,
        watchlists_dir=str(REPO / "watchlists"),
        feeds_file=str(path),
        database_url=postgres_url,
        queue_url=redis_url,
        job_lease_seconds=2,
    )
    env = scale_env(scaled, path, postgres_url, redis_url)
    storage = PostgresStorage(postgres_url)
    broker = worker.make_broker(redis_url)
    ledger = JobLedger(storage.conn)
    dispatcher = worker.Dispatcher(ledger, broker, worker.lease(scaled))
    slow_key = f"entry:{feed}\nk-{slow}"
    try:
        with workers(2, env, tmp_path) as processes:
            worker.dispatch_tick(storage, dispatcher, scaled, NOW)
            holder = wait_for_claim(storage, slow_key, http_server, f"/k/{slow}.html")
            victim = next(p for p in processes if p.pid == holder)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            survivors = [p for p in processes if p is not victim]
            # The scheduler keeps ticking; once the dead worker's claim is older than the
            # lease, a tick sends its job again and the survivor runs it.
            deadline = time.monotonic() + 60
            while ledger.status().by_kind["ingest_entry"].get("done", 0) < pages:
                assert time.monotonic() < deadline, ledger.status()
                worker.dispatch_tick(storage, dispatcher, scaled, NOW)
                time.sleep(0.5)
            wait_until_idle(ledger, survivors, tmp_path)
        counts = storage.conn.execute(
            "SELECT (SELECT count(*) FROM articles) AS articles, "
            "(SELECT count(DISTINCT url) FROM articles) AS urls, "
            "(SELECT count(*) FROM entries) AS entries, "
            "(SELECT count(*) FROM article_sources) AS sources"
        ).fetchone()
        attempts = storage.conn.execute(
            "SELECT attempts, status FROM jobs WHERE key = %s", [slow_key]
        ).fetchone()
    finally:
        broker.close()
        storage.close()

    assert counts == {"articles": pages, "urls": pages, "entries": pages, "sources": pages}
    assert attempts == {"attempts": 2, "status": "done"}
    assert len(http_server.requests_for(f"/k/{slow}.html")) == 2


def wait_for_claim(
    storage: PostgresStorage, key: str, server: conftest.TestHTTPServer, path: str
) -> int:
    """The pid of the worker running ``key``, once its page request is in flight."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = storage.conn.execute(
            "SELECT worker FROM jobs WHERE key = %s AND status = 'running'", [key]
        ).fetchone()
        if row and server.requests_for(path):
            return int(row["worker"].split(":")[1])
        time.sleep(0.05)
    pytest.fail(f"{key} was not claimed within 60 s")


def test_a_redis_restart_loses_no_enqueued_job(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """Jobs enqueued, then Redis restarts without persistence before any worker ran them:
    the scheduler's next tick finds the queue empty and the ledger waiting, sends them again,
    and the workers store every article."""
    pages = 6
    for n in range(pages):
        http_server.add(f"/r/{n}.html", story_page(n), headers={"Content-Type": "text/html"})
    feed = http_server.add(
        "/r.xml", rss(http_server, "r", range(pages)), headers={"Content-Type": RSS}
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - url: {feed}\n", encoding="utf-8")
    port = services.free_port()
    storage = PostgresStorage(postgres_url)
    ledger = JobLedger(storage.conn)
    try:
        with services.redis_process(port) as first:
            scaled = dataclasses.replace(
                settings,
                watchlists_dir=str(REPO / "watchlists"),
                feeds_file=str(path),
                database_url=postgres_url,
                queue_url=first.url,
            )
            broker = worker.make_broker(first.url)
            dispatcher = worker.Dispatcher(ledger, broker, worker.lease(scaled))
            assert worker.dispatch_tick(storage, dispatcher, scaled, NOW).enqueued == 2
        # Redis is gone with both messages; the ledger still says they wait.
        assert ledger.status().queued == 2
        with services.redis_process(port) as second:
            assert redis.Redis.from_url(second.url).hlen("monitor:monitor.msgs") == 0
            env = scale_env(scaled, path, postgres_url, second.url)
            resent = 0
            with workers(2, env, tmp_path) as processes:
                deadline = time.monotonic() + 60
                while ledger.status().by_kind.get("ingest_entry", {}).get("done", 0) < pages:
                    assert time.monotonic() < deadline, ledger.status()
                    resent += worker.dispatch_tick(storage, dispatcher, scaled, NOW).resent
                    time.sleep(0.5)
                wait_until_idle(ledger, processes, tmp_path)
            broker.close()
        stored = storage.count_articles()
    finally:
        storage.close()

    assert resent >= 2  # the poll and deliver jobs Redis lost (a job sent twice runs once)
    assert stored == pages
