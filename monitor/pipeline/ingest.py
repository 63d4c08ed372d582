"""Polling and ingest: due feeds -> fetch -> parse -> pages -> extract -> dedupe -> match -> store.

One feed's failure is recorded with its backoff, never raised; each entry is stored with its
article, sources and matches in one transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from monitor import schedule
from monitor.config import Settings
from monitor.dedupe import article_url, canonical_url, entry_key, fingerprint
from monitor.errors import (
    ConfigError,
    ExtractError,
    FeedParseError,
    FetchError,
    MonitorError,
    PageDeferred,
)
from monitor.extract import Extractor, detect_language
from monitor.feeds import (
    TITLE_CHARS,
    add_feeds,
    cap,
    is_usable_link,
    load_feeds,
    parse_feed,
    read_opml,
    spread_by_host,
    url_problem,
    write_opml,
)
from monitor.fetch import FetchRequest, PageBudget, fetch_all
from monitor.match import Matcher, build
from monitor.models import (
    Article,
    Entry,
    Feed,
    FeedOutcome,
    FeedState,
    Fetched,
    IngestReport,
    PollReport,
    Watchlist,
)
from monitor.pipeline.baselines import DERIVED_DIR, ensure_watchlists
from monitor.watchlist import check_watchlists
from storage import articles as stored_articles
from storage import feeds as stored_feeds
from storage import open_db, storage_errors
from storage.matches import matches_between, save_matches

log = logging.getLogger(__name__)

# --- polling and ingest ---------------------------------------------------------------------

FEED_BATCH = 200  # feeds fetched together; bounds memory for long feed lists
PAGE_BATCH = 32  # pages fetched together; what a kill mid-poll can cost (fetched again)

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_database(settings: Settings) -> Database:
    """The monitor's database, with every migration applied."""
    return open_db(settings.database)


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


def import_opml(
    settings: Settings, opml_file: str | Path, feeds_file: str | Path | None = None
) -> list[Feed]:
    """Add the feeds of an OPML file to the feeds file; returns those that were new."""
    path = Path(opml_file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    return add_feeds(feeds_file or settings.feeds_file, read_opml(data, str(path)))


def export_opml(settings: Settings, feeds_file: str | Path | None = None) -> str:
    """The feeds file as OPML."""
    return write_opml(load_feeds(feeds_file or settings.feeds_file))


def build_matcher(settings: Settings, problems: list[str] | None = None) -> Matcher:
    """A matcher over every watchlist that loads. One with a typo is left out and described
    in ``problems`` (logged here when not given): the other baselines keep matching."""
    found: list[str] = []
    try:
        ensure_watchlists(settings)  # a baseline added by hand gets its watchlist first
    except MonitorError as exc:
        found.append(str(exc))
    good, bad = check_watchlists(settings.watchlists_dir)
    found += bad
    watchlists: dict[str, Watchlist] = {}
    for watchlist in good:
        if watchlist.baseline.id in watchlists:
            found.append(f"baseline id {watchlist.baseline.id!r} is used by two watchlists")
            continue
        watchlists[watchlist.baseline.id] = watchlist
    if problems is not None:
        problems += found
    else:
        for problem in found:
            log.warning("watchlist left out of matching: %s", problem)
    return build(
        list(watchlists.values()),
        settings.relevance_model,
        settings.match_threshold,
        settings.encoder_model,
        Path(settings.watchlists_dir) / DERIVED_DIR,
    )


def check_feeds_file(path: str | Path) -> int:
    """How many feeds the file lists; ConfigError (file:line) when it is invalid."""
    return len(load_feeds(path))


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
    schedule) is fetched (conditionally), parsed, and its new entries ingested. A feed that
    fails is recorded with its backoff; the others go on. Feed validators are stored only
    after the feed's entries are, so a kill loses nothing."""
    feeds = load_feeds(feeds_file or settings.feeds_file)
    stored_feeds.sync_feeds(db, feeds, now)
    by_origin = {feed.url: feed for feed in feeds}
    if force:
        chosen = [s for s in stored_feeds.all_feeds(db) if s.origin_url in by_origin]
    else:
        chosen = stored_feeds.due_feeds(db, now, origins=by_origin)
    due = spread_by_host(chosen, lambda s: s.url)
    if not due:
        return PollReport()
    matcher = matcher or build_matcher(settings, watchlist_problems)
    extractor = Extractor(settings)
    budget = PageBudget(settings.poll_budget_seconds, settings.host_failure_budget)
    outcomes: list[FeedOutcome] = []
    for chunk in chunks(due, FEED_BATCH):
        outcomes += _poll_chunk(db, settings, now, chunk, by_origin, matcher, extractor, budget)
    return PollReport(tuple(outcomes))


