"""Polling end to end against a real HTTP server on 127.0.0.1: conditional GETs, failing feeds
with backoff, hostile encodings, page fetching and extraction, dedupe, and a kill mid-poll."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gzip
import os
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

import conftest
import pytest
from sqlite_utils import Database

from monitor import pipeline
from monitor.config import Settings
from monitor.errors import StorageError
from monitor.match import Matcher
from monitor.models import Baseline, Entity, Watchlist
from storage import articles as stored_articles
from storage import feeds as stored_feeds
from storage import open_db

FEEDS = conftest.DATA / "feeds"
ARTICLES = conftest.DATA / "articles"
FEEDPARSER = conftest.DATA / "feedparser"
REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
NO_MATCHES = Matcher([])
RSS = "application/rss+xml; charset=utf-8"


@pytest.fixture
def db(settings: Settings) -> Iterable[Database]:
    database = open_db(settings.database)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    """Short timeouts and no quick retries, so failing feeds fail within a second."""
    return dataclasses.replace(settings, http_timeout=1.0, retries=0, max_body_bytes=300_000)


def feeds_file(tmp_path: Path, feeds: list[dict[str, object]], name: str = "feeds.yaml") -> Path:
    lines = ["feeds:"]
    for feed in feeds:
        lines.append(f"  - url: {feed['url']}")
        for key in ("name", "language", "interval", "fetch_pages"):
            if key in feed:
                value = feed[key]
                lines.append(
                    f"    {key}: {str(value).lower() if isinstance(value, bool) else value}"
                )
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rss(items: list[tuple[str, str, str]], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document; items are (guid, link, description)."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
    ]
    for guid, link, description in items:
        parts.append(
            f"<item><guid isPermaLink='false'>{escape(guid)}</guid>"
            f"<title>Story {escape(guid)}</title>"
            f"<link>{escape(link)}</link><description>{escape(description)}</description>"
            "<pubDate>Thu, 19 Feb 2026 10:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def count(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# --- conditional GET ---------------------------------------------------------------------------


def good_feeds(server: conftest.TestHTTPServer) -> list[dict[str, object]]:
    ft = server.add(
        "/ft.xml",
        (FEEDS / "ft-home.xml").read_bytes(),
        headers={"Content-Type": RSS, "ETag": '"ft1"'},
    )
    scmp = server.add(
        "/scmp.json",
        (FEEDS / "scmp-china.json").read_bytes(),
        headers={"Content-Type": "application/feed+json", "ETag": '"scmp1"'},
    )
    kr = server.add(
        "/36kr.xml",
        (FEEDS / "36kr-ai.xml").read_bytes(),
        headers={"Content-Type": RSS, "ETag": 'W/"kr"'},
    )
    return [
        {"url": url, "name": name, "interval": 60, "fetch_pages": False}
        for url, name in ((ft, "FT"), (scmp, "SCMP"), (kr, "36氪"))
    ]


def test_second_poll_of_unchanged_feeds_is_all_304s(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    path = feeds_file(tmp_path, good_feeds(http_server))
    first = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    assert [o.status for o in first.feeds] == ["new", "new", "new"]
    stored = count(db, "articles")
    assert stored == first.new > 0

    later = NOW + dt.timedelta(minutes=61)
    second = pipeline.poll_due_feeds(db, settings, later, path, matcher=NO_MATCHES)
    assert [o.status for o in second.feeds] == ["unchanged"] * 3
    assert second.new == 0
    assert count(db, "articles") == stored
    for path_ in ("/ft.xml", "/scmp.json", "/36kr.xml"):
        conditional = http_server.requests_for(path_)[-1]
        assert conditional.headers.get("If-None-Match")


def test_feed_not_due_is_not_fetched(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    path = feeds_file(tmp_path, good_feeds(http_server))
    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    again = pipeline.poll_due_feeds(
        db, settings, NOW + dt.timedelta(minutes=5), path, matcher=NO_MATCHES
    )
    assert again.feeds == ()
    assert len(http_server.requests_for("/ft.xml")) == 1


# --- failing feeds ------------------------------------------------------------------------------


def gzip_bomb() -> bytes:
    return gzip.compress(b"<rss>" + b" " * 30_000_000, compresslevel=9)


def redirect_to(location: str, status: int = 302) -> conftest.Route:
    return conftest.Route(status=status, headers={"Location": location})


def failing_feeds(server: conftest.TestHTTPServer) -> dict[str, str]:
    """Path -> URL of every kind of failing feed."""
    big_item = "<item><title>x</title><description>" + "y" * 5000 + "</description></item>"
    server.add("/500.xml", b"oops", status=500)
    server.add("/slow.xml", rss([("1", "https://x.test/1", "late")]), delay=3.0)
    server.add("/drip.xml", rss([("1", "https://x.test/1", "z" * 60_000)]), drip=0.2)
    server.add(
        "/garbage.xml",
        bytes(random.Random(1).randrange(256) for _ in range(4000)),
        headers={"Content-Type": RSS},
    )
    server.routes["/loop-a.xml"] = redirect_to("/loop-b.xml")
    server.routes["/loop-b.xml"] = redirect_to("/loop-a.xml")
    server.add(
        "/huge.xml",
        ("<rss><channel>" + big_item * 200 + "</channel></rss>").encode(),
        headers={"Content-Type": RSS},
    )
    server.add("/bomb.xml", gzip_bomb(), headers={"Content-Type": RSS, "Content-Encoding": "gzip"})
    return {
        p: server.url(p)
        for p in (
            "/500.xml",
            "/slow.xml",
            "/drip.xml",
            "/garbage.xml",
            "/loop-a.xml",
            "/huge.xml",
            "/bomb.xml",
        )
    }


def test_failing_feeds_fail_alone_and_back_off(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    bad = failing_feeds(http_server)
    feeds = good_feeds(http_server) + [{"url": url, "interval": 60} for url in bad.values()]
    path = feeds_file(tmp_path, feeds)

    report = pipeline.poll_due_feeds(db, fast, NOW, path, matcher=NO_MATCHES)

    outcomes = {o.url: o for o in report.feeds}
    assert len(outcomes) == 10
    for url in bad.values():
        assert outcomes[url].status == "failed", url
        assert outcomes[url].error
        state = stored_feeds.get_feed(db, url)
        assert state is not None
        assert state.error_count == 1
        assert state.last_error
        base = dt.timedelta(minutes=fast.backoff_base_minutes)
        assert state.next_poll_at is not None
        assert NOW + base * 0.75 <= state.next_poll_at <= NOW + base
    assert sum(o.status == "new" for o in report.feeds) == 3
    assert "500" in outcomes[bad["/500.xml"]].error
    assert "redirect" in outcomes[bad["/loop-a.xml"]].error

    # Not retried before the backoff is over; retried (and backed off further) after it.
    later = pipeline.poll_due_feeds(
        db, fast, NOW + dt.timedelta(minutes=5), path, matcher=NO_MATCHES
    )
    assert later.feeds == ()
    retry = pipeline.poll_due_feeds(
        db, fast, NOW + dt.timedelta(minutes=16), path, matcher=NO_MATCHES
    )
    assert {o.url for o in retry.feeds} == set(bad.values())
    state = stored_feeds.get_feed(db, bad["/500.xml"])
    assert state is not None
    assert state.error_count == 2
    assert state.next_poll_at is not None
    assert state.next_poll_at >= NOW + dt.timedelta(minutes=16 + 30 * 0.75)


def test_feed_that_recovers_clears_its_error_count(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    url = http_server.add("/flaky.xml", b"oops", status=503)
    path = feeds_file(tmp_path, [{"url": url, "interval": 60, "fetch_pages": False}])
    pipeline.poll_due_feeds(db, fast, NOW, path, matcher=NO_MATCHES)
    http_server.add(
        "/flaky.xml", rss([("1", "https://x.test/1", "back")]), headers={"Content-Type": RSS}
    )
    report = pipeline.poll_due_feeds(
        db, fast, NOW + dt.timedelta(hours=1), path, matcher=NO_MATCHES
    )
    assert report.feeds[0].status == "new"
    state = stored_feeds.get_feed(db, url)
    assert state is not None
    assert state.error_count == 0
    assert state.last_error is None


def test_permanent_redirect_moves_the_stored_feed_url(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    http_server.routes["/old.xml"] = redirect_to("/new.xml", status=301)
    new = http_server.add(
        "/new.xml",
        rss([("1", "https://x.test/1", "moved")]),
        headers={"Content-Type": RSS, "ETag": '"n"'},
    )
    old = http_server.url("/old.xml")
    path = feeds_file(tmp_path, [{"url": old, "interval": 60, "fetch_pages": False}])
    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    state = stored_feeds.get_feed(db, old)
    assert state is not None
    assert state.url == new
    assert state.origin_url == old
    pipeline.poll_due_feeds(db, settings, NOW + dt.timedelta(hours=2), path, matcher=NO_MATCHES)
    assert len(http_server.requests_for("/old.xml")) == 1
    assert len(http_server.requests_for("/new.xml")) == 2
    assert count(db, "feeds") == 1


# --- feedparser's ill-formed and encoding cases ----------------------------------------------


def declared_headers(data: bytes) -> dict[str, str]:
    """The `Header:` lines of a feedparser test file's leading comment."""
    head = data[:2000].decode("latin-1")
    headers = {}
    for name, value in re.findall(r"^Header:\s*([\w-]+):\s*(.+?)\s*$", head, re.MULTILINE):
        headers[name] = value
    return headers


