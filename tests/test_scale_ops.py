"""Operating the scale-out setup: one scheduler only, jobs enqueued once per key, the
queue's status, per-host politeness shared through Redis, and the one-command move of a
SQLite database into PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any

import conftest
import redis
from click.testing import CliRunner
from scale_support import smtp_on_loopback

from monitor import pipeline, tasks, worker
from monitor.cli import cli
from monitor.config import Settings
from monitor.match import Matcher
from monitor.models import Article, Baseline, Entity, Entry, Watchlist
from storage import pages
from storage.digests import MAX_ATTEMPTS
from storage.interface import NewDigest, Source
from storage.postgres import PostgresStorage
from storage.postgres.jobs import Job, JobLedger
from storage.sqlite import SqliteStorage

NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
RSS = "application/rss+xml; charset=utf-8"


def feeds_file(tmp_path: Path, urls: list[str]) -> Path:
    lines = ["feeds:"] + [f"  - url: {url}\n    fetch_pages: false" for url in urls]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def config_file(tmp_path: Path, **values: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text("".join(f'{k} = "{v}"\n' for k, v in values.items()), encoding="utf-8")
    return path


def test_a_second_scheduler_refuses_to_start(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    toml = config_file(
        tmp_path,
        database_url=postgres_url,
        queue_url=redis_url,
        feeds_file=str(feeds_file(tmp_path, ["http://127.0.0.1:9/never-fetched.xml"])),
        data_dir=str(tmp_path / "data"),
    )
    holder = PostgresStorage(postgres_url)
    try:
        with worker.sole_scheduler(holder):
            refused = CliRunner().invoke(cli, ["--config", str(toml), "dispatch", "--once"])
        allowed = CliRunner().invoke(cli, ["--config", str(toml), "dispatch", "--once"])
    finally:
        holder.close()

    assert refused.exit_code == 1
    assert "another `monitor dispatch` is running" in refused.output
    assert "Traceback" not in refused.output
    assert allowed.exit_code == 0, allowed.output
    assert "1 feeds due, 2 jobs enqueued" in allowed.output


def test_each_due_feed_is_enqueued_once_until_its_job_has_run(
    postgres_url: str, redis_url: str, settings: Settings, tmp_path: Path
) -> None:
    urls = [f"http://127.0.0.1:9/{n}.xml" for n in range(3)]
    scaled = dataclasses.replace(settings, feeds_file=str(feeds_file(tmp_path, urls)))
    storage = PostgresStorage(postgres_url)
    broker = worker.make_broker(redis_url)
    dispatcher = worker.Dispatcher(JobLedger(storage.conn), broker)
    try:
        first = worker.dispatch_tick(storage, dispatcher, scaled, NOW)
        second = worker.dispatch_tick(storage, dispatcher, scaled, NOW + dt.timedelta(minutes=1))
        messages = redis.Redis.from_url(redis_url).hlen(f"{worker.NAMESPACE}:{worker.QUEUE}.msgs")
    finally:
        broker.close()
        storage.close()

    assert (first.due, first.enqueued) == (3, 4)  # three polls and a deliver job
    assert (second.due, second.enqueued) == (3, 0)  # all still queued: nothing sent twice
    assert messages == 4


def test_status_shows_depth_in_flight_failures_and_the_oldest_waiting_job(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    storage = PostgresStorage(postgres_url)
    ledger = JobLedger(storage.conn)
    lease = dt.timedelta(minutes=5)
    try:
        for n in range(4):
            ledger.enqueue(Job("poll_feed", f"poll:{n}", {"n": n}), NOW + dt.timedelta(seconds=n))
        running = ledger.claim("poll:0", "w1", NOW, lease)
        assert ledger.claim("poll:0", "w2", NOW, lease) is None  # held by w1
        ledger.claim("poll:1", "w1", NOW, lease)
        ledger.fail("poll:1", "w1", "FetchError: refused", NOW)
        ledger.claim("poll:2", "w2", NOW, lease)
        ledger.finish("poll:2", "w2", NOW)
        status = ledger.status()
    finally:
        storage.close()
    toml = config_file(tmp_path, database_url=postgres_url, queue_url=redis_url)
    shown = CliRunner().invoke(cli, ["--config", str(toml), "status"])

    assert running is not None
    assert (status.queued, status.running, status.failed, status.done) == (1, 1, 1, 1)
    assert status.oldest_queued_at == NOW + dt.timedelta(seconds=3)
    lines = worker.status_lines(status, NOW + dt.timedelta(seconds=63))
    assert "oldest waiting: 60 s" in lines
    assert "  failed poll:1: FetchError: refused" in lines
    assert shown.exit_code == 0, shown.output
    assert "queued (waiting): 1\nin flight: 1\nfailed: 1\ndone: 1\n" in shown.output


def test_status_without_postgresql_says_what_to_set(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(config_file(tmp_path)), "status"])
    assert result.exit_code == 1
    assert "database_url is not a postgresql:// URL" in result.output
    assert "Traceback" not in result.output


def test_per_host_delay_holds_across_workers(redis_url: str) -> None:
    """Two workers (two limiters, two Redis connections) asking one host take turns,
    per_host_delay apart; another host is not held up."""
    delay = 0.2
    limiters = [worker.RedisHostLimiter(redis.Redis.from_url(redis_url), delay) for _ in range(2)]
    starts: list[float] = []
    lock = threading.Lock()

    def ask(limiter: worker.RedisHostLimiter) -> None:
        for _ in range(3):
            limiter.wait("http://one.test/page")
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=ask, args=(limiter,)) for limiter in limiters]
    begun = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other = time.monotonic()
    limiters[0].wait("http://two.test/page")

    gaps = [b - a for a, b in zip(sorted(starts), sorted(starts)[1:], strict=False)]
    assert len(starts) == 6
    assert min(gaps) >= delay - 0.02
    assert sorted(starts)[-1] - begun >= 5 * delay - 0.05
    assert time.monotonic() - other < delay / 2


def chips_matcher() -> Matcher:
    watchlist = Watchlist(
        Baseline("chips", "Chips", "en", None, "baselines/chips.txt"),
        (
            Entity("Nvidia", "company", 0.9, {"en": ("Nvidia",)}),
            Entity("export controls", "policy", 0.8, {"en": ("export controls",)}),
        ),
        ("Nvidia and US export controls.",),
    )
    return Matcher([watchlist], threshold=0.0)


def test_db_copy_moves_a_sqlite_database_into_postgresql(
    http_server: conftest.TestHTTPServer, postgres_url: str, settings: Settings, tmp_path: Path
) -> None:
    items = "".join(
        f"<item><guid>{n}</guid><title>Story {n}</title><link>https://x.test/{n}</link>"
        f"<description>{'Nvidia and export controls' if n % 2 else 'Dumplings'} {n}"
        "</description><pubDate>Thu, 19 Feb 2026 10:00:00 GMT</pubDate></item>"
        for n in range(6)
    )
    url = http_server.add(
        "/f.xml",
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>',
        headers={"Content-Type": RSS, "ETag": '"f1"'},
    )
    single = dataclasses.replace(settings, feeds_file=str(feeds_file(tmp_path, [url])))
    db = SqliteStorage(single.database)
    try:
        pipeline.poll_due_feeds(db.db, single, NOW, matcher=chips_matcher())
        expected = [f.as_row() for f in db.matches_between(NOW, NOW + dt.timedelta(hours=1))]
        expected_feeds = db.all_feeds()
    finally:
        db.close()
    toml = config_file(tmp_path, db_path=str(single.database))

    result = CliRunner().invoke(cli, ["--config", str(toml), "db", "copy", "--to", postgres_url])
    again = CliRunner().invoke(cli, ["--config", str(toml), "db", "copy", "--to", postgres_url])

    assert result.exit_code == 0, result.output
    assert "articles: 6 rows" in result.output
    assert "matches: 3 rows" in result.output
    copied = PostgresStorage(postgres_url)
    try:
        rows = [f.as_row() for f in copied.matches_between(NOW, NOW + dt.timedelta(hours=1))]
        assert rows == expected
        assert copied.all_feeds() == expected_feeds
        # New articles get ids after the copied ones.
        first = copied.get_article(1)
        assert first is not None
        stored = copied.store_entry(
            dataclasses.replace(first.article(), url="https://x.test/new"),
            "fp-new",
            first.sources[0],
            ["https://x.test/new"],
            url,
            "new",
            [],
            NOW,
        )
        assert stored.article_id == 7
    finally:
        copied.close()
    assert again.exit_code == 1
    assert "already holds feeds or articles" in again.output
    assert len(expected) == 3


def test_db_copy_refuses_while_pages_wait_and_copies_nothing(
    postgres_url: str, settings: Settings, tmp_path: Path
) -> None:
    db = SqliteStorage(settings.database)
    try:
        feed = "https://x.test/f.xml"
        entry = Entry(feed, "1", "https://x.test/1", "Story", "Nvidia", NOW)
        source = Source(url=entry.link, feed_url=feed, title=entry.title)
        stored = db.store_entry(
            Article(url=entry.link, title="Story", text="Nvidia", language="en", published=NOW),
            "fp-1",
            source,
            [entry.link],
            feed,
            "1",
            [],
            NOW,
        )
        with db.db.conn:
            pages.add(db.db, stored.article_id, entry, NOW)
    finally:
        db.close()
    toml = config_file(tmp_path, db_path=str(settings.database))

    result = CliRunner().invoke(cli, ["--config", str(toml), "db", "copy", "--to", postgres_url])

    assert result.exit_code == 1
    assert "1 stored article(s) still wait for their page" in result.output
    assert "run `monitor poll`" in result.output
    copied = PostgresStorage(postgres_url)
    try:
        assert copied.count_articles() == 0  # nothing half-copied
    finally:
        copied.close()


class PickySMTP:
    """Refuses for good (552) every message whose subject says it is too big."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = str(message_from_bytes(envelope.original_content)["Subject"])
        if "too big" in subject:
            return "552 5.3.4 Message size exceeds fixed limit"
        self.subjects.append(subject)
        return "250 Message accepted for delivery"