def _poll_chunk(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    states: Sequence[FeedState],
    by_origin: Mapping[str, Feed],
    matcher: Matcher,
    extractor: Extractor,
    budget: PageBudget | None = None,
) -> list[FeedOutcome]:
    requests = [FetchRequest(s.url, s.etag, s.last_modified, trusted=True) for s in states]
    results = fetch_all(requests, settings)
    outcomes: dict[str, FeedOutcome] = {}
    parsed: list[tuple[FeedState, Fetched, list[Entry], str]] = []
    for state, result in zip(states, results, strict=True):
        feed = by_origin[state.origin_url]
        if isinstance(result, FetchError):
            outcomes[state.url] = _failed(db, settings, now, state, result, result.status)
            continue
        if result.status == 304 and not (state.etag or state.last_modified):
            # Nothing was asked to be compared: a 304 here is a broken server, not news.
            error = FetchError("304 Not Modified to a request without validators", status=304)
            outcomes[state.url] = _failed(db, settings, now, state, error, 304)
            continue
        if result.permanent_redirect and stored_feeds.update_url(
            db, state.url, result.permanent_redirect
        ):
            state = _moved(state, result.permanent_redirect)
        if result.status == 304:
            outcomes[state.url] = _succeeded(db, settings, now, state, result, "unchanged")
            continue
        try:
            feed_text = parse_feed(result.body, result.headers, state.origin_url, feed.language)
        except FeedParseError as exc:
            outcomes[state.url] = _failed(db, settings, now, state, exc, result.status)
            continue
        parsed.append((state, result, feed_text.entries, feed_text.warning))
    all_entries = [entry for _, _, entries, _ in parsed for entry in entries]
    report = ingest_entries(
        db, settings, all_entries, now, matcher, feeds=by_origin, extractor=extractor, budget=budget
    )
    for state, result, entries, warning in parsed:
        new = report.new_by_feed.get(state.origin_url, 0)
        deferred = report.deferred_by_feed.get(state.origin_url, 0)
        # With entries left for the next poll, the new validators are not kept: the next
        # request must get the whole feed again, or those entries would never come back.
        outcome = _succeeded(db, settings, now, state, result, "new", keep_validators=not deferred)
        if deferred:
            note = f"{deferred} pages deferred to the next poll (slow host or time budget)"
            warning = f"{warning}; {note}" if warning else note
        outcomes[state.url] = FeedOutcome(
            url=outcome.url,
            name=outcome.name,
            status="new",
            new=new,
            entries=len(entries),
            seen=len(entries) - new,
            warning=warning,
            next_poll_at=outcome.next_poll_at,
        )
    return [outcomes[key] for key in outcomes]


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
    *,
    keep_validators: bool = True,
) -> FeedOutcome:
    next_poll = schedule.next_poll_after_success(
        now, interval_minutes=state.interval_minutes, headers=result.headers
    )
    stored_feeds.record_success(
        db,
        state.url,
        now,
        status=result.status,
        etag=result.headers.get("etag") if keep_validators else None,
        last_modified=result.headers.get("last-modified") if keep_validators else None,
        next_poll_at=next_poll,
    )
    return FeedOutcome(state.url, state.name, status, next_poll_at=next_poll)


