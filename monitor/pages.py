"""Pure: the served pages besides the digest. Each baseline's "what happened since" page
(baselines/<id>.html: the baseline's paragraphs, and under each the follow-ups that advance
it, newest first) and the index of `monitor serve` (today's digest, the baselines, the feeds).

Passage links (#p<n>) land on the timeline page's paragraph anchors, so a digest's "read in
the baseline" link shows the passage with what followed it. Blank lines of the baseline file
keep their number (passage numbers are line numbers) but show nothing, and a first line that
only repeats the title is not shown twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from monitor.digest import clean, safe_url
from monitor.digest_render import render_template
from monitor.models import Baseline, DigestStory


@dataclasses.dataclass(frozen=True)
class TimelineRow:
    number: int  # the paragraph number (line of the baseline file), its anchor #p<n>
    text: str
    stories: tuple[DigestStory, ...]  # follow-ups advancing this paragraph, newest first


@dataclasses.dataclass(frozen=True)
class BaselineLink:
    """One baseline on the index page."""

    id: str
    title: str
    page: str  # relative URL of its timeline page
    feed: str  # relative URL of its Atom feed
    follow_ups: int


def _newest_first(stories: Sequence[DigestStory]) -> tuple[DigestStory, ...]:
    return tuple(sorted(stories, key=lambda s: (s.lead.stored_at, s.lead.article_id), reverse=True))


def timeline_rows(
    title: str, paragraphs: Sequence[str], stories: Sequence[DigestStory]
) -> tuple[list[TimelineRow], tuple[DigestStory, ...]]:
    """(one row per non-blank paragraph, the stories tied to no shown paragraph)."""
    by_paragraph: dict[int, list[DigestStory]] = {}
    for story in stories:
        number = story.baselines[0].paragraph if story.baselines else 0
        by_paragraph.setdefault(number, []).append(story)
    rows: list[TimelineRow] = []
    shown: set[int] = set()
    for number, text in enumerate(paragraphs, start=1):
        text = clean(text)
        if not text or (number == 1 and text == clean(title)):
            continue
        shown.add(number)
        rows.append(TimelineRow(number, text, _newest_first(by_paragraph.get(number, []))))
    loose = [s for n, found in by_paragraph.items() if n not in shown for s in found]
    return rows, _newest_first(loose)


def render_timeline(
    baseline: Baseline,
    paragraphs: Sequence[str],
    stories: Sequence[DigestStory],
    *,
    timezone: str,
    now: dt.datetime,
) -> str:
    """The baseline's page: title, author, date, outlet, then its paragraphs with the
    follow-ups of each. ``stories`` hold only this baseline (their first FollowedBaseline)."""
    title = clean(baseline.title) or baseline.id
    rows, loose = timeline_rows(title, paragraphs, stories)
    latest = max((s.lead.stored_at for s in stories), default=None)
    return render_template(
        "timeline.html.j2",
        b=baseline,
        title=title,
        author=clean(baseline.author),
        outlet=clean(baseline.outlet),
        published=baseline.published.isoformat() if baseline.published else "",
        source_url=safe_url(baseline.source_url),
        feed=f"{baseline.id}.atom",
        rows=rows,
        loose=loose,
        count=len(stories),
        latest=latest,
        timezone=timezone,
        now=now,
    )


def render_index(
    *,
    digest_title: str,
    baselines: Sequence[BaselineLink],
    past_digests: Sequence[str],
    now: dt.datetime,
    timezone: str,
) -> str:
    """The index `monitor serve` shows at /: the latest digest, every baseline's page and
    feed, the main feeds and the past digest pages (file names under digests/)."""
    return render_template(
        "index.html.j2",
        digest_title=digest_title,
        baselines=baselines,
        past_digests=past_digests,
        now=now,
        timezone=timezone,
    )
