"""Hostile input and faults on 127.0.0.1: no single feed, link, message or process stops the
monitor, and every failure says so."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gzip
import json
import logging
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import conftest
import pytest
from click.testing import CliRunner
from digest_support import digest_settings, follow_up, seed_day, store_article
from sqlite_utils import Database
from test_poll import NO_MATCHES, NOW, count, feeds_file, good_feeds, rss, story_page

from monitor import config, mail, pipeline, scheduler
from monitor.cli import cli
from monitor.config import Settings
from monitor.errors import ConfigError, DeliveryError
from monitor.feed_list import load_feeds, read_opml
from monitor.feeds import TITLE_CHARS, parse_feed
from monitor.match import Matcher
from monitor.models import Baseline, Entity, Watchlist
from monitor.pipeline.ingest import entry_keys
from monitor.watchlist import write_watchlist
from storage import articles as stored_articles
from storage import digests as outbox
from storage import feeds as stored_feeds
from storage import open_db


@pytest.fixture
def db(settings: Settings) -> Iterable[Database]:
    database = open_db(settings.database)
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return dataclasses.replace(settings, http_timeout=1.0, retries=0, max_body_bytes=300_000)


def json_feed(items: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items}
    ).encode()


# --- 1. malformed URLs ---------------------------------------------------------------------------


def test_item_with_malformed_url_is_stored_from_the_feed_and_the_poll_completes(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    page = http_server.add("/ok.html", "<html><body><p>Fine page.</p></body></html>")
    bad_feed = http_server.add(
        "/bad.json",
        json_feed(
            [
                {"id": "1", "url": "http://a]b/story", "title": "Broken link", "content_text": "t"},
                {"id": "2", "url": "http://[::1/x", "title": "Broken too", "content_text": "t"},
                {"id": "3", "url": page, "title": "Fine link", "content_text": "t"},
            ]
        ),
        headers={"Content-Type": "application/feed+json", "ETag": '"j1"'},
    )
    path = feeds_file(tmp_path, [*good_feeds(http_server), {"url": bad_feed, "interval": 60}])

    report = pipeline.poll_due_feeds(db, fast, NOW, path, matcher=NO_MATCHES)

    assert [o.status for o in report.feeds] == ["new"] * 4
    reasons = {
        row["title"]: row["extract_error"]
        for row in db.query("SELECT title, extract_error FROM articles")
    }
    assert "bad URL" in reasons["Broken link"]
    assert "bad URL" in reasons["Broken too"]
    assert "bad URL" not in reasons["Fine link"]
    assert http_server.requests_for("/ok.html")  # the good link's page was still fetched
    # Validators were saved, so the next poll is conditional and stores nothing twice.
    state = stored_feeds.get_feed(db, bad_feed)
    assert state is not None
    assert state.etag == '"j1"'
    stored = count(db, "articles")
    again = pipeline.poll_due_feeds(
        db, fast, NOW + dt.timedelta(minutes=61), path, matcher=NO_MATCHES
    )
    assert [o.status for o in again.feeds] == ["unchanged"] * 4
    assert count(db, "articles") == stored


def test_malformed_url_in_feeds_file_is_one_error_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.test/rss\n  - url: http://[::1/feed\n")
    with pytest.raises(ConfigError, match=r"feeds.yaml:3: url: bad URL"):
        load_feeds(path)


def test_feeds_import_refuses_an_opml_outline_with_a_malformed_url(tmp_path: Path) -> None:
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body>\n<outline text="A" xmlUrl="https://feeds.test/a"/>\n'
        '<outline text="B" xmlUrl="http://[::1/feed"/>\n</body></opml>'
    )
    with pytest.raises(ConfigError, match=r"subs.opml:3: xmlUrl: bad URL"):
        read_opml(opml.read_bytes(), str(opml))
    feeds = tmp_path / "feeds.yaml"
    result = CliRunner().invoke(cli, ["feeds", "import", str(opml), "--feeds", str(feeds)])
    assert result.exit_code == 1
    assert "bad URL" in result.output
    assert "Traceback" not in result.output
    assert not feeds.exists()


# --- 2. one refused digest never blocks the others; feed fields are capped ----------------------


@pytest.fixture
def small_smtp() -> Iterable[conftest.SMTPServer]:
    """An SMTP server that refuses messages over 100 kB with 552, as Postfix does over its
    message_size_limit."""
    from aiosmtpd.controller import Controller

    collector = conftest.SMTPCollector()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(collector, hostname="127.0.0.1", port=port, data_size_limit=100_000)
    controller.start()
    try:
        yield conftest.SMTPServer("127.0.0.1", port, collector)
    finally:
        controller.stop()


def pending_digest(db: Database, key: str, html: str) -> None:
    outbox.create_pending(
        db,
        kind="daily",
        key=key,
        subject=f"Follow-ups for {key}",
        html=html,
        text="text",
        recipients=["ana@example.org"],
        message_id=f"<{key}@test>",
        now=NOW,
    )


def test_a_digest_refused_with_552_does_not_block_later_ones_and_is_given_up_after_retries(
    settings: Settings, tmp_path: Path, small_smtp: conftest.SMTPServer, db: Database
) -> None:
    s = digest_settings(settings, tmp_path, small_smtp)
    pending_digest(db, "2026-02-17", "<p>" + "x" * 300_000 + "</p>")
    pending_digest(db, "2026-02-18", "<p>small</p>")
    pending_digest(db, "2026-02-19", "<p>small too</p>")

    sent, failed = pipeline.deliver_pending(db, s, NOW, "daily")

    assert sent == ["2026-02-18", "2026-02-19"]
    assert [key for key, _ in failed] == ["2026-02-17"]
    assert "552" in failed[0][1]
    row = outbox.get(db, "daily", "2026-02-17")
    assert row is not None
    assert row["status"] == "pending"
    for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
        sent, failed = pipeline.deliver_pending(db, s, NOW + dt.timedelta(hours=attempt), "daily")
        assert sent == []
    row = outbox.get(db, "daily", "2026-02-17")
    assert row is not None
    assert row["status"] == "failed"
    assert "552" in row["last_error"]
    assert f"marked failed after {outbox.MAX_ATTEMPTS} attempts" in failed[0][1]
    # Given up: never tried again, and not counted as unsent.
    assert pipeline.deliver_pending(db, s, NOW + dt.timedelta(days=1), "daily") == ([], [])


def test_a_connection_failure_still_stops_the_run_so_the_rest_waits(
    settings: Settings, tmp_path: Path, smtp_server: conftest.SMTPServer, db: Database
) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    pending_digest(db, "2026-02-18", "<p>a</p>")
    pending_digest(db, "2026-02-19", "<p>b</p>")
    smtp_server.collector.refuse = True  # 451: the server, not the message
    sent, failed = pipeline.deliver_pending(db, s, NOW, "daily")
    assert sent == []
    assert [key for key, _ in failed] == ["2026-02-18"]
    assert all(row["status"] == "pending" for row in outbox.unsent(db, "daily"))


def test_a_1mb_feed_title_is_capped_in_storage_and_in_the_digest(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    tmp_path: Path,
    small_smtp: conftest.SMTPServer,
    db: Database,
) -> None:
    huge = "Huge " * 200_000  # 1 MB
    feed = http_server.add(
        "/huge-title.xml",
        rss([("1", "https://x.test/1", "teaser")]).replace(b"Story 1", huge.encode()),
        headers={"Content-Type": "application/rss+xml"},
    )
    path = feeds_file(tmp_path, [{"url": feed, "fetch_pages": False}])
    pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)
    (title,) = [row["title"] for row in db.query("SELECT title FROM articles")]
    assert len(title) <= TITLE_CHARS
    assert title.startswith("Huge Huge")

    # A row stored before the cap (written straight into the database) is cut when shown.
    s = digest_settings(settings, tmp_path, small_smtp)
    day_start = dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    article = store_article(
        db, url="https://x.test/huge", title=huge, stored_at=day_start + dt.timedelta(hours=2)
    )
    follow_up(db, article, "goujon-real-stakes", 0.9, day_start + dt.timedelta(hours=2))
    report = pipeline.send_pending_digests(db, s, dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC))
    assert report.sent == ("2026-03-29",)
    (message,) = small_smtp.messages
    assert len(message.as_bytes()) < 100_000


# --- 3. a failed send is heard: a warning, and a non-zero exit -----------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_failed_send_is_a_warning_and_the_cli_exits_non_zero(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = digest_settings(settings, tmp_path)
    db = open_db(s.database)
    seed_day(db, dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC))
    db.close()
    config_file = tmp_path / "monitor.toml"
    config_file.write_text(
        f'data_dir = "{s.data_dir}"\nwatchlists_dir = "{s.watchlists_dir}"\n'
        f'timezone = "Europe/Paris"\nsmtp_host = "127.0.0.1"\nsmtp_port = {closed_port()}\n'
        f'smtp_security = "none"\nmail_to = ["ana@example.org"]\nsmtp_timeout = 2\n',
        encoding="utf-8",
    )
    caplog.set_level(logging.WARNING)
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "digest", "--date", "2026-03-29", "--send"], env={}
    )
    assert result.exit_code == 1, result.output
    assert "not sent 2026-03-29" in result.output
    assert "Traceback" not in result.output
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("2026-03-29 not sent" in w and "refused" in w.lower() for w in warnings), warnings

    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds: []\n")
    again = CliRunner().invoke(
        cli, ["--config", str(config_file), "run", "--once", "--feeds", str(feeds)], env={}
    )
    assert again.exit_code == 1, again.output
    assert "digest 2026-03-29 not sent" in again.output


# --- 5. concurrent commands on one data directory ------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def monitor_env(tmp_path: Path) -> dict[str, str]:
    watchlists = tmp_path / "no-watchlists"
    watchlists.mkdir(exist_ok=True)
    return {
        **os.environ,
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WATCHLISTS_DIR": str(watchlists),
        "MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "MONITOR_PER_HOST_DELAY": "0",
    }


def test_two_monitor_polls_at_once_on_a_fresh_directory_poll_once_and_exit_cleanly(
    http_server: conftest.TestHTTPServer, tmp_path: Path
) -> None:
    feed = http_server.add(
        "/slow.xml",
        rss([("1", "https://x.test/1", "one")]),
        headers={"Content-Type": "application/rss+xml"},
        delay=2.0,
    )
    path = feeds_file(tmp_path, [{"url": feed, "fetch_pages": False}])
    command = [sys.executable, "-m", "monitor", "poll", "--feeds", str(path)]
    env = monitor_env(tmp_path)
    processes = [
        subprocess.Popen(
            command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert sum("another poll is running" in out for out in outputs) == 1, outputs
    assert len(http_server.requests_for("/slow.xml")) == 1
    assert not any("Traceback" in out or "locked" in out for out in outputs), outputs


OPEN_DB = "import sys; from storage import open_db; open_db(sys.argv[1]).close()"


def test_processes_starting_together_on_a_fresh_database_migrate_it_once(tmp_path: Path) -> None:
    for round_ in range(3):
        database = tmp_path / f"fresh{round_}" / "monitor.db"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_DB, str(database)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(8)
        ]
        outputs = [p.communicate(timeout=60)[0] for p in processes]
        assert [p.returncode for p in processes] == [0] * 8, outputs


# --- 6. a wrongly declared charset ---------------------------------------------------------------


def test_gbk_feed_declared_utf8_is_stored_as_correct_chinese(
    http_server: conftest.TestHTTPServer, settings: Settings, db: Database, tmp_path: Path
) -> None:
    # A real Chinese feed, transcoded to GBK and served as UTF-8 (header and XML declaration).
    text = (conftest.DATA / "feeds" / "36kr-ai.xml").read_text(encoding="utf-8")
    text = text.replace("\xa0", " ")  # the one character GBK lacks
    feed = http_server.add(
        "/gbk.xml",
        text.encode("gbk"),
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )
    path = feeds_file(tmp_path, [{"url": feed, "fetch_pages": False}])

    report = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES)

    (outcome,) = report.feeds
    assert outcome.status == "new"
    assert "charset" in outcome.warning
    expected = {e.title for e in parse_feed(text.encode(), {}, feed).entries}
    stored = {row["title"] for row in db.query("SELECT title FROM articles")}
    assert stored == expected
    assert any("OpenAI" in t and "苹果" in t for t in stored), stored


# --- 7. rotating GUIDs ---------------------------------------------------------------------------


@pytest.mark.parametrize("links_rotate", [False, True])
def test_a_feed_rotating_its_guids_stores_each_item_once(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    db: Database,
    tmp_path: Path,
    links_rotate: bool,
) -> None:
    def serve(poll: int) -> str:
        items = [
            (
                f"urn:poll{poll}:item{n}",
                f"https://news.test/story/{n}" + (f"?v={poll}" if links_rotate else ""),
                f"Story number {n} says something quite specific about chips and export rules.",
            )
            for n in range(20)
        ]
        # The helper titles each item after its guid; a real rotating feed keeps its titles.
        body = rss(items)
        for n in range(20):
            body = body.replace(f"Story urn:poll{poll}:item{n}<".encode(), f"Story {n}<".encode())
        return http_server.add("/rotating.xml", body, headers={"Content-Type": "text/xml"})

    path = feeds_file(tmp_path, [{"url": serve(0), "interval": 60, "fetch_pages": False}])
    for poll in range(3):
        serve(poll)
        moment = NOW + dt.timedelta(minutes=61 * poll)
        report = pipeline.poll_due_feeds(db, settings, moment, path, matcher=NO_MATCHES)
        assert report.new == (20 if poll == 0 else 0)
    assert count(db, "articles") == 20
    assert count(db, "entries") == 20


# --- 8. broken feeds are called broken -----------------------------------------------------------


def poll_times(count_: int) -> list[dt.datetime]:
    """Poll moments far enough apart that any backoff is over."""
    return [NOW + dt.timedelta(days=n) for n in range(count_)]


def test_410_gone_disables_the_feed_with_a_reason(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    gone = http_server.add("/gone.xml", b"gone", status=410)
    path = feeds_file(tmp_path, [{"url": gone}, *good_feeds(http_server)])
    for moment in poll_times(3):
        pipeline.poll_due_feeds(db, fast, moment, path, matcher=NO_MATCHES)
    assert len(http_server.requests_for("/gone.xml")) == 1
    state = stored_feeds.get_feed(db, gone)
    assert state is not None
    assert state.disabled_reason is not None
    assert "410" in state.disabled_reason
    assert len(http_server.requests_for("/ft.xml")) == 3  # the others go on


def test_404_three_times_in_a_row_disables_the_feed(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    missing = http_server.url("/missing.xml")
    path = feeds_file(tmp_path, [{"url": missing}])
    reports = [
        pipeline.poll_due_feeds(db, fast, moment, path, matcher=NO_MATCHES)
        for moment in poll_times(5)
    ]
    assert len(http_server.requests_for("/missing.xml")) == 3
    assert "no longer polled" in reports[2].feeds[0].error
    state = stored_feeds.get_feed(db, missing)
    assert state is not None
    assert state.disabled_reason is not None
    assert "404" in state.disabled_reason


def answer_304(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(304)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def test_304_to_a_request_without_validators_is_an_error(
    http_server: conftest.TestHTTPServer, fast: Settings, db: Database, tmp_path: Path
) -> None:
    http_server.routes["/always304.xml"] = conftest.Route(handler=answer_304)
    url = http_server.url("/always304.xml")
    path = feeds_file(tmp_path, [{"url": url}])
    (outcome,) = pipeline.poll_due_feeds(db, fast, NOW, path, matcher=NO_MATCHES).feeds
    assert outcome.status == "failed"
    assert "without validators" in outcome.error
    state = stored_feeds.get_feed(db, url)
    assert state is not None
    assert state.error_count == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>'
            b"<link>https://quiet.test/</link><description>d</description></channel></rss>",
            "application/rss+xml",
        ),
        (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Quiet</title>'
            b"<id>urn:quiet</id><updated>2026-02-19T00:00:00Z</updated></feed>",
            "application/atom+xml",
        ),
        (json_feed([]), "application/feed+json"),
    ],
)
def test_a_well_formed_empty_feed_is_a_success_that_keeps_its_validators(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    db: Database,
    tmp_path: Path,
    body: bytes,
    content_type: str,
) -> None:
    url = http_server.add("/quiet", body, headers={"Content-Type": content_type, "ETag": '"q1"'})
    path = feeds_file(tmp_path, [{"url": url, "interval": 60}])
    (first,) = pipeline.poll_due_feeds(db, settings, NOW, path, matcher=NO_MATCHES).feeds
    assert first.status == "new", first.error
    assert first.entries == 0
    state = stored_feeds.get_feed(db, url)
    assert state is not None
    assert (state.etag, state.error_count) == ('"q1"', 0)
    later = NOW + dt.timedelta(minutes=61)
    (second,) = pipeline.poll_due_feeds(db, settings, later, path, matcher=NO_MATCHES).feeds
    assert second.status == "unchanged"
    assert http_server.requests_for("/quiet")[-1].headers.get("If-None-Match") == '"q1"'


# --- 4. a slow host cannot stall the poll --------------------------------------------------------


@pytest.fixture
def black_hole() -> Iterable[socket.socket]:
    """A host (127.0.0.2) whose port accepts connections and never answers."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.2", 0))
    sock.listen(128)
    try:
        yield sock
    finally:
        sock.close()