def ingest_entries(
    db: Database,
    settings: Settings,
    entries: Sequence[Entry],
    now: dt.datetime,
    matcher: Matcher,
    *,
    feeds: Mapping[str, Feed] | None = None,
    extractor: Extractor | None = None,
    budget: PageBudget | None = None,
) -> IngestReport:
    """New entries -> pages (fetched as untrusted links) -> extract -> dedupe -> match ->
    store. Each entry is written with its article, sources and matches in one transaction,
    so an entry is marked handled only once its article is stored. ``feeds`` maps a feed URL
    to its Feed (name, fetch_pages)."""
    feeds = feeds or {}
    extractor = extractor or Extractor(settings)
    fresh = stored_articles.unseen_entries(db, entries, entry_keys)
    new_by_feed: dict[str, int] = {}
    deferred_by_feed: dict[str, int] = {}
    ids: list[int] = []
    duplicates = page_failures = 0
    for batch in chunks(fresh, PAGE_BATCH):
        # Pages are fetched and extracted outside any transaction; then the batch is stored
        # in one (one commit, not one per entry), each entry together with its article.
        to_fetch = [e for e in batch if _page_wanted(e, settings, feeds) and not _link_known(db, e)]
        pages = fetch_all([FetchRequest(entry.link) for entry in to_fetch], settings, budget=budget)
        prepared: dict[int, tuple[Article, str | None]] = {}
        deferred: set[int] = set()
        for entry, page in zip(to_fetch, pages, strict=True):
            if isinstance(page, PageDeferred):
                deferred.add(id(entry))  # neither stored nor marked: the next poll tries it
                deferred_by_feed[entry.feed_url] = deferred_by_feed.get(entry.feed_url, 0) + 1
                continue
            article, failed = _page_article(entry, page, extractor, feeds)
            page_failures += failed
            prepared[id(entry)] = (article, page.url if isinstance(page, Fetched) else None)
        with db.atomic():
            for entry in batch:
                if id(entry) in deferred:
                    continue
                if id(entry) not in prepared and _store_if_known(db, entry, feeds, now):
                    duplicates += 1
                    continue
                article, final_url = prepared.get(id(entry)) or (
                    _feed_article(entry, feeds, _no_page_reason(entry, settings)),
                    None,
                )
                if store_entry(db, entry, article, final_url, feeds, matcher, now, ids):
                    new_by_feed[entry.feed_url] = new_by_feed.get(entry.feed_url, 0) + 1
                else:
                    duplicates += 1
    return IngestReport(
        new=len(ids),
        duplicates=duplicates,
        page_failures=page_failures,
        new_by_feed=new_by_feed,
        article_ids=tuple(ids),
        deferred_by_feed=deferred_by_feed,
    )


def _entry_url(entry: Entry) -> str:
    """The canonical URL an entry stands for. Entries without an http(s) link are keyed by
    feed and id: a javascript: or file: link, or one that does not parse, is never stored as
    an address to follow."""
    if is_usable_link(entry.link):
        return canonical_url(entry.link)
    if is_usable_link(entry.guid):
        return canonical_url(entry.guid)
    return f"{entry.feed_url}#{entry.guid}"


def entry_keys(entry: Entry) -> stored_articles.EntryKeys:
    link = canonical_url(entry.link) if is_usable_link(entry.link) else None
    return stored_articles.EntryKeys(link=link, content=entry_key(entry.title, entry.summary))


def _link_known(db: Database, entry: Entry) -> bool:
    return stored_articles.find_article(db, [_entry_url(entry), entry.link]) is not None


def _store_if_known(
    db: Database, entry: Entry, feeds: Mapping[str, Feed], now: dt.datetime
) -> bool:
    """An entry whose link is already stored becomes another source of that article."""
    article_id = stored_articles.find_article(db, [_entry_url(entry), entry.link])
    if article_id is None:
        return False
    with db.atomic():
        stored_articles.add_source(db, article_id, _source(entry, feeds), now)
        stored_articles.mark_entry(
            db, entry.feed_url, entry.guid, article_id, now, entry_keys(entry)
        )
    return True


