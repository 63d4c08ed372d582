"""Backfill: a past period through the same code as live, with a past `now`."""

from __future__ import annotations

import datetime as dt

from monitor import archive, timeutil

UTC = dt.UTC


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
        archive.older_page(RSS_ARCHIVE, "https://example.org/feed.xml")
        == "https://example.org/archive/2026-01.xml"
    )


def test_atom_next_page_is_the_feed_link_not_an_entry_link() -> None:
    assert archive.older_page(ATOM_PAGED) == "https://example.org/atom?page=2"


def test_json_feed_next_url_and_plain_feeds_have_no_older_page() -> None:
    assert archive.older_page(b'{"version": "x", "next_url": "p2.json"}', "http://h/f.json") == (
        "http://h/p2.json"
    )
    assert archive.older_page(b'{"version": "x", "items": []}') is None
    assert archive.older_page(b"<rss><channel><link>https://x/</link></channel></rss>") is None
    assert archive.older_page(b"not a feed at all") is None
