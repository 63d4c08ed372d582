"""Backfill: a past period through the same code as live, with a past `now`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import logging
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import conftest
import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from monitor import archive as archive_links
from monitor import pipeline, timeutil
from monitor.cli import cli
from monitor.config import Settings
from storage import open_db

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[1]


# --- pure helpers ---------------------------------------------------------------------------


def test_window_covers_whole_local_days() -> None:
    start, end = timeutil.window(dt.date(2026, 1, 27), dt.date(2026, 1, 28), "Asia/Shanghai")
    assert start == dt.datetime(2026, 1, 26, 16, tzinfo=UTC)
    assert end == dt.datetime(2026, 1, 28, 16, tzinfo=UTC)
    assert timeutil.days(dt.date(2026, 1, 27), dt.date(2026, 1, 29)) == [
        dt.date(2026, 1, 27),
        dt.date(2026, 1, 28),
        dt.date(2026, 1, 29),
    ]


def test_a_day_digest_is_due_at_digest_time_the_next_local_morning() -> None:
    due = timeutil.digest_due(dt.date(2026, 1, 27), "Asia/Taipei", "07:00")
    assert due == dt.datetime(2026, 1, 27, 23, tzinfo=UTC)


def test_clamp_keeps_a_moment_inside_the_window() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    end = dt.datetime(2026, 1, 2, tzinfo=UTC)
    assert timeutil.clamp(dt.datetime(2025, 12, 1, tzinfo=UTC), start, end) == start
    assert timeutil.clamp(dt.datetime(2026, 2, 1, tzinfo=UTC), start, end) < end


RSS_ARCHIVE = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel><title>t</title><link>https://example.org/</link>
<atom:link rel="current" href="https://example.org/feed.xml"/>
<atom:link rel="prev-archive" href="archive/2026-01.xml"/>
<item><title>a</title><link>https://example.org/a</link></item>
</channel></rss>"""

