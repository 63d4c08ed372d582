"""The scheduler: which jobs exist, when they fire, and how the service starts and stops.
Time is driven by the tests: the jobs read an injected clock, and the scheduler is told to
run a job now instead of the test waiting for its trigger."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import conftest
import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner

from monitor import locks, pipeline, scheduler
from monitor.cli import cli
from monitor.config import Settings
from storage import open_db

UTC = dt.UTC
FAKE_NOW = dt.datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # 08:30 in Taipei


class Recorder:
    """Stands in for the pipeline calls and records the `now` each job was given."""

    def __init__(self) -> None:
        self.polls: list[dt.datetime] = []
        self.digests: list[dt.datetime] = []
        self.polled = threading.Event()
        self.digested = threading.Event()

    def poll(self, settings: Settings, now: dt.datetime, feeds_file: str | None) -> Any:
        self.polls.append(now)
        self.polled.set()
        return pipeline.CycleReport(now=now)

    def digest(self, settings: Settings, now: dt.datetime) -> Any:
        self.digests.append(now)
        self.digested.set()
        return []


@pytest.fixture
def taipei(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, timezone="Asia/Taipei", digest_time="07:00", poll_tick_seconds=30
    )


def make_service(settings: Settings, recorder: Recorder) -> scheduler.Service:
    return scheduler.Service(
        settings, clock=lambda: FAKE_NOW, poll=recorder.poll, digest=recorder.digest
    )


def test_jobs_have_explicit_ids_coalesce_and_never_overlap(taipei: Settings) -> None:
    service = make_service(taipei, Recorder())
    jobs = {job.id: job for job in service.scheduler.get_jobs()}
    assert set(jobs) == {"poll", "digest"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time is None  # a late digest still goes out


def test_poll_ticks_at_the_configured_interval(taipei: Settings) -> None:
    trigger = make_service(taipei, Recorder()).scheduler.get_job("poll").trigger
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == dt.timedelta(seconds=30)


def test_digest_fires_at_the_local_digest_time(taipei: Settings) -> None:
    trigger = make_service(taipei, Recorder()).scheduler.get_job("digest").trigger
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, FAKE_NOW)
    # 08:30 in Taipei has passed 07:00, so the next digest is tomorrow at 07:00 local.
    assert fire == dt.datetime(2026, 3, 2, 7, 0, tzinfo=fire.tzinfo)
    assert fire.astimezone(UTC) == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_digest_keeps_local_time_across_a_dst_change(settings: Settings) -> None:
    paris = dataclasses.replace(settings, timezone="Europe/Paris", digest_time="07:00")
    trigger = make_service(paris, Recorder()).scheduler.get_job("digest").trigger
    before = trigger.get_next_fire_time(None, dt.datetime(2026, 3, 27, 12, tzinfo=UTC))
    after = trigger.get_next_fire_time(None, dt.datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert before.astimezone(UTC).hour == 6  # 07:00 CET on 28 March
    assert after.astimezone(UTC).hour == 5  # 07:00 CEST on 29 March, the first summer day


def test_service_catches_up_then_fires_a_poll_and_a_digest(taipei: Settings) -> None:
    recorder = Recorder()
    service = make_service(taipei, recorder)
    service.start()
    try:
        # Catch-up runs before the scheduler starts, with the clock's now.
        assert recorder.digests == [FAKE_NOW]
        recorder.digested.clear()
        # The first poll runs at start-up, not a whole tick later.
        assert recorder.polled.wait(5)
        assert recorder.polls[0] == FAKE_NOW
        # Fire the digest job now instead of waiting for 07:00.
        service.scheduler.modify_job("digest", next_run_time=dt.datetime.now(UTC))
        assert recorder.digested.wait(5)
        assert recorder.digests == [FAKE_NOW, FAKE_NOW]
    finally:
        service.stop()
    assert not service.scheduler.running


def test_stop_lets_the_job_in_hand_finish(taipei: Settings) -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def slow_poll(settings: Settings, now: dt.datetime, feeds_file: str | None) -> Any:
        started.set()
        release.wait(5)
        finished.set()
        return pipeline.CycleReport(now=now)

    service = scheduler.Service(
        taipei, clock=lambda: FAKE_NOW, poll=slow_poll, digest=Recorder().digest
    )
    service.start()
    assert started.wait(5)
    stopper = threading.Thread(target=service.stop)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive(), "stop returned while a poll was still running"
    release.set()
    stopper.join(5)
    assert not stopper.is_alive()
    assert finished.is_set()


def test_poll_is_skipped_while_another_process_holds_the_lock(settings: Settings) -> None:
    lock_path = Path(settings.data_dir) / "poll.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys\n"
            f"f = open({str(lock_path)!r}, 'a')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        report = pipeline.poll_cycle(settings, FAKE_NOW)
        assert report.skipped
        assert report.poll is None
    finally:
        holder.communicate(timeout=5)  # closes stdin (the holder exits) and stdout
    with locks.exclusive(settings, "poll") as acquired:
        assert acquired  # the lock went away with its holder


def test_lock_is_exclusive_within_one_process_too(settings: Settings) -> None:
    with locks.exclusive(settings, "poll") as first:
        with locks.exclusive(settings, "poll") as second:
            assert first
            assert not second


# --- with the real pipeline, a loopback feed server and a loopback SMTP server ---------------

ROOT = Path(__file__).resolve().parents[1]
FEEDS = conftest.DATA / "backfill" / "feeds"
WATCHLISTS = conftest.DATA / "backfill" / "watchlists"
LATE_FEED = conftest.DATA / "backfill" / "late" / "feed_groq.xml"  # not among FEEDS
TYPES = {".xml": "application/rss+xml", ".json": "application/feed+json"}


def serve_feeds(http_server: conftest.TestHTTPServer, tmp_path: Path) -> Path:
    """Serve the saved real feeds and write a feed list pointing at them."""
    lines = ["feeds:"]
    for path in sorted(FEEDS.iterdir()):
        url = http_server.add(
            f"/{path.name}", path.read_bytes(), headers={"Content-Type": TYPES[path.suffix]}
        )
        lines.append(f"  - url: {url}\n    name: {path.stem}\n    fetch_pages: false")
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return feeds_file


@pytest.fixture
def mailing(settings: Settings, smtp_server: conftest.SMTPServer) -> Settings:
    return dataclasses.replace(
        settings,
        watchlists_dir=str(WATCHLISTS),
        match_threshold=0.3,
        alert_threshold=1.0,  # no alerts in these tests: only digests reach the mailbox
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_to=("analyst@example.org",),
        timezone="UTC",
        digest_time="07:00",
    )


def test_scheduler_fires_a_real_poll_then_the_next_morning_digest(
    mailing: Settings,
    http_server: conftest.TestHTTPServer,
    smtp_server: conftest.SMTPServer,
    tmp_path: Path,
) -> None:
    feeds_file = serve_feeds(http_server, tmp_path)
    clock = [dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)]
    polled, digested = threading.Event(), threading.Event()
    reports: list[pipeline.CycleReport] = []

    def poll(settings: Settings, now: dt.datetime, feeds: str | None) -> pipeline.CycleReport:
        reports.append(pipeline.poll_cycle(settings, now, feeds))
        polled.set()
        return reports[-1]

    def digest(settings: Settings, now: dt.datetime) -> Any:
        done = pipeline.digest_cycle(settings, now)
        digested.set()
        return done

    service = scheduler.Service(
        mailing, feeds_file=str(feeds_file), clock=lambda: clock[0], poll=poll, digest=digest
    )
    service.start()
    try:
        # The first poll encodes ~100 real articles for the relevance model: seconds on a
        # quiet machine, half a minute on a loaded one.
        assert polled.wait(120)
        assert reports[0].poll is not None
        assert reports[0].poll.new > 50
        assert reports[0].follow_ups > 0
        before = len(smtp_server.messages)  # the start-up catch-up: yesterday's (empty) digest
        digested.clear()
        clock[0] = dt.datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # the next morning, digest time
        service.scheduler.modify_job("digest", next_run_time=dt.datetime.now(UTC))
        assert digested.wait(10)
    finally:
        service.stop()
    assert len(smtp_server.messages) == before + 1
    message = smtp_server.messages[-1]
    assert "2026-03-02" in message["Subject"]
    db = open_db(mailing.database)
    titles = [
        r["title"]
        for r in db.query("SELECT title FROM articles JOIN matches ON matches.article_id = id")
    ]
    body = message.get_payload(0).get_payload(decode=True).decode()
    assert any(title in body for title in titles)


def service_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        MONITOR_DATA_DIR=settings.data_dir,
        MONITOR_WATCHLISTS_DIR=str(WATCHLISTS),
        MONITOR_ALLOW_PRIVATE_ADDRESSES="true",
        MONITOR_PER_HOST_DELAY="0",
        MONITOR_MATCH_THRESHOLD="0.3",
        MONITOR_POLL_TICK_SECONDS="3600",
    )
    return env


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def gated(body: bytes, gate: threading.Event) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route that holds its first answer until ``gate`` opens."""
    calls = []

    def handler(request: BaseHTTPRequestHandler) -> None:
        calls.append(1)
        if len(calls) == 1:
            gate.wait(20)
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        try:
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client was killed

    return handler


