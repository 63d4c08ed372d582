"""The hand-written rules' decision (``relevance_model = "rules"``): what a hit is worth by
zone, whether an article is about one of a baseline's threads, the normalised score, and the
baseline passage and reason of a rule match. Pure; monitor.match finds the hits.

Scoring, per baseline:
- every entity found contributes ``weight x zone``: the title counts most, then the lead,
  then the rest of the text, with a small bonus for repetition;
- an entity only counts when the article is about one of the baseline's threads: a thread
  term (an entity of type concept or policy) must be present, one "anchor" (an entity central
  to the baseline, of a type that can carry a story) in the title or lead, and at least two
  entities that are more than context, or else a central thread term in the title (or an
  anchor-weight one told there by every word group of an "<all>"/"<title>" alias); so a
  passing mention of a name, or a name next to "China", does not match;
- the sum is normalised by the baseline's own strongest weights, so a watchlist with many
  heavy entities needs as much evidence, relatively, as a sparse one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.models import BODY, LEAD, TITLE, Entity, Match, Watchlist, split_sentences

# What a hit is worth where it sits.
ZONE_FACTOR = {TITLE: 1.0, LEAD: 0.8, BODY: 0.4}
REPEAT_BONUS = 0.1  # per extra occurrence, at most two
# Entity types that name a thread (what the article is about) rather than an actor.
THREAD_TYPES = frozenset({"concept", "policy"})
# An article must hit at least one entity this central to the baseline (its "anchor"), of a
# type that can carry a story: a person or body alone is who, not what. A place this central
# is itself a thread (the Gulf states as AI investors); places that are only where a story
# happens ("China", "Beijing") weigh less than the anchor weight.
ANCHOR_WEIGHT = 0.6
ANCHOR_TYPES = frozenset({"concept", "policy", "company", "product", "model", "place"})
MIN_ENTITIES = 2
# Entities weighted below this are context (a country, "AI"): they add to the score but do
# not count towards MIN_ENTITIES, so "China" next to any keyword is not yet a topic.
CONTEXT_WEIGHT = 0.3
# A thread term this central, in the title, is a topic on its own ("Rare earths ...").
TITLE_ANCHOR_WEIGHT = 0.8
# The normaliser is the sum of this many of the baseline's highest weights, scaled so that
# a score of 0.5 (the default threshold) needs 60% of that evidence.
NORM_TOP = 3
NORM_SCALE = 1.2
SHORT_PASSAGE = 60


@dataclass
class Hit:
    zone: int
    count: int = 0
    combined: bool = False  # found by an "<all>" alias: several words already agree


@dataclass(frozen=True)
class Indexed:
    watchlist: Watchlist
    entities: tuple[Entity, ...]
    norm: float
    cutoff: dt.date | None


def index(watchlist: Watchlist) -> Indexed:
    weights = sorted((e.weight for e in watchlist.entities), reverse=True)
    norm = NORM_SCALE * sum(weights[:NORM_TOP]) or 1.0
    return Indexed(watchlist, watchlist.entities, norm, watchlist.baseline.published)


def contribution(entity: Entity, hit: Hit) -> float:
    repeat = REPEAT_BONUS * min(hit.count - 1, 2)
    return entity.weight * (ZONE_FACTOR[hit.zone] + repeat)


def is_topic(entities: Sequence[Entity], hits: dict[int, Hit]) -> bool:
    """Is the article about one of the baseline's threads, not just naming its actors?"""
    if not any(entities[ei].type in THREAD_TYPES for ei in hits):
        return False
    # The anchor must sit in the title or the lead: a central name deep in the text is a
    # passing mention ("...like DeepSeek's founder") in an article about something else.
    if not any(
        entities[ei].weight >= ANCHOR_WEIGHT
        and entities[ei].type in ANCHOR_TYPES
        and hit.zone != BODY
        for ei, hit in hits.items()
    ):
        return False
    # A central thread term in the title, or one told by every word group of an "<all>"
    # alias there ("chip" + "production" + "U.S."), is a topic with one more name.
    titled = any(
        hit.zone == TITLE
        and entities[ei].type in THREAD_TYPES
        and entities[ei].weight >= (ANCHOR_WEIGHT if hit.combined else TITLE_ANCHOR_WEIGHT)
        for ei, hit in hits.items()
    )
    evidence = sum(1 for ei in hits if entities[ei].weight >= CONTEXT_WEIGHT)
    return evidence >= MIN_ENTITIES or (titled and len(hits) >= MIN_ENTITIES)


def score(indexed: Indexed, hits: dict[int, Hit]) -> Match | None:
    entities = indexed.entities
    if not is_topic(entities, hits):
        return None
    parts = {ei: contribution(entities[ei], hit) for ei, hit in hits.items()}
    score = min(1.0, sum(parts.values()) / indexed.norm)
    ranked = sorted(parts, key=lambda ei: (-parts[ei], entities[ei].name))
    paragraph, sentence = followed_passage(indexed, ranked, parts)
    passage = passage_text(indexed.watchlist, paragraph, sentence)
    names = tuple(entities[ei].name for ei in ranked)
    return Match(
        baseline_id=indexed.watchlist.baseline.id,
        score=round(score, 3),
        entities=names,
        paragraph=paragraph,
        passage=passage,
        reason=reason(names, indexed.watchlist, paragraph, passage),
    )


def followed_passage(
    indexed: Indexed, ranked: Sequence[int], parts: dict[int, float]
) -> tuple[int, int]:
    """The baseline paragraph where the article's entities weigh most together, and within
    it the sentence that carries most of that weight. Context entities (a country, "AI") only
    decide when nothing else has a passage: several of them together must not outvote the
    thread the article is about."""
    paragraph_weight: dict[int, float] = defaultdict(float)
    sentence_weight: dict[tuple[int, int], float] = defaultdict(float)
    central = [
        ei
        for ei in ranked
        if indexed.entities[ei].weight >= CONTEXT_WEIGHT and indexed.entities[ei].passages
    ]
    for ei in central or ranked:
        for passage in indexed.entities[ei].passages:
            paragraph_weight[passage.paragraph] += parts[ei]
            sentence_weight[(passage.paragraph, passage.sentence)] += parts[ei]
    if not paragraph_weight:
        return 1, 1
    best = min(paragraph_weight, key=lambda p: (-paragraph_weight[p], p))
    sentences = [key for key in sentence_weight if key[0] == best]
    return min(sentences, key=lambda key: (-sentence_weight[key], key[1]))


def passage_text(watchlist: Watchlist, paragraph: int, sentence: int) -> str:
    for entity in watchlist.entities:
        for passage in entity.passages:
            if (passage.paragraph, passage.sentence) == (paragraph, sentence) and passage.text:
                return passage.text
    if 0 < paragraph <= len(watchlist.paragraphs):
        sentences = split_sentences(watchlist.paragraphs[paragraph - 1])
        if sentences:
            return sentences[min(max(sentence, 1), len(sentences)) - 1]
    return ""


def shorten(text: str, limit: int = SHORT_PASSAGE) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reason(names: Iterable[str], watchlist: Watchlist, paragraph: int, passage: str) -> str:
    shown = list(names)[:3]
    reason = f"{', '.join(shown)}: follows para {paragraph} of {watchlist.baseline.title}"
    if passage:
        reason += f": “{shorten(passage)}”"
    return reason
