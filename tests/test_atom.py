"""RSS 2.0 and Atom output: well-formed, stable GUIDs, correct dates, reason and baseline link
in each entry, nothing from a source feed able to inject markup; written atomically."""

from __future__ import annotations

import datetime as dt
import os

import feedparser
import pytest
from digest_support import (
    BASELINES,
    SCRIPT_TITLE,
    digest_settings,
    follow_up,
    new_db,
    seed_day,
    store_article,
)

from monitor import atom, pipeline

UTC = dt.UTC
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
NOW = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)


@pytest.fixture
def outputs(settings, tmp_path):
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    ids = seed_day(db, DAY_START)
    at = DAY_START + dt.timedelta(hours=20)
    evil = store_article(
        db,
        url="https://evil.example/story",
        title=SCRIPT_TITLE,
        text="<script>alert(2)</script> text",
        stored_at=at,
        source_name="Evil",
        sources=(("javascript:alert(3)", "Mirror"),),
    )
    follow_up(db, evil, "goujon-real-stakes", 0.99, at, reason="names <Nvidia>")
    written = pipeline.write_outputs(db, s, NOW)
    return s, db, ids, evil, written


def _parse(path):
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def test_rss_and_atom_have_one_entry_per_story_with_its_baselines_as_categories(outputs) -> None:
    s, db, *_ = outputs
    articles = db.execute("SELECT count(DISTINCT article_id) FROM matches").fetchone()[0]
    follow_ups = db.execute("SELECT count(*) FROM matches").fetchone()[0]
    assert follow_ups > articles  # some articles follow up two baselines
    for name, version in (("feed.xml", "rss20"), ("atom.xml", "atom10")):
        parsed = _parse(s.outputs / name)
        assert parsed.version == version
        assert len(parsed.entries) == articles
        titles = [e.title for e in parsed.entries]
        assert len(titles) == len(set(titles))
        huang = next(e for e in parsed.entries if e.title.startswith("Nvidia’s Huang"))
        ids = {"decoupling-wastes-leverage", "goujon-real-stakes"}
        names = {BASELINES[i][0] for i in ids}
        # Atom: term is the id, label the title; RSS 2.0 categories carry the title.
        expected = ids if version == "atom10" else names
        assert {t.term for t in huang.tags} == expected


def test_rss_channel_links_to_the_html_index_and_each_feed_to_itself(outputs) -> None:
    s, *_ = outputs
    rss = _parse(s.outputs / "feed.xml")
    assert rss.feed.link == "http://monitor.example/"
    links = {link.rel: link.href for link in rss.feed.links}
    assert links["self"] == "http://monitor.example/feed.xml"
    atom_links = {link.rel: link.href for link in _parse(s.outputs / "atom.xml").feed.links}
    assert atom_links == {
        "self": "http://monitor.example/atom.xml",
        "alternate": "http://monitor.example/",
    }


def test_each_baseline_has_its_own_atom_feed_of_its_follow_ups(outputs) -> None:
    s, db, _ids, *_ = outputs
    for baseline_id in ("goujon-real-stakes", "decoupling-wastes-leverage"):
        parsed = _parse(s.outputs / "baselines" / f"{baseline_id}.atom")
        assert parsed.version == "atom10"
        count = db.execute(
            "SELECT count(*) FROM matches WHERE baseline_id = ?", [baseline_id]
        ).fetchone()[0]
        assert len(parsed.entries) == count
        assert all(e.id.endswith(f":{baseline_id}") for e in parsed.entries)
        assert all({t.term for t in e.tags} == {baseline_id} for e in parsed.entries)


def test_guids_are_stable_across_regenerations(outputs) -> None:
    s, db, ids, *_ = outputs
    before = {n: [e.id for e in _parse(s.outputs / n).entries] for n in ("feed.xml", "atom.xml")}
    per_baseline = s.outputs / "baselines" / "goujon-real-stakes.atom"
    baseline_before = [e.id for e in _parse(per_baseline).entries]
    later = DAY_START + dt.timedelta(days=1)
    new = store_article(db, url="https://new.example/1", title="A later story", stored_at=later)
    follow_up(db, new, "goujon-real-stakes", 0.7, later)
    pipeline.write_outputs(db, s, NOW + dt.timedelta(days=1))
    for name, ids_before in before.items():
        after = [e.id for e in _parse(s.outputs / name).entries]
        assert after[0] == f"urn:followup-monitor:{new}"
        assert after[1:] == ids_before
    first = ids["Nvidia AI Chips to Undergo Unusual U.S. Security Review Before Export to China"]
    assert f"urn:followup-monitor:{first}" in before["atom.xml"]
    after = [e.id for e in _parse(per_baseline).entries]
    assert after == [f"urn:followup-monitor:{new}:goujon-real-stakes", *baseline_before]


def test_an_unchanged_feed_is_not_rewritten(outputs) -> None:
    s, db, *_ = outputs
    stamp = (s.outputs / "atom.xml").stat().st_mtime_ns
    assert pipeline.write_outputs(db, s, NOW + dt.timedelta(hours=1)) == []
    assert (s.outputs / "atom.xml").stat().st_mtime_ns == stamp


def test_entries_carry_dates_reason_and_baseline_passage_link(outputs) -> None:
    s, *_ = outputs
    for name in ("feed.xml", "atom.xml", "baselines/goujon-real-stakes.atom"):
        entries = _parse(s.outputs / name).entries
        huang = next(e for e in entries if e.title.startswith("Nvidia’s Huang"))
        # published is the article's own date; updated when it was matched
        assert huang.published_parsed[:6] == (2025, 5, 21, 11, 48, 0)
        content = huang.content[0].value if "content" in huang else huang.description
        assert "names Nvidia and export controls" in content
        assert "http://monitor.example/baselines/goujon-real-stakes.html#p2" in content
        assert huang.link.startswith("https://archive.is/")


def test_script_in_a_source_title_arrives_inert_in_the_feeds(outputs) -> None:
    s, *_ = outputs
    for name in ("feed.xml", "atom.xml"):
        raw = (s.outputs / name).read_text(encoding="utf-8")
        assert "<script" not in raw.lower()
        assert "javascript:" not in raw
        entry = next(e for e in _parse(s.outputs / name).entries if "Nvidia chips" in e.title)
        assert entry.title.startswith("<script>alert('x')</script>")  # text, not markup
        content = entry.content[0].value if "content" in entry else entry.description
        assert "<script" not in content


def test_baseline_pages_have_an_anchor_per_paragraph(outputs) -> None:
    s, *_ = outputs
    page = (s.outputs / "baselines" / "goujon-real-stakes.html").read_text(encoding="utf-8")
    assert 'id="p2"' in page
    assert "人工智慧競賽的真正風險" in page


def test_write_atomic_replaces_and_leaves_no_temporary_files(tmp_path) -> None:
    target = tmp_path / "out" / "feed.xml"
    assert atom.write_atomic(target, b"one")
    assert atom.write_atomic(target, "two")
    assert not atom.write_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["feed.xml"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"