def test_sigterm_lets_the_poll_in_hand_finish_then_exits_cleanly(
    settings: Settings, http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    gate = threading.Event()
    body = (FEEDS / "phoronix.xml").read_bytes()
    http_server.routes["/slow.xml"] = conftest.Route(handler=gated(body, gate))
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(
        f"feeds:\n  - url: {http_server.url('/slow.xml')}\n    fetch_pages: false\n"
    )
    service = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--feeds", str(feeds_file)],
        cwd=ROOT,
        env=service_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: bool(http_server.requests_for("/slow.xml")))
        service.send_signal(signal.SIGTERM)  # while the poll waits for the feed
        time.sleep(0.2)
        assert service.poll() is None, "it stopped without finishing the poll in hand"
        gate.set()
        _, stderr = service.communicate(timeout=30)
    finally:
        gate.set()
        if service.poll() is None:
            service.kill()
            service.wait()
    assert service.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert open_db(settings.database)["articles"].count > 0  # that poll's articles were kept


def test_restart_after_a_kill_loses_nothing(
    mailing: Settings,
    http_server: conftest.TestHTTPServer,
    smtp_server: conftest.SMTPServer,
    tmp_path: Path,
) -> None:
    # Day one: a poll stores follow-ups; their digest is due tomorrow at 07:00.
    feeds_file = serve_feeds(http_server, tmp_path)
    day_one = dt.datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    first = pipeline.poll_cycle(mailing, day_one, str(feeds_file))
    assert first.follow_ups > 0
    # A new feed is added, and the service is killed while it is fetching it.
    gate = threading.Event()
    http_server.routes["/late.xml"] = conftest.Route(handler=gated(LATE_FEED.read_bytes(), gate))
    with feeds_file.open("a") as handle:
        handle.write(f"  - url: {http_server.url('/late.xml')}\n    fetch_pages: false\n")
    service = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--feeds", str(feeds_file)],
        cwd=ROOT,
        env=service_env(mailing),  # no SMTP: only the restarted service sends mail
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: bool(http_server.requests_for("/late.xml")))
        service.kill()
        service.wait(10)
    finally:
        gate.set()
    db = open_db(mailing.database)
    assert (
        db.execute("SELECT count(*) FROM articles WHERE feed_url LIKE '%late.xml'").fetchone()[0]
        == 0
    )

    # The restart happens the next morning, after the digest time it missed.
    next_morning = day_one + dt.timedelta(days=1) - dt.timedelta(hours=2)  # 08:00
    polled = threading.Event()

    def poll(settings: Settings, now: dt.datetime, feeds: str | None) -> pipeline.CycleReport:
        report = pipeline.poll_cycle(settings, now, feeds)
        polled.set()
        return report

    restarted = scheduler.Service(
        mailing, feeds_file=str(feeds_file), clock=lambda: next_morning, poll=poll
    )
    restarted.start()
    try:
        assert polled.wait(20)
    finally:
        restarted.stop()
    # The missed digest went out on start, with day one's follow-ups...
    subjects = [m["Subject"] for m in smtp_server.messages]
    assert any(day_one.date().isoformat() in s for s in subjects), subjects
    # ...and the feed whose fetch was killed was polled again and stored.
    late = db.execute("SELECT count(*) FROM articles WHERE feed_url LIKE '%late.xml'")
    assert late.fetchone()[0] > 0


