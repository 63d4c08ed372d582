"""Feed health: real polls against a loopback server. A feed failing for two days is named
once in the digest's "feeds that need attention" section; one transient failure is not."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from digest_support import digest_settings, new_db

from monitor import digest_render, health, pipeline
from monitor.match import Matcher
from monitor.models import FeedState

UTC = dt.UTC
DAY = dt.date(2026, 3, 29)  # Paris
T0 = dt.datetime(2026, 3, 28, 5, tzinfo=UTC)  # first poll: the broken feed starts failing
T1 = T0 + dt.timedelta(hours=26)
T2 = dt.datetime(2026, 3, 30, 4, tzinfo=UTC)
DIGEST_AT = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)  # 08:00 in Paris: the 29th's digest
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><guid>1</guid><title>One</title><link>https://example.org/1</link>"
    b"<description>text</description></item></channel></rss>"
)


@pytest.fixture
def polled(settings, tmp_path, http_server):
    """Four feeds polled at T0, T1 and T2:
    broken   500 every time                       -> failing for two days
    blip     500 at T0 only, fine from T1         -> recovered
    late     fine, then 500 at T2 only            -> failing for two hours
    gone     410 Gone every time                  -> disabled"""
    s = digest_settings(settings, tmp_path, retries=0, http_timeout=2.0, fetch_pages=False)
    routes = {name: http_server.add(f"/{name}.xml", RSS) for name in ("blip", "late")}
    routes["broken"] = http_server.add("/broken.xml", b"oops", status=500)
    routes["gone"] = http_server.add("/gone.xml", b"gone", status=410)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n" + "".join(f"  - url: {url}\n    name: {name}\n" for name, url in routes.items()),
        encoding="utf-8",
    )
    db = new_db(s)
    poll = dict(feeds_file=str(feeds), matcher=Matcher([]))

    http_server.add("/blip.xml", b"busy", status=500)
    pipeline.poll_due_feeds(db, s, T0, **poll)
    http_server.add("/blip.xml", RSS)
    pipeline.poll_due_feeds(db, s, T1, **poll)
    http_server.add("/late.xml", b"busy", status=503)
    pipeline.poll_due_feeds(db, s, T2, **poll)
    return s, db


def test_status_and_failing_since_follow_the_polls(polled) -> None:
    _, db = polled
    by_name = {feed.name: feed for feed in pipeline.feed_health(db, DIGEST_AT)}
    assert by_name["broken"].status == "failing"
    assert by_name["broken"].failing_since == T0
    assert by_name["broken"].consecutive_failures == 3
    assert by_name["broken"].last_success_at is None
    assert by_name["blip"].status == "ok"
    assert by_name["blip"].last_success_at == T2  # polled again at T2, interval passed
    assert by_name["late"].status == "failing"
    assert by_name["late"].failing_since == T2
    assert by_name["gone"].status == "disabled"
    # One article: stored from "late" at T0 (the same link in "blip" is another source of it).
    assert by_name["late"].articles_7d == 1
    assert by_name["blip"].articles_7d == 0


def test_a_feed_failing_two_days_is_named_once_and_a_blip_is_not(polled) -> None:
    s, db = polled
    built = pipeline.build_daily_digest(db, s, DAY, now=DIGEST_AT)
    assert [feed.name for feed in built.attention] == ["broken", "gone"]
    text, html = digest_render.render_text(built), digest_render.render_html(built)
    for part, named in ((text, "- {}:"), (html, "<strong>{}</strong>")):
        assert part.count("Feeds that need attention") == 1
        section = part.split("Feeds that need attention", 1)[1]
        assert section.count(named.format("broken")) == 1
        assert section.count(named.format("gone")) == 1
        assert "disabled" in section
        assert "blip" not in part
        assert "late" not in section


def test_an_old_days_digest_says_nothing_about_feeds_now(polled) -> None:
    s, db = polled
    old = pipeline.build_daily_digest(db, s, DAY - dt.timedelta(days=5), now=DIGEST_AT)
    assert old.attention == ()
    assert "Feeds that need attention" not in digest_render.render_text(old)


def test_repeated_404_is_disabled_and_a_first_404_only_failing() -> None:
    state = FeedState(url="u", origin_url="u", last_status=404, error_count=1)
    assert health.status_of(state) == "failing"
    again = dataclasses.replace(state, error_count=health.DISABLED_404)
    assert health.status_of(again) == "disabled"