def test_a_digest_refused_for_good_is_given_up_and_holds_up_no_other(
    postgres_url: str, settings: Settings
) -> None:
    """The deliver job's outbox follows the single process: a 5xx refusal moves on to the
    next digest, and after MAX_ATTEMPTS refusals the digest is marked failed, not retried."""
    handler = PickySMTP()
    with smtp_on_loopback(handler) as port:
        smtp = dataclasses.replace(
            settings,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            mail_to=("ana@example.org",),
        )
        storage = PostgresStorage(postgres_url)
        try:
            ctx = tasks.JobContext(smtp, storage, Matcher([]), {})
            for key, subject in (("2026-02-18", "too big"), ("2026-02-19", "fine")):
                digest = NewDigest("daily", key, subject, "<p>x</p>", "x", (), f"<{key}@t>")
                storage.create_pending(digest, NOW)
            runs = [
                tasks.send_outbox(ctx, NOW + dt.timedelta(minutes=n), "daily")
                for n in range(MAX_ATTEMPTS + 1)
            ]
            rows = {
                row["key"]: (row["status"], row["attempts"])
                for row in storage.conn.execute("SELECT key, status, attempts FROM digests")
            }
        finally:
            storage.close()

    assert runs[0][0] == ["2026-02-19"]  # sent, though the one before it was refused
    assert [len(failed) for _, failed in runs] == [1] * MAX_ATTEMPTS + [0]
    assert rows == {"2026-02-18": ("failed", MAX_ATTEMPTS), "2026-02-19": ("sent", 1)}
    assert handler.subjects == ["fine"]


