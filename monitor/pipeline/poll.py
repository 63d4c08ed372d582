"""Polling: due feeds -> fetch (conditionally) -> parse -> ingest, and the feeds' schedule.

A poll stores every new entry from its feed's text first, records the feed's success (its
validators kept: every entry is stored), and only then fetches pages, within the poll's
PageBudget. So entries are stored within the feeds' own fetch time however slow their pages
are, and the poll's wall time is bounded by that fetch plus ``poll_budget_seconds``. Pages the
budget leaves wait in pending_pages and are the first fetched by the next poll, which runs its
page stage even when no feed is due. One feed's failure is recorded with its backoff, never
raised."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from monitor import schedule
from monitor.config import Settings
from monitor.errors import FeedParseError, FetchError
from monitor.extract import Extractor
from monitor.feed_list import load_feeds, spread_by_host
from monitor.feeds import parse_feed
from monitor.fetch import FetchRequest, PageBudget, fetch_all
from monitor.match import Matcher
from monitor.models import Entry, Feed, FeedOutcome, FeedState, Fetched, PollReport
from monitor.pipeline.ingest import (
    FEED_BATCH,
    FeedStored,
    PagesFetched,
    build_matcher,
    chunks,
    fetch_pages,
    ingest_report,
    open_database,
    store_from_feeds,
)
from storage import feeds as stored_feeds
from storage import pages as stored_pages
from storage import storage_errors
from storage.matches import count_for


def poll_once(
    settings: Settings,
    now: dt.datetime,
    feeds_file: str | Path | None = None,
    *,
    force: bool = False,
) -> PollReport:
    """`monitor poll`: one cycle on the configured database (``force``: every feed)."""
    db = open_database(settings)
    try:
        return poll_due_feeds(db, settings, now, feeds_file, force=force)
    finally:
        db.close()


@storage_errors
def next_poll_at(settings: Settings, feeds_file: str | Path | None = None) -> dt.datetime | None:
    """When the next feed of the feeds file is due (None: no feed has a time yet)."""
    origins = {feed.url for feed in load_feeds(feeds_file or settings.feeds_file)}
    db = open_database(settings)
    try:
        times = [
            state.next_poll_at
            for state in stored_feeds.all_feeds(db)
            if state.origin_url in origins and state.next_poll_at is not None
        ]
    finally:
        db.close()
    return min(times, default=None)


@dataclass(frozen=True)
class _Polled:
    """One feed fetched and parsed, its entries stored, waiting for the page stage's count."""

    state: FeedState
    outcome: FeedOutcome
    entries: int
    warning: str


@storage_errors
def poll_due_feeds(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    feeds_file: str | Path | None = None,
    *,
    matcher: Matcher | None = None,
    watchlist_problems: list[str] | None = None,
    force: bool = False,
) -> PollReport:
    """One poll cycle: every due feed of the feeds file (``force``: every feed, whatever its
    schedule) is fetched (conditionally), parsed, and its new entries stored from the feed's
    text; then the pages waiting (this poll's and earlier polls') are fetched. A feed that
    fails is recorded with its backoff; the others go on."""
    feeds = load_feeds(feeds_file or settings.feeds_file)
    stored_feeds.sync_feeds(db, feeds, now)
    by_origin = {feed.url: feed for feed in feeds}
    if force:
        chosen = [s for s in stored_feeds.all_feeds(db) if s.origin_url in by_origin]
    else:
        chosen = stored_feeds.due_feeds(db, now, origins=by_origin)
    due = spread_by_host(chosen, lambda s: s.url)
    if not due and not stored_pages.count(db):
        return PollReport()
    matcher = matcher or build_matcher(settings, watchlist_problems)
    # The budget starts with the poll: the feeds' own fetch is bounded by http_timeout.
    budget = PageBudget(settings.poll_budget_seconds, settings.host_failure_budget)
    polled: list[FeedOutcome | _Polled] = []
    stored = FeedStored()
    for chunk in chunks(due, FEED_BATCH):
        chunk_polled, chunk_stored = _poll_chunk(db, settings, now, chunk, by_origin, matcher)
        polled += chunk_polled
        stored = _joined(stored, chunk_stored)
    pages = fetch_pages(
        db, settings, now, matcher, Extractor(settings), feeds=by_origin, budget=budget
    )
    report = ingest_report(stored, pages)
    return PollReport(
        feeds=tuple(
            _with_pages(p, report.new_by_feed, pages) if isinstance(p, _Polled) else p
            for p in polled
        ),
        article_ids=report.article_ids,
        follow_ups=count_for(db, report.article_ids),
        pages_fetched=pages.fetched,
        pages_waiting=sum(pages.deferred_by_feed.values()),
    )


def _joined(first: FeedStored, second: FeedStored) -> FeedStored:
    return FeedStored(
        article_ids=first.article_ids + second.article_ids,
        feed_of={**first.feed_of, **second.feed_of},
        duplicates=first.duplicates + second.duplicates,
        pending=first.pending + second.pending,
    )


