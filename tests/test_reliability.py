"""Hostile input and faults on 127.0.0.1: no single feed, link, message or process stops the
monitor, and every failure says so."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import conftest
import pytest
from click.testing import CliRunner
from sqlite_utils import Database
from test_poll import NO_MATCHES, NOW, count, feeds_file, good_feeds

from monitor import pipeline
from monitor.cli import cli
from monitor.config import Settings
from monitor.errors import ConfigError
from monitor.feeds import load_feeds, read_opml
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