# --- the command line -----------------------------------------------------------------------


def test_quick_start_run_once_on_the_sample_feeds_works_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the README runs it from the repository root
    env = {"MONITOR_DATA_DIR": str(tmp_path / "data"), "MONITOR_SMTP_HOST": ""}
    args = ["run", "--once", "--feeds", "watchlists/sample-feeds.yaml"]
    result = CliRunner().invoke(cli, args, env=env, obj={})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    first = result.output.splitlines()[0]
    polled, new = (int(n) for n in re.findall(r"(\d+) (?:feeds polled|new articles)", first))
    assert polled >= 5
    assert new > 50
    assert "0 failed" in first
    page = re.search(r"today's digest so far: (\S+)", result.output)
    assert page is not None
    assert Path(page.group(1)).is_file()
    # A second run right away finds nothing due and says so.
    again = CliRunner().invoke(cli, args, env=env, obj={})
    assert again.exit_code == 0, again.output
    assert "no feed is due yet" in again.output


def test_run_with_a_missing_feed_list_is_one_line_and_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["run", "--once", "--feeds", str(tmp_path / "nope.yaml")],
        env={"MONITOR_DATA_DIR": str(tmp_path)},
        obj={},
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Error: feed list not found" in result.output
    assert "Hint: pass --feeds FILE" in result.output
