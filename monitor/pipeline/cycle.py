"""One cycle of the single process, as the service's ticks and `monitor run --once` run it:
due feeds and their pages, then alerts and the outputs; and the digests that are due. The
scheduler (monitor/scheduler.py) only decides when these run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

from monitor import timeutil
from monitor.config import Settings
from monitor.locks import exclusive
from monitor.models import DeliveryReport, PollReport
from monitor.pipeline.deliver import digest_for_day, send_alerts, send_pending_digests
from monitor.pipeline.ingest import open_database
from monitor.pipeline.outputs import write_outputs
from monitor.pipeline.poll import poll_due_feeds

log = logging.getLogger(__name__)


@dataclass
class CycleReport:
    """What one poll-and-digest cycle did."""

    now: dt.datetime
    skipped: bool = False  # another process held the poll lock
    poll: PollReport | None = None
    alerts: DeliveryReport | None = None
    outputs: list[Path] = field(default_factory=list)
    today_page: Path | None = None  # today's digest so far
    digests: DeliveryReport | None = None
    watchlist_problems: tuple[str, ...] | None = None  # None: no matcher was built

    @property
    def follow_ups(self) -> int:
        """Follow-ups among the articles this poll stored."""
        return self.poll.follow_ups if self.poll is not None else 0


def poll_cycle(settings: Settings, now: dt.datetime, feeds_file: str | None = None) -> CycleReport:
    """One poll tick: due feeds (and pages waiting), then alerts, then outputs. Skips if a
    poll is running."""
    report = CycleReport(now=now)
    with exclusive(settings, "poll") as acquired:
        if not acquired:
            log.info("another poll is running; skipping this tick")
            report.skipped = True
            return report
        db = open_database(settings)
        problems: list[str] = []
        try:
            report.poll = poll_due_feeds(
                db, settings, now, feeds_file=feeds_file, watchlist_problems=problems
            )
            if report.poll.feeds:
                report.watchlist_problems = tuple(problems)
                log.info(
                    "polled %d feeds: %d new articles, %d follow-ups, %d failed; "
                    "%d pages fetched, %d waiting",
                    len(report.poll.feeds),
                    report.poll.new,
                    report.follow_ups,
                    len(report.poll.failed),
                    report.poll.pages_fetched,
                    report.poll.pages_waiting,
                )
            report.alerts = send_alerts(db, settings, now)
            report.outputs = write_outputs(db, settings, now)
        finally:
            db.close()
    return report


def digest_cycle(settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Send every digest that is due at ``now`` and not yet sent (a missed day included)."""
    db = open_database(settings)
    try:
        return send_pending_digests(db, settings, now)
    finally:
        db.close()


def run_once(settings: Settings, now: dt.datetime, feeds_file: str | None = None) -> CycleReport:
    """One full cycle, as `monitor run --once` does it: poll, alerts, outputs, digests."""
    report = poll_cycle(settings, now, feeds_file)
    report.digests = digest_cycle(settings, now)
    if not report.skipped:
        # The page of today so far, so a first run shows what it found at once.
        db = open_database(settings)
        try:
            today = timeutil.local_day(now, settings.timezone)
            report.today_page, _ = digest_for_day(db, settings, today, now)
        finally:
            db.close()
    return report