def page_feed(server: conftest.TestHTTPServer, slow_links: list[str], good: int) -> str:
    for n in range(good):
        server.add(f"/good/{n}.html", story_page(n), headers={"Content-Type": "text/html"})
    links = [*slow_links, *(server.url(f"/good/{n}.html") for n in range(good))]
    items = [(f"e{n}", link, f"teaser {n}") for n, link in enumerate(links)]
    return server.add("/pages.xml", rss(items), headers={"Content-Type": "text/xml", "ETag": '"p"'})


def test_a_host_that_never_answers_costs_its_failure_budget_and_the_rest_waits(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    db: Database,
    tmp_path: Path,
    black_hole: socket.socket,
) -> None:
    s = dataclasses.replace(
        settings,
        http_timeout=2.0,
        retries=0,
        per_host_concurrency=2,
        host_failure_budget=2,
        poll_budget_seconds=60.0,
    )
    port = black_hole.getsockname()[1]
    slow = [f"http://127.0.0.2:{port}/story/{n}" for n in range(12)]
    feed = page_feed(http_server, slow, good=5)
    path = feeds_file(tmp_path, [{"url": feed}])

    started = time.monotonic()
    (outcome,) = pipeline.poll_due_feeds(db, s, NOW, path, matcher=NO_MATCHES).feeds
    elapsed = time.monotonic() - started

    # Two timeouts in parallel (one http_timeout), then the host's other pages wait; one
    # more may start in the moment between the two timeouts (a slot freed by the first).
    # Before the budget: 12 links / 2 per host x 2 s = 12 s.
    assert elapsed < 2.0 * 2 + 1.5, elapsed
    assert outcome.new == 17  # every entry is stored, from the feed's text at least
    timed_out = count_where(db, "extract_error LIKE 'page not fetched:%'")
    assert timed_out in (2, 3)
    assert f"{12 - timed_out} pages deferred" in outcome.warning
    assert count(db, "pending_pages") == 12 - timed_out
    texts = [row["text"] for row in db.query("SELECT text FROM articles WHERE url LIKE '%/good/%'")]
    assert len(texts) == 5
    assert all("licence review" in t for t in texts)
    state = stored_feeds.get_feed(db, feed)
    assert state is not None
    assert state.etag == '"p"'  # every entry is stored: the feed need not be read again

    # The host answers again: the next poll fetches the waiting pages; the feed is unchanged.
    black_hole.close()
    with page_server("127.0.0.2", port):
        later = NOW + dt.timedelta(minutes=61)
        again = pipeline.poll_due_feeds(db, s, later, path, matcher=NO_MATCHES)
    assert [o.status for o in again.feeds] == ["unchanged"]
    assert again.pages_fetched == 12 - timed_out
    assert count(db, "articles") == 17
    assert count(db, "pending_pages") == 0
    assert count_where(db, "text LIKE '%licence review%'") == 17 - timed_out


