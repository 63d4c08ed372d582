"""`monitor serve`: the outputs over HTTP, with validators and 304 on conditional requests."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import urllib.error
import urllib.request
from email.message import Message
from email.utils import format_datetime

import pytest
from digest_support import digest_settings, new_db, seed_day

from monitor import pipeline

DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 30, 6, tzinfo=dt.UTC)


def get(url: str, **headers: str) -> tuple[int, Message, bytes]:
    """(status, headers with case-insensitive lookup, body)."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:  # 304 and 404 arrive here
        return exc.code, exc.headers, exc.read()


@pytest.fixture
def served(settings, tmp_path):
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    seed_day(db, DAY_START)
    pipeline.write_outputs(db, s, NOW)
    server = pipeline.make_server(s, port=0)
    server.quiet = True  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield s, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_feed_is_served_with_etag_last_modified_and_its_media_type(served) -> None:
    _, base = served
    status, headers, body = get(base + "/atom.xml")
    assert status == 200
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert headers["ETag"].startswith('"')
    assert headers["Last-Modified"].endswith("GMT")
    assert body.startswith(b"<?xml")
    assert get(base + "/feed.xml")[1]["Content-Type"] == "application/rss+xml; charset=utf-8"


def test_if_none_match_gets_304_until_the_file_changes(served) -> None:
    s, base = served
    _, headers, _ = get(base + "/feed.xml")
    status, again, body = get(base + "/feed.xml", **{"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]

    path = s.outputs / "feed.xml"
    path.write_bytes(path.read_bytes() + b"\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    status, changed, _ = get(base + "/feed.xml", **{"If-None-Match": headers["ETag"]})
    assert status == 200
    assert changed["ETag"] != headers["ETag"]


def test_if_modified_since_gets_304(served) -> None:
    _, base = served
    _, headers, _ = get(base + "/digest.html")
    status, _, _ = get(base + "/digest.html", **{"If-Modified-Since": headers["Last-Modified"]})
    assert status == 304
    old = format_datetime(dt.datetime(2001, 1, 1, tzinfo=dt.UTC), usegmt=True)
    assert get(base + "/digest.html", **{"If-Modified-Since": old})[0] == 200


def test_baseline_passage_links_resolve(served) -> None:
    _, base = served
    status, headers, body = get(base + "/baselines/goujon-real-stakes.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'id="p2"' in body
    assert get(base + "/baselines/nope.html")[0] == 404
    assert get(base + "/../../etc/passwd")[0] == 404
