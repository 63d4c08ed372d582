"""The only orchestrator: it does the I/O around the pure stages and decides nothing itself.

poll_due_feeds(now):      due feeds -> fetch -> parse -> fetch pages -> extract -> dedupe
                          -> match -> store; one feed's failure is recorded, not raised
send_pending_digests(now): build missing digests -> outbox -> SMTP -> mark sent
backfill(start, end):     the same steps with a past `now`
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor import archive, atom, digest, mail, schedule, serve, timeutil
from monitor.config import Settings
from monitor.dedupe import article_url, canonical_url, fingerprint
from monitor.derive import derive, merge, slug, text_from_markdown, text_from_plain
from monitor.errors import (
    ConfigError,
    DeliveryError,
    ExtractError,
    FeedParseError,
    FetchError,
    MonitorError,
    WatchlistError,
)
from monitor.extract import Extractor, detect_language
from monitor.feeds import (
    add_feeds,
    is_remote,
    load_feeds,
    parse_feed,
    read_opml,
    spread_by_host,
    write_opml,
)
from monitor.fetch import FetchRequest, decode_page, fetch_all, fetch_one
from monitor.match import Matcher
from monitor.models import (
    AliasData,
    Article,
    Baseline,
    DeliveryReport,
    Digest,
    Entry,
    Feed,
    FeedOutcome,
    FeedState,
    Fetched,
    IngestReport,
    PollReport,
    Watchlist,
    split_paragraphs,
)
from monitor.watchlist import (
    append_baseline_entry,
    check_watchlists,
    load_aliases,
    load_baseline_index,
    load_watchlist,
    load_watchlists,
    other_yaml_files,
    write_watchlist,
)
from storage import articles as stored_articles
from storage import backfill as storage_backfill
from storage import digests as outbox
from storage import feeds as stored_feeds
from storage import open_db
from storage.matches import matches_between, recent_matches, save_matches

# --- polling and ingest ---------------------------------------------------------------------

FEED_BATCH = 200  # feeds fetched together; bounds memory for long feed lists
PAGE_BATCH = 32  # pages fetched together; what a kill mid-poll can cost (fetched again)

_T = TypeVar("_T")


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def open_database(settings: Settings) -> Database:
    """The monitor's database, with every migration applied."""
    return open_db(settings.database)


def poll_once(
    settings: Settings, now: dt.datetime, feeds_file: str | Path | None = None
) -> PollReport:
    """`monitor poll`: one cycle on the configured database."""
    db = open_database(settings)
    try:
        return poll_due_feeds(db, settings, now, feeds_file)
    finally:
        db.close()


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


def build_matcher(settings: Settings) -> Matcher:
    ensure_watchlists(settings)  # a baseline added by hand gets its watchlist before matching
    return Matcher(load_watchlists(settings.watchlists_dir), threshold=settings.match_threshold)


def poll_due_feeds(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    feeds_file: str | Path | None = None,
    *,
    matcher: Matcher | None = None,
) -> PollReport:
    """One poll cycle: every due feed of the feeds file is fetched (conditionally), parsed, and
    its new entries ingested. A feed that fails is recorded with its backoff; the others go on.
    Feed validators are stored only after the feed's entries are, so a kill loses nothing."""
    feeds = load_feeds(feeds_file or settings.feeds_file)
    stored_feeds.sync_feeds(db, feeds, now)
    by_origin = {feed.url: feed for feed in feeds}
    due = spread_by_host(stored_feeds.due_feeds(db, now, origins=by_origin), lambda s: s.url)
    if not due:
        return PollReport()
    matcher = matcher or build_matcher(settings)
    extractor = Extractor(settings)
    outcomes: list[FeedOutcome] = []
    for chunk in _chunks(due, FEED_BATCH):
        outcomes += _poll_chunk(db, settings, now, chunk, by_origin, matcher, extractor)
    return PollReport(tuple(outcomes))