def test_a_poll_ends_within_its_time_budget(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    db: Database,
    tmp_path: Path,
    black_hole: socket.socket,
) -> None:
    s = dataclasses.replace(
        settings,
        http_timeout=2.0,
        retries=0,
        per_host_concurrency=2,
        host_failure_budget=1000,
        poll_budget_seconds=3.0,
    )
    port = black_hole.getsockname()[1]
    feed = page_feed(http_server, [f"http://127.0.0.2:{port}/s/{n}" for n in range(40)], good=0)
    path = feeds_file(tmp_path, [{"url": feed}])
    started = time.monotonic()
    (outcome,) = pipeline.poll_due_feeds(db, s, NOW, path, matcher=NO_MATCHES).feeds
    elapsed = time.monotonic() - started
    # The bound: the feeds' own fetch, then at most poll_budget_seconds of pages (one in
    # flight at the deadline is cut there). Before: 40 / 2 x 2 s = 40 s.
    assert elapsed < s.poll_budget_seconds + 1.5, elapsed
    assert outcome.new == 40
    # The first two timed out and keep the feed's text for good; the rest wait.
    timed_out = count_where(db, "extract_error LIKE 'page not fetched:%'")
    assert timed_out in (2, 3)
    assert f"{40 - timed_out} pages deferred" in outcome.warning


