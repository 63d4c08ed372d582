"""Ingest: feed entries -> articles, in two stages, so a slow page never delays the feed.

1. store_from_feeds: every new entry is stored at once as an article from the feed's own
   text (matched as such), with its entry row and, when its page is wanted, a pending_pages
   row; one transaction per batch, no network.
2. fetch_pages: the pages waiting (this poll's, and those earlier polls deferred, oldest
   first) are fetched within the poll's PageBudget and extracted; each article then gets its
   page's text and is matched again (monitor.entries decides the article and the follow-ups
   it keeps), or, when the page is another copy of a stored story, is merged into it. A page
   the budget refuses keeps its row and is fetched by a later poll.

Each entry is written with its article, sources and matches in one transaction, so a kill
at any point loses nothing and stores nothing twice."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from monitor import entries as decide
from monitor.config import Settings
from monitor.dedupe import canonical_url, entry_key, fingerprint
from monitor.entries import NoPage, PageOutcome, PageText
from monitor.errors import ConfigError, ExtractError, FetchError, MonitorError, PageDeferred
from monitor.extract import Extractor
from monitor.feed_list import add_feeds, is_usable_link, load_feeds, read_opml, write_opml
from monitor.fetch import FetchRequest, PageBudget, fetch_all
from monitor.match import Matcher, build
from monitor.models import Article, Entry, Feed, Fetched, IngestReport, Match, Watchlist
from monitor.pipeline.baselines import DERIVED_DIR, ensure_watchlists
from monitor.watchlist import check_watchlists
from storage import articles as stored_articles
from storage import open_db
from storage import pages as stored_pages
from storage.interface import Source
from storage.matches import matches_of, save_matches

log = logging.getLogger(__name__)

FEED_BATCH = 200  # feeds fetched together; bounds memory for long feed lists
PAGE_BATCH = 32  # pages fetched together; what a kill mid-poll can cost (fetched again)

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_database(settings: Settings) -> Database:
    """The monitor's database, with every migration applied."""
    return open_db(settings.database)


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


# --- stage 1: every new entry stored from the feed's own text --------------------------------

STORE_BATCH = 200  # entries stored in one transaction (one commit, not one per entry)
MAX_PAGE_DEFERRALS = 20  # polls a page may be deferred on before the feed's text is final


@dataclass(frozen=True)
class FeedStored:
    """What store_from_feeds did."""

    article_ids: tuple[int, ...] = ()  # articles stored, in feed order
    feed_of: Mapping[int, str] = field(default_factory=dict)  # article id -> feed URL
    duplicates: int = 0  # entries that were another source of a stored article
    pending: tuple[int, ...] = ()  # articles whose page is to be fetched


def store_from_feeds(
    db: Database,
    settings: Settings,
    entries: Sequence[Entry],
    now: dt.datetime,
    matcher: Matcher,
    feeds: Mapping[str, Feed],
) -> FeedStored:
    """Store every entry not handled before as an article from its feed's text, matched, with
    a pending page when its page is wanted. An entry whose link is stored already becomes
    another source of that article (and its page is not fetched again)."""
    fresh = stored_articles.unseen_entries(db, entries, entry_keys)
    ids: list[int] = []
    feed_of: dict[int, str] = {}
    pending: list[int] = []
    duplicates = 0
    for batch in chunks(fresh, STORE_BATCH):
        read = [_from_feed(entry, settings, feeds) for entry in batch]
        matched = matcher.match_many([article for _, _, article, _ in read])
        prepared = [(*entry_read, found) for entry_read, found in zip(read, matched, strict=True)]
        with db.atomic():
            for entry, wanted, article, print_, found in prepared:
                known = stored_articles.find_article(db, decide.lookup_urls(entry, article), print_)
                if known is not None:
                    _add_source(db, known, entry, feeds, now)
                    duplicates += 1
                    continue
                article_id, _ = stored_articles.save_article(
                    db, article, print_, _source(entry, feeds), now
                )
                stored_articles.mark_entry(
                    db, entry.feed_url, entry.guid, article_id, now, entry_keys(entry)
                )
                save_matches(db, article_id, found, now)
                if wanted:
                    stored_pages.add(db, article_id, entry, now)
                    pending.append(article_id)
                ids.append(article_id)
                feed_of[article_id] = entry.feed_url
    return FeedStored(tuple(ids), feed_of, duplicates, tuple(pending))


