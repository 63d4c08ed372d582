"""APScheduler wiring and signals only: when jobs run, never what they do.

Two jobs in the in-memory job store, both with explicit ids, ``coalesce=True`` and
``max_instances=1``:

- ``poll``: every ``poll_tick_seconds``, ``monitor.pipeline.poll_cycle``: the feeds whose
  next poll time has come (the schedule itself lives in the database) and the pages earlier
  polls left, then alerts and the outputs;
- ``digest``: a ``CronTrigger`` at ``digest_time`` in ``timezone``,
  ``monitor.pipeline.digest_cycle``: the pending digests.

On start the digest job runs once to catch up on a day missed while the service was down.
SIGTERM or SIGINT lets the job in hand finish, then the service stops (stop_on_signals, which
`monitor backfill`, `dispatch` and `worker` use too).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import pipeline
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.pipeline import CycleReport
from monitor.timeutil import parse_hhmm

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
POLL_JOB = "poll"
DIGEST_JOB = "digest"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        poll: PollJob = pipeline.poll_cycle,
        digest: DigestJob = pipeline.digest_cycle,
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
    with stop_on_signals(stop):
        try:
            service.start()
            while not stop.wait(timeout=1.0):
                pass
        finally:
            service.stop()


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
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