def test_entries_are_stored_from_the_feed_before_their_pages_which_a_later_poll_fetches(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    tmp_path: Path,
    black_hole: socket.socket,
) -> None:
    """A real feed (FT, 20 items) whose every link goes to a host that accepts and never
    answers: all 20 entries are stored, and matched, from the feed's text before the first
    page could time out; the poll ends within its bound; a later poll (no feed due) fetches
    the pages once the host answers, re-matches the articles, and keeps the follow-up the
    feed's text found, once."""
    s = dataclasses.replace(
        settings,
        http_timeout=3.0,
        retries=0,
        per_host_concurrency=2,
        host_failure_budget=2,
        poll_budget_seconds=4.0,
    )
    port = black_hole.getsockname()[1]
    ft = (conftest.DATA / "feeds" / "ft-home.xml").read_text(encoding="utf-8")
    ft = ft.replace("https://archive.is/newest/https://www.ft.com", f"http://127.0.0.2:{port}")
    feed = http_server.add("/ft.xml", ft.encode(), headers={"Content-Type": "text/xml"})
    path = feeds_file(tmp_path, [{"url": feed, "name": "FT"}])
    matcher = Matcher(copper_and_licences(), threshold=0.0)
    copper = "US has ample copper supplies while China falls short, study finds"

    with polling_in_background(s, NOW, path, matcher) as (started, done, reader):
        stored_after = seconds_until(lambda: count(reader, "articles") == 20, started)
        matched_from_feed = follow_ups(reader)
        done.wait(60)
    elapsed = time.monotonic() - started

    # Stored before any page could time out; before: nothing until the first timeouts.
    assert stored_after < s.http_timeout, stored_after
    assert matched_from_feed == {(copper, "metals")}
    # The stated bound: the feeds' fetch (one http_timeout, no retries) plus the page budget.
    assert elapsed < s.http_timeout + s.poll_budget_seconds + 1.0, elapsed
    db = open_db(s.database)
    try:
        timed_out = count_where(db, "extract_error LIKE 'page not fetched: no complete answer%'")
        assert timed_out in (2, 3)  # the host's failure budget; the others wait
        assert count(db, "pending_pages") == 20 - timed_out
        # The figures, for the README (shown with --log-cli-level=WARNING).
        logging.getLogger(__name__).warning(
            "feed-first poll: 20 entries stored after %.2f s, poll ended after %.2f s "
            "(http_timeout %.0f s, poll_budget_seconds %.0f s), %d pages waiting",
            stored_after,
            elapsed,
            s.http_timeout,
            s.poll_budget_seconds,
            20 - timed_out,
        )

        # The host answers; a minute later no feed is due, and the waiting pages are fetched.
        black_hole.close()
        later = NOW + dt.timedelta(minutes=1)
        with page_server("127.0.0.2", port):
            report = pipeline.poll_due_feeds(db, s, later, path, matcher=matcher)
        assert report.feeds == ()
        assert report.pages_fetched == 20 - timed_out
        assert count(db, "articles") == 20
        assert count(db, "pending_pages") == 0
        assert count_where(db, "text LIKE '%licence review%'") == 20 - timed_out
        rows = list(
            db.query(
                "SELECT a.title, m.baseline_id, m.matched_at FROM matches AS m "
                "JOIN articles AS a ON a.id = m.article_id"
            )
        )
        # The feed's follow-up is kept once, with the moment it was found; the pages' text
        # brought the others, found when their page came.
        assert [r["matched_at"] for r in rows if r["baseline_id"] == "metals"] == [NOW.isoformat()]
        licences = [r for r in rows if r["baseline_id"] == "licences"]
        assert len(licences) == 20 - timed_out
        assert {r["matched_at"] for r in licences} == {later.isoformat()}
    finally:
        db.close()


