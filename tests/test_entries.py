"""What a feed entry becomes (monitor.entries): pure decisions, checked without a network or a
database."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor import entries
from monitor.entries import NoPage, PageText
from monitor.feeds import TITLE_CHARS
from monitor.models import Article, Entry, Feed, Match

FEED = "https://news.example/feed.xml"
PUBLISHED = dt.datetime(2026, 2, 19, 10, 0, tzinfo=dt.UTC)


def entry(**changes: object) -> Entry:
    fields: dict[str, object] = {
        "feed_url": FEED,
        "guid": "g1",
        "link": "https://news.example/story?utm_source=rss",
        "title": "Chipmaker resumes shipments",
        "summary": "A short teaser.",
        "published": PUBLISHED,
        "language": "en",
        "author": "Feed Author",
    }
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def extracted(**changes: object) -> Article:
    fields: dict[str, object] = {
        "url": "https://news.example/story",
        "title": "Page title",
        "text": "The page's own text, much longer than the teaser the feed gave. " * 5,
        "language": "en",
        "published": dt.datetime(2026, 2, 18, tzinfo=dt.UTC),
        "author": "Page Author",
    }
    fields.update(changes)
    return Article(**fields)  # type: ignore[arg-type]


def match(baseline: str, score: float, reason: str) -> Match:
    return Match(baseline, score, ("chipmaker",), 1, "passage", reason)


def test_the_feed_article_is_the_feeds_own_text_under_the_canonical_link() -> None:
    article = entries.feed_article(entry(), "Outlet", "page not fetched: timed out")
    assert article.url == "https://news.example/story"  # tracking parameters dropped
    assert (article.title, article.text) == ("Chipmaker resumes shipments", "A short teaser.")
    assert (article.published, article.author) == (PUBLISHED, "Feed Author")
    assert (article.feed_url, article.source_name) == (FEED, "Outlet")
    assert article.extract_error == "page not fetched: timed out"


def test_an_entry_without_a_usable_link_is_keyed_by_its_feed_and_id() -> None:
    assert entries.entry_url(entry(link="http://a]b/story")) == f"{FEED}#g1"
    assert entries.entry_url(entry(link="javascript:alert(1)")) == f"{FEED}#g1"
    assert entries.source_url(entry(link="javascript:alert(1)")) == f"{FEED}#g1"
    guid_link = entry(link="", guid="https://news.example/by-guid")
    assert entries.entry_url(guid_link) == "https://news.example/by-guid"


def test_the_page_article_takes_the_pages_text_and_the_feeds_title_and_date() -> None:
    page = PageText("https://news.example/story", extracted())
    article = entries.article_from(entry(), "Outlet", page)
    assert article.text.startswith("The page's own text")
    assert article.title == "Chipmaker resumes shipments"  # the feed's headline
    assert article.published == PUBLISHED  # the publisher's date in the feed wins
    assert article.author == "Page Author"
    assert article.extract_error == ""


def test_without_feed_title_or_date_the_pages_are_used_and_the_title_capped() -> None:
    page = PageText("https://news.example/story", extracted(title="T" * 5000))
    article = entries.article_from(entry(title="", published=None), "", page)
    assert 0 < len(article.title) <= TITLE_CHARS
    assert article.published == dt.datetime(2026, 2, 18, tzinfo=dt.UTC)


def test_a_page_shorter_than_the_feeds_summary_keeps_the_summary() -> None:
    summary = "The whole story as the feed carries it, longer than a paywall's stub. " * 3
    page = PageText("https://news.example/story", extracted(text="Subscribe to read."))
    article = entries.article_from(entry(summary=summary), "", page)
    assert article.text == summary


@pytest.mark.parametrize(
    ("link", "final", "expected"),
    [
        # A move within the site: the final address is the article's.
        (
            "https://news.example/s/1",
            "https://news.example/2026/story",
            "https://news.example/2026/story",
        ),
        # A redirector: the final address is the article's.
        ("https://t.co/abc", "https://news.example/story", "https://news.example/story"),
        # Another site (a consent page): the feed's link stays the key.
        ("https://news.example/s/1", "https://consent.example/ask", "https://news.example/s/1"),
    ],
)
def test_the_pages_url_keys_the_article_only_within_its_site_or_after_a_redirector(
    link: str, final: str, expected: str
) -> None:
    article = entries.article_from(entry(link=link), "", PageText(final, extracted()))
    assert article.url == expected


def test_no_page_gives_the_feed_article_with_the_reason() -> None:
    article = entries.article_from(entry(), "Outlet", NoPage("page not extracted: empty"))
    assert article == entries.feed_article(entry(), "Outlet", "page not extracted: empty")


def test_which_pages_are_wanted_and_why_not() -> None:
    on, off = Feed(FEED), Feed(FEED, fetch_pages=False)
    assert entries.page_wanted(entry(), True, on)
    assert entries.page_wanted(entry(), True, None)
    assert not entries.page_wanted(entry(), False, on)
    assert not entries.page_wanted(entry(), True, off)
    assert not entries.page_wanted(entry(link="file:///etc/passwd"), True, on)
    assert not entries.page_wanted(entry(link=""), True, on)
    reason = entries.no_page_reason
    assert reason(entry(link=""), True) == "page not fetched: the entry has no link"
    assert "only http(s)" in reason(entry(link="file:///etc/passwd"), True)
    assert "bad URL" in reason(entry(link="http://a]b/story"), True)
    assert reason(entry(), False) == "page not fetched: fetch_pages is off"
    assert reason(entry(), True) == "page not fetched: fetch_pages is off for this feed"


def test_lookup_urls_are_the_articles_then_the_entrys_without_repeats() -> None:
    article = extracted(url="https://news.example/2026/story")
    assert entries.lookup_urls(entry(), article) == [
        "https://news.example/2026/story",
        "https://news.example/story",
        "https://news.example/story?utm_source=rss",
    ]
    assert entries.lookup_urls(entry(link="https://news.example/story")) == [
        "https://news.example/story"
    ]


def test_a_page_rematch_keeps_every_follow_up_once_with_the_pages_evidence() -> None:
    from_feed = [match("chips", 0.4, "teaser"), match("metals", 0.3, "teaser")]
    from_page = [match("chips", 0.9, "page"), match("energy", 0.7, "page")]
    kept = entries.follow_ups_after_page(from_feed, from_page)
    assert [(m.baseline_id, m.score, m.reason) for m in kept] == [
        ("chips", 0.9, "page"),  # found by both: the page's fuller evidence
        ("energy", 0.7, "page"),  # found by the page alone
        ("metals", 0.3, "teaser"),  # found by the feed alone: kept, never taken back
    ]
    assert entries.follow_ups_after_page(from_feed, []) == from_feed
    assert entries.follow_ups_after_page([], from_page) == from_page