def test_a_failed_job_whose_retry_was_lost_is_sent_again_unless_given_up(
    postgres_url: str, redis_url: str
) -> None:
    """Dramatiq keeps a failed job's retry as a delayed message in Redis; when Redis loses it,
    the ledger still says failed. A failure older than the longest backoff (twice over) is
    sent again; a job failed on every run Dramatiq allows, or failed just now, is not."""
    storage = PostgresStorage(postgres_url)
    broker = worker.make_broker(redis_url)
    ledger = JobLedger(storage.conn)
    now = worker.utcnow()
    lease = dt.timedelta(minutes=5)
    try:
        for key, runs, failed_at in (
            ("entry:lost-retry", 1, now - 2 * worker.RETRY_OVERDUE),
            ("entry:given-up", worker.RUNS, now - 2 * worker.RETRY_OVERDUE),
            ("entry:retry-due-soon", 1, now - dt.timedelta(seconds=10)),
        ):
            ledger.enqueue(Job("ingest_entry", key, {}), failed_at - dt.timedelta(minutes=1))
            for _ in range(runs):
                assert ledger.claim(key, "w1", failed_at, lease) is not None
                ledger.fail(key, "w1", "ConnectionError: refused", failed_at)
        resent = worker.Dispatcher(ledger, broker, lease).resend_lost(now)
        messages = redis.Redis.from_url(redis_url).hvals(f"{worker.NAMESPACE}:{worker.QUEUE}.msgs")
    finally:
        broker.close()
        storage.close()

    assert resent == 1
    assert len(messages) == 1
    assert b"entry:lost-retry" in messages[0]