def _from_feed(
    entry: Entry, settings: Settings, feeds: Mapping[str, Feed]
) -> tuple[Entry, bool, Article, str | None]:
    """The entry's article from its feed's text and its fingerprint. While its
    page is to come it has no fingerprint: the page's text is what tells copies apart (two
    stories may share a stock teaser), and the page stage dedupes by it."""
    feed = feeds.get(entry.feed_url)
    wanted = decide.page_wanted(entry, settings.fetch_pages, feed)
    reason = "" if wanted else decide.no_page_reason(entry, settings.fetch_pages)
    article = decide.feed_article(entry, decide.source_name(entry, feeds), reason)
    print_ = None if wanted else fingerprint(article.text)
    return entry, wanted, article, print_


# --- stage 2: the pages ----------------------------------------------------------------------


@dataclass(frozen=True)
class PagesFetched:
    """What fetch_pages did."""

    fetched: int = 0  # pages whose text replaced the feed's
    failed: int = 0  # pages not fetched or not extracted: the feed's text is final
    merged: Mapping[int, int] = field(default_factory=dict)  # article -> the copy it joined
    deferred_by_feed: Mapping[str, int] = field(default_factory=dict)  # left for a later poll


def fetch_pages(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    matcher: Matcher,
    extractor: Extractor,
    *,
    feeds: Mapping[str, Feed] | None = None,
    budget: PageBudget | None = None,
    article_ids: Sequence[int] | None = None,
) -> PagesFetched:
    """Fetch the pages waiting (all, or those of ``article_ids``), oldest first, within
    ``budget``; settle each article with its page's text (or the feed's, with the reason).
    A page the budget refuses stays waiting for the next poll, up to MAX_PAGE_DEFERRALS."""
    feeds = feeds or {}
    fetched = failed = 0
    merged: dict[int, int] = {}
    deferred_by_feed: dict[str, int] = {}
    for batch in chunks(stored_pages.waiting(db, article_ids), PAGE_BATCH):
        # Fetched and extracted outside any transaction; then the batch is stored in one.
        pages = fetch_all([FetchRequest(p.entry.link) for p in batch], settings, budget=budget)
        settled: list[tuple[stored_pages.PendingPage, PageOutcome]] = []
        deferred: list[tuple[stored_pages.PendingPage, str]] = []
        for pending, page in zip(batch, pages, strict=True):
            if isinstance(page, PageDeferred) and pending.deferrals + 1 < MAX_PAGE_DEFERRALS:
                deferred.append((pending, str(page)))
                feed = pending.entry.feed_url
                deferred_by_feed[feed] = deferred_by_feed.get(feed, 0) + 1
                continue
            settled.append((pending, _page_outcome(pending, page, extractor)))
        finals = [_final(p, outcome, feeds, matcher) for p, outcome in settled]
        with db.atomic():
            for pending, reason in deferred:
                stored_pages.defer(db, pending.article_id, reason)
            for pending, article, print_, found in finals:
                into = _settle(db, pending, article, print_, found, now)
                if into is not None:
                    merged[pending.article_id] = into
        fetched += sum(isinstance(outcome, PageText) for _, outcome in settled)
        failed += sum(isinstance(o, NoPage) and o.failed for _, o in settled)
    return PagesFetched(fetched, failed, merged, deferred_by_feed)


def _page_outcome(
    pending: stored_pages.PendingPage, page: Fetched | FetchError, extractor: Extractor
) -> PageOutcome:
    if isinstance(page, PageDeferred):  # deferred once too often: the feed's text is final
        return NoPage(f"page not fetched: deferred on {pending.deferrals + 1} polls ({page})")
    return read_page(pending.entry, page, extractor)


def read_page(entry: Entry, page: Fetched | FetchError, extractor: Extractor) -> PageOutcome:
    """What an entry's fetched page gives: its extracted text, or why there is none."""
    if isinstance(page, FetchError):
        return NoPage(f"page not fetched: {page}")
    try:
        # The feed's date is the publisher's own; look for one in the page only without it.
        extracted = extractor.extract(page, want_date=entry.published is None)
    except ExtractError as exc:
        return NoPage(f"page not extracted: {exc}")
    return PageText(page.url, extracted)