def test_feedparser_illformed_and_encoding_cases_never_crash_a_poll(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    cases = sorted(FEEDPARSER.glob("*.xml"))
    assert len(cases) >= 30
    feeds = []
    for case in cases:
        data = case.read_bytes()
        headers = declared_headers(data) or {"Content-Type": "application/xml"}
        url = http_server.add(f"/fp/{case.name}", data, headers=headers)
        feeds.append({"url": url, "interval": 60, "fetch_pages": False})
    path = feeds_file(tmp_path, feeds)

    report = pipeline.poll_due_feeds(db, fast, NOW, path, matcher=NO_MATCHES)

    assert len(report.feeds) == len(cases)
    assert all(o.status in {"new", "failed"} for o in report.feeds)
    # Cases whose items survive their breakage are used; the rest (channel-only documents,
    # empty or truncated ones) are recorded failures with a reason.
    used = {o.url.rsplit("/", 1)[1] for o in report.feeds if o.status == "new"}
    assert {"gb2312.xml", "shiftjis.xml", "koi8r.xml", "windows1255.xml"} <= used
    assert "rss_item_link_corrupted_ampersands.xml" in used
    assert all(o.error for o in report.failed)
    assert count(db, "entries") >= report.new


# --- pages ---------------------------------------------------------------------------------------


def test_entry_pages_are_fetched_decoded_and_extracted(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    http_server.add(
        "/gbk.html",
        (ARTICLES / "people-gbk.html").read_bytes(),
        headers={"Content-Type": "text/html"},
    )
    http_server.add(
        "/big5.html",
        (ARTICLES / "xinhua-big5.html").read_bytes(),
        headers={"Content-Type": "text/html; charset=big5"},
    )
    http_server.add("/missing.html", b"gone", status=404)
    feed = http_server.add(
        "/zh.xml",
        rss(
            [
                ("gbk", http_server.url("/gbk.html"), "人民网 summary"),
                ("big5", http_server.url("/big5.html"), "新華網 summary"),
                ("gone", http_server.url("/missing.html"), "The feed's own summary stays."),
            ]
        ),
        headers={"Content-Type": RSS},
    )
    path = feeds_file(tmp_path, [{"url": feed, "name": "ZH", "interval": 60}])

    report = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)

    assert report.feeds[0].new == 3
    rows = {r["url"].rsplit("/", 1)[1]: r for r in db.query("SELECT * FROM articles")}
    assert "父爱如山" in rows["gbk.html"]["text"]
    assert rows["gbk.html"]["language"] == "zh-Hans"
    assert "巴黎" in rows["big5.html"]["text"]
    assert rows["big5.html"]["language"] == "zh-Hant"
    assert rows["missing.html"]["text"] == "The feed's own summary stays."
    assert "404" in rows["missing.html"]["extract_error"]
    assert stored_articles.search(db, "父爱如山")[0]["url"].endswith("/gbk.html")
    # Two-character words are below the trigram index and found by a scan instead.
    assert [r["url"].rsplit("/", 1)[1] for r in stored_articles.search(db, "巴黎")] == ["big5.html"]


def test_links_to_private_addresses_and_files_are_not_fetched(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    strict = dataclasses.replace(settings, allow_private_addresses=False)
    http_server.add(
        "/secret.html",
        (ARTICLES / "blog.python.org.html").read_bytes(),
        headers={"Content-Type": "text/html"},
    )
    feed = http_server.add(
        "/feed.xml",
        rss(
            [
                ("private", http_server.url("/secret.html"), "Summary of the private link."),
                ("file", "file:///etc/passwd", "Summary of the file link."),
            ]
        ),
        headers={"Content-Type": RSS},
    )
    # The feed itself is on 127.0.0.1 too: a feed the user configured is trusted.
    path = feeds_file(tmp_path, [{"url": feed, "interval": 60}])

    report = pipeline.poll_due_feeds(db, strict, NOW, path, matcher=NO_MATCHES)

    assert report.feeds[0].status == "new"
    assert report.feeds[0].new == 2
    assert http_server.requests_for("/secret.html") == []
    texts = {r["text"]: r["extract_error"] for r in db.query("SELECT * FROM articles")}
    assert set(texts) == {"Summary of the private link.", "Summary of the file link."}
    assert all("not fetched" in reason for reason in texts.values())
    assert "root:" not in "".join(texts)
    stored_urls = [r["url"] for r in db.query("SELECT url FROM article_sources")]
    stored_urls += [r["url"] for r in db.query("SELECT url FROM articles")]
    assert not any(url.startswith("file:") for url in stored_urls)


def test_same_story_via_two_urls_is_stored_once_with_its_sources(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    page = (ARTICLES / "blog.python.org.html").read_bytes()
    syndicated = re.sub(
        rb"(<body[^>]*>)",
        rb"\1<div class='credit'><p>This story first appeared on Python Insider and is "
        rb"republished here with permission.</p></div>",
        page,
        count=1,
    )
    assert syndicated != page
    http_server.add("/a/story.html", page, headers={"Content-Type": "text/html"})
    http_server.add("/b/copy.html", syndicated, headers={"Content-Type": "text/html"})
    outlet_a = http_server.add(
        "/a.xml",
        rss(
            [
                ("a1", http_server.url("/a/story.html?utm_source=rss&utm_medium=feed"), "A"),
            ]
        ),
        headers={"Content-Type": RSS},
    )
    outlet_b = http_server.add(
        "/b.xml",
        rss(
            [
                ("b1", http_server.url("/b/copy.html"), "B"),
                ("b2", http_server.url("/a/story.html#comments"), "B links A"),
            ]
        ),
        headers={"Content-Type": RSS},
    )
    path = feeds_file(
        tmp_path,
        [
            {"url": outlet_a, "name": "Outlet A", "interval": 60},
            {"url": outlet_b, "name": "Outlet B", "interval": 60},
        ],
    )

    report = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)

    assert report.new == 1
    assert count(db, "articles") == 1
    article = stored_articles.get_article(db, 1)
    assert article is not None
    assert article["url"] == http_server.url("/a/story.html")
    assert {s["source_name"] for s in article["sources"]} == {"Outlet A", "Outlet B"}
    assert len(article["sources"]) == 3
    assert count(db, "entries") == 3
    assert len(http_server.requests_for("/a/story.html?utm_source=rss&utm_medium=feed")) == 1


def test_a_page_that_shows_a_copy_merges_its_article_keeping_the_feeds_follow_up_once(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    """B's entry is stored from its feed's text and matched there; its page turns out to be
    a syndicated copy of A's story: B's article is merged into A's, with its source, entry
    and follow-up, and no second follow-up or article is left."""
    page = (ARTICLES / "blog.python.org.html").read_bytes()
    syndicated = re.sub(rb"(<body[^>]*>)", rb"\1<p>Republished with permission.</p>", page)
    http_server.add("/a/story.html", page, headers={"Content-Type": "text/html"})
    http_server.add("/b/copy.html", syndicated, headers={"Content-Type": "text/html"})
    teaser = "Copper supplies run short as smelters cut output."
    outlet_a = http_server.add(
        "/a.xml",
        rss([("a1", http_server.url("/a/story.html"), "A")]),
        headers={"Content-Type": RSS},
    )
    outlet_b = http_server.add(
        "/b.xml",
        rss([("b1", http_server.url("/b/copy.html"), teaser)]),
        headers={"Content-Type": RSS},
    )
    path = feeds_file(tmp_path, [{"url": outlet_a, "name": "A"}, {"url": outlet_b, "name": "B"}])
    metals = Watchlist(
        Baseline("metals", "Metals", "en", None, "baselines/metals.txt"),
        (
            Entity("copper", "concept", 0.9, {"en": ("copper",)}),
            Entity("supplies", "concept", 0.9, {"en": ("supplies",)}),
        ),
        ("Copper supplies.",),
    )

    report = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=Matcher([metals], 0.0))

    assert report.new == 1
    assert [o.new for o in report.feeds] == [1, 0]
    assert count(db, "articles") == 1
    article = stored_articles.get_article(db, report.article_ids[0])
    assert article is not None
    assert article["url"] == http_server.url("/a/story.html")
    assert {s["source_name"] for s in article["sources"]} == {"A", "B"}
    assert list(db.query("SELECT DISTINCT article_id FROM entries")) == [
        {"article_id": article["id"]}
    ]
    assert [r["baseline_id"] for r in db.query("SELECT baseline_id FROM matches")] == ["metals"]
    assert report.follow_ups == 1
    assert count(db, "pending_pages") == 0


def test_matches_are_stored_with_their_article(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    watchlist = Watchlist(
        Baseline("chips", "Chips", "en", None, "baselines/chips.txt"),
        (
            Entity("Nvidia", "company", 0.9, {"en": ("Nvidia",)}),
            Entity("H200", "product", 0.9, {"en": ("H200",)}),
            Entity("export controls", "policy", 0.8, {"en": ("export controls",)}),
        ),
        ("Nvidia's H200 and US export controls.",),
    )
    feed = http_server.add(
        "/chips.xml",
        rss(
            [
                (
                    "1",
                    "https://x.test/1",
                    "China approves Nvidia H200 purchases despite US export controls.",
                ),
                ("2", "https://x.test/2", "A recipe for dumplings."),
            ]
        ),
        headers={"Content-Type": RSS},
    )
    path = feeds_file(tmp_path, [{"url": feed, "interval": 60, "fetch_pages": False}])

    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=Matcher([watchlist], threshold=0.0))

    matched = list(
        db.query(
            "SELECT a.text, m.baseline_id FROM matches m JOIN articles a ON a.id = m.article_id"
        )
    )
    assert [(m["baseline_id"], m["text"][:5]) for m in matched] == [("chips", "China")]


# --- killed mid-poll -----------------------------------------------------------------------------


def test_poll_killed_midway_loses_no_article_and_stores_none_twice(
    http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    pages = 80
    for n in range(pages):
        unique = story_page(n)
        http_server.add(f"/p/{n}.html", unique, headers={"Content-Type": "text/html"}, delay=0.05)
    feed = http_server.add(
        "/many.xml",
        rss([(f"e{n}", http_server.url(f"/p/{n}.html"), f"entry {n}") for n in range(pages)]),
        headers={"Content-Type": RSS, "ETag": '"many"'},
    )
    path = feeds_file(tmp_path, [{"url": feed, "interval": 60}])
    watchlists = tmp_path / "no-watchlists"
    watchlists.mkdir()
    env = {
        **os.environ,
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WATCHLISTS_DIR": str(watchlists),
        "MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "MONITOR_PER_HOST_DELAY": "0",
    }
    command = [sys.executable, "-m", "monitor", "poll", "--feeds", str(path)]
    database = tmp_path / "data" / "monitor.db"

    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    pages_before_kill = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            pages_before_kill = pages_in(database)
            if pages_before_kill >= 1:
                break
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    # Every entry is stored from the feed first; the kill falls among the pages.
    assert articles_in(database) == pages
    assert 0 < pages_before_kill < pages, "the poll must be killed while it fetches pages"
    pages_before_kill = pages_in(database)
    requests_before = len(http_server.log)

    rerun = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stderr
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == pages
        assert conn.execute("SELECT count(DISTINCT url) FROM articles").fetchone()[0] == pages
        assert conn.execute("SELECT count(*) FROM entries").fetchone()[0] == pages
        assert conn.execute("SELECT count(*) FROM article_sources").fetchone()[0] == pages
        assert conn.execute("SELECT count(*) FROM pending_pages").fetchone()[0] == 0
        with_page = "SELECT count(*) FROM articles WHERE text LIKE '%licence review%'"
        assert conn.execute(with_page).fetchone()[0] == pages
    # Pages already stored are not fetched again.
    refetched = [r for r in http_server.log[requests_before:] if r.path.startswith("/p/")]
    assert len(refetched) <= pages - pages_before_kill


def story_page(n: int) -> bytes:
    """A news page of its own: every paragraph names story ``n``."""
    paragraphs = "".join(
        f"<p>Paragraph {k} of story {n}: the chipmaker said on Thursday that shipments of its "
        f"accelerators to customer number {n * 7 + k} would resume after the licence review, "
        f"and that revenue guidance for quarter {k} was unchanged.</p>"
        for k in range(1, 7)
    )
    return (
        f"<html><head><title>Story {n}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>Story {n}</h1>{paragraphs}</article><footer>Copyright</footer></body></html>"
    ).encode()


def pages_in(database: Path) -> int:
    """Articles that have their page's text (the stored page of story_page)."""
    return _count(database, "SELECT count(*) FROM articles WHERE text LIKE '%licence review%'")


def articles_in(database: Path) -> int:
    return _count(database, "SELECT count(*) FROM articles")


def _count(database: Path, query: str) -> int:
    if not database.exists():
        return 0
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
        ) as conn:
            return int(conn.execute(query).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is still being created
        return 0


def test_feed_listed_under_the_url_another_feed_moved_to_is_polled_once(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    http_server.routes["/old.xml"] = redirect_to("/new.xml", status=301)
    new = http_server.add(
        "/new.xml", rss([("1", "https://x.test/1", "moved")]), headers={"Content-Type": RSS}
    )
    old = http_server.url("/old.xml")
    path = feeds_file(tmp_path, [{"url": old, "interval": 60, "fetch_pages": False}])
    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    both = feeds_file(
        tmp_path,
        [{"url": old, "interval": 60, "fetch_pages": False}, {"url": new, "interval": 60}],
        name="both.yaml",
    )
    later = NOW + dt.timedelta(hours=2)
    report = pipeline.poll_due_feeds(db, settings, later, both, matcher=NO_MATCHES)
    assert [o.url for o in report.feeds] == [new]
    assert count(db, "feeds") == 1


# --- a full disk -------------------------------------------------------------------------------


def test_full_disk_stops_the_poll_with_a_storage_error_and_the_next_poll_loses_nothing(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    path = feeds_file(tmp_path, good_feeds(http_server))
    # SQLite's own "database or disk is full" (SQLITE_FULL), as on a full disk: the database
    # may not grow past a few pages beyond its empty schema.
    pages = int(db.execute("PRAGMA page_count").fetchone()[0])
    db.execute(f"PRAGMA max_page_count = {pages + 3}")
    with pytest.raises(StorageError, match="full"):
        pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    assert count(db, "articles") < 10

    db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)

    reference = open_db(tmp_path / "reference.db")
    try:
        pipeline.poll_due_feeds(reference, settings, NOW, path, matcher=NO_MATCHES)
        for table in ("articles", "entries", "article_sources"):
            assert count(db, table) == count(reference, table) > 0
    finally:
        reference.close()