def _poll_chunk(
    db: Database,
    settings: Settings,
    now: dt.datetime,
    states: Sequence[FeedState],
    by_origin: Mapping[str, Feed],
    matcher: Matcher,
    extractor: Extractor,
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
        db, settings, all_entries, now, matcher, feeds=by_origin, extractor=extractor
    )
    for state, result, entries, warning in parsed:
        new = report.new_by_feed.get(state.origin_url, 0)
        outcome = _succeeded(db, settings, now, state, result, "new")
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
    return FeedOutcome(state.url, state.name, "failed", error=str(error), next_poll_at=next_poll)


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


def ingest_entries(
    db: Database,
    settings: Settings,
    entries: Sequence[Entry],
    now: dt.datetime,
    matcher: Matcher,
    *,
    feeds: Mapping[str, Feed] | None = None,
    extractor: Extractor | None = None,
) -> IngestReport:
    """New entries -> pages (fetched as untrusted links) -> extract -> dedupe -> match ->
    store. Each entry is written with its article, sources and matches in one transaction,
    so an entry is marked handled only once its article is stored. ``feeds`` maps a feed URL
    to its Feed (name, fetch_pages)."""
    feeds = feeds or {}
    extractor = extractor or Extractor(settings)
    fresh = stored_articles.unseen_entries(db, entries)
    new_by_feed: dict[str, int] = {}
    ids: list[int] = []
    duplicates = page_failures = 0
    for batch in _chunks(fresh, PAGE_BATCH):
        # Pages are fetched and extracted outside any transaction; then the batch is stored
        # in one (one commit, not one per entry), each entry together with its article.
        to_fetch = [e for e in batch if _page_wanted(e, settings, feeds) and not _link_known(db, e)]
        pages = fetch_all([FetchRequest(entry.link) for entry in to_fetch], settings)
        prepared: dict[int, tuple[Article, str | None]] = {}
        for entry, page in zip(to_fetch, pages, strict=True):
            article, failed = _page_article(entry, page, extractor, feeds)
            page_failures += failed
            prepared[id(entry)] = (article, page.url if isinstance(page, Fetched) else None)
        with db.atomic():
            for entry in batch:
                if id(entry) not in prepared and _store_if_known(db, entry, feeds, now):
                    duplicates += 1
                    continue
                article, final_url = prepared.get(id(entry)) or (
                    _feed_article(entry, feeds, _no_page_reason(entry, settings)),
                    None,
                )
                if _store(db, entry, article, final_url, feeds, matcher, now, ids):
                    new_by_feed[entry.feed_url] = new_by_feed.get(entry.feed_url, 0) + 1
                else:
                    duplicates += 1
    return IngestReport(
        new=len(ids),
        duplicates=duplicates,
        page_failures=page_failures,
        new_by_feed=new_by_feed,
        article_ids=tuple(ids),
    )


def _entry_url(entry: Entry) -> str:
    """The canonical URL an entry stands for. Entries without an http(s) link are keyed by
    feed and id: a javascript: or file: link is never stored as an address to follow."""
    if is_remote(entry.link):
        return canonical_url(entry.link)
    if is_remote(entry.guid):
        return canonical_url(entry.guid)
    return f"{entry.feed_url}#{entry.guid}"


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
        stored_articles.mark_entry(db, entry.feed_url, entry.guid, article_id, now)
    return True


def _page_wanted(entry: Entry, settings: Settings, feeds: Mapping[str, Feed]) -> bool:
    feed = feeds.get(entry.feed_url)
    if not settings.fetch_pages or (feed is not None and not feed.fetch_pages):
        return False
    return entry.link.lower().startswith(("http://", "https://"))


def _no_page_reason(entry: Entry, settings: Settings) -> str:
    if not entry.link:
        return "page not fetched: the entry has no link"
    if not entry.link.lower().startswith(("http://", "https://")):
        return "page not fetched: only http(s) links are fetched"
    if not settings.fetch_pages:
        return "page not fetched: fetch_pages is off"
    return "page not fetched: fetch_pages is off for this feed"