def _page_wanted(entry: Entry, settings: Settings, feeds: Mapping[str, Feed]) -> bool:
    feed = feeds.get(entry.feed_url)
    if not settings.fetch_pages or (feed is not None and not feed.fetch_pages):
        return False
    return is_usable_link(entry.link)


def _no_page_reason(entry: Entry, settings: Settings) -> str:
    if not entry.link:
        return "page not fetched: the entry has no link"
    if not entry.link.lower().startswith(("http://", "https://")):
        return "page not fetched: only http(s) links are fetched"
    problem = url_problem(entry.link)
    if problem:
        return f"page not fetched: {problem}"
    if not settings.fetch_pages:
        return "page not fetched: fetch_pages is off"
    return "page not fetched: fetch_pages is off for this feed"


def _source(entry: Entry, feeds: Mapping[str, Feed]) -> stored_articles.Source:
    feed = feeds.get(entry.feed_url)
    return stored_articles.Source(
        url=entry.link if is_usable_link(entry.link) else _entry_url(entry),
        feed_url=entry.feed_url,
        source_name=feed.name if feed else "",
        title=entry.title,
    )


def _feed_article(entry: Entry, feeds: Mapping[str, Feed], reason: str) -> Article:
    """The article as the feed itself gives it: its title and summary."""
    feed = feeds.get(entry.feed_url)
    return Article(
        url=_entry_url(entry),
        title=entry.title,
        text=entry.summary,
        language=detect_language(f"{entry.title}\n{entry.summary}", entry.language),
        published=entry.published,
        author=entry.author,
        feed_url=entry.feed_url,
        source_name=feed.name if feed else "",
        extract_error=reason,
    )


def _page_article(
    entry: Entry, page: Fetched | FetchError, extractor: Extractor, feeds: Mapping[str, Feed]
) -> tuple[Article, int]:
    """The extracted article, or the feed's own text with the reason; (article, 1 if failed)."""
    if isinstance(page, FetchError):
        return _feed_article(entry, feeds, f"page not fetched: {page}"), 1
    try:
        # The feed's date is the publisher's own; look for one in the page only without it.
        extracted = extractor.extract(page, want_date=entry.published is None)
    except ExtractError as exc:
        return _feed_article(entry, feeds, f"page not extracted: {exc}"), 1
    fallback = _feed_article(entry, feeds, "")
    # A paywalled page can extract to less than the feed carries; keep the longer text.
    text = extracted.text if len(extracted.text) >= len(entry.summary) else entry.summary
    return (
        Article(
            url=article_url(entry.link, page.url) if entry.link else fallback.url,
            title=entry.title or cap(extracted.title, TITLE_CHARS),
            text=text,
            language=extracted.language,
            published=entry.published or extracted.published,
            author=extracted.author or entry.author,
            feed_url=entry.feed_url,
            source_name=fallback.source_name,
        ),
        0,
    )


def store_entry(
    db: Database,
    entry: Entry,
    article: Article,
    final_url: str | None,
    feeds: Mapping[str, Feed],
    matcher: Matcher,
    now: dt.datetime,
    ids: list[int],
) -> bool:
    """Article, source, entry row and matches in one transaction. True if the article is new."""
    print_ = fingerprint(article.text)
    matches = matcher.match(article)
    with db.atomic():
        known = stored_articles.find_article(
            db, [article.url, _entry_url(entry), entry.link], print_
        )
        if known is not None:
            stored_articles.add_source(db, known, _source(entry, feeds), now)
            stored_articles.mark_entry(
                db, entry.feed_url, entry.guid, known, now, entry_keys(entry)
            )
            return False
        article_id, _ = stored_articles.save_article(
            db, article, print_, _source(entry, feeds), now
        )
        stored_articles.mark_entry(
            db, entry.feed_url, entry.guid, article_id, now, entry_keys(entry)
        )
        save_matches(db, article_id, matches, now)
    ids.append(article_id)
    return True


def follow_ups_stored(db: Database, start: dt.datetime, end: dt.datetime) -> int:
    """How many follow-ups belong to articles stored in [start, end)."""
    return len(matches_between(db, start, end))