def copper_and_licences() -> list[Watchlist]:
    """Two baselines: copper supplies (one FT title names both) and licence reviews of
    chipmakers (only the pages' text names them)."""
    names = {"metals": ("copper", "supplies"), "licences": ("licence review", "chipmaker")}
    return [
        Watchlist(
            Baseline(baseline_id, baseline_id.title(), "en", None, f"baselines/{baseline_id}.txt"),
            tuple(Entity(name, "concept", 0.9, {"en": (name,)}) for name in pair),
            (f"{pair[0]} and {pair[1]}.",),
        )
        for baseline_id, pair in names.items()
    ]


@contextlib.contextmanager
def polling_in_background(
    settings: Settings, now: dt.datetime, path: Path, matcher: Matcher
) -> Iterator[tuple[float, threading.Event, Database]]:
    """Run one poll in a thread on its own connection; yields (when it started, set when it
    is done, a second connection to watch the database with)."""
    done = threading.Event()
    failure: list[BaseException] = []

    def poll() -> None:
        db = open_db(settings.database)
        try:
            pipeline.poll_due_feeds(db, settings, now, path, matcher=matcher)
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)
        finally:
            db.close()
            done.set()

    reader = open_db(settings.database)
    thread = threading.Thread(target=poll)
    started = time.monotonic()
    thread.start()
    try:
        yield started, done, reader
    finally:
        thread.join()
        reader.close()
    if failure:
        raise failure[0]


def seconds_until(condition: Callable[[], bool], started: float, limit: float = 60) -> float:
    while not condition():
        assert time.monotonic() - started < limit, "never happened"
        time.sleep(0.02)
    return time.monotonic() - started


def follow_ups(db: Database) -> set[tuple[str, str]]:
    return {
        (row["title"], row["baseline_id"])
        for row in db.query(
            "SELECT a.title, m.baseline_id FROM matches AS m JOIN articles AS a "
            "ON a.id = m.article_id"
        )
    }


