"""The reason a person reads for a follow-up the relevance model accepted: the subjects
found, the baseline thread it advances and the baseline paragraph closest in meaning, quoted by
its most telling full sentence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from monitor.models import Entity, Match, Watchlist, split_sentences
from monitor.relevance import Decision, Evidence
from monitor.rule_score import SHORT_PASSAGE, contribution, passage_text


def judged_match(watchlist: Watchlist, evidence: Evidence, decision: Decision) -> Match:
    """A follow-up the model accepted: the subjects found, the thread moved and the baseline
    paragraph closest in meaning, quoted by its most telling full sentence."""
    entities = watchlist.entities
    ranked = sorted(
        evidence.hits,
        key=lambda ei: (-contribution(entities[ei], evidence.hits[ei]), entities[ei].name),
    )
    names = tuple(entities[ei].name for ei in ranked)
    paragraph = decision.paragraph
    sentence = telling_sentence(watchlist, paragraph, [entities[ei] for ei in ranked])
    passage = passage_text(watchlist, paragraph, sentence)
    shown = ", ".join(names[:3])
    reason = f"{shown}: advances “{decision.thread}”" if decision.thread else shown
    reason += f"; closest to para {paragraph} of {watchlist.baseline.title}"
    if passage:
        reason += f": “{passage}”"
    return Match(
        baseline_id=watchlist.baseline.id,
        score=round(decision.probability, 3),
        entities=names,
        paragraph=paragraph,
        passage=passage,
        reason=reason,
        thread=decision.thread,
    )


def telling_sentence(watchlist: Watchlist, paragraph: int, found: Sequence[Entity]) -> int:
    """The sentence of the paragraph that names most of what the article names, else the
    longest: never a five-word aside when the paragraph has a real sentence."""
    if not 0 < paragraph <= len(watchlist.paragraphs):
        return 1
    sentences = split_sentences(watchlist.paragraphs[paragraph - 1])
    if not sentences:
        return 1
    named = Counter(p.sentence for e in found for p in e.passages if p.paragraph == paragraph)
    return max(
        range(1, len(sentences) + 1),
        key=lambda n: (named.get(n, 0), len(sentences[n - 1]) >= SHORT_PASSAGE, -n),
    )