def _with_pages(
    polled: _Polled, new_by_feed: Mapping[str, int], pages: PagesFetched
) -> FeedOutcome:
    """A fetched feed's outcome once the page stage is done: its new articles (one merged
    into another copy by its page is not new) and the pages it still waits for."""
    origin = polled.state.origin_url
    new = new_by_feed.get(origin, 0)
    warning = polled.warning
    deferred = pages.deferred_by_feed.get(origin, 0)
    if deferred:
        note = f"{deferred} pages deferred to the next poll (slow host or time budget)"
        warning = f"{warning}; {note}" if warning else note
    outcome = polled.outcome
    return FeedOutcome(
        url=outcome.url,
        name=outcome.name,
        status="new",
        new=new,
        entries=polled.entries,
        seen=polled.entries - new,
        warning=warning,
        next_poll_at=outcome.next_poll_at,
    )


def _poll_chunk(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    states: Sequence[FeedState],
    by_origin: Mapping[str, Feed],
    matcher: Matcher,
) -> tuple[list[FeedOutcome | _Polled], FeedStored]:
    """Fetch and parse a chunk of feeds and store their new entries from the feeds' text.
    Returns, in feed order, the finished outcomes (failed, unchanged) and the feeds with
    entries, and what was stored. A feed's validators are stored only after its entries,
    so a kill loses nothing."""
    requests = [FetchRequest(s.url, s.etag, s.last_modified, trusted=True) for s in states]
    results = fetch_all(requests, settings)
    outcomes: list[FeedOutcome | int] = []  # an int: the parsed feed at that index
    parsed: list[tuple[FeedState, Fetched, list[Entry], str]] = []
    for state, result in zip(states, results, strict=True):
        feed = by_origin[state.origin_url]
        if isinstance(result, FetchError):
            outcomes.append(_failed(db, settings, now, state, result, result.status))
            continue
        if result.status == 304 and not (state.etag or state.last_modified):
            # Nothing was asked to be compared: a 304 here is a broken server, not news.
            error = FetchError("304 Not Modified to a request without validators", status=304)
            outcomes.append(_failed(db, settings, now, state, error, 304))
            continue
        if result.permanent_redirect and stored_feeds.update_url(
            db, state.url, result.permanent_redirect
        ):
            state = _moved(state, result.permanent_redirect)
        if result.status == 304:
            outcomes.append(_succeeded(db, settings, now, state, result, "unchanged"))
            continue
        try:
            feed_text = parse_feed(result.body, result.headers, state.origin_url, feed.language)
        except FeedParseError as exc:
            outcomes.append(_failed(db, settings, now, state, exc, result.status))
            continue
        outcomes.append(len(parsed))
        parsed.append((state, result, feed_text.entries, feed_text.warning))
    all_entries = [entry for _, _, entries, _ in parsed for entry in entries]
    stored = store_from_feeds(db, settings, all_entries, now, matcher, by_origin)
    polled = [
        _Polled(state, _succeeded(db, settings, now, state, result, "new"), len(entries), warning)
        for state, result, entries, warning in parsed
    ]
    return [polled[o] if isinstance(o, int) else o for o in outcomes], stored


def _moved(state: FeedState, url: str) -> FeedState:
    return FeedState(**{**state.__dict__, "url": url})


def _failed(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    state: FeedState,
    error: Exception,
    status: int | None,
) -> FeedOutcome:
    retry_after = getattr(error, "retry_after", None)
    next_poll = schedule.next_poll_after_failure(
        state.error_count + 1, now, settings, retry_after=retry_after
    )
    stored_feeds.record_failure(
        db, state.url, now, error=str(error), status=status, next_poll_at=next_poll
    )
    message = str(error)
    gone = _gone(status, state.error_count + 1)
    if gone:
        stored_feeds.disable(db, state.url, f"{gone} ({error})")
        message = f"{error}; no longer polled: {gone}"
    return FeedOutcome(state.url, state.name, "failed", error=message, next_poll_at=next_poll)


NOT_FOUND_LIMIT = 3  # 404s in a row before a feed is taken as gone (one can be a bad deploy)


def _gone(status: int | None, failures: int) -> str:
    """Why a feed that answered ``status`` (its ``failures``-th failure in a row) is gone,
    or "" while it may still come back."""
    if status == 410:
        return "410 Gone: the publisher removed the feed"
    if status == 404 and failures >= NOT_FOUND_LIMIT:
        return f"404 Not Found, after {failures} failed polls in a row"
    return ""


def _succeeded(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    state: FeedState,
    result: Fetched,
    status: str,
) -> FeedOutcome:
    next_poll = schedule.next_poll_after_success(
        now, interval_minutes=state.interval_minutes, headers=result.headers
    )
    stored_feeds.record_success(
        db,
        state.url,
        now,
        status=result.status,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        next_poll_at=next_poll,
    )
    return FeedOutcome(state.url, state.name, status, next_poll_at=next_poll)
