"""APScheduler wiring only: when jobs run, never what they do.

Two jobs in the in-memory job store, both with explicit ids, ``coalesce=True`` and
``max_instances=1``:

- ``poll``: every ``poll_tick_seconds``, poll the feeds whose next poll time has come (the
  schedule itself lives in SQLite), then send alerts and rewrite the outputs;
- ``digest``: a ``CronTrigger`` at ``digest_time`` in ``timezone``, sending pending digests.

On start the digest job runs once to catch up on a day missed while the service was down.
A lock file in the data directory keeps two polls from running at once, across processes
too. SIGTERM or SIGINT lets the job in hand finish, then the service stops.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import pipeline, timeutil
from monitor.config import Settings
from monitor.errors import BusyError, MonitorError, StorageError
from monitor.models import DeliveryReport, PollReport
from monitor.timeutil import parse_hhmm

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
POLL_JOB = "poll"
DIGEST_JOB = "digest"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[bool]:
    """Hold ``<data_dir>/<name>.lock`` for the block; yields False at once if another
    process (or thread) holds it. flock locks go away with the process, so a killed run
    never leaves a stale lock behind."""
    directory = Path(settings.data_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"cannot write the lock file {directory / f'{name}.lock'}: {exc.strerror}",
            hint="data_dir must be a writable directory (in Docker: owned by the container user)",
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@dataclass
class CycleReport:
    """What one poll-and-digest cycle did, for the CLI's summary."""

    now: dt.datetime
    skipped: bool = False  # another process held the poll lock
    poll: PollReport | None = None
    follow_ups: int = 0  # follow-ups among the articles this poll stored
    alerts: DeliveryReport | None = None
    outputs: list[Path] = field(default_factory=list)
    today_page: Path | None = None  # today's digest so far
    digests: DeliveryReport | None = None
    watchlist_problems: tuple[str, ...] | None = None  # None: no matcher was built


def poll_cycle(settings: Settings, now: dt.datetime, feeds_file: str | None = None) -> CycleReport:
    """One poll tick: due feeds, then alerts, then outputs. Skips if a poll is running."""
    report = CycleReport(now=now)
    with exclusive(settings, "poll") as acquired:
        if not acquired:
            log.info("another poll is running; skipping this tick")
            report.skipped = True
            return report
        db = pipeline.open_database(settings)
        problems: list[str] = []
        try:
            report.poll = pipeline.poll_due_feeds(
                db, settings, now, feeds_file=feeds_file, watchlist_problems=problems
            )
            if report.poll.feeds:
                report.watchlist_problems = tuple(problems)
            # Articles are stored with stored_at = now (to the second).
            report.follow_ups = pipeline.follow_ups_stored(db, now, now + dt.timedelta(seconds=1))
            report.alerts = pipeline.send_alerts(db, settings, now)
            report.outputs = pipeline.write_outputs(db, settings, now)
        finally:
            db.close()
    return report