def count_where(db: Database, condition: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM articles WHERE {condition}").fetchone()[0])


@contextlib.contextmanager
def page_server(host: str, port: int) -> Iterator[None]:
    class Pages(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            last = self.path.rsplit("/", 1)[-1]
            n = int(last) if last.isdigit() else zlib.crc32(last.encode()) % 1_000_000
            body = story_page(n + 100)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- 10. one watchlist typo stops nothing but itself ---------------------------------------------


def chips_watchlists(directory: Path) -> Path:
    (directory / "baselines").mkdir(parents=True)
    (directory / "baselines" / "chips.txt").write_text("Nvidia's H200 and US export controls.\n")
    write_watchlist(
        directory / "chips.yaml",
        Watchlist(
            Baseline("chips", "Chips", "en", None, "baselines/chips.txt"),
            (
                Entity("Nvidia", "company", 0.9, {"en": ("Nvidia",)}),
                Entity("export controls", "policy", 0.8, {"en": ("export controls",)}),
            ),
            ("Nvidia's H200 and US export controls.",),
        ),
    )
    (directory / "broken.yaml").write_text("baseline:\n  id: broken\n  title: [unclosed\n")
    return directory


def test_a_broken_watchlist_is_reported_once_per_change_and_the_others_keep_matching(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = dataclasses.replace(
        settings,
        watchlists_dir=str(chips_watchlists(tmp_path / "watchlists")),
        match_threshold=0.0,
        fetch_pages=False,
    )
    feed = http_server.add(
        "/chips.xml",
        rss([("1", "https://x.test/1", "Nvidia chips and US export controls again.")]),
        headers={"Content-Type": "text/xml"},
    )
    path = feeds_file(tmp_path, [{"url": feed, "interval": 5}])
    moments = iter(NOW + dt.timedelta(minutes=6 * n) for n in range(10))
    service = scheduler.Service(s, feeds_file=str(path), clock=lambda: next(moments))
    caplog.set_level(logging.INFO)

    for _ in range(3):
        service.poll_tick()

    db = open_db(s.database)
    matched = [row["baseline_id"] for row in db.query("SELECT baseline_id FROM matches")]
    db.close()
    assert matched == ["chips"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "broken.yaml" in warnings[0]
    assert not any(r.exc_info for r in caplog.records)

    (tmp_path / "watchlists" / "broken.yaml").write_text("baseline: 3\n")  # another typo
    service.poll_tick()
    service.poll_tick()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2, warnings


def test_monitor_run_refuses_to_start_on_a_broken_watchlist_in_one_line(
    settings: Settings, tmp_path: Path
) -> None:
    watchlists = chips_watchlists(tmp_path / "watchlists")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://a.test/rss\n")
    env = {"MONITOR_DATA_DIR": str(tmp_path / "data"), "MONITOR_WATCHLISTS_DIR": str(watchlists)}
    result = CliRunner().invoke(cli, ["run", "--once", "--feeds", str(feeds)], env=env)
    assert result.exit_code == 1
    assert "broken.yaml" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "data" / "monitor.db").exists()  # nothing ran


# --- 11. terminal escapes from feeds -------------------------------------------------------------


def test_search_prints_titles_with_control_and_bidi_characters_escaped(
    settings: Settings, db: Database
) -> None:
    hostile = "Nvidia \x1b]0;pwned\x07\x1b[2J chips \u202eevil\u202c \x9b31m"
    store_article(db, url="https://x.test/esc", title=hostile, stored_at=NOW, text="Nvidia chips")
    env = {"MONITOR_DATA_DIR": settings.data_dir}
    result = CliRunner().invoke(cli, ["search", "Nvidia"], env=env)
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\x07", "\u202e", "\u202c", "\x9b"):
        assert raw not in result.output
    assert "Nvidia \\x1b]0;pwned\\x07\\x1b[2J chips \\u202eevil\\u202c \\x9b31m" in result.output


# --- 12. secrets ---------------------------------------------------------------------------------


def test_the_smtp_password_is_not_in_the_settings_repr() -> None:
    settings = config.load(None, env={"MONITOR_SMTP_PASSWORD": "s3cret-pw"})
    assert settings.smtp_password == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings)
    assert "s3cret-pw" not in str(settings)


def test_plain_text_login_to_a_server_off_this_machine_is_refused_unless_allowed(
    settings: Settings, tmp_path: Path
) -> None:
    s = digest_settings(
        settings,
        tmp_path,
        smtp_host="mail.example.invalid",
        smtp_port=closed_port(),
        smtp_security="none",
        smtp_user="digest",
        smtp_password="s3cret",
        smtp_timeout=1.0,
    )
    message = mail.build_message(
        subject="s",
        text="t",
        html="<p>t</p>",
        sender=s.mail_from,
        recipients=s.mail_to,
        message_id="<x@test>",
        date=NOW,
        list_id=s.list_id,
    )
    with pytest.raises(DeliveryError, match="clear text"):
        mail.send(message, s)
    # Explicitly allowed: it tries (and here fails to connect, which is another error).
    allowed = dataclasses.replace(s, smtp_allow_plaintext_auth=True)
    with pytest.raises(DeliveryError) as failure:
        mail.send(message, allowed)
    assert "clear text" not in str(failure.value)


# --- 13. a digest for a day that has not ended ---------------------------------------------------


def digest_config(settings: Settings, tmp_path: Path, smtp: conftest.SMTPServer) -> Path:
    s = digest_settings(settings, tmp_path, smtp)
    path = tmp_path / "monitor.toml"
    path.write_text(
        f'data_dir = "{s.data_dir}"\nwatchlists_dir = "{s.watchlists_dir}"\n'
        f'timezone = "Europe/Paris"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp.port}\n'
        f'smtp_security = "none"\nmail_to = ["ana@example.org"]\n',
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("which", ["today", "2099-01-01"])
def test_a_day_that_is_not_over_is_not_sent(
    settings: Settings, tmp_path: Path, smtp_server: conftest.SMTPServer, which: str
) -> None:
    path = digest_config(settings, tmp_path, smtp_server)
    day = (
        dt.datetime.now(ZoneInfo("Europe/Paris")).date().isoformat() if which == "today" else which
    )
    result = CliRunner().invoke(
        cli, ["--config", str(path), "digest", "--date", day, "--send"], env={}
    )
    assert result.exit_code == 1, result.output
    assert "the day is not over" in result.output
    assert "due at" in result.output
    assert smtp_server.messages == []
    db = open_db(Path(settings.data_dir) / "monitor.db")
    assert outbox.get(db, "daily", day) is None  # not marked, so it is sent when due
    db.close()


def test_a_send_interrupted_before_the_answer_is_reported_as_unconfirmed(
    settings: Settings, tmp_path: Path, smtp_server: conftest.SMTPServer
) -> None:
    path = digest_config(settings, tmp_path, smtp_server)
    db = open_db(Path(settings.data_dir) / "monitor.db")
    pending_digest(db, "2026-03-29", "<p>x</p>")
    row = outbox.get(db, "daily", "2026-03-29")
    assert row is not None
    assert outbox.claim(db, row["id"], dt.datetime.now(dt.UTC))  # a run killed mid-send
    db.close()
    result = CliRunner().invoke(
        cli, ["--config", str(path), "digest", "--date", "2026-03-29", "--send"], env={}
    )
    assert "unconfirmed" in result.output
    assert "already sent" not in result.output
    assert smtp_server.messages == []


# --- 9. one clear line instead of a traceback ----------------------------------------------------


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, env=env)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (OSError, sqlite3.Error)), result.exception
    return result.exit_code, result.output


def test_a_data_directory_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    # Tests run as root, for whom permissions do not hold; a path under a plain file fails
    # the same way a read-only or root-owned directory does.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://a.test/rss\n")
    env = {"MONITOR_DATA_DIR": str(blocker / "data")}
    for args in (["poll", "--feeds", str(feeds)], ["search", "x"]):
        code, output = run_cli(args, env)
        assert code == 1, output
        assert "Error:" in output
        assert "Hint:" in output


def test_serve_on_a_port_in_use_a_bad_port_or_a_bad_host_is_one_line(tmp_path: Path) -> None:
    env = {"MONITOR_DATA_DIR": str(tmp_path / "data")}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = run_cli(["serve", "--port", str(port)], env)
        assert code == 1
        assert "in use" in output
    code, output = run_cli(["serve", "--port", "99999"], env)
    assert (code, "0 to 65535" in output) == (1, True)
    code, output = run_cli(["serve"], {**env, "MONITOR_SERVE_HOST": "no such host!"})
    assert (code, "no such address" in output) == (1, True)


def test_baseline_add_into_a_watchlists_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path,
) -> None:
    article = tmp_path / "story.txt"
    article.write_text("Nvidia and export controls.\n\nA second paragraph about chips.\n")
    blocker = tmp_path / "watchlists-file"
    blocker.write_text("x")
    env = {"MONITOR_DATA_DIR": str(tmp_path / "data"), "MONITOR_WATCHLISTS_DIR": str(blocker)}
    code, output = run_cli(["baseline", "add", str(article), "--id", "story"], env)
    assert code == 1, output
    assert "Error:" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty (0 bytes)"), (b"SQLite format 3\x00" + b"\xff" * 4000, "damaged")],
)
def test_an_emptied_or_corrupt_database_is_refused_never_replaced(
    tmp_path: Path, content: bytes, message: str
) -> None:
    database = tmp_path / "data" / "monitor.db"
    database.parent.mkdir()
    database.write_bytes(content)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - url: https://a.test/rss\n")
    env = {"MONITOR_DATA_DIR": str(database.parent)}
    for args in (["search", "x"], ["poll", "--feeds", str(feeds)]):
        code, output = run_cli(args, env)
        assert code == 1, output
        assert message in output
    assert database.read_bytes() == content


