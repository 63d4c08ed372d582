"""Baseline text -> Watchlist: the entities an article rests on, their aliases in English,
simplified and traditional Chinese, a weight for how central each is, and the passages where
each appears.

Known names come from the curated alias data (watchlists/aliases.yaml); opencc adds the other
Chinese script and the Taiwan / mainland vocabulary. Names the curated data does not know
(Latin-script names, Chinese transliterated names, titles in 《》, quoted plan or rule names)
are kept in their own language with ``reviewed=False``.

``merge`` (monitor.merge) folds a fresh derivation into a watchlist a person may have edited, so
hand edits survive a re-derive. Pure functions: no file or network I/O here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor import dictionary
from monitor.alias_search import find_bounded
from monitor.background import Background, default_background
from monitor.baseline_text import slug, text_from_markdown, text_from_plain
from monitor.chinese_phrases import is_place_name
from monitor.keyphrases import opening_paragraph, without_dateline
from monitor.merge import merge
from monitor.models import (
    AliasData,
    Baseline,
    Entity,
    Passage,
    Watchlist,
    split_paragraphs,
    split_sentences,
)
from monitor.names import (
    CHINESE_SCRIPTS,
    KnownIndex,
    chinese_forms,
    is_plain_word,
    known_aliases,
    unknown_aliases,
    unknown_candidates,
)
from monitor.stopwords import stopwords
from monitor.subjects import subjects
from monitor.text import (
    LATIN_LETTER,
    LATIN_LOWER,
    chinese_share,
    convert,
    fold,
    has_chinese,
    words_in_capitals,
)

__all__ = [
    "CHINESE_SCRIPTS",
    "chinese_forms",
    "convert",
    "derive",
    "fold",
    "has_chinese",
    "known_aliases",
    "merge",
    "slug",
    "split_sentences",
    "text_from_markdown",
    "text_from_plain",
]


# How the weight is made (see watchlists/README.md): frequency, spread, title/lead presence.
W_FREQUENCY, W_SPREAD, W_LEAD = 0.5, 0.3, 0.2
AUTHOR_MAX_WEIGHT = 0.2  # the baseline's author wrote it; the article is not about them
PARENT_CREDIT = 0.5  # a mention of Qwen is half a mention of Alibaba
UNREVIEWED_FACTOR = 0.7  # an unknown name counts for less until someone reviews it
HEADING_MAX_CHARS = 40

_LOWERCASE_WORD = re.compile(rf"(?<![{LATIN_LETTER}])[{LATIN_LOWER}]+(?![{LATIN_LETTER}])")


@dataclass
class _Found:
    """One name found in the baseline, known or not."""

    name: str
    type: str
    aliases: dict[str, tuple[str, ...]]
    reviewed: bool
    max_weight: float = 1.0
    passages: list[tuple[int, int]] = field(default_factory=list)
    mentions: float = 0
    lead: float = 0.0  # 1 when in the title, 0.5 in the opening or a heading
    named: bool = False  # written by a name or alias, not only by an ambiguous mention form


# --- deriving ----------------------------------------------------------------------------


def derive(
    baseline: Baseline, text: str, data: AliasData, background: Background | None = None
) -> Watchlist:
    """The watchlist of one baseline. ``text`` has one paragraph per line: the names the
    curated data knows, then the subjects read from the article itself (monitor.subjects),
    weighed by how central each is in it, and its threads."""
    paragraphs = split_paragraphs(text)
    index = KnownIndex(data)
    ignore = [fold(i) for i in data.ignore]
    language = baseline.language
    chinese = chinese_share(text) > 0.3
    latin_text = not (language.startswith("zh") or chinese)
    # the stop words of a German or Spanish article, besides English's: its phrases end on them
    # and its names open with its articles ("Die Bundesregierung")
    own_stop_words = stopwords(language) if latin_text and language != "en" else frozenset()
    found: dict[str, _Found] = {}
    parent_credit: dict[str, int] = {}
    # A capitalised word that also appears in lower case is an ordinary word (Today, Proclamation).
    common_words = set(_LOWERCASE_WORD.findall(text))
    lead_paragraphs = _lead_paragraphs(paragraphs)
    headings = {n for n, p in enumerate(paragraphs, 1) if _is_heading(p)}
    title = fold(baseline.title)

    opening = opening_paragraph(paragraphs) if latin_text else 0
    for number, paragraph in enumerate(paragraphs, 1):
        lead = 0.5 if number in lead_paragraphs or number in headings else 0.0
        for sentence_number, sentence in enumerate(split_sentences(paragraph), 1):
            if number == opening and sentence_number == 1:
                sentence = without_dateline(sentence)
            folded = fold(sentence)
            hits = _curated_in(index, sentence, folded, own_stop_words)
            matched = [folded[start:stop] for start, stop, _ in hits]
            for start, stop, name_index in hits:
                known, *parents = index.with_parents(name_index)
                entry = found.get(known.name)
                if entry is None:
                    entry = found[known.name] = _Found(
                        known.name, known.type, known_aliases(known), True, known.max_weight
                    )
                entry.named = entry.named or folded[start:stop] not in index.mention_forms
                _count(entry, number, sentence_number, lead)
                for parent in parents:
                    parent_credit[parent.name] = parent_credit.get(parent.name, 0) + 1
            for candidate, kind in unknown_candidates(sentence, own_stop_words):
                if latin_text and " " not in candidate and is_plain_word(candidate):
                    continue  # in English prose a lone capitalised word is mostly not a name
                surface = _residue(candidate, [*matched, *ignore])
                key = fold(surface)
                if surface != candidate:
                    kind = "product"  # what is left of "AMD MI325X" once AMD is known
                if _is_covered(key, matched, index.forms, ignore) or key in common_words:
                    continue
                entry = found.get(key)
                if entry is None:
                    entry = found[key] = _Found(
                        surface, kind, unknown_aliases(surface, language), False, named=True
                    )
                _count(entry, number, sentence_number, lead)

    found = {key: entry for key, entry in found.items() if entry.named}
    for name, credit in parent_credit.items():
        if name in found:  # a product's mentions add to its maker's, at half the value
            found[name].mentions += PARENT_CREDIT * credit
    for entry in found.values():
        if title and any(fold(a) in title for s in entry.aliases.values() for a in s):
            entry.lead = 1.0
        if entry.type == "person" and not entry.reviewed and not _reads_as_person(entry, text):
            entry.type = "concept"
    named = _weigh(list(found.values()), baseline)
    entities, threads = subjects(
        baseline.title,
        paragraphs,
        named,
        background or default_background(),
        (baseline.outlet, baseline.author),
        own_stop_words,
        language,
        {known.name: known.mentions for known in data.names if known.name in found},
    )
    return Watchlist(baseline=baseline, entities=entities, paragraphs=paragraphs, threads=threads)


def _curated_in(
    index: KnownIndex, sentence: str, folded: str, own_stop_words: frozenset[str]
) -> list[tuple[int, int, int]]:
    """The curated names in a sentence (``folded``: its normal form). Not a form that is a word
    of the article's own language ("bis", German for "until", is not the BIS), nor a name
    written in capitals found in lower case ("many of us think" is not the US)."""
    capitals = words_in_capitals(sentence)
    return [
        (start, stop, name)
        for start, stop, name in index.find(folded)
        if folded[start:stop] not in own_stop_words
        and (folded[start:stop] not in index.capital_forms or folded[start:stop] in capitals)
    ]


def _reads_as_person(entry: _Found, text: str) -> bool:
    """Two or three capitalised words are a person's name unless one of them is everyday
    English ("Joint Statement", "Low-Value Imports", "Temporary Flight Restrictions"), the
    first is no given name the dictionary knows (Mark, Jeff) and the article never names the
    person by the last word alone ("Quinlan said"), nor is the last a place."""
    words = entry.name.split()
    if has_chinese(entry.name):
        return True
    if is_place_name(words[-1]):
        return False  # Southern California: California alone is the state, not a surname
    if not any(dictionary.is_common_english(w) for w in words):
        return True
    if dictionary.is_name(words[0]):
        return True
    last = re.compile(rf"(?<![\w-]){re.escape(words[-1])}(?![\w-])")
    return any(_not_after_a_name(text, found.start()) for found in last.finditer(text))


def _not_after_a_name(text: str, start: int) -> bool:
    """The word at ``start`` stands alone: no capitalised word right before it (Quinlan in
    "said Quinlan", not Imports in "Regulating Imports")."""
    before = text[:start].rstrip(" ").rsplit(maxsplit=1)
    word = before[-1].lstrip("(\"“‘'[") if before else ""
    return not word[:1].isupper() or word[-1:] in ".:;!?"


def _count(entry: _Found, paragraph: int, sentence: int, lead: float) -> None:
    entry.mentions += 1
    if (paragraph, sentence) not in entry.passages:
        entry.passages.append((paragraph, sentence))
    entry.lead = max(entry.lead, lead)


def _lead_paragraphs(paragraphs: Sequence[str]) -> set[int]:
    """The title line (when the file starts with one) and the first paragraph of body text."""
    numbers = [n for n, p in enumerate(paragraphs, 1) if p]
    lead: set[int] = set()
    for number in numbers[:3]:
        lead.add(number)
        if not _is_heading(paragraphs[number - 1]):
            break
    return lead


def _is_heading(paragraph: str) -> bool:
    return 0 < len(paragraph) <= HEADING_MAX_CHARS and not paragraph.endswith(
        ("。", ".", "”", "」")
    )


def _residue(candidate: str, matched: Sequence[str]) -> str:
    """A candidate that contains a known name: the model-number-like word left over (MI325X in
    "AMD MI325X"), else nothing. A candidate without a known name comes back unchanged."""
    key = fold(candidate)
    inside = [m for m in matched if m != key and _contains_whole(key, m)]
    if not inside:
        return candidate
    rest = key
    for known in inside:
        while (start := find_bounded(rest, known)) >= 0:
            rest = f"{rest[:start]} {rest[start + len(known) :]}"
    left = set(rest.split())
    for word in candidate.split():
        if fold(word) in left and re.search(r"\d", word) and re.search(r"[A-Za-z]", word):
            return word
    return ""


def _is_covered(
    key: str, matched: Sequence[str], known: dict[str, int], ignore: Sequence[str]
) -> bool:
    """An unknown candidate that a known name already accounts for, or that is boilerplate."""
    if len(key) < 2 or key in known:
        return True
    if any(_contains_whole(m, key) or _contains_whole(key, m) for m in matched):
        return True
    return any(_contains_whole(i, key) for i in ignore)


def _contains_whole(text: str, part: str) -> bool:
    """``part`` is in ``text`` as whole words where it is Latin: the known name "ai" does not
    account for "dubai air show", nor "us" for "musk"."""
    return find_bounded(text, part) >= 0


def _weigh(found: list[_Found], baseline: Baseline) -> tuple[Entity, ...]:
    """weight = 0.5 frequency (log, relative to the most mentioned) + 0.3 spread (paragraphs,
    relative to the most spread) + 0.2 title/lead presence; then caps."""
    if not found:
        return ()
    # Relative to the most mentioned name that is not capped: China and the United States are
    # everywhere in this news and would otherwise flatten everything else.
    scale = [f for f in found if f.max_weight >= 1] or found
    max_mentions = max(f.mentions for f in scale)
    max_spread = max(len({p for p, _ in f.passages}) for f in scale)
    author = fold(baseline.author) if baseline.author else ""
    entities: list[Entity] = []
    for f in found:
        spread = len({p for p, _ in f.passages})
        score = (
            W_FREQUENCY * min(1.0, math.log1p(f.mentions) / math.log1p(max_mentions))
            + W_SPREAD * min(1.0, spread / max_spread)
            + W_LEAD * f.lead
        )
        cap = f.max_weight
        if author and (fold(f.name) == author or author in map(fold, f.aliases.get("en", ()))):
            cap = min(cap, AUTHOR_MAX_WEIGHT)
        if not f.reviewed:
            score *= UNREVIEWED_FACTOR
        weight = round(max(0.05, min(cap, score)), 2)
        entities.append(
            Entity(
                name=f.name,
                type=f.type,
                weight=weight,
                aliases=f.aliases,
                passages=tuple(Passage(p, s) for p, s in sorted(f.passages)),
                reviewed=f.reviewed,
            )
        )
    entities.sort(key=lambda e: (-e.weight, e.name.casefold()))
    return tuple(entities)
