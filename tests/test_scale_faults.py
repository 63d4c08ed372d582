"""Faults in the scale-out path, each on real servers on 127.0.0.1: a worker SIGKILLed in
the middle of a page fetch and in the middle of an outbox send, and Redis restarted without
persistence; the jobs run again, nothing is lost, nothing is stored twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import signal
import threading
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import conftest
import pytest
import redis
import services
from click.testing import CliRunner
from scale_support import (
    NOW,
    REPO,
    RSS,
    rss,
    scale_env,
    smtp_on_loopback,
    story_page,
    wait_for_claim,
    wait_until_idle,
    workers,
)

from monitor import worker
from monitor.cli import cli
from monitor.config import Settings
from storage.postgres import CLAIM_LEASE, PostgresStorage
from storage.postgres.jobs import JobLedger


def stored_counts(storage: PostgresStorage) -> dict[str, int] | None:
    """Articles, their distinct URLs, entries and sources: each story once means all equal."""
    row: dict[str, int] | None = storage.conn.execute(
        "SELECT (SELECT count(*) FROM articles) AS articles, "
        "(SELECT count(DISTINCT url) FROM articles) AS urls, "
        "(SELECT count(*) FROM entries) AS entries, "
        "(SELECT count(*) FROM article_sources) AS sources"
    ).fetchone()
    return row


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
        counts = stored_counts(storage)
        attempts = storage.conn.execute(
            "SELECT attempts, status FROM jobs WHERE key = %s", [slow_key]
        ).fetchone()
    finally:
        broker.close()
        storage.close()

    assert counts == {"articles": pages, "urls": pages, "entries": pages, "sources": pages}
    assert attempts == {"attempts": 2, "status": "done"}
    assert len(http_server.requests_for(f"/k/{slow}.html")) == 2


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
        stored = stored_counts(storage)
    finally:
        storage.close()

    assert resent >= 2  # the poll and deliver jobs Redis lost (a job sent twice runs once)
    assert stored == {"articles": pages, "urls": pages, "entries": pages, "sources": pages}


def test_a_redis_restart_while_workers_run_loses_no_job(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    postgres_url: str,
    tmp_path: Path,
) -> None:
    """Two workers are storing a feed's entries (slow pages) when Redis stops and comes back
    empty on the same port: the workers reconnect, the scheduler's ticks send the lost jobs
    again, and every entry is stored once."""
    pages = 10
    for n in range(pages):
        http_server.add(
            f"/m/{n}.html", story_page(n), headers={"Content-Type": "text/html"}, delay=0.5
        )
    feed = http_server.add(
        "/m.xml", rss(http_server, "m", range(pages)), headers={"Content-Type": RSS}
    )
    path = tmp_path / "feeds.yaml"
    path.write_text(f"feeds:\n  - url: {feed}\n", encoding="utf-8")
    port = services.free_port()
    storage = PostgresStorage(postgres_url)
    ledger = JobLedger(storage.conn)
    url = f"redis://127.0.0.1:{port}/0"
    scaled = dataclasses.replace(
        settings,
        watchlists_dir=str(REPO / "watchlists"),
        feeds_file=str(path),
        database_url=postgres_url,
        queue_url=url,
        job_lease_seconds=30,  # longer than any job here: only lost messages are sent again
    )
    broker = worker.make_broker(url)
    dispatcher = worker.Dispatcher(ledger, broker, worker.lease(scaled))
    with contextlib.ExitStack() as stack:
        stack.callback(storage.close)
        stack.callback(broker.close)
        first = contextlib.ExitStack()
        first.enter_context(services.redis_process(port))
        processes = stack.enter_context(
            workers(2, scale_env(scaled, path, postgres_url, url), tmp_path)
        )
        worker.dispatch_tick(storage, dispatcher, scaled, NOW)
        deadline = time.monotonic() + 60
        while entry_jobs(ledger).get("done", 0) < 2:
            assert time.monotonic() < deadline, ledger.status()
            time.sleep(0.05)
        first.close()  # Redis stops mid-run, with the messages of the entries still to do
        waiting = entry_jobs(ledger)
        stack.enter_context(services.redis_process(port))
        deadline = time.monotonic() + 120
        while entry_jobs(ledger).get("done", 0) < pages:
            assert time.monotonic() < deadline, ledger.status()
            with contextlib.suppress(redis.ConnectionError):  # as APScheduler would log it
                worker.dispatch_tick(storage, dispatcher, scaled, NOW)
            time.sleep(0.5)
        wait_until_idle(ledger, processes, tmp_path)
        counts = stored_counts(storage)

    assert waiting.get("done", 0) < pages, "Redis stopped with jobs still to run"
    assert counts == {"articles": pages, "urls": pages, "entries": pages, "sources": pages}


def entry_jobs(ledger: JobLedger) -> dict[str, int]:
    return ledger.status().by_kind.get("ingest_entry", {})


class StallingSMTP:
    """An SMTP server that is slow to answer the end of the first message's DATA: it has
    the whole message and stalls until the client goes away. With ``took_it`` it keeps that
    message before stalling (the server committed it, the answer never arrived); without,
    it drops it (the client died before the server took it). Later messages are taken at
    once."""

    def __init__(self, *, took_it: bool) -> None:
        self.took_it = took_it
        self.messages: list[Message] = []
        self.in_data = threading.Event()
        self.client_gone = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        if self.in_data.is_set():
            self.messages.append(message)
            return "250 Message accepted for delivery"
        if self.took_it:
            self.messages.append(message)
        self.in_data.set()
        try:
            await asyncio.sleep(120)  # aiosmtpd cancels this when the connection is lost
        finally:
            self.client_gone.set()
        return "451 took too long"


def digest_row(storage: PostgresStorage) -> dict[str, Any]:
    rows = storage.conn.execute("SELECT key, status, attempts, message_id FROM digests").fetchall()
    assert len(rows) == 1, rows
    return rows[0]


def status_output(settings: Settings, tmp_path: Path) -> str:
    toml = tmp_path / "monitor.toml"
    toml.write_text(
        f'database_url = "{settings.database_url}"\nqueue_url = "{settings.queue_url}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(toml), "status"])
    assert result.exit_code == 0, result.output
    return result.output


def deliver_job(storage: PostgresStorage) -> dict[str, Any] | None:
    row: dict[str, Any] | None = storage.conn.execute(
        "SELECT status, attempts FROM jobs WHERE key = 'deliver'"
    ).fetchone()
    return row


def resend_until_rerun(storage: PostgresStorage, dispatcher: worker.Dispatcher) -> None:
    """The scheduler's resending of lost jobs, until the deliver job the dead worker held
    has run a second time (on the survivor)."""
    deadline = time.monotonic() + 60
    while deliver_job(storage) != {"status": "done", "attempts": 2}:
        assert time.monotonic() < deadline, dispatcher.ledger.status()
        dispatcher.resend_lost(worker.utcnow())
        time.sleep(0.5)


@pytest.mark.parametrize("took_it", [False, True], ids=["before-the-server-took-it", "after"])
def test_a_worker_killed_mid_outbox_send_loses_no_digest(
    settings: Settings, postgres_url: str, redis_url: str, tmp_path: Path, took_it: bool
) -> None:
    """A worker is SIGKILLed while the SMTP server stalls inside DATA. The digest stays
    recorded as being sent, unconfirmed (`monitor status` and the deliver job say so), the
    deliver job runs again on the other worker, and once the outbox claim's lease is over the
    digest is sent again, as the single process does. If the server had not taken the first
    copy, the digest arrives exactly once; if it had (the answer was lost with the worker),
    nobody can know, so a second copy with the same Message-ID arrives: a digest is never
    traded for a duplicate."""
    handler = StallingSMTP(took_it=took_it)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n", encoding="utf-8")
    with smtp_on_loopback(handler) as smtp_port:
        scaled = dataclasses.replace(
            settings,
            watchlists_dir=str(REPO / "watchlists"),
            feeds_file=str(feeds),
            database_url=postgres_url,
            queue_url=redis_url,
            job_lease_seconds=2,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_security="none",
            mail_to=("ana@example.org",),
        )
        storage = PostgresStorage(postgres_url)
        broker = worker.make_broker(redis_url)
        dispatcher = worker.Dispatcher(JobLedger(storage.conn), broker, worker.lease(scaled))
        try:
            with workers(2, scale_env(scaled, feeds, postgres_url, redis_url), tmp_path) as ps:
                worker.dispatch_tick(storage, dispatcher, scaled, NOW)
                assert handler.in_data.wait(60), "no worker reached DATA"
                holder = dispatcher.ledger.conn.execute(
                    "SELECT worker FROM jobs WHERE key = 'deliver' AND status = 'running'"
                ).fetchone()
                assert holder is not None
                victim = next(p for p in ps if p.pid == int(holder["worker"].split(":")[1]))
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                assert handler.client_gone.wait(10)

                # The job is sent again once its claim is older than job_lease_seconds and
                # runs on the survivor with the same tick time: the outbox claim is still
                # live, so the digest is left as it is and reported unconfirmed.
                resend_until_rerun(storage, dispatcher)
                unconfirmed = digest_row(storage)
                shown = status_output(scaled, tmp_path)
                sent_while_claimed = len(handler.messages)

                # Ticks go on; once the outbox claim is older than its lease, the next
                # deliver job takes the digest over and sends it.
                later = NOW + CLAIM_LEASE + dt.timedelta(minutes=1)
                worker.dispatch_tick(storage, dispatcher, scaled, later)
                wait_until_idle(dispatcher.ledger, [p for p in ps if p is not victim], tmp_path)
            final = digest_row(storage)
            final_job = deliver_job(storage)
            logs = "".join(p.read_text() for p in tmp_path.glob("worker*.log"))
        finally:
            broker.close()
            storage.close()
        after = status_output(scaled, tmp_path)

    assert unconfirmed["status"] == "sending"
    assert "digest 2026-02-19 is being sent, unconfirmed" in shown
    assert "digest 2026-02-19 is being sent, unconfirmed" in logs  # the deliver job's report
    assert sent_while_claimed == (1 if took_it else 0)
    assert final["status"] == "sent"
    assert final["attempts"] == 2
    assert "unconfirmed" not in after
    assert final_job == {"status": "done", "attempts": 1}
    assert len(handler.messages) == (2 if took_it else 1)
    assert len({m["Subject"] for m in handler.messages}) == 1
    assert {m["Message-ID"] for m in handler.messages} == {final["message_id"]}