def _final(
    pending: stored_pages.PendingPage,
    outcome: PageOutcome,
    feeds: Mapping[str, Feed],
    matcher: Matcher,
) -> tuple[stored_pages.PendingPage, Article, str | None, list[Match]]:
    entry = pending.entry
    article = decide.article_from(entry, decide.source_name(entry, feeds), outcome)
    return pending, article, fingerprint(article.text), matcher.match(article)


def _settle(
    db: Database,
    pending: stored_pages.PendingPage,
    article: Article,
    print_: str | None,
    found: Sequence[Match],
    now: dt.datetime,
) -> int | None:
    """Give a stored article its final text and follow-ups; when the page shows it is a copy
    of another stored article, merge it into that one instead. Returns that one's id."""
    article_id = pending.article_id
    # The article keeps its source name: the feed that brought it first may since be renamed.
    copy_of = stored_articles.find_article(
        db, decide.lookup_urls(pending.entry, article), print_, exclude=article_id
    )
    if copy_of is not None:
        stored_articles.merge_article(db, article_id, copy_of)
        return copy_of
    stored_articles.replace_article(db, article_id, article, print_)
    kept = decide.follow_ups_after_page(matches_of(db, article_id), found)
    save_matches(db, article_id, kept, now, keep_matched_at=True)
    stored_pages.done(db, article_id)
    return None


# --- both stages over entries in hand --------------------------------------------------------


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
    """New entries -> stored from the feed -> their pages fetched (as untrusted links) ->
    extracted -> deduped -> matched again -> stored. ``feeds`` maps a feed URL to its Feed
    (name, fetch_pages). Pages of earlier calls still waiting are left to fetch_pages."""
    feeds = feeds or {}
    stored = store_from_feeds(db, settings, entries, now, matcher, feeds)
    pages = fetch_pages(
        db,
        settings,
        now,
        matcher,
        extractor or Extractor(settings),
        feeds=feeds,
        budget=budget,
        article_ids=stored.pending,
    )
    return ingest_report(stored, pages)


def ingest_report(stored: FeedStored, pages: PagesFetched) -> IngestReport:
    """What both stages did for the entries of ``stored``: an article merged into another
    copy by its page counts as another source, not as new."""
    kept = tuple(i for i in stored.article_ids if i not in pages.merged)
    new_by_feed: dict[str, int] = {}
    for article_id in kept:
        feed = stored.feed_of[article_id]
        new_by_feed[feed] = new_by_feed.get(feed, 0) + 1
    return IngestReport(
        new=len(kept),
        duplicates=stored.duplicates + len(stored.article_ids) - len(kept),
        page_failures=pages.failed,
        new_by_feed=new_by_feed,
        article_ids=kept,
        deferred_by_feed=dict(pages.deferred_by_feed),
        pages_fetched=pages.fetched,
    )


def entry_keys(entry: Entry) -> stored_articles.EntryKeys:
    link = canonical_url(entry.link) if is_usable_link(entry.link) else None
    return stored_articles.EntryKeys(link=link, content=entry_key(entry.title, entry.summary))


def _source(entry: Entry, feeds: Mapping[str, Feed]) -> Source:
    return Source(
        url=decide.source_url(entry),
        feed_url=entry.feed_url,
        source_name=decide.source_name(entry, feeds),
        title=entry.title,
    )


def _add_source(
    db: Database, article_id: int, entry: Entry, feeds: Mapping[str, Feed], now: dt.datetime
) -> None:
    stored_articles.add_source(db, article_id, _source(entry, feeds), now)
    stored_articles.mark_entry(db, entry.feed_url, entry.guid, article_id, now, entry_keys(entry))


def store_entry(
    db: Database,
    entry: Entry,
    article: Article,
    feeds: Mapping[str, Feed],
    matcher: Matcher,
    now: dt.datetime,
    ids: list[int],
) -> bool:
    """An entry whose final article is in hand (a saved page): article, source, entry row
    and matches in one transaction. True if the article is new."""
    print_ = fingerprint(article.text)
    matches = matcher.match(article)
    with db.atomic():
        known = stored_articles.find_article(db, decide.lookup_urls(entry, article), print_)
        if known is not None:
            _add_source(db, known, entry, feeds, now)
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