# --- all together: ten healthy real feeds beside the faults, in one poll -------------------------

HEALTHY = (
    "ft-home.xml",
    "36kr-ai.xml",
    "scmp-china.json",
    "phoronix.xml",
    "hacker-news.xml",
    "nyt-technology.json",
    "wsj-tech.json",
    "bbc-zh-home.json",
    "techcrunch.json",
    "dw.json",
)


def hostile_feeds(server: conftest.TestHTTPServer, black_hole_port: int) -> dict[str, str]:
    """Name -> URL of one feed per fault."""
    gbk = (conftest.DATA / "feeds" / "36kr-ai.xml").read_text(encoding="utf-8")
    huge = rss([("1", "https://x.test/huge", "t")]).replace(b"Story 1", b"Huge " * 200_000)
    slow_links = [(f"s{n}", f"http://127.0.0.2:{black_hole_port}/{n}", "t") for n in range(12)]
    bomb = gzip.compress(b"<rss>" + b" " * 30_000_000, compresslevel=9)
    server.routes["/always304.xml"] = conftest.Route(handler=answer_304)
    paths = {
        "bad-url": server.add(
            "/bad-url.json",
            json_feed([{"id": "1", "url": "http://a]b/story", "title": "Broken link"}]),
            headers={"Content-Type": "application/feed+json"},
        ),
        "huge-title": server.add("/huge.xml", huge, headers={"Content-Type": "text/xml"}),
        "gbk": server.add(
            "/gbk.xml",
            gbk.replace("\xa0", " ").encode("gbk"),
            headers={"Content-Type": "application/rss+xml; charset=utf-8"},
        ),
        "gone": server.add("/gone.xml", b"gone", status=410),
        "always-304": server.url("/always304.xml"),
        "slow-pages": server.add(
            "/slow-pages.xml", rss(slow_links), headers={"Content-Type": "text/xml"}
        ),
        "never-answers": server.add("/never.xml", rss([]), delay=30.0),
        "server-error": server.add("/500.xml", b"oops", status=500),
        "bomb": server.add(
            "/bomb.xml", bomb, headers={"Content-Type": "text/xml", "Content-Encoding": "gzip"}
        ),
        "escapes": server.add(
            "/escapes.xml",
            rss([("1", "https://x.test/esc", "t")]).replace(b"Story 1", b"\x1b]0;pwned\x07\x1b[2J"),
            headers={"Content-Type": "text/xml"},
        ),
    }
    return paths


