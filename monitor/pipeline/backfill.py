"""Backfill: a past period through the same code as a live poll, with a past `now`."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from monitor import timeutil
from monitor.config import Settings
from monitor.errors import (
    BusyError,
    DeliveryError,
    MonitorError,
)
from monitor.extract import Extractor
from monitor.locks import exclusive
from monitor.match import Matcher
from monitor.models import (
    DeliveryReport,
    Entry,
    Feed,
)
from monitor.pipeline.backfill_units import BackfillSource, SavedPage, backfill_units
from monitor.pipeline.deliver import digest_for_day
from monitor.pipeline.ingest import (
    build_matcher,
    chunks,
    ingest_entries,
    open_database,
    store_entry,
)
from storage import backfill as storage_backfill
from storage import storage_errors

# --- backfill: a past period through the same code, with a past `now` ----------------------

log = logging.getLogger(__name__)

BACKFILL_BATCH = 20  # entries of one local day ingested together (page fetches overlap)


@dataclass(frozen=True)
class BackfillProgress:
    unit: str  # what was just done: a file, a feed page, a URL batch
    units_done: int
    units_total: int | None  # None while feed archives are still being discovered
    entries: int
    new_articles: int
    follow_ups: int


@dataclass
class BackfillReport:
    since: dt.date
    until: dt.date
    units: int = 0
    resumed: int = 0  # units skipped because a killed run had done them
    entries: int = 0  # entries in the window that went through ingest
    outside: int = 0  # entries dated outside the window, left out
    new_articles: int = 0
    follow_ups: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    stopped: bool = False  # interrupted; run it again to resume
    digests: DeliveryReport | None = None


@storage_errors
def backfill(
    db: Database,
    settings: Settings,
    since: dt.date,
    until: dt.date,
    source: BackfillSource,
    *,
    send: bool = False,
    now: dt.datetime | None = None,
    matcher: Matcher | None = None,
    on_progress: Callable[[BackfillProgress], None] | None = None,
    stop: threading.Event | None = None,
) -> BackfillReport:
    """Ingest every item of ``source`` dated in [since, until] (local days) as the live
    monitor would have when it appeared: each with its published time as ``now`` (undated
    ones at the end of the window). Then write the digests of the covered days; send them
    only if ``send``. ``now`` is the real present (it bounds which days' digests are due)."""
    if send and not settings.smtp_host:
        raise DeliveryError(
            "cannot send: smtp_host is not set", hint="set smtp_host (and mail_to), or drop --send"
        )
    present = now or dt.datetime.now(dt.UTC)
    start, end = timeutil.window(since, until, settings.timezone)
    matcher = matcher or build_matcher(settings)
    extractor = Extractor(settings)
    key = f"{source.kind}:{Path(source.path).resolve()}:{since}:{until}"
    report = BackfillReport(since=since, until=until)
    resuming = storage_backfill.start_run(db, key, source.kind, since, until, present)
    done = storage_backfill.done_units(db, key) if resuming else set()
    units, total = backfill_units(settings, source, start, report.failures)
    with storage_backfill.bulk_writes(db):
        for unit in units:
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            if unit.id in done:
                report.resumed += 1
                continue
            try:
                loaded = unit.entries()
            except MonitorError as exc:
                log.warning("backfill: %s: %s", unit.id, exc)
                report.failures.append((unit.id, str(exc)))
                continue
            ingest = _Ingest(db, settings, matcher, extractor, unit.feeds)
            entries = [item for item in loaded if isinstance(item, Entry)]
            pages = [item for item in loaded if isinstance(item, SavedPage)]
            count = _ingest_in_window(ingest, entries, start, end, report, stop)
            count += _store_saved_pages(ingest, pages, start, end, report)
            if stop is not None and stop.is_set():
                report.stopped = True
                break
            storage_backfill.mark_unit_done(db, key, unit.id, count, present)
            report.units += 1
            if on_progress is not None:
                on_progress(
                    BackfillProgress(
                        unit=unit.id,
                        units_done=report.units + report.resumed,
                        units_total=total,
                        entries=report.entries,
                        new_articles=report.new_articles,
                        follow_ups=report.follow_ups,
                    )
                )
    if report.stopped:
        return report
    report.digests = backfill_digests(db, settings, since, until, present, send=send)
    storage_backfill.finish_run(db, key, present)
    return report


def run_backfill(
    settings: Settings,
    since: dt.date,
    until: dt.date,
    source: BackfillSource,
    *,
    send: bool = False,
    now: dt.datetime | None = None,
    on_progress: Callable[[BackfillProgress], None] | None = None,
    stop: threading.Event | None = None,
) -> BackfillReport:
    """`monitor backfill` on the configured database: one backfill at a time (a lock file);
    ``stop`` ends it after the item in hand; run it again to resume."""
    with exclusive(settings, "backfill") as acquired:
        if not acquired:
            raise BusyError(
                "another backfill is running on this data directory",
                hint="wait for it to finish; a killed one resumes when run again",
            )
        db = open_database(settings)
        try:
            return backfill(
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


def backfill_entries(
    db: Database,
    settings: Settings,
    entries: Iterable[Entry],
    since: dt.date,
    until: dt.date,
    *,
    matcher: Matcher | None = None,
    chunk: int = 500,
) -> BackfillReport:
    """The ingest half of ``backfill`` over entries already in hand (a stream is read a
    chunk at a time, so memory stays flat however many there are). No digests."""
    start, end = timeutil.window(since, until, settings.timezone)
    ingest = _Ingest(db, settings, matcher or build_matcher(settings), Extractor(settings), {})
    report = BackfillReport(since=since, until=until)
    batch: list[Entry] = []
    with storage_backfill.bulk_writes(db):
        for entry in entries:
            batch.append(entry)
            if len(batch) >= chunk:
                _ingest_in_window(ingest, batch, start, end, report, None)
                batch = []
        _ingest_in_window(ingest, batch, start, end, report, None)
    return report


@dataclass(frozen=True)
class _Ingest:
    """What ingest_entries needs besides the entries and `now`."""

    db: Database
    settings: Settings
    matcher: Matcher
    extractor: Extractor
    feeds: Mapping[str, Feed]

    def __call__(self, entries: Sequence[Entry], now: dt.datetime, report: BackfillReport) -> None:
        done = ingest_entries(
            self.db,
            self.settings,
            entries,
            now,
            self.matcher,
            feeds=self.feeds,
            extractor=self.extractor,
        )
        report.entries += len(entries)
        report.new_articles += done.new
        report.follow_ups += storage_backfill.count_matches(self.db, done.article_ids)


def _entry_now(entry: Entry, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """The past `now` an entry is ingested at: when it was published, inside the window."""
    if entry.published is None:
        return timeutil.clamp(end, start, end)
    return timeutil.clamp(entry.published, start, end)


def _ingest_in_window(
    ingest: _Ingest,
    entries: Sequence[Entry],
    start: dt.datetime,
    end: dt.datetime,
    report: BackfillReport,
    stop: threading.Event | None,
) -> int:
    """Ingest the entries dated in [start, end), oldest first, in small batches of one local
    day each; a batch's `now` is its latest published time, so every article is stored after
    it appeared and on the day it appeared. Returns how many entries were in the window."""
    inside = []
    for entry in entries:
        if entry.published is not None and not start <= timeutil.utc(entry.published) < end:
            report.outside += 1
        else:
            inside.append(entry)
    inside.sort(key=lambda e: _entry_now(e, start, end))
    tz = ingest.settings.timezone
    by_day = itertools.groupby(
        inside, key=lambda e: timeutil.local_day(_entry_now(e, start, end), tz)
    )
    for _, day_entries in by_day:
        for batch in chunks(list(day_entries), BACKFILL_BATCH):
            ingest(batch, max(_entry_now(e, start, end) for e in batch), report)
            if stop is not None and stop.is_set():
                return len(inside)
    return len(inside)


def _store_saved_pages(
    ingest: _Ingest,
    pages: Sequence[SavedPage],
    start: dt.datetime,
    end: dt.datetime,
    report: BackfillReport,
) -> int:
    """Saved pages dated in the window go through dedupe, match and store like an entry
    whose page was fetched. Returns how many were in the window."""
    inside = 0
    for page in pages:
        published = page.article.published
        if published is not None and not start <= timeutil.utc(published) < end:
            report.outside += 1
            continue
        inside += 1
        ids: list[int] = []
        now = _entry_now(page.entry, start, end)
        store_entry(ingest.db, page.entry, page.article, ingest.feeds, ingest.matcher, now, ids)
        report.entries += 1
        report.new_articles += len(ids)
        report.follow_ups += storage_backfill.count_matches(ingest.db, ids)
    return inside


def backfill_digests(
    db: Database,
    settings: Settings,
    since: dt.date,
    until: dt.date,
    now: dt.datetime,
    *,
    send: bool = False,
) -> DeliveryReport:
    """The daily digests of the covered days that have follow-ups and whose digest time has
    passed by ``now`` (a past period's empty days would only be noise): each page written,
    and with ``send`` recorded in the outbox and delivered, once per day."""
    start, end = timeutil.window(since, until, settings.timezone)
    days = sorted(
        {
            timeutil.local_day(moment, settings.timezone)
            for moment in storage_backfill.follow_up_times(db, start, end)
        }
    )
    written: list[str] = []
    built: list[str] = []
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    for day in days:
        if timeutil.digest_due(day, settings.timezone, settings.digest_time) > now:
            break  # the live monitor would not have sent it yet either
        page, done = digest_for_day(db, settings, day, now, send=send)
        written.append(str(page))
        built += done.built
        sent += done.sent
        failed += done.failed
    return DeliveryReport(
        built=tuple(built), sent=tuple(sent), failed=tuple(failed), written=tuple(written)
    )
