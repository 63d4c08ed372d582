"""The served pages: the index, digest.html (the latest day with follow-ups), each baseline's
"what happened since" page and Atom feed, on a running `monitor serve`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import urllib.error
import urllib.parse
import urllib.request
from urllib.parse import urldefrag, urljoin

import feedparser
import pytest
from digest_support import BASELINES, digest_settings, follow_up, new_db, seed_day, store_article
from lxml import html as lxml_html

from monitor import pages, pipeline
from monitor.models import split_paragraphs

UTC = dt.UTC
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)  # 2026-03-29 00:00 in Paris
NOW = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read()


@pytest.fixture
def server(settings, tmp_path):
    """A running `monitor serve` whose base_url is its own address, and a seeded day."""
    s = digest_settings(settings, tmp_path)
    running = pipeline.make_server(s, port=0)
    running.quiet = True  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{running.server_address[1]}"
    s = dataclasses.replace(s, base_url=base)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield s, base
    finally:
        running.shutdown()
        running.server_close()


def test_index_without_outputs_is_a_page_and_folders_are_not_listed(server) -> None:
    s, base = server
    status, kind, body = get(base + "/")
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b"monitor run --once" in body
    (s.outputs / "digests").mkdir(parents=True)
    assert get(base + "/digests/")[0] == 404


def _links(base: str, path: str) -> set[str]:
    status, _, body = get(base + path)
    assert status == 200, path
    dom = lxml_html.fromstring(body)
    hrefs = dom.xpath("//a/@href | //link/@href")
    return {urljoin(base + path, href) for href in hrefs}


def test_served_pages_and_feeds_parse_and_every_local_link_resolves(server) -> None:
    s, base = server
    db = new_db(s)
    seed_day(db, DAY_START)
    pipeline.write_outputs(db, s, NOW)

    for feed in ("/feed.xml", "/atom.xml", "/baselines/goujon-real-stakes.atom"):
        status, kind, body = get(base + feed)
        assert status == 200
        assert kind.startswith(("application/rss+xml", "application/atom+xml")), (feed, kind)
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, (feed, parsed.get("bozo_exception"))
        assert parsed.entries

    seen: set[str] = set()
    pages = ["/", "/digest.html", *(f"/baselines/{b}.html" for b in BASELINES)]
    local = set()
    for page in pages:
        local |= {link for link in _links(base, page) if link.startswith(base)}
    assert {base + "/digest.html", base + "/feed.xml", base + "/atom.xml"} <= local
    assert base + "/baselines/goujon-real-stakes.html" in local
    for link in sorted(local):
        target, fragment = urldefrag(link)
        if target not in seen:
            assert get(target)[0] == 200, link
            seen.add(target)
        if fragment:
            assert f'id="{fragment}"'.encode() in get(target)[2], link


def test_digest_html_is_the_latest_day_with_follow_ups_or_today_so_far(server) -> None:
    s, _ = server
    db = new_db(s)
    seed_day(db, DAY_START)  # follow-ups on 2026-03-29
    later = NOW + dt.timedelta(days=3)  # 2026-04-02: 04-01 and 04-02 have nothing
    pipeline.write_outputs(db, s, later)
    page = (s.outputs / "digest.html").read_text(encoding="utf-8")
    assert "<h1>Follow-ups for 2026-03-29</h1>" in page
    assert "Nothing moved" not in page

    today = later - dt.timedelta(hours=1)
    article = store_article(
        db, url="https://a.example/today", title="Today's story", stored_at=today
    )
    follow_up(db, article, "goujon-real-stakes", 0.7, today)
    pipeline.write_outputs(db, s, later)
    page = (s.outputs / "digest.html").read_text(encoding="utf-8")
    assert "<h1>Follow-ups for 2026-04-02 (so far)</h1>" in page
    assert "Today&#39;s story" in page
    # `run --once` writes today's page through digest_for_day: labelled the same way.
    today_page, _ = pipeline.digest_for_day(db, s, dt.date(2026, 4, 2), later)
    assert "(so far)" in today_page.read_text(encoding="utf-8")
    past_page, _ = pipeline.digest_for_day(db, s, dt.date(2026, 3, 29), later)
    assert "(so far)" not in past_page.read_text(encoding="utf-8")


def test_baseline_page_is_its_timeline_without_blank_paragraphs_or_a_repeated_title(
    server,
) -> None:
    s, _ = server
    db = new_db(s)
    ids = seed_day(db, DAY_START)
    pipeline.write_outputs(db, s, NOW)
    page = (s.outputs / "baselines" / "goujon-real-stakes.html").read_text(encoding="utf-8")
    dom = lxml_html.fromstring(page)
    title = BASELINES["goujon-real-stakes"][0]
    assert dom.findtext(".//h1") == title
    paragraphs = [p.text_content() for p in dom.xpath("//p[@class='para']")]
    assert paragraphs
    assert all(text.strip() for text in paragraphs)
    assert title not in [text.lstrip("0123456789") for text in paragraphs]
    # Under paragraph 2, the follow-ups of it, newest first.
    row = dom.xpath("//div[@id='p2']")[0]
    titles = [a.text_content() for a in row.xpath(".//ul[@class='since']/li/a")]
    expected = [
        title
        for title, _ in sorted(ids.items(), key=lambda pair: pair[1], reverse=True)
        if title in titles
    ]
    assert titles == expected
    assert len(titles) >= 3


def test_a_blank_line_or_a_first_line_repeating_the_title_is_not_a_paragraph() -> None:
    text = "A title\n\nFirst real paragraph.\n\n\nSecond one."
    rows, loose = pages.timeline_rows("A title", split_paragraphs(text), [])
    assert [(row.number, row.text) for row in rows] == [
        (3, "First real paragraph."),
        (6, "Second one."),
    ]
    assert loose == ()


def test_the_thread_a_follow_up_moves_is_stored_and_shown_on_digest_and_timeline(
    server,
) -> None:
    s, _ = server
    db = new_db(s)
    stored = DAY_START + dt.timedelta(hours=2)
    article_id = store_article(
        db, url="https://news.test/h200", title="US weighs H200 exports", stored_at=stored
    )
    follow_up(db, article_id, "goujon-real-stakes", 0.9, stored, thread="Chip export controls")
    pipeline.write_outputs(db, s, NOW)

    for page in ("digest.html", "baselines/goujon-real-stakes.html"):
        text = (s.outputs / page).read_text(encoding="utf-8")
        assert "Chip export controls" in text, page


def post(url: str, fields: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "") + exc.read().decode()


def test_the_served_digest_takes_right_or_wrong_from_its_own_pages_only(server) -> None:
    from storage.sqlite import SqliteStorage

    s, base = server
    db = new_db(s)
    ids = seed_day(db, DAY_START)
    pipeline.write_outputs(db, s, NOW)
    dom = lxml_html.fromstring(get(f"{base}/digest.html")[2])
    forms = dom.xpath("//form[@class='verdict']")
    assert forms
    assert all(f.get("method") == "post" and f.get("action") == "/feedback" for f in forms)
    form = forms[0]
    fields = {i.get("name"): i.get("value") for i in form.xpath(".//input")}
    assert int(fields["article"]) in ids.values()
    page = f"{base}/digest.html"

    status, location = post(
        f"{base}/feedback", {**fields, "verdict": "wrong"}, {"Origin": base, "Referer": page}
    )
    assert status == 303
    assert location.startswith(f"/digest.html#story-{fields['article']}")
    forged = post(
        f"{base}/feedback", {**fields, "verdict": "right"}, {"Origin": "http://evil.test"}
    )
    no_origin = post(f"{base}/feedback", {**fields, "verdict": "right"}, {})
    unknown = post(
        f"{base}/feedback", {**fields, "baseline": "nope", "verdict": "right"}, {"Origin": base}
    )

    assert forged[0] == 403
    assert no_origin[0] == 403
    assert unknown[0] == 400
    assert "no baseline" in unknown[1]
    storage = SqliteStorage(s.database)
    try:
        verdicts = storage.all_feedback()
    finally:
        storage.close()
    assert [(v.article_id, v.baseline_id, v.right) for v in verdicts] == [
        (int(fields["article"]), fields["baseline"], False)
    ]
    timeline = get(f"{base}/baselines/goujon-real-stakes.html")[2].decode()
    assert 'name="baseline" value="goujon-real-stakes"' in timeline