def test_hostile_feeds_beside_ten_healthy_real_feeds_in_one_poll(
    http_server: conftest.TestHTTPServer,
    settings: Settings,
    db: Database,
    tmp_path: Path,
    black_hole: socket.socket,
) -> None:
    s = dataclasses.replace(
        settings, http_timeout=2.0, retries=0, poll_budget_seconds=4.0, host_failure_budget=2
    )
    healthy = {
        name: http_server.add(
            f"/healthy/{name}",
            (conftest.DATA / "feeds" / name).read_bytes(),
            headers={"ETag": f'"{name}"'},
        )
        for name in HEALTHY
    }
    faults = hostile_feeds(http_server, black_hole.getsockname()[1])
    listed = [{"url": url, "fetch_pages": False} for url in healthy.values()]
    listed += [{"url": url, "fetch_pages": name == "slow-pages"} for name, url in faults.items()]
    path = feeds_file(tmp_path, listed)

    started = time.monotonic()
    report = pipeline.poll_due_feeds(db, s, NOW, path, matcher=NO_MATCHES)
    elapsed = time.monotonic() - started

    # The stated bound: one feed timeout (the feeds are fetched together) plus the page budget.
    assert elapsed < s.http_timeout + s.poll_budget_seconds + 2.0, elapsed
    outcomes = {o.url: o for o in report.feeds}
    assert len(outcomes) == 20
    for name, url in healthy.items():
        assert outcomes[url].status == "new", (name, outcomes[url].error)
        assert outcomes[url].entries > 0, name
        # Every entry is handled: stored as an article, or as another source of one (the GBK
        # fault carries the 36kr stories too).
        entries = parse_feed((conftest.DATA / "feeds" / name).read_bytes(), {}, url).entries
        assert stored_articles.unseen_entries(db, entries, entry_keys) == [], name

    def reason(name: str) -> str:
        outcome = outcomes[faults[name]]
        return outcome.error or outcome.warning

    assert (
        "bad URL"
        in db.execute("SELECT extract_error FROM articles WHERE title = 'Broken link'").fetchone()[
            0
        ]
    )
    assert (
        db.execute(
            "SELECT max(length(title)) FROM articles WHERE feed_url = ?", [faults["huge-title"]]
        ).fetchone()[0]
        <= TITLE_CHARS
    )
    assert "charset" in reason("gbk")
    assert "no longer polled" in reason("gone")
    assert "without validators" in reason("always-304")
    assert "pages deferred" in reason("slow-pages")
    assert "2s" in reason("never-answers")
    assert "500" in reason("server-error")
    assert "byte limit" in reason("bomb")
    for name in ("gone", "always-304", "never-answers", "server-error", "bomb"):
        state = stored_feeds.get_feed(db, faults[name])
        assert state is not None
        assert state.last_error, name

    # The second poll asks every healthy feed conditionally, and all are unchanged.
    later = NOW + dt.timedelta(minutes=61)
    again = {
        o.url: o for o in pipeline.poll_due_feeds(db, s, later, path, matcher=NO_MATCHES).feeds
    }
    for name, url in healthy.items():
        assert again[url].status == "unchanged", name
        assert http_server.requests_for(f"/healthy/{name}")[-1].headers.get("If-None-Match")


def test_writers_on_separate_connections_wait_for_each_other_instead_of_failing(
    tmp_path: Path,
) -> None:
    # The shape of store_entry: a transaction that reads, then writes. Deferred, it fails at
    # once with "database is locked" when another connection wrote in between.
    path = tmp_path / "monitor.db"
    open_db(path).close()
    errors: list[str] = []

    def writer(n: int) -> None:
        db = open_db(path)
        try:
            for i in range(150):
                with db.atomic():
                    db.execute("SELECT count(*) FROM feeds").fetchone()
                    db.execute(
                        "INSERT INTO feeds (url, origin_url, added_at) VALUES (?, ?, '')",
                        [f"https://f{n}.test/{i}", f"https://f{n}.test/{i}"],
                    )
        except sqlite3.Error as exc:
            errors.append(repr(exc))
        finally:
            db.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db = open_db(path)
    assert count(db, "feeds") == 600
    db.close()


def test_baseline_add_of_a_file_that_is_no_text_is_one_line_and_changes_nothing(
    tmp_path: Path,
) -> None:
    """Compressed bytes given as an article used to be decoded into a title of control
    characters, written into index.yaml, which no later command could read."""
    watchlists = tmp_path / "watchlists"
    shutil.copytree(conftest.DATA.parent.parent / "watchlists", watchlists)
    index = watchlists / "baselines" / "index.yaml"
    before = index.read_text(encoding="utf-8")
    packed = tmp_path / "post.txt"
    packed.write_bytes((conftest.DATA / "watchlist" / "comwrap-dmexco.html.gz").read_bytes())
    env = {"MONITOR_DATA_DIR": str(tmp_path / "data"), "MONITOR_WATCHLISTS_DIR": str(watchlists)}
    code, output = run_cli(["baseline", "add", str(packed)], env)
    assert code == 1, output
    assert "is not text" in output
    assert index.read_text(encoding="utf-8") == before
    article = tmp_path / "story.txt"
    article.write_text("Nvidia and export\x07 controls\n\nA paragraph about chips and Nvidia.\n")
    code, output = run_cli(["baseline", "add", str(article), "--id", "story"], env)
    assert code == 0, output
    code, output = run_cli(["baseline", "list"], env)
    assert (code, "story: Nvidia and export controls" in output) == (0, True), output