def _source(entry: Entry, feeds: Mapping[str, Feed]) -> stored_articles.Source:
    feed = feeds.get(entry.feed_url)
    return stored_articles.Source(
        url=entry.link if is_remote(entry.link) else _entry_url(entry),
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
            title=entry.title or extracted.title,
            text=text,
            language=extracted.language,
            published=entry.published or extracted.published,
            author=extracted.author or entry.author,
            feed_url=entry.feed_url,
            source_name=fallback.source_name,
        ),
        0,
    )


def _store(
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
            stored_articles.mark_entry(db, entry.feed_url, entry.guid, known, now)
            return False
        article_id, _ = stored_articles.save_article(
            db, article, print_, _source(entry, feeds), now
        )
        stored_articles.mark_entry(db, entry.feed_url, entry.guid, article_id, now)
        save_matches(db, article_id, matches, now)
    ids.append(article_id)
    return True


# --- digests, alerts and feeds --------------------------------------------------------
#
# Order of steps (the outbox): build -> record pending -> claim -> send -> mark sent. A failed
# send leaves the row pending for the next run; a sent row is never claimed again.
# Without smtp_host nothing is recorded in the outbox (pages and feeds are still written):
# the outbox holds mail to deliver, and turning SMTP on later then sends from that day on
# instead of a backlog of old digests.

DIGEST_CATCHUP_DAYS = 7  # a monitor that was off sends at most this many missed digests
ALERT_LOOKBACK = dt.timedelta(days=1)  # older follow-ups go to the digest, not an alert
FEED_ENTRIES = 200


def _baselines(settings: Settings) -> list[Watchlist]:
    """The watchlists, for baseline titles and passage pages; none if they cannot be read
    (the digest then names baselines by id, and delivery goes on)."""
    try:
        return load_watchlists(settings.watchlists_dir)
    except (MonitorError, OSError):
        return []


def _titles(watchlists: Sequence[Watchlist]) -> dict[str, str]:
    return {w.baseline.id: w.baseline.title for w in watchlists}


def build_daily_digest(
    db: Database, settings: Settings, day: dt.date, titles: Mapping[str, str] | None = None
) -> Digest:
    start, end = digest.day_window(day, settings.timezone)
    return digest.daily_digest(
        matches_between(db, start, end),
        day,
        timezone=settings.timezone,
        base_url=settings.base_url,
        baseline_titles=titles if titles is not None else _titles(_baselines(settings)),
    )


def write_digest_page(settings: Settings, built: Digest, directory: Path | None = None) -> Path:
    """The digest as an HTML page (same content as the email) under <outputs>/digests/."""
    path = (directory or settings.outputs / "digests") / f"{built.kind}-{built.key}.html"
    atom.write_atomic(path, digest.render_html(built))
    return path


def record_digest(
    db: Database,
    settings: Settings,
    built: Digest,
    now: dt.datetime,
    alerted: Sequence[tuple[int, str]] = (),
) -> int | None:
    """Put a built digest in the outbox as pending (skipped: an empty day not to be sent).
    None if this kind and key is already there."""
    skip = built.kind == "daily" and built.empty and settings.digest_skip_empty
    return outbox.create_pending(
        db,
        kind=built.kind,
        key=built.key,
        subject=digest.subject(built),
        html=digest.render_html(built),
        text=digest.render_text(built),
        recipients=settings.mail_to,
        message_id=mail.message_id_for(built.kind, built.key, settings.list_id),
        now=now,
        alerted=alerted,
        status=outbox.SKIPPED if skip else outbox.PENDING,
    )


def deliver_pending(
    db: Database, settings: Settings, now: dt.datetime, kind: str | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Send every unsent digest this run can claim; (sent keys, [(key, error)])."""
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    if not settings.smtp_host:
        return sent, failed
    for row in outbox.unsent(db, kind):
        if not outbox.claim(db, row["id"], now):
            continue  # another run holds it, or it was sent meanwhile
        message = mail.build_message(
            subject=row["subject"],
            text=row["text"],
            html=row["html"],
            sender=settings.mail_from,
            recipients=row["recipients"] or settings.mail_to,
            message_id=row["message_id"],
            date=now,
            list_id=settings.list_id,
            list_unsubscribe=settings.list_unsubscribe,
        )
        try:
            mail.send(message, settings)
        except DeliveryError as exc:
            outbox.mark_failed(db, row["id"], str(exc))
            failed.append((row["key"], str(exc)))
            break  # the server is down or refusing: the rest waits for the next run too
        outbox.mark_sent(db, row["id"], row["message_id"], now)
        sent.append(row["key"])
    return sent, failed


def send_pending_digests(db: Database, settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Build the daily digests that are due (digest_time of the next local day has passed)
    and not yet recorded, write their pages, record them, then send everything unsent."""
    watchlists = _baselines(settings)
    titles = _titles(watchlists)
    recorded = outbox.keys(db, "daily")
    last = max((dt.date.fromisoformat(k) for k in recorded), default=None)
    built: list[str] = []
    skipped: list[str] = []
    written: list[str] = []
    for day in digest.days_due(
        now, settings.timezone, settings.digest_time, last, DIGEST_CATCHUP_DAYS
    ):
        daily = build_daily_digest(db, settings, day, titles)
        written.append(str(write_digest_page(settings, daily)))
        if not settings.smtp_host:
            continue
        if record_digest(db, settings, daily, now) is not None:
            (skipped if daily.empty and settings.digest_skip_empty else built).append(daily.key)
    sent, failed = deliver_pending(db, settings, now, "daily")
    return DeliveryReport(
        built=tuple(built),
        sent=tuple(sent),
        failed=tuple(failed),
        skipped=tuple(skipped),
        written=tuple(written),
    )


def send_alerts(db: Database, settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Follow-ups scoring at least alert_threshold and not alerted yet, in one message per
    call (one poll cycle); each follow-up is recorded as alerted with its message, so it is
    in exactly one alert."""
    if not settings.smtp_host:
        return DeliveryReport()
    rows = outbox.unalerted_matches(db, settings.alert_threshold, now - ALERT_LOOKBACK)
    built: list[str] = []
    if rows:
        pairs = [(int(r["article_id"]), str(r["baseline_id"])) for r in rows]
        key = f"{now.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}-{pairs[0][0]}-{len(pairs)}"
        alert = digest.alert_digest(
            rows,
            key,
            now,
            timezone=settings.timezone,
            base_url=settings.base_url,
            baseline_titles=_titles(_baselines(settings)),
        )
        if record_digest(db, settings, alert, now, alerted=pairs) is not None:
            built.append(key)
    sent, failed = deliver_pending(db, settings, now, "alert")
    return DeliveryReport(built=tuple(built), sent=tuple(sent), failed=tuple(failed))


def write_outputs(db: Database, settings: Settings, now: dt.datetime) -> list[Path]:
    """RSS and Atom feeds of recent follow-ups, the latest completed day's digest page
    (digest.html) and one page per baseline (the targets of passage links), all written
    atomically into settings.outputs. Returns the files whose content changed."""
    out = settings.outputs
    watchlists = _baselines(settings)
    titles = _titles(watchlists)
    items = digest.items_from_rows(recent_matches(db, FEED_ENTRIES), settings.base_url)
    feed = atom.build_feed(items, base_url=settings.base_url, now=now, baseline_titles=titles)
    pages: dict[Path, bytes | str] = {
        out / "feed.xml": atom.render_rss(feed),
        out / "atom.xml": atom.render_atom(feed),
    }
    yesterday = now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    latest = build_daily_digest(db, settings, yesterday, titles)
    pages[out / "digest.html"] = digest.render_html(latest)
    pages[out / "digests" / f"daily-{latest.key}.html"] = digest.render_html(latest)
    for watchlist in watchlists:
        baseline = watchlist.baseline
        pages[out / "baselines" / f"{baseline.id}.html"] = digest.render_baseline_page(
            baseline.id, baseline.title, watchlist.paragraphs, baseline.source_url
        )
    return [path for path, data in pages.items() if atom.write_atomic(path, data)]


def digest_for_day(
    db: Database,
    settings: Settings,
    day: dt.date,
    now: dt.datetime,
    *,
    send: bool = False,
    out: Path | None = None,
) -> tuple[Path, DeliveryReport]:
    """`monitor digest`: build one day's digest and write its page; with ``send``, record it
    in the outbox (once per day) and deliver it unless it was sent already."""
    built = build_daily_digest(db, settings, day)
    page = write_digest_page(settings, built, out)
    if out is not None:
        atom.write_atomic(out / f"{built.kind}-{built.key}.txt", digest.render_text(built))
    if not send:
        return page, DeliveryReport(written=(str(page),))
    if not settings.smtp_host:
        raise DeliveryError(
            "cannot send: smtp_host is not set", hint="set smtp_host (and mail_to) to send mail"
        )
    created = record_digest(db, settings, built, now) is not None
    sent, failed = deliver_pending(db, settings, now, "daily")
    row = outbox.get(db, built.kind, built.key)
    skipped = row is not None and row["status"] == outbox.SKIPPED
    return page, DeliveryReport(
        built=(built.key,) if created else (),
        sent=tuple(sent),
        failed=tuple(failed),
        skipped=(built.key,) if skipped else (),
        written=(str(page),),
    )


def make_server(settings: Settings, port: int | None = None) -> ThreadingHTTPServer:
    """`monitor serve`: the outputs directory over HTTP with ETag/Last-Modified and 304s."""
    return serve.make_server(
        settings.outputs, settings.serve_host, settings.serve_port if port is None else port
    )


def run_digest(
    settings: Settings,
    now: dt.datetime,
    day: dt.date | None = None,
    *,
    send: bool = False,
    out: str | Path | None = None,
) -> tuple[dt.date, Path, DeliveryReport]:
    """`monitor digest`: one day's digest (default: yesterday, local time), written and
    optionally sent; the feeds and pages in the outputs directory are refreshed too."""
    if day is None:
        day = now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    db = open_database(settings)
    try:
        directory = Path(out) if out else None
        page, report = digest_for_day(db, settings, day, now, send=send, out=directory)
        write_outputs(db, settings, now)
    finally:
        db.close()
    return day, page, report


# --- backfill: a past period through the same code, with a past `now` ----------------------

log = logging.getLogger(__name__)

BACKFILL_BATCH = 20  # entries of one local day ingested together (page fetches overlap)
MAX_ARCHIVE_PAGES = 1000  # a guard against a feed whose archive links loop forever
URLS_PER_UNIT = 50


@dataclass(frozen=True)
class BackfillSource:
    kind: str  # "feeds", "urls" or "archive"
    path: str  # the feed list, the URL list or the folder


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


@dataclass(frozen=True)
class _Unit:
    id: str  # stable across runs, so a resumed run knows it
    entries: Callable[[], Sequence[Entry | _SavedPage]]
    feeds: Mapping[str, Feed] = field(default_factory=dict)  # name and fetch_pages by feed URL


@dataclass(frozen=True)
class _SavedPage:
    """An article page saved to disk: extracted already, it goes straight to dedupe/match."""

    entry: Entry
    article: Article


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
    units, total = _backfill_units(settings, source, start, report)
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
            pages = [item for item in loaded if isinstance(item, _SavedPage)]
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
        for batch in _chunks(list(day_entries), BACKFILL_BATCH):
            ingest(batch, max(_entry_now(e, start, end) for e in batch), report)
            if stop is not None and stop.is_set():
                return len(inside)
    return len(inside)


def _backfill_units(
    settings: Settings, source: BackfillSource, start: dt.datetime, report: BackfillReport
) -> tuple[Iterator[_Unit], int | None]:
    """The units of work of a source, and how many there are when that is known up front."""
    path = Path(source.path)
    if source.kind == "archive":
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".headers")
        )
        extractor = Extractor(settings)
        return (_file_unit(settings, p, extractor) for p in files), len(files)
    if source.kind == "urls":
        chunks = _url_chunks(path)
        return (_urls_unit(path, n, urls) for n, urls in chunks), len(chunks)
    if source.kind == "feeds":
        return _feed_units(settings, load_feeds(path), start, report), None
    raise ConfigError(f"unknown backfill source {source.kind!r}")


def _file_unit(settings: Settings, path: Path, extractor: Extractor) -> _Unit:
    """A saved feed (RSS, Atom, JSON Feed) gives its entries; a saved page, its article."""

    def entries() -> Sequence[Entry | _SavedPage]:
        fetched = fetch_one(FetchRequest(str(path), trusted=True), settings)
        try:
            return parse_feed(fetched.body, fetched.headers, str(path)).entries
        except FeedParseError:
            if fetched.text is None:  # neither a feed nor a page
                raise
        return [_saved_page(path, fetched, extractor)]

    return _Unit(id=str(path), entries=entries)


def _saved_page(path: Path, fetched: Fetched, extractor: Extractor) -> _SavedPage:
    url = archive.page_url(fetched.body) or path.resolve().as_uri()
    extracted = extractor.extract_html(fetched.text or fetched.body, url)
    folder = f"archive:{path.resolve().parent}"
    article = dataclasses.replace(extracted, url=canonical_url(url) or url, feed_url=folder)
    entry = Entry(
        feed_url=folder,
        guid=path.name,
        link=url,
        title=article.title,
        summary="",
        published=article.published,
        language=article.language,
        author=article.author,
    )
    return _SavedPage(entry, article)


def _store_saved_pages(
    ingest: _Ingest,
    pages: Sequence[_SavedPage],
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
        _store(ingest.db, page.entry, page.article, None, ingest.feeds, ingest.matcher, now, ids)
        report.entries += 1
        report.new_articles += len(ids)
        report.follow_ups += storage_backfill.count_matches(ingest.db, ids)
    return inside


def _url_chunks(path: Path) -> list[tuple[int, list[str]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    urls = [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    return [
        (urls[i][0], [url for _, url in urls[i : i + URLS_PER_UNIT]])
        for i in range(0, len(urls), URLS_PER_UNIT)
    ]


def _urls_unit(path: Path, first_line: int, urls: list[str]) -> _Unit:
    feed_url = f"urls:{path.resolve()}"

    def entries() -> list[Entry]:
        return [Entry(feed_url, url, url, "", "", None) for url in urls]

    return _Unit(id=f"{path.resolve()}#{first_line}", entries=entries)


def _feed_units(
    settings: Settings, feeds: Sequence[Feed], start: dt.datetime, report: BackfillReport
) -> Iterator[_Unit]:
    """Each feed's current document, then its older pages (RFC 5005 ``prev-archive``, or
    ``next`` in a paged feed) until a page holds nothing as new as the window's start."""
    for feed in feeds:
        url: str | None = feed.url
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_ARCHIVE_PAGES:
            seen.add(url)
            try:
                fetched = fetch_one(FetchRequest(url, trusted=_trusted(feed, url)), settings)
                parsed = parse_feed(fetched.body, fetched.headers, feed.url, feed.language)
            except MonitorError as exc:
                log.warning("backfill: %s: %s", url, exc)
                report.failures.append((url, str(exc)))
                break
            page_entries = parsed.entries
            yield _Unit(url, functools.partial(list, page_entries), {feed.url: feed})
            dated = [e.published for e in page_entries if e.published is not None]
            if dated and max(timeutil.utc(d) for d in dated) < start:
                break  # pages further back are older still
            url = archive.older_page(fetched.body, fetched.url)


def _trusted(feed: Feed, url: str) -> bool:
    """The configured feed URL is trusted (it may be a local file); so are archive pages of a
    local feed that are local files too. Remote archive links are fetched like any link."""
    return url == feed.url or not (is_remote(feed.url) or is_remote(url))


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


def follow_ups_stored(db: Database, start: dt.datetime, end: dt.datetime) -> int:
    """How many follow-ups belong to articles stored in [start, end)."""
    return len(matches_between(db, start, end))


def search_articles(settings: Settings, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Stored articles containing every word of ``query``, best first."""
    db = open_database(settings)
    try:
        return stored_articles.search(db, query, limit)
    finally:
        db.close()


# --- watchlists: derive, check, add a baseline ----------------------------------------

DERIVED_DIR = ".derived"  # what derivation last wrote, per baseline: the base of the merge
WATCHLIST_HEADER = (
    "Watchlist of one baseline article, written by `monitor watchlist derive`.",
    "Edit freely: a re-derive keeps your changes (see watchlists/README.md).",
)


@dataclass(frozen=True)
class DeriveReport:
    baseline_id: str
    path: Path
    entities: int
    unreviewed: tuple[str, ...]  # names the curated alias data does not know
    merged: bool  # True when an existing (possibly hand-edited) file was merged into


@dataclass(frozen=True)
class WatchlistCheck:
    watchlists: tuple[Watchlist, ...]
    problems: tuple[str, ...]  # "file:line: field: problem"
    not_watchlists: tuple[str, ...]  # other YAML files in the directory (feed lists)
    missing: tuple[str, ...]  # baselines in index.yaml without a watchlist yet


def derive_watchlists(
    settings: Settings, baseline_id: str | None = None, *, only_missing: bool = False
) -> list[DeriveReport]:
    """Derive (or re-derive, merging hand edits) the watchlist of each baseline in index.yaml."""
    directory = Path(settings.watchlists_dir)
    baselines = load_baseline_index(directory / "baselines" / "index.yaml")
    if baseline_id is not None:
        baselines = [b for b in baselines if b.id == baseline_id]
        if not baselines:
            raise WatchlistError(
                f"no baseline {baseline_id!r} in {directory / 'baselines' / 'index.yaml'}",
                hint="`monitor baseline add PATH_OR_URL` adds one",
            )
    if only_missing:
        baselines = [b for b in baselines if not (directory / f"{b.id}.yaml").exists()]
    if not baselines:
        return []
    aliases = load_aliases(directory / "aliases.yaml")
    return [_derive_one(directory, baseline, aliases) for baseline in baselines]


def ensure_watchlists(settings: Settings) -> list[DeriveReport]:
    """Derive the watchlist of every baseline that has none yet; others are left alone."""
    return derive_watchlists(settings, only_missing=True)


def _derive_one(directory: Path, baseline: Baseline, aliases: AliasData) -> DeriveReport:
    text_path = directory / baseline.path
    try:
        text = text_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"cannot read baseline {baseline.id}: {text_path}: {exc}") from exc
    fresh = derive(baseline, text, aliases)
    path = directory / f"{baseline.id}.yaml"
    snapshot = directory / DERIVED_DIR / f"{baseline.id}.yaml"
    current = load_watchlist(path, base_dir=directory) if path.exists() else None
    previous = None
    if current is not None and snapshot.exists():
        try:
            previous = load_watchlist(snapshot, base_dir=directory)
        except WatchlistError:
            previous = None  # a damaged memory only makes the merge more conservative
    merged = merge(current, previous, fresh)
    write_watchlist(path, merged, WATCHLIST_HEADER)
    snapshot.parent.mkdir(exist_ok=True)
    write_watchlist(
        snapshot, fresh, ("What derivation last produced; the base of the next merge.",)
    )
    return DeriveReport(
        baseline_id=baseline.id,
        path=path,
        entities=len(merged.entities),
        unreviewed=tuple(e.name for e in merged.entities if not e.reviewed),
        merged=current is not None,
    )


def check_all_watchlists(settings: Settings) -> WatchlistCheck:
    """Validate every watchlist (and the alias and index files) without stopping at the first
    problem."""
    directory = Path(settings.watchlists_dir)
    problems: list[str] = []
    for check in (
        lambda: load_aliases(directory / "aliases.yaml"),
        lambda: load_baseline_index(directory / "baselines" / "index.yaml"),
    ):
        try:
            check()
        except WatchlistError as exc:
            problems.append(str(exc))
    good, bad = check_watchlists(directory)
    problems.extend(bad)
    try:
        listed = load_baseline_index(directory / "baselines" / "index.yaml")
    except WatchlistError:
        listed = []
    missing = tuple(b.id for b in listed if not (directory / f"{b.id}.yaml").exists())
    return WatchlistCheck(
        watchlists=tuple(good),
        problems=tuple(problems),
        not_watchlists=tuple(str(p) for p in other_yaml_files(directory)),
        missing=missing,
    )


def add_baseline(settings: Settings, source: str, baseline_id: str | None = None) -> DeriveReport:
    """Copy a user's article (a local txt / md / html file, or a URL) into the baselines, list it
    in index.yaml and derive its watchlist."""
    directory = Path(settings.watchlists_dir)
    index_path = directory / "baselines" / "index.yaml"
    article = _baseline_article(source, settings)
    if len(article.text.strip()) < 20:
        raise WatchlistError(f"no article text found in {source}", hint="try a txt or md copy")
    is_url = source.startswith(("http://", "https://"))
    fallback = source.rstrip("/").rsplit("/", 1)[-1] if is_url else Path(source).stem
    new_id = baseline_id or slug(article.title, fallback="") or slug(fallback)
    taken = {b.id for b in load_baseline_index(index_path)}
    if new_id in taken:
        raise WatchlistError(
            f"baseline id {new_id!r} is already in {index_path}",
            hint="choose another with --id",
        )
    file_name = f"{new_id}.{article.language}.txt"
    (directory / "baselines").mkdir(parents=True, exist_ok=True)
    text = article.text.rstrip("\n") + "\n"
    (directory / "baselines" / file_name).write_text(text, encoding="utf-8")
    entry = {"id": new_id, "file": file_name, "language": article.language, "title": article.title}
    if article.published:
        entry["published"] = article.published.date().isoformat()
    if article.author:
        entry["author"] = article.author
    if is_url:
        entry["source_url"] = source
    append_baseline_entry(index_path, entry)
    return derive_watchlists(settings, new_id)[0]


def _baseline_article(source: str, settings: Settings) -> Article:
    """A local file or a URL read the way feeds and pages are (fetch decodes any charset):
    Markdown and plain text as they are, HTML through the article extractor."""
    try:
        fetched = fetch_one(FetchRequest(source, trusted=True), settings)
    except FetchError as exc:
        raise WatchlistError(f"cannot read {source}: {exc}", hint="check the path or URL") from exc
    kind = fetched.headers.get("content-type", "").lower()
    content = fetched.text if fetched.text is not None else decode_page(fetched.body, kind)[0]
    if "markdown" in kind or fetched.url.lower().endswith((".md", ".markdown")):
        title, text = text_from_markdown(content)
    elif kind.startswith("text/plain"):
        title, text = text_from_plain(content)
    else:
        page = Extractor(settings).extract(dataclasses.replace(fetched, text=content))
        title, text = page.title, "\n".join(p for p in split_paragraphs(page.text) if p)
        return dataclasses.replace(page, url=source, title=title, text=text)
    return Article(source, title, text, detect_language(text), None)
