"""Pure: what a feed entry becomes. The article it stands for from the feed's own text, from
its page once fetched and extracted, and the follow-ups it keeps when the page re-matches it.

The orchestrators (monitor.pipeline.ingest for one process, monitor.tasks for the workers) do
the fetching, extracting, matching and storing; every choice about the result is made here, so
both take the same decisions and a test can check each without a network or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from monitor.dedupe import article_url, canonical_url
from monitor.extract import detect_language
from monitor.feed_list import is_usable_link, url_problem
from monitor.feeds import TITLE_CHARS, cap
from monitor.models import Article, Entry, Feed, Match


@dataclass(frozen=True)
class PageText:
    """The entry's page was fetched (ending at ``final_url``) and extracted."""

    final_url: str
    extracted: Article


@dataclass(frozen=True)
class NoPage:
    """The entry's page text cannot be used; ``reason`` says why ("page not fetched: ...")."""

    reason: str
    failed: bool = True  # a fetch or extraction that went wrong, not a page never wanted


PageOutcome = PageText | NoPage


def entry_url(entry: Entry) -> str:
    """The canonical URL an entry stands for. Entries without an http(s) link are keyed by
    feed and id: a javascript: or file: link, or one that does not parse, is never stored as
    an address to follow."""
    if is_usable_link(entry.link):
        return canonical_url(entry.link)
    if is_usable_link(entry.guid):
        return canonical_url(entry.guid)
    return f"{entry.feed_url}#{entry.guid}"


def source_url(entry: Entry) -> str:
    """The URL an entry is kept under as a source: the link as its feed gave it, when that
    is one to follow."""
    return entry.link if is_usable_link(entry.link) else entry_url(entry)


def lookup_urls(entry: Entry, article: Article | None = None) -> list[str]:
    """Every URL under which the entry's story may already be stored, most specific first."""
    urls = [article.url] if article is not None else []
    return list(dict.fromkeys(u for u in [*urls, entry_url(entry), entry.link] if u))


def page_wanted(entry: Entry, fetch_pages: bool, feed: Feed | None) -> bool:
    """Whether the entry's page is fetched: pages are on (for the monitor and its feed) and the
    link is one that may be followed."""
    if not fetch_pages or (feed is not None and not feed.fetch_pages):
        return False
    return is_usable_link(entry.link)


def no_page_reason(entry: Entry, fetch_pages: bool) -> str:
    """Why an entry's page is not fetched (for an entry page_wanted refused)."""
    if not entry.link:
        return "page not fetched: the entry has no link"
    if not entry.link.lower().startswith(("http://", "https://")):
        return "page not fetched: only http(s) links are fetched"
    problem = url_problem(entry.link)
    if problem:
        return f"page not fetched: {problem}"
    if not fetch_pages:
        return "page not fetched: fetch_pages is off"
    return "page not fetched: fetch_pages is off for this feed"


def source_name(entry: Entry, feeds: Mapping[str, Feed]) -> str:
    feed = feeds.get(entry.feed_url)
    return feed.name if feed else ""


def feed_article(entry: Entry, source: str, reason: str = "") -> Article:
    """The article as the feed itself gives it: its title and summary, with ``reason`` saying
    why the page's text is not there ("" while the page is still to come)."""
    return Article(
        url=entry_url(entry),
        title=entry.title,
        text=entry.summary,
        language=detect_language(f"{entry.title}\n{entry.summary}", entry.language),
        published=entry.published,
        author=entry.author,
        feed_url=entry.feed_url,
        source_name=source,
        extract_error=reason,
    )


def article_from(entry: Entry, source: str, page: PageOutcome) -> Article:
    """The article an entry stands for once its page is settled: the page's text when it
    was extracted, else the feed's own text with the reason."""
    if isinstance(page, NoPage):
        return feed_article(entry, source, page.reason)
    extracted = page.extracted
    # A paywalled page can extract to less than the feed carries; keep the longer text.
    text = extracted.text if len(extracted.text) >= len(entry.summary) else entry.summary
    return Article(
        url=article_url(entry.link, page.final_url) if entry.link else entry_url(entry),
        title=entry.title or cap(extracted.title, TITLE_CHARS),
        text=text,
        language=extracted.language,
        # The feed's date is the publisher's own; the page's counts only without it.
        published=entry.published or extracted.published,
        author=extracted.author or entry.author,
        feed_url=entry.feed_url,
        source_name=source,
    )


def follow_ups_after_page(from_feed: Iterable[Match], from_page: Iterable[Match]) -> list[Match]:
    """The follow-ups an article keeps once its page re-matched it: the page's (fuller text,
    so its score and evidence win), plus each one the feed's text found that the page did
    not. A follow-up once found is never taken back (it may have been alerted already), and a
    baseline is followed up at most once per article. Baseline order: the page's first."""
    kept = {match.baseline_id: match for match in from_page}
    for match in from_feed:
        kept.setdefault(match.baseline_id, match)
    return list(kept.values())