def digest_cycle(settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Send every digest that is due at ``now`` and not yet sent (a missed day included)."""
    db = pipeline.open_database(settings)
    try:
        return pipeline.send_pending_digests(db, settings, now)
    finally:
        db.close()


def run_once(
    settings: Settings, now: dt.datetime | None = None, feeds_file: str | None = None
) -> CycleReport:
    """One full cycle, as `monitor run --once` does it: poll, alerts, outputs, digests."""
    now = now or utcnow()
    report = poll_cycle(settings, now, feeds_file)
    report.digests = digest_cycle(settings, now)
    if not report.skipped:
        # The page of today so far, so a first run shows what it found at once.
        db = pipeline.open_database(settings)
        try:
            today = timeutil.local_day(now, settings.timezone)
            report.today_page, _ = pipeline.digest_for_day(db, settings, today, now)
        finally:
            db.close()
    return report


def summary(report: CycleReport, settings: Settings) -> list[str]:
    """A few lines on what one cycle did, for `monitor run --once`."""
    if report.skipped:
        return ["another poll is running (lock held); nothing done this time"]
    lines = []
    if report.poll is not None:
        poll = report.poll
        if not poll.feeds:
            lines.append("no feed is due yet (each is polled at its own interval)")
        lines.append(
            f"{len(poll.feeds)} feeds polled: {poll.new} new articles, "
            f"{report.follow_ups} follow-ups, {len(poll.failed)} failed"
        )
        lines += [f"  failed: {o.name or o.url}: {o.error}" for o in poll.failed]
    if report.alerts is not None and report.alerts.sent:
        lines.append(f"alerts sent: {len(report.alerts.sent)}")
    if report.alerts is not None:
        lines += [f"alert {key} not sent: {error}" for key, error in report.alerts.failed]
    if report.digests is not None:
        if report.digests.sent:
            lines.append(f"digests sent: {', '.join(report.digests.sent)}")
        for key, error in report.digests.failed:
            lines.append(f"digest {key} not sent: {error}")
    if report.today_page is not None:
        lines.append(f"today's digest so far: {report.today_page}")
    lines.append(f"outputs (RSS, Atom, digest pages): {settings.outputs}")
    return lines


def summary_json(report: CycleReport, settings: Settings) -> dict[str, Any]:
    """What one cycle did, for `monitor run --once --json`."""
    poll = report.poll
    digests = report.digests
    return {
        "now": report.now,
        "skipped": report.skipped,
        "feeds": list(poll.feeds) if poll else [],
        "new_articles": poll.new if poll else 0,
        "follow_ups": report.follow_ups,
        "failed": len(poll.failed) if poll else 0,
        "alerts_sent": list(report.alerts.sent) if report.alerts else [],
        "digests_sent": list(digests.sent) if digests else [],
        "digests_failed": [list(pair) for pair in digests.failed] if digests else [],
        "today_page": report.today_page,
        "outputs": settings.outputs,
    }


PollJob = Callable[[Settings, dt.datetime, str | None], Any]
DigestJob = Callable[[Settings, dt.datetime], Any]


class Service:
    """The long-running monitor. ``clock``, ``poll`` and ``digest`` are injectable so a test
    drives time itself and checks what ran at which moment."""

    def __init__(
        self,
        settings: Settings,
        *,
        feeds_file: str | None = None,
        clock: Clock = utcnow,
        poll: PollJob = poll_cycle,
        digest: DigestJob = digest_cycle,
    ) -> None:
        self.settings = settings
        self.feeds_file = feeds_file
        self.clock = clock
        self._poll = poll
        self._digest = digest
        self._watchlist_problems: tuple[str, ...] = ()
        self._last_error = ""
        # One worker: jobs run one after the other, so a digest never races a poll
        # in this process, and shutdown(wait=True) waits for exactly the job in hand.
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            timezone=ZoneInfo(settings.timezone),
        )
        self._add_jobs()

    def _add_jobs(self) -> None:
        hours, minutes = parse_hhmm(self.settings.digest_time)
        common: dict[str, Any] = {
            "coalesce": True,
            "max_instances": 1,
            "replace_existing": True,
            # A late run (a busy worker, a suspended laptop) still runs, once.
            "misfire_grace_time": None,
        }
        self.scheduler.add_job(
            self.poll_tick,
            IntervalTrigger(seconds=self.settings.poll_tick_seconds),
            id=POLL_JOB,
            name="poll due feeds",
            **common,
        )
        self.scheduler.add_job(
            self.digest_tick,
            CronTrigger(hour=hours, minute=minutes, timezone=ZoneInfo(self.settings.timezone)),
            id=DIGEST_JOB,
            name="send the daily digest",
            **common,
        )

    def poll_tick(self) -> CycleReport:
        now = self.clock()
        log.info("poll tick at %s", now.isoformat())
        try:
            result: CycleReport = self._poll(self.settings, now, self.feeds_file)
        except MonitorError as exc:
            # One line, once per change: the same broken file every minute is one problem.
            if str(exc) != self._last_error:
                log.error("poll failed: %s (%s)", exc, exc.hint)
            self._last_error = str(exc)
            return CycleReport(now=now, skipped=True)
        self._last_error = ""
        self._report_watchlists(result.watchlist_problems)
        if result.poll is not None and result.poll.feeds:
            log.info(
                "polled %d feeds: %d new articles, %d follow-ups, %d failed",
                len(result.poll.feeds),
                result.poll.new,
                result.follow_ups,
                len(result.poll.failed),
            )
        return result

    def _report_watchlists(self, problems: tuple[str, ...] | None) -> None:
        """Watchlist problems are logged when they change, not on every tick."""
        if problems is None or problems == self._watchlist_problems:
            return
        for problem in problems:
            if problem not in self._watchlist_problems:
                log.warning("watchlist left out of matching (the others go on): %s", problem)
        if not problems:
            log.info("every watchlist loads again")
        self._watchlist_problems = problems

    def digest_tick(self) -> Any:
        now = self.clock()
        log.info("digest tick at %s", now.isoformat())
        return self._digest(self.settings, now)

    def start(self) -> None:
        """Catch up on digests, then start ticking; the first poll runs at once."""
        self.digest_tick()
        self.scheduler.start()
        # Poll straight away rather than a full tick after start-up.
        self.scheduler.modify_job(POLL_JOB, next_run_time=dt.datetime.now(dt.UTC))

    def stop(self) -> None:
        """Let the job in hand finish, then stop."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


def serve(
    settings: Settings,
    feeds_file: str | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run until SIGTERM or SIGINT (or ``stop`` is set), then finish the job in hand and
    return."""
    stop = stop or threading.Event()
    # APScheduler logs every job run at INFO; the jobs log what they do themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = Service(settings, feeds_file=feeds_file)
    with _stop_on_signals(stop):
        try:
            service.start()
            while not stop.wait(timeout=1.0):
                pass
        finally:
            service.stop()


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` for the block (main thread only), then the old
    handlers come back."""
    previous: dict[signal.Signals, Any] = {}

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("received %s; stopping after the item in hand", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for wanted in (signal.SIGTERM, signal.SIGINT):
            previous[wanted] = signal.signal(wanted, request_stop)
    try:
        yield
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)


def backfill(
    settings: Settings,
    since: dt.date,
    until: dt.date,
    source: pipeline.BackfillSource,
    *,
    send: bool = False,
    now: dt.datetime | None = None,
    on_progress: Callable[[pipeline.BackfillProgress], None] | None = None,
) -> pipeline.BackfillReport:
    """`monitor backfill`: one backfill at a time (a lock file), stopped by SIGTERM or
    SIGINT after the item in hand; run it again to resume."""
    stop = threading.Event()
    with exclusive(settings, "backfill") as acquired:
        if not acquired:
            raise BusyError(
                "another backfill is running on this data directory",
                hint="wait for it to finish; a killed one resumes when run again",
            )
        db = pipeline.open_database(settings)
        try:
            with _stop_on_signals(stop):
                return pipeline.backfill(
                    db,
                    settings,
                    since,
                    until,
                    source,
                    send=send,
                    now=now,
                    on_progress=on_progress,
                    stop=stop,
                )
        finally:
            db.close()


def backfill_summary(report: pipeline.BackfillReport, settings: Settings) -> list[str]:
    lines = [
        f"backfill {report.since} to {report.until}: {report.entries} entries in the window, "
        f"{report.new_articles} new articles, {report.follow_ups} follow-ups"
    ]
    if report.resumed:
        lines.append(f"resumed: {report.resumed} units were done before")
    if report.outside:
        lines.append(f"{report.outside} entries dated outside the window were left out")
    lines += [f"  failed: {unit}: {error}" for unit, error in report.failures]
    if report.stopped:
        lines.append("stopped before the end; run the same command again to resume")
    elif report.digests is not None:
        if report.digests.written:
            folder = Path(report.digests.written[0]).parent
            lines.append(
                f"{len(report.digests.written)} daily digests (days with follow-ups) "
                f"written to {folder}"
            )
        else:
            lines.append("no day in the window has follow-ups; no digest written")
        if report.digests.sent:
            lines.append(f"digests sent: {', '.join(report.digests.sent)}")
        for key, error in report.digests.failed:
            lines.append(f"digest {key} not sent (pending, retried by `monitor run`): {error}")
    return lines