ATOM_PAGED = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<link rel="self" href="https://example.org/atom?page=1"/>
<link rel="next" href="https://example.org/atom?page=2"/>
<entry><title>a</title><link rel="next" href="https://example.org/not-this"/></entry>
</feed>"""


def test_rss_prev_archive_link_is_found_and_resolved() -> None:
    assert (
        archive_links.older_page(RSS_ARCHIVE, "https://example.org/feed.xml")
        == "https://example.org/archive/2026-01.xml"
    )


def test_atom_next_page_is_the_feed_link_not_an_entry_link() -> None:
    assert archive_links.older_page(ATOM_PAGED) == "https://example.org/atom?page=2"


def test_json_feed_next_url_and_plain_feeds_have_no_older_page() -> None:
    older = archive_links.older_page
    assert (
        older(b'{"version": "x", "next_url": "p2.json"}', "http://h/f.json") == "http://h/p2.json"
    )
    assert older(b'{"version": "x", "items": []}') is None
    assert older(b"<rss><channel><link>https://x/</link></channel></rss>") is None
    assert older(b"not a feed at all") is None


# --- backfill against live polling ----------------------------------------------------------

FEEDS = conftest.DATA / "backfill" / "feeds"  # real saved feeds: RSS, Atom-in-RSS, JSON Feed
WATCHLISTS = conftest.DATA / "backfill" / "watchlists"
SINCE, UNTIL = dt.date(2000, 1, 1), dt.date(2026, 12, 31)
PRESENT = dt.datetime(2027, 1, 2, 12, tzinfo=UTC)  # every covered day's digest is due
CONTENT_TYPES = {".xml": "application/rss+xml", ".json": "application/feed+json"}


@pytest.fixture
def offline(settings: Settings) -> Settings:
    """Feed text only (the entries' pages are on the internet) and a small watchlist."""
    return dataclasses.replace(
        settings, watchlists_dir=str(WATCHLISTS), fetch_pages=False, match_threshold=0.3
    )


def snapshot(db: Database) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """What a run stored, without the bookkeeping that differs between runs (ids, times)."""
    articles = {
        (r["url"], r["title"], r["text"], r["language"], r["published"])
        for r in db.query("SELECT * FROM articles")
    }
    matches = {
        (r["url"], r["baseline_id"], round(r["score"], 6), r["entities"], r["paragraph"])
        for r in db.query(
            "SELECT articles.url, matches.* FROM matches "
            "JOIN articles ON articles.id = matches.article_id"
        )
    }
    return articles, matches


def archive(settings: Settings, db: Database, **kwargs: Any) -> pipeline.BackfillReport:
    return pipeline.backfill(
        db,
        settings,
        SINCE,
        UNTIL,
        pipeline.BackfillSource("archive", str(FEEDS)),
        now=PRESENT,
        **kwargs,
    )


def test_backfill_of_saved_feeds_equals_polling_them_live(
    offline: Settings, http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    lines = ["feeds:"]
    for path in sorted(FEEDS.iterdir()):
        url = http_server.add(
            f"/{path.name}", path.read_bytes(), headers={"Content-Type": CONTENT_TYPES[path.suffix]}
        )
        lines.append(f"  - url: {url}\n    name: {path.stem}")
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    live_db = open_db(tmp_path / "live.db")
    poll = pipeline.poll_due_feeds(live_db, offline, PRESENT, feeds_file=str(feeds_file))
    assert not poll.failed

    db = open_db(tmp_path / "backfill.db")
    report = archive(offline, db)

    live_articles, live_matches = snapshot(live_db)
    articles, matches = snapshot(db)
    assert len(live_articles) > 50
    assert live_matches, "the sample should hold follow-ups, or the comparison proves little"
    assert articles == live_articles
    assert matches == live_matches
    assert report.new_articles == len(articles)
    assert report.follow_ups == len(matches)


def test_backfill_of_a_feed_with_pages_equals_polling_it_live(
    offline: Settings, http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    """Pages on: live, the entries are stored from the feed and their pages fetched after;
    backfill goes through the same two stages, and both end with the same articles and
    follow-ups (some of which only the pages' text finds)."""
    with_pages = dataclasses.replace(offline, fetch_pages=True)
    phoronix = (FEEDS / "phoronix.xml").read_text(encoding="utf-8")
    slugs = re.findall(r"<link>https://www\.phoronix\.com/(\w+/[^<]+)</link>", phoronix)
    assert len(slugs) > 10
    html = {"Content-Type": "text/html"}
    for n, slug in enumerate(slugs):
        http_server.add(f"/{slug}", news_page(slug, chips=n % 2 == 0), headers=html)
    feed = http_server.add(
        "/phoronix.xml",
        phoronix.replace("https://www.phoronix.com/", http_server.url("/")).encode(),
        headers={"Content-Type": CONTENT_TYPES[".xml"]},
    )
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(f"feeds:\n  - url: {feed}\n    name: Phoronix\n", encoding="utf-8")
    live_db = open_db(tmp_path / "live.db")
    poll = pipeline.poll_due_feeds(live_db, with_pages, PRESENT, feeds_file=str(feeds_file))
    assert not poll.failed
    assert poll.pages_fetched == len(slugs)

    db = open_db(tmp_path / "backfill.db")
    source = pipeline.BackfillSource("feeds", str(feeds_file))
    report = pipeline.backfill(db, with_pages, SINCE, UNTIL, source, now=PRESENT)

    live_articles, live_matches = snapshot(live_db)
    articles, matches = snapshot(db)
    assert len(live_articles) == len(slugs)
    assert all("export" in text or "kernel" in text for _, _, text, _, _ in live_articles)
    assert len(live_matches) >= len(slugs) // 2  # found in the pages' text
    assert articles == live_articles
    assert matches == live_matches
    assert report.new_articles == len(articles)
    live_db.close()
    db.close()


def news_page(slug: str, *, chips: bool) -> bytes:
    """A page for one entry: its own paragraphs, and on ``chips`` pages the chip race."""
    topic = (
        "Nvidia said on Thursday that US export controls on its H200 accelerators to China "
        "would hold its data-centre revenue back, and Huawei gained ground."
        if chips
        else "The kernel patches land in the next release candidate after review."
    )
    body = "".join(
        f"<p>Paragraph {k} on {slug}: {topic} Engineers described the change in detail.</p>"
        for k in range(1, 6)
    )
    page = f"<html><head><title>{slug}</title></head><body><article><h1>{slug}</h1>{body}"
    return (page + "</article></body></html>").encode()


def test_backfill_stores_each_article_at_its_own_published_time(
    offline: Settings, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "monitor.db")
    archive(offline, db)
    rows = list(db.query("SELECT published, stored_at FROM articles WHERE published IS NOT NULL"))
    assert rows
    for row in rows:
        published = dt.datetime.fromisoformat(row["published"])
        stored = dt.datetime.fromisoformat(row["stored_at"])
        # Stored when it appeared, on its own local day: the day whose digest it belongs to.
        assert published - dt.timedelta(seconds=1) <= stored
        assert timeutil.local_day(stored, offline.timezone) == timeutil.local_day(
            published, offline.timezone
        )


def test_second_backfill_adds_nothing(offline: Settings, tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    first = archive(offline, db)
    before = snapshot(db)
    counts = {t: db[t].count for t in ("articles", "matches", "entries", "article_sources")}
    second = archive(offline, db)
    assert first.new_articles > 0
    assert second.new_articles == 0
    assert second.follow_ups == 0
    assert snapshot(db) == before
    assert {t: db[t].count for t in counts} == counts


def test_backfill_writes_the_digests_of_days_with_follow_ups(
    offline: Settings, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "monitor.db")
    report = archive(offline, db)
    assert report.digests is not None
    days = {Path(p).name for p in report.digests.written}
    expected = {
        f"daily-{timeutil.local_day(dt.datetime.fromisoformat(r['stored_at']), 'UTC')}.html"
        for r in db.query(
            "SELECT DISTINCT stored_at FROM articles JOIN matches ON matches.article_id = id"
        )
    }
    assert days == expected
    assert all(Path(p).is_file() for p in report.digests.written)
    assert report.digests.sent == ()  # nothing is sent without send=True
    assert db["digests"].count == 0


def test_backfill_sends_the_digests_only_when_asked(
    offline: Settings, smtp_server: conftest.SMTPServer, tmp_path: Path
) -> None:
    mailing = dataclasses.replace(
        offline,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_to=("analyst@example.org",),
    )
    db = open_db(tmp_path / "monitor.db")
    report = archive(mailing, db, send=True)
    assert report.digests is not None
    assert report.digests.sent
    assert len(smtp_server.messages) == len(report.digests.sent)
    # Once per day: a second run sends nothing again.
    again = archive(mailing, db, send=True)
    assert again.digests is not None
    assert again.digests.sent == ()
    assert len(smtp_server.messages) == len(report.digests.sent)


def test_entries_outside_the_window_are_left_out(offline: Settings, tmp_path: Path) -> None:
    db = open_db(tmp_path / "monitor.db")
    day = dt.date(2026, 1, 29)
    report = pipeline.backfill(
        db, offline, day, day, pipeline.BackfillSource("archive", str(FEEDS)), now=PRESENT
    )
    assert report.outside > 0
    start, end = timeutil.window(day, day, offline.timezone)
    for row in db.query("SELECT published FROM articles WHERE published IS NOT NULL"):
        assert start <= dt.datetime.fromisoformat(row["published"]) < end


# --- feeds with archives, URL lists ---------------------------------------------------------


def rss(title: str, items: list[tuple[str, str]], links: str = "") -> str:
    body = "".join(
        f"<item><title>{t}</title><link>https://news.example.org/{t.replace(' ', '-')}</link>"
        f"<guid>{t}</guid><pubDate>{d}</pubDate><description>{t} story text</description></item>"
        for t, d in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>{title}</title><link>https://news.example.org/</link>{links}"
        f"{body}</channel></rss>"
    )


def test_feed_backfill_follows_rfc5005_archives_back_to_the_window(
    offline: Settings, http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    current = rss(
        "news",
        [("Nvidia chips in March", "Tue, 03 Mar 2026 08:00:00 GMT")],
        '<atom:link rel="prev-archive" href="/archive/2026-02.xml"/>',
    )
    february = rss(
        "news",
        [("Huawei chips in February", "Tue, 10 Feb 2026 08:00:00 GMT")],
        '<atom:link rel="prev-archive" href="/archive/2026-01.xml"/>',
    )
    january = rss(
        "news",
        [("DeepSeek chips in January", "Tue, 13 Jan 2026 08:00:00 GMT")],
        '<atom:link rel="prev-archive" href="/archive/2025-12.xml"/>',
    )
    feed_url = http_server.add("/feed.xml", current)
    http_server.add("/archive/2026-02.xml", february)
    http_server.add("/archive/2026-01.xml", january)
    http_server.add("/archive/2025-12.xml", rss("news", []))
    feeds_file = tmp_path / "feeds.yaml"
    feeds_file.write_text(f"feeds:\n  - url: {feed_url}\n    name: News\n", encoding="utf-8")
    db = open_db(tmp_path / "monitor.db")

    report = pipeline.backfill(
        db,
        offline,
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 31),
        pipeline.BackfillSource("feeds", str(feeds_file)),
        now=PRESENT,
    )

    titles = {r["title"] for r in db.query("SELECT title FROM articles")}
    assert titles == {"Nvidia chips in March", "Huawei chips in February"}
    # January's page is read (its entries are all older than the window), nothing before it.
    assert http_server.requests_for("/archive/2026-01.xml")
    assert not http_server.requests_for("/archive/2025-12.xml")
    assert report.outside == 1
    assert report.units == 3


def test_url_list_backfill_fetches_and_extracts_each_page(
    offline: Settings, http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    pages = sorted((conftest.DATA / "pages").glob("*.html"))[:2]
    assert pages, "needs real saved pages in tests/data/pages"
    urls = [
        http_server.add(f"/a/{p.name}", p.read_bytes(), headers={"Content-Type": "text/html"})
        for p in pages
    ]
    url_file = tmp_path / "urls.txt"
    url_file.write_text("# saved for later\n" + "\n".join(urls) + "\n", encoding="utf-8")
    db = open_db(tmp_path / "monitor.db")
    settings = dataclasses.replace(offline, fetch_pages=True)
    day = dt.date(2026, 1, 15)
    report = pipeline.backfill(
        db, settings, day, day, pipeline.BackfillSource("urls", str(url_file)), now=PRESENT
    )
    assert report.entries == len(urls)
    assert report.new_articles == len(urls)
    stored = list(db.query("SELECT url, text, stored_at FROM articles"))
    assert all(len(r["text"]) > 200 for r in stored)
    # Undated items are stored at the end of the window.
    end = timeutil.window(day, day, settings.timezone)[1]
    assert all(
        end - dt.timedelta(seconds=1) <= dt.datetime.fromisoformat(r["stored_at"]) < end
        for r in stored
    )


# --- a killed backfill resumes --------------------------------------------------------------

KILL_AFTER_TWO_UNITS = """
import datetime as dt, os, signal, sys
from monitor import config, pipeline
from storage import open_db

settings = config.load(None, env={{}}, data_dir={data_dir!r}, watchlists_dir={watchlists!r},
                       fetch_pages=False, match_threshold=0.3)
db = open_db(settings.database)

def die_after_two(progress):
    if progress.units_done == 2:
        os.kill(os.getpid(), signal.SIGKILL)  # no clean-up of any kind

pipeline.backfill(db, settings, dt.date(2000, 1, 1), dt.date(2026, 12, 31),
                  pipeline.BackfillSource("archive", {feeds!r}),
                  now=dt.datetime(2027, 1, 2, 12, tzinfo=dt.UTC), on_progress=die_after_two)
"""


def test_killed_backfill_resumes_and_ends_like_an_uninterrupted_one(
    offline: Settings, tmp_path: Path
) -> None:
    killed = dataclasses.replace(offline, data_dir=str(tmp_path / "killed"))
    script = KILL_AFTER_TWO_UNITS.format(
        data_dir=killed.data_dir, watchlists=str(WATCHLISTS), feeds=str(FEEDS)
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    db = open_db(killed.database)
    assert db["articles"].count > 0  # the first two files were stored before the kill

    resumed = archive(killed, db)
    assert resumed.resumed == 2  # the units done before the kill are not read again
    assert resumed.units == len(list(FEEDS.iterdir())) - 2

    clean_db = open_db(tmp_path / "clean.db")
    archive(offline, clean_db)
    assert snapshot(db) == snapshot(clean_db)


# --- the command line -----------------------------------------------------------------------


def cli_env(settings: Settings) -> dict[str, str]:
    return {
        "MONITOR_DATA_DIR": settings.data_dir,
        "MONITOR_WATCHLISTS_DIR": settings.watchlists_dir,
        "MONITOR_FETCH_PAGES": "false",
        "MONITOR_MATCH_THRESHOLD": str(settings.match_threshold),
        "MONITOR_SMTP_HOST": "",
    }


def test_backfill_command_summarises_and_a_rerun_adds_nothing(offline: Settings) -> None:
    args = ["backfill", "--since", "2000-01-01", "--until", "2026-12-31", "--archive", str(FEEDS)]
    first = CliRunner().invoke(cli, args, env=cli_env(offline), obj={})
    assert first.exit_code == 0, first.output
    summary = first.stdout.splitlines()[0]
    new = int(re.search(r"(\d+) new articles", summary).group(1))  # type: ignore[union-attr]
    assert new > 50
    assert re.search(r"\d+ daily digests \(days with follow-ups\) written to ", first.stdout)
    second = CliRunner().invoke(cli, args, env=cli_env(offline), obj={})
    assert second.exit_code == 0, second.output
    assert " 0 new articles, 0 follow-ups" in second.stdout


def test_backfill_command_takes_one_source_only(offline: Settings, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://example.org/a\n")
    args = ["backfill", "--since", "2026-01-01", "--archive", str(FEEDS), "--urls", str(urls)]
    result = CliRunner().invoke(cli, args, env=cli_env(offline), obj={})
    assert result.exit_code == 2
    assert "give one of --feeds, --urls and --archive" in result.output


def test_backfill_send_without_smtp_is_refused_before_any_work(offline: Settings) -> None:
    args = ["backfill", "--since", "2026-01-01", "--archive", str(FEEDS), "--send"]
    result = CliRunner().invoke(cli, args, env=cli_env(offline), obj={})
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Hint:" in result.output
    assert not Path(offline.database).exists() or open_db(offline.database)["articles"].count == 0


def test_search_finds_stored_articles_in_either_language(offline: Settings) -> None:
    db = open_db(offline.database)
    archive(offline, db)
    english = CliRunner().invoke(cli, ["search", "DeepSeek"], env=cli_env(offline), obj={})
    assert english.exit_code == 0, english.output
    assert "DeepSeek" in english.output
    assert not english.output.startswith("0 articles")
    title = next(iter(db.query("SELECT title FROM articles WHERE feed_url LIKE '%cnbeta%'")))
    word = title["title"][:4]
    chinese = CliRunner().invoke(cli, ["search", word], env=cli_env(offline), obj={})
    assert chinese.exit_code == 0, chinese.output
    assert title["title"] in chinese.output


def test_archive_folder_may_hold_saved_pages_beside_feeds(
    offline: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    shutil.copy(FEEDS / "wsj-tech.json", folder)
    for name in ("maescot-utf8-one-bad-byte.html", "xinhua-gb2312.html"):
        shutil.copy(conftest.DATA / "pages" / name, folder)
    db = open_db(tmp_path / "monitor.db")
    source = pipeline.BackfillSource("archive", str(folder))

    report = pipeline.backfill(db, offline, SINCE, UNTIL, source, now=PRESENT)

    assert not report.failures
    rows = db.query("SELECT * FROM articles WHERE feed_url LIKE 'archive:%'")
    pages = {r["url"]: r for r in rows}
    # A page's own canonical link names it; a page without one is named by its file.
    assert "http://www.maescot.de/kleine-schafskunde" in {u.rstrip("/") for u in pages}
    assert any(u.startswith("file://") and u.endswith("xinhua-gb2312.html") for u in pages)
    assert all(len(r["text"]) > 200 for r in pages.values())
    again = pipeline.backfill(db, offline, SINCE, UNTIL, source, now=PRESENT)
    assert again.new_articles == 0


def test_backfill_logs_plain_lines_when_not_on_a_terminal(
    offline: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    args = ["backfill", "--since", "2000-01-01", "--until", "2026-12-31", "--archive", str(FEEDS)]
    with caplog.at_level(logging.INFO, logger="monitor.backfill"):
        result = CliRunner().invoke(cli, args, env=cli_env(offline), obj={})
    assert result.exit_code == 0, result.output
    lines = [r.getMessage() for r in caplog.records if r.name == "monitor.backfill"]
    units = len(list(FEEDS.iterdir()))
    assert len(lines) == units
    assert lines[-1].startswith(f"{units}/{units} done: ")
    assert "\x1b[" not in result.output  # no terminal control codes in a pipe


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_backfill_shows_a_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.cli_backfill import _Progress

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _Progress() as progress:
        assert progress.bar is not None
        progress.bar.console.file = terminal
        progress(pipeline.BackfillProgress("a.xml", 1, 2, 10, 7, 3))
        progress(pipeline.BackfillProgress("b.xml", 2, 2, 20, 12, 4))
    shown = terminal.getvalue()
    assert "2/2" in shown
    assert "12 new articles, 4 follow-ups" in shown


def test_a_stop_request_ends_after_the_unit_in_hand_and_the_run_resumes(
    offline: Settings, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "monitor.db")
    stop = threading.Event()
    seen: list[str] = []

    def stop_after_first(progress: pipeline.BackfillProgress) -> None:
        seen.append(progress.unit)
        stop.set()  # as SIGTERM or Ctrl-C do

    stopped = archive(offline, db, on_progress=stop_after_first, stop=stop)
    assert stopped.stopped
    assert stopped.units == 1
    assert stopped.digests is None  # digests wait for the whole period
    resumed = archive(offline, db)
    assert resumed.resumed == 1
    assert not resumed.stopped
    assert resumed.units == len(list(FEEDS.iterdir())) - 1
