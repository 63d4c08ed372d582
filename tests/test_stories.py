"""Story-first digest: each development once, with every baseline it follows up.

Real items (tests/data/digest/stories.json): WSJ's "Nvidia's Huang Calls U.S. Export Controls a
Failure" follows up three baselines; China's approval of the first Nvidia H200 orders is
reported by the WSJ in English and by readhub (with another outlet) in Chinese."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from digest_support import REPO, digest_settings, iso, new_db, store_article

from monitor import digest, digest_render, pipeline, plaintext
from monitor.models import (
    Baseline,
    DigestItem,
    Match,
    Watchlist,
    split_paragraphs,
    split_sentences,
)
from monitor.stories import group_stories
from monitor.watchlist import write_watchlist
from storage.matches import save_matches

UTC = dt.UTC
DAY = dt.date(2026, 3, 29)
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
NOW = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)
DATA = Path(__file__).parent / "data" / "digest" / "stories.json"
THIRD = (
    "china-despite-chip-limits",
    "中國如何在美國晶片限制下推進人工智能",
    "china-advances-ai-despite-chip-limits.zh-Hant.txt",
)
HUANG = "Nvidia’s Huang Calls U.S. Export Controls a Failure"
H200_EN = "China Approves Purchases of Nvidia’s H200 Chip, Easing Tension With U.S."
H200_ZH = "黄仁勋访华取得成果 首批 H200 芯片订单获批"
ANTHROPIC = "Anthropic 禁止中国控股公司使用其 AI 服务"


def _add_third_baseline(watchlists: Path) -> None:
    baseline_id, title, file = THIRD
    shutil.copy(REPO / "watchlists" / "baselines" / file, watchlists / "baselines" / file)
    baseline = Baseline(baseline_id, title, "zh-Hant", dt.date(2025, 1, 1), f"baselines/{file}")
    write_watchlist(watchlists / f"{baseline_id}.yaml", Watchlist(baseline, ()))


def _passage(watchlists: Path, baseline_id: str, paragraph: int) -> str:
    """The first sentence of a paragraph of the baseline, as the matcher quotes it."""
    file = next((watchlists / "baselines").glob(f"*{baseline_id.split('-')[0]}*"))
    return split_sentences(split_paragraphs(file.read_text(encoding="utf-8"))[paragraph - 1])[0]


@pytest.fixture
def day(settings, tmp_path) -> tuple[Any, Any, dict[str, int], dict[str, str]]:
    s = digest_settings(settings, tmp_path)
    watchlists = Path(s.watchlists_dir)
    _add_third_baseline(watchlists)
    db = new_db(s)
    items = json.loads(DATA.read_text(encoding="utf-8"))["items"]
    ids: dict[str, int] = {}
    passages: dict[str, str] = {}
    for index, item in enumerate(items):
        stored = DAY_START + dt.timedelta(hours=2 + index)
        ids[item["title"]] = store_article(
            db,
            url=item["url"],
            title=item["title"],
            text=item["text"],
            language=item["language"],
            published=iso(item["published"]),
            source_name=item["source"],
            stored_at=stored,
            sources=tuple((url, name) for url, name in item.get("also", ())),
        )
        matches = []
        for rank, baseline_id in enumerate(item["labels"]):
            paragraph = 3 + rank
            passage = _passage(watchlists, baseline_id, paragraph)
            passages[baseline_id] = passage
            title = baseline_id
            reason = f"Nvidia, export controls: follows para {paragraph} of {title}: “{passage}”"
            score = 0.9 - 0.05 * index - 0.02 * rank
            matches.append(Match(baseline_id, score, ("Nvidia",), paragraph, passage, reason))
        save_matches(db, ids[item["title"]], matches, stored)
    return s, db, ids, passages


def test_each_development_appears_once_with_all_its_baselines(day) -> None:
    s, db, _ids, _ = day
    built = pipeline.build_daily_digest(db, s, DAY)
    leads = [story.lead.title for story in built.stories]
    assert sorted(leads) == sorted([HUANG, H200_EN, ANTHROPIC])
    huang = next(story for story in built.stories if story.lead.title == HUANG)
    assert {b.baseline_id for b in huang.baselines} == {
        "china-despite-chip-limits",
        "decoupling-wastes-leverage",
        "goujon-real-stakes",
    }
    h200 = next(story for story in built.stories if story.lead.title == H200_EN)
    assert {b.baseline_id for b in h200.baselines} == {
        "decoupling-wastes-leverage",
        "goujon-real-stakes",
    }
    # The Chinese report and the outlet readhub names are sources of the English lead.
    assert [o.name for o in h200.other_sources] == ["快科技", "凤凰科技"]
    assert h200.other_sources[0].title == H200_ZH
    assert digest.subject(built) == f"Follow-ups for {DAY}: 3 developments on 3 baselines"


def _flat(text: str) -> str:
    """The text with wrapping undone (line breaks and indents dropped)."""
    return "".join(line.strip() for line in text.splitlines())


def test_text_and_html_show_each_story_and_passage_once(day) -> None:
    s, db, _, passages = day
    built = pipeline.build_daily_digest(db, s, DAY)
    text, html = digest_render.render_text(built), digest_render.render_html(built)
    flat = _flat(text)
    for title in (HUANG, H200_EN, ANTHROPIC):
        assert text.count(title) + html.count(title) >= 2
        assert html.count(f"{title}</a></h2>") + html.count(f"<h2>{title}</h2>") == 1
    assert "<h2><a" in html
    assert html.count('class="story"') == 3
    # The Chinese report is a source of the H200 story, not a story of its own.
    assert html.count(H200_ZH) == 1
    assert H200_ZH.replace(" ", "") not in flat.replace(" ", "")
    assert "Also reported by: 快科技 <https://readhub.cn/topic/8qHYXxIOLft>" in text
    for passage in passages.values():
        assert flat.count(passage.replace(" ", "")) >= 1
        # Quoted once per story that follows it, never again in the why.
        assert html.count(passage) == sum(
            1 for st in built.stories for b in st.baselines if b.passage == passage
        )
    # The table of contents counts stories per baseline.
    assert "人工智慧競賽的真正風險: 3" in text
    assert "中國如何在美國晶片限制下推進人工智能: 1" in text


def test_text_part_is_wrapped_at_76_columns_except_urls(day) -> None:
    s, db, *_ = day
    text = digest_render.render_text(pipeline.build_daily_digest(db, s, DAY))
    long = [
        line
        for line in text.splitlines()
        if plaintext.columns(line) > plaintext.WIDTH and not line.strip().startswith("http")
    ]
    assert long == []
    assert max(plaintext.columns(line) for line in text.splitlines()) > 60  # lines are filled


def test_wrap_counts_cjk_as_two_columns_and_keeps_closing_punctuation() -> None:
    line = "   " + "中國的晶片出口管制，" * 10
    wrapped = plaintext.wrap_line(line, 30)
    assert all(plaintext.columns(part) <= 30 for part in wrapped)
    assert not any(part.strip().startswith("，") for part in wrapped)
    assert "".join(part.strip() for part in wrapped) == line.strip()
    url = "  https://example.org/" + "a" * 100
    assert plaintext.wrap_line(url, 76) == [url]


def test_a_title_only_passage_is_widened_to_its_paragraph(day) -> None:
    s, db, ids, _ = day
    title = "人工智慧競賽的真正風險"
    match = Match(
        "goujon-real-stakes", 0.95, ("Nvidia",), 1, title, f"x: follows para 1 of {title}"
    )
    save_matches(db, ids[ANTHROPIC], [match], DAY_START + dt.timedelta(hours=3))
    built = pipeline.build_daily_digest(db, s, DAY)
    story = next(st for st in built.stories if st.lead.title == ANTHROPIC)
    (followed,) = story.baselines
    assert followed.why == "x"
    assert followed.passage != title
    assert len(followed.passage) > len(title)


def test_extra_fields_on_a_follow_up_row_are_tolerated_and_thread_shown() -> None:
    row = {
        "article_id": 1,
        "baseline_id": "b",
        "score": 0.7,
        "title": "A story",
        "url": "https://a.example/1",
        "reason": "Nvidia: follows para 2 of B: “p”",
        "paragraph": 2,
        "passage": "p",
        "stored_at": DAY_START.isoformat(),
        "thread": "export controls",
        "something_new": object(),
    }
    built = digest.daily_digest([row], DAY, timezone="UTC", base_url="http://x")
    assert built.stories[0].baselines[0].why == "export controls"
    assert "export controls" in digest_render.render_text(built)


def test_alert_subject_names_the_lead_story(day) -> None:
    s, db, *_ = day
    built = pipeline.build_daily_digest(db, s, DAY)
    alert = dataclasses.replace(built, kind="alert")
    assert digest.subject(alert).startswith(f"Alert: {built.stories[0].lead.title}")
    assert digest.subject(alert).endswith("(+2 more)")


def _item(
    article_id: int, title: str, language: str, at: dt.datetime, baseline: str = "b"
) -> DigestItem:
    return DigestItem(
        article_id=article_id,
        baseline_id=baseline,
        title=title,
        url=f"https://example.org/{article_id}",
        source=f"outlet {article_id}",
        published=None,
        language=language,
        extract="",
        reason="",
        score=0.9 - article_id / 100,
        entities=(),
        paragraph=1,
        passage="",
        passage_url="",
        stored_at=at,
        matched_at=at,
    )


def test_what_joins_and_what_stays_apart() -> None:
    at = DAY_START
    later = at + dt.timedelta(days=30)
    items = [
        _item(1, H200_EN, "en", at),
        _item(2, H200_ZH, "zh", at + dt.timedelta(hours=2)),  # same code, other language: joins
        _item(3, "黄仁勋访华 H200 订单", "zh", at + dt.timedelta(hours=40)),  # too late for it
        _item(4, "英伟达芯片获批进口", "zh", at + dt.timedelta(hours=1)),  # no shared code
        _item(5, H200_EN, "en", later),  # the same headline a month later: another event
        # The same code in another language, but no baseline in common with the English one.
        _item(6, "外媒称中国已批准进口首批英伟达H200芯片", "zh", at, baseline="other"),
    ]
    stories = group_stories(items, {}, {})
    groups = sorted(
        sorted([st.lead.article_id, *(int(o.url.rsplit("/", 1)[1]) for o in st.other_sources)])
        for st in stories
    )
    assert groups == [[1, 2], [3], [4], [5], [6]]
