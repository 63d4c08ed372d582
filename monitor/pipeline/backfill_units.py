"""Where a backfill's items come from, in units of work a resumed run can skip: the saved
feeds and pages of an archive folder, a list of URLs, or feeds and their older archive pages
(RFC 5005)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from monitor import archive, timeutil
from monitor.config import Settings
from monitor.dedupe import canonical_url
from monitor.errors import ConfigError, FeedParseError, MonitorError
from monitor.extract import Extractor
from monitor.feed_list import is_remote, load_feeds
from monitor.feeds import parse_feed
from monitor.fetch import FetchRequest, fetch_one
from monitor.models import Article, Entry, Feed, Fetched

log = logging.getLogger(__name__)

MAX_ARCHIVE_PAGES = 1000  # a guard against a feed whose archive links loop forever
URLS_PER_UNIT = 50


@dataclass(frozen=True)
class BackfillSource:
    kind: str  # "feeds", "urls" or "archive"
    path: str  # the feed list, the URL list or the folder


@dataclass(frozen=True)
class Unit:
    id: str  # stable across runs, so a resumed run knows it
    entries: Callable[[], Sequence[Entry | SavedPage]]
    feeds: Mapping[str, Feed] = field(default_factory=dict)  # name and fetch_pages by feed URL


@dataclass(frozen=True)
class SavedPage:
    """An article page saved to disk: extracted already, it goes straight to dedupe/match."""

    entry: Entry
    article: Article


def backfill_units(
    settings: Settings,
    source: BackfillSource,
    start: dt.datetime,
    failures: list[tuple[str, str]],
) -> tuple[Iterator[Unit], int | None]:
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
        return _feed_units(settings, load_feeds(path), start, failures), None
    raise ConfigError(f"unknown backfill source {source.kind!r}")


def _file_unit(settings: Settings, path: Path, extractor: Extractor) -> Unit:
    """A saved feed (RSS, Atom, JSON Feed) gives its entries; a saved page, its article."""

    def entries() -> Sequence[Entry | SavedPage]:
        fetched = fetch_one(FetchRequest(str(path), trusted=True), settings)
        try:
            return parse_feed(fetched.body, fetched.headers, str(path)).entries
        except FeedParseError:
            if fetched.text is None:  # neither a feed nor a page
                raise
        return [_saved_page(path, fetched, extractor)]

    return Unit(id=str(path), entries=entries)


def _saved_page(path: Path, fetched: Fetched, extractor: Extractor) -> SavedPage:
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
    return SavedPage(entry, article)


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


def _urls_unit(path: Path, first_line: int, urls: list[str]) -> Unit:
    feed_url = f"urls:{path.resolve()}"

    def entries() -> list[Entry]:
        return [Entry(feed_url, url, url, "", "", None) for url in urls]

    return Unit(id=f"{path.resolve()}#{first_line}", entries=entries)


def _feed_units(
    settings: Settings,
    feeds: Sequence[Feed],
    start: dt.datetime,
    failures: list[tuple[str, str]],
) -> Iterator[Unit]:
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
                failures.append((url, str(exc)))
                break
            page_entries = parsed.entries
            yield Unit(url, functools.partial(list, page_entries), {feed.url: feed})
            dated = [e.published for e in page_entries if e.published is not None]
            if dated and max(timeutil.utc(d) for d in dated) < start:
                break  # pages further back are older still
            url = archive.older_page(fetched.body, fetched.url)


def _trusted(feed: Feed, url: str) -> bool:
    """The configured feed URL is trusted (it may be a local file); so are archive pages of a
    local feed that are local files too. Remote archive links are fetched like any link."""
    return url == feed.url or not (is_remote(feed.url) or is_remote(url))
