"""Pure: follow-up items (one per article and baseline) -> stories (one per development).

A development is shown once however many baselines it follows up and however many outlets
reported it. Items join one story when they are

- the same stored article (it follows up several baselines), or
- near-duplicate titles in one writing system (character bigrams of the one normal form of
  monitor.text, so traditional and simplified Chinese compare) stored within
  SAME_STORY_HOURS of each other, or
- reports in two languages of one development: stored within CROSS_LANGUAGE_HOURS of each
  other, following up a common baseline, and naming the same model or product code in the
  title ("H200", "GB200", "昇腾950" -> "950" is too weak alone, so a code needs a letter and a
  digit). Codes are what a translated headline keeps verbatim; a shared entity alone
  ("Nvidia") is not enough, most stories of a day share one. Nor is meaning: on 70 hand-judged
  English/Chinese pairs of follow-ups of one baseline (benchmarks/cross_language_stories.py),
  the sentence encoder's similarity groups two developments of one thread as readily as one
  development told twice (precision at most 0.14 wherever it groups more than two pairs).

The best-scoring report leads; the others become its other sources. Stories are ordered by
importance: relevance (score, to the tenth), then how many baselines and outlets, then recency.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence

from monitor.models import DigestItem, DigestSource, DigestStory, FollowedBaseline
from monitor.text import alphanumeric

SAME_STORY = 0.6  # Dice overlap of title bigrams at or above which two titles are one story
CROSS_LANGUAGE_HOURS = 36
SAME_STORY_HOURS = 72  # near-duplicate titles further apart are separate events
COMMON_BIGRAM = 64  # a title bigram in more groups than this finds no candidates by itself
SHARED_BIGRAMS = 3  # uncommon bigrams two titles must share before they are compared
PASSAGE_CHARS = 240
# A passage shorter than this says too little on its own ("他的預測是正確的。").
SHORT_PASSAGE = 16
_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9-]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9-]{3,}")
_FOLLOWS = re.compile(r":?\s*follows para(?:graph)? \d+ of .*$", re.DOTALL)


@functools.lru_cache(maxsize=8192)
def _fold(title: str) -> str:
    return alphanumeric(title)


@functools.lru_cache(maxsize=8192)
def _bigrams(title: str) -> frozenset[str]:
    folded = _fold(title)
    return frozenset(folded[i : i + 2] for i in range(len(folded) - 1))


def same_story(a: str, b: str) -> bool:
    """Near-duplicate titles: share at least SAME_STORY of their character bigrams."""
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return False
    if min(len(x), len(y)) < 4:  # too short to judge by overlap
        return x == y
    return 2 * len(x & y) / (len(x) + len(y)) >= SAME_STORY  # Dice coefficient


@functools.lru_cache(maxsize=8192)
def codes(title: str) -> frozenset[str]:
    """Model and product codes in a title: H200, GB200, RTX-5090 (a letter and a digit)."""
    text = unicodedata.normalize("NFKC", title)
    found = (code.strip("-").upper() for code in _CODE.findall(text))
    return frozenset(code for code in found if len(code) >= 3)


def _script(language: str) -> str:
    return (language or "").split("-")[0].casefold()


def same_development(
    a: DigestItem, b: DigestItem, a_baselines: set[str], b_baselines: set[str]
) -> bool:
    """One development reported twice: near-identical titles, or (in two languages) the
    same code in both titles, a common baseline and close in time."""
    if same_story(a.title, b.title):
        return True
    if _script(a.language) == _script(b.language) or not (a_baselines & b_baselines):
        return False
    hours = abs((a.stored_at - b.stored_at).total_seconds()) / 3600
    return hours <= CROSS_LANGUAGE_HOURS and bool(codes(a.title) & codes(b.title))


def why_of(reason: str, passage: str) -> str:
    """The reason without the passage it quotes (the passage is shown once, on its own):
    'Nvidia, H20: follows para 3 of X: “...”' -> 'Nvidia, H20'."""
    why = _FOLLOWS.sub("", reason).strip(" :")
    if passage:
        why = why.replace(f"“{passage}”", "").strip(" :")
    return why or reason


def shown_passage(
    passage: str, paragraph: int, paragraphs: Sequence[str], baseline_title: str
) -> str:
    """What to quote of the followed passage: the passage itself, or, when it is only the
    headline or too short to say anything, the whole paragraph (cut at PASSAGE_CHARS)."""
    text = passage.strip()
    full = paragraphs[paragraph - 1].strip() if 0 < paragraph <= len(paragraphs) else ""
    if full and (len(text) < SHORT_PASSAGE or text == baseline_title.strip()):
        if full != baseline_title.strip():
            text = full
    if len(text) > PASSAGE_CHARS:
        text = text[: PASSAGE_CHARS - 1].rstrip() + "…"
    return text


def followed(
    item: DigestItem,
    baseline_title: str,
    baseline_url: str,
    paragraphs: Sequence[str],
    thread: str = "",
) -> FollowedBaseline:
    passage = shown_passage(item.passage, item.paragraph, paragraphs, baseline_title)
    return FollowedBaseline(
        baseline_id=item.baseline_id,
        baseline_title=baseline_title,
        baseline_url=baseline_url,
        paragraph=item.paragraph,
        passage=passage,
        passage_url=item.passage_url,
        why=thread or why_of(item.reason, item.passage),
        score=item.score,
    )


def importance(story: DigestStory) -> tuple[float, int, int, float, int]:
    """Sort key, most important first."""
    return (
        -round(story.score, 1),
        -len(story.baselines),
        -len(story.other_sources),
        -story.lead.stored_at.timestamp(),
        story.lead.article_id,
    )


def group_stories(
    items: Sequence[DigestItem],
    baseline_titles: Mapping[str, str],
    baseline_urls: Mapping[str, str],
    paragraphs: Mapping[str, Sequence[str]] | None = None,
    threads: Mapping[tuple[int, str], str] | None = None,
) -> list[DigestStory]:
    """Items (one per article and baseline) -> stories, most important first."""
    texts = paragraphs or {}
    found = threads or {}
    stories = []
    for group in _groups(items):
        group.sort(key=lambda i: (-i.score, i.stored_at, i.article_id))
        lead = group[0]
        best: dict[str, DigestItem] = {}
        for item in group:  # best-scoring first: the first item of a baseline is its best
            best.setdefault(item.baseline_id, item)
        baselines = tuple(
            followed(
                item,
                baseline_titles.get(item.baseline_id) or item.baseline_id,
                baseline_urls.get(item.baseline_id, ""),
                texts.get(item.baseline_id, ()),
                found.get((item.article_id, item.baseline_id), ""),
            )
            for item in best.values()
        )
        stories.append(
            DigestStory(lead=lead, baselines=baselines, other_sources=_other_sources(lead, group))
        )
    stories.sort(key=importance)
    return stories


def _groups(items: Sequence[DigestItem]) -> list[list[DigestItem]]:
    """Items joined into developments, in time order.

    Only groups seen within SAME_STORY_HOURS are compared (two similar headlines a month
    apart are two events), and only those sharing the article, a code or SHARED_BIGRAMS title
    bigrams that are not common (in at most COMMON_BIGRAM groups): near-duplicate titles
    share many bigrams, some of them rare. This keeps a timeline of hundreds of follow-ups from
    comparing every pair (see benchmarks/digest_stories.py)."""
    window = dt.timedelta(hours=SAME_STORY_HOURS)
    groups: list[list[DigestItem]] = []
    latest: list[dt.datetime] = []
    postings: dict[str, list[int]] = {}  # bigram, "#code" or "@article id" -> group numbers
    for item in sorted(items, key=lambda i: (i.stored_at, i.article_id, i.baseline_id)):
        keys = _keys(item)
        shared: dict[int, int] = {}
        for key in keys:
            found = postings.get(key, ())
            if key[0] in "#@":
                weight = SHARED_BIGRAMS  # a shared code or article is candidate enough
            elif len(found) <= COMMON_BIGRAM:
                weight = 1
            else:
                continue
            for n in found:
                shared[n] = shared.get(n, 0) + weight
        candidates = sorted(n for n, count in shared.items() if count >= SHARED_BIGRAMS)
        number = next(
            (
                n
                for n in candidates
                if item.stored_at - latest[n] <= window and _joins(item, groups[n])
            ),
            None,
        )
        if number is None:
            number = len(groups)
            groups.append([])
            latest.append(item.stored_at)
        groups[number].append(item)
        latest[number] = max(latest[number], item.stored_at)
        for key in keys:
            found = postings.setdefault(key, [])
            if not found or found[-1] != number:
                found.append(number)
    return groups


def _keys(item: DigestItem) -> list[str]:
    return [
        f"@{item.article_id}",
        *(f"#{code}" for code in codes(item.title)),
        *_bigrams(item.title),
    ]


def _joins(item: DigestItem, group: list[DigestItem]) -> bool:
    if any(item.article_id == other.article_id for other in group):
        return True
    mine = {item.baseline_id}
    theirs = {other.baseline_id for other in group}
    return any(same_development(item, other, mine, theirs) for other in group)


def _other_sources(lead: DigestItem, group: Sequence[DigestItem]) -> tuple[DigestSource, ...]:
    """Every other outlet in the group, once each, never the lead's own link or outlet."""
    sources: list[DigestSource] = list(lead.other_sources)
    seen_articles = {lead.article_id}
    for item in group:
        if item.article_id in seen_articles:
            continue
        seen_articles.add(item.article_id)
        sources.append(DigestSource(item.source or "another outlet", item.url, item.title))
        sources.extend(item.other_sources)
    unique: list[DigestSource] = []
    for source in sources:
        if source.url and source.url == lead.url:
            continue
        if source.name.casefold() == lead.source.casefold() and source.url == lead.url:
            continue
        if any(
            (source.url and source.url == u.url) or (not source.url and source.name == u.name)
            for u in unique
        ):
            continue
        if source.title and any(source.title == u.title for u in unique):
            source = DigestSource(source.name, source.url)  # that headline is shown already
        unique.append(source)
    return tuple(unique)


def table_of_contents(stories: Sequence[DigestStory]) -> list[tuple[str, str, int]]:
    """(baseline title, its page URL, stories following it), most stories first."""
    counts: dict[str, int] = {}
    where: dict[str, tuple[str, str]] = {}
    for story in stories:
        for baseline in story.baselines:
            counts[baseline.baseline_id] = counts.get(baseline.baseline_id, 0) + 1
            where[baseline.baseline_id] = (baseline.baseline_title, baseline.baseline_url)
    rows = [(*where[key], count) for key, count in counts.items()]
    return sorted(rows, key=lambda row: (-row[2], row[0]))
