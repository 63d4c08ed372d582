"""A baseline's subjects as watchlist entities: the key phrases read from the article
(monitor.keyphrases) merged with the names the curated alias data recognised in it, each with
aliases in English and both Chinese scripts, a role, a weight that says how central it is in
this article, and the passages it comes from; and the article's threads, groups of subjects
that the same paragraphs develop.

Aliases: the curated data first (it knows modern names: 英伟达/Nvidia, 优必选/UBTech), then
CC-CEDICT (monitor.dictionary) for concepts and common nouns, opencc for the two scripts. A
name nothing knows stays in the article's language, marked unreviewed; a subject's several
names (a full name and a surname, a Latin rendering) are joined by monitor.subject_names. Pure.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from monitor import keyphrases
from monitor.alias_search import find_bounded
from monitor.background import Background
from monitor.chinese_phrases import is_compound
from monitor.keyphrases import Phrase, Usage, extract, is_boilerplate, lead_paragraphs
from monitor.models import Entity, Passage, Thread, split_sentences
from monitor.names import TRANSLITERATION, unique
from monitor.subject_aliases import display_name, jieba_frequency, subject_aliases
from monitor.subject_names import (
    with_aliases,
    with_declared_short_forms,
    with_full_names,
    with_own_renderings,
    with_surnames,
)
from monitor.text import convert, fold, has_chinese, on_word_edges
from monitor.threads import threads

# what follows the name of a place: 省 province, 州 state, 市 city, 县 county, 区 district,
# 镇 town, 村 village
_PLACE_SUFFIXES = "省州市县区镇村"
# A short form in at most this share of ordinary news is rare enough to stand for the name: not
# "never", since ordinary news from the baseline's own time and place tells its story too
# (普发 of 普发现金 in 3 of 1,900 Taiwanese and Chinese items); a word of everyday language is
# far above it.
RARE_SHARE = 0.005
UNREAD_FACTOR = 0.35  # a curated name the article mentions but does not dwell on
PHRASES = 40  # read from the article
SUBJECTS = 24  # kept as entities beside the known names
CREDIT_MAX_WEIGHT = 0.2  # as monitor.derive caps the author
CONTEXT_SHARE = 0.04  # in more than this share of ordinary news, a place is only context
ROLE_OF_KIND = {"person": "actor", "body": "actor", "name": "actor", "place": "actor"}
ROLE_OF_TYPE = {"concept": "thread", "policy": "thread"}
TYPE_OF_KIND = {"person": "person", "body": "body", "name": "company", "place": "place"}


def subjects(
    title: str,
    paragraphs: Sequence[str],
    known: Sequence[Entity],
    background: Background,
    credits: Sequence[str] = (),
    own_stop_words: frozenset[str] = frozenset(),
    language: str = "",
    mentions: Mapping[str, Sequence[str]] | None = None,
) -> tuple[tuple[Entity, ...], tuple[Thread, ...]]:
    """Entities (known names reweighted, new subjects added) and threads, most central first.
    ``credits``: the article's outlet and author, as its index gives them; ``own_stop_words``:
    those of its language, besides English's, when it is another Latin-script one;
    ``language``: the baseline's; ``mentions``: the curated mention forms of the known names
    the article writes out (苹果 of Apple where it names 苹果公司), which are theirs here."""
    mentions = mentions or {}
    # Traditional text is read in simplified characters and mainland wording (軟體 -> 软件), so
    # that its subjects have their simplified names. Simplified text is read as it is written:
    # opencc's mainland wording would rewrite it too (小程序 -> 小进程, 核心 -> 内核), and its
    # subjects would carry names the article never writes.
    to_simplified = has_chinese("".join(paragraphs)) and language != "zh-Hans"
    simplified = [convert(p, "tw2sp") for p in paragraphs] if to_simplified else list(paragraphs)
    headline = convert(title, "tw2sp") if to_simplified else title
    phrases = extract(headline, simplified, background, PHRASES, own_stop_words)
    if not phrases:
        return tuple(known), ()
    top = phrases[0].score
    frequency = background.document_frequency(p.key for p in phrases)
    merged: dict[str, Entity] = {
        e.name: e for e in known if e.reviewed or not is_boilerplate(e.name)
    }
    centrality: dict[str, float] = {}
    new: list[Entity] = []
    for phrase in phrases:
        # square root: scores fall steeply after the first few subjects, and the tenth
        # subject of an article is still one of its subjects
        weight = round(max(0.05, min(1.0, math.sqrt(phrase.score / top))), 2)
        owner = _known_owner(phrase, list(merged.values()), mentions)
        if owner is not None:
            centrality[owner.name] = max(centrality.get(owner.name, 0.0), weight)
            if owner.type == "person" and phrase.key not in map(fold, owner.all_aliases()):
                # a person the article goes on to call by the surname (施密特 of Eric
                # Schmidt) goes by it in the news too
                merged[owner.name] = with_aliases(owner, subject_aliases(phrase))
            continue
        if len(new) < SUBJECTS and not is_boilerplate(phrase.text):
            share = frequency.get(phrase.key, 0) / max(1, background.size)
            entity = _entity(phrase, weight, share, paragraphs)
            new.append(_with_short_forms(entity, phrase, background))
    folded_title = fold(title)
    spread_max = max(len(p.paragraphs) for p in phrases)
    lead = lead_paragraphs(paragraphs)
    text = "\n".join(simplified)
    merged = with_surnames(merged, text)
    usages = _usages(list(merged.values()), [fold(p) for p in simplified], background, new)
    for name, usage in usages.items():
        entity = merged[name]
        if name in centrality:
            continue  # one of the article's phrases already
        in_title = _named_in(entity, folded_title)
        if usage.count < 2 and not in_title:
            continue  # named once: in passing
        # a curated name the article comes back to is weighed as its phrases are, even when
        # it is too short or too rare to be one of them (宇树 twice in an interview)
        usage = replace(usage, in_title=in_title)
        score = keyphrases.centrality(usage, lead, spread_max, background.size)
        weight = round(max(0.05, min(1.0, math.sqrt(score / top))), 2)
        # a curated name the headline gives is a subject even when the article's phrases
        # never isolate it (Micron in "Micron Announces Massive Chips Investment")
        centrality[name] = max(weight, entity.weight) if in_title else weight
    entities = [_reweighed(e, centrality.get(e.name)) for e in merged.values()]
    entities.extend(new)
    entities = with_full_names(entities)
    entities = with_own_renderings(entities, text)
    entities = with_declared_short_forms(entities, text)
    entities = [_credit_down(e, credits, folded_title) for e in entities]
    folded_text = fold(text)
    entities = [_source_down(e, folded_text) for e in entities]
    entities.sort(key=lambda e: (-e.weight, e.name.casefold()))
    return tuple(entities), threads(entities)


def _usages(
    entities: Sequence[Entity],
    folded: Sequence[str],
    background: Background,
    read: Sequence[Entity] = (),
) -> dict[str, Usage]:
    """How often the article writes each entity's names (whole words) and in which
    paragraphs. Longer names claim their text first: "Trump" inside "Trump administration"
    is a mention of the administration, and a curated name inside a subject ``read`` off the
    article (whose uses are not counted here) is no mention of it: 深圳 inside 深圳易储 is not
    Shenzhen, 创投 inside 创投园 not venture capital."""
    owner: dict[str, str] = {}  # folded alias -> entity name
    for entity in entities:
        for alias in entity.all_aliases():
            key = fold(alias)
            if len(key) >= 2:
                owner.setdefault(key, entity.name)
    read_names = {fold(alias) for entity in read for alias in entity.all_aliases()} - set(owner)
    curated = {entity.name for entity in entities if entity.reviewed}
    counts: Counter[str] = Counter()
    spots: dict[str, set[int]] = defaultdict(set)
    used: dict[str, set[str]] = defaultdict(set)
    longest_first = sorted(owner, key=lambda a: (-len(a), a))
    for number, paragraph in enumerate(folded, 1):
        taken: list[tuple[int, int]] = []
        inside = _spans(paragraph, read_names)
        for alias in longest_first:
            start = paragraph.find(alias)
            while start >= 0:
                end = start + len(alias)
                free = all(end <= a or start >= b for a, b in taken) and not (
                    owner[alias] in curated
                    and any(a <= start and end <= b and b - a > end - start for a, b in inside)
                )
                if free and on_word_edges(paragraph, start, end, alias):
                    taken.append((start, end))
                    counts[owner[alias]] += 1
                    spots[owner[alias]].add(number)
                    used[owner[alias]].add(alias)
                start = paragraph.find(alias, start + 1)
    frequency = background.document_frequency({a for names in used.values() for a in names})
    return {
        entity: Usage(
            n, tuple(sorted(spots[entity])), False, max(frequency[a] for a in used[entity])
        )
        for entity, n in counts.items()
    }


def _spans(text: str, names: set[str]) -> list[tuple[int, int]]:
    """Where each of ``names`` (folded) occurs in folded ``text``."""
    return [
        (found.start(), found.end())
        for name in names
        if len(name) >= 2
        for found in re.finditer(re.escape(name), text)
    ]


def _credit_down(entity: Entity, credits: Sequence[str], title: str) -> Entity:
    """The outlet's or the author's name is the article's credit line, not its subject
    ("晚点" of 晚点 LatePost, "BBC" of BBC News 中文), nor is a phrase built on it (界面新闻记者,
    "our reporter", sixteen times in one interview): at most CREDIT_MAX_WEIGHT. Not when the
    title names it too: a company's own release is about the company."""
    credited = [fold(c) for c in credits if c and len(fold(c)) >= 2]
    names = [name for name in (fold(a) for a in entity.all_aliases()) if len(name) >= 2]
    # one of its names in a credit (晚点 of 晚点 LatePost), or a credit in one of its names
    on_credit = any(
        _names(name, credit) or _names(credit, name) for credit in credited for name in names
    )
    if not on_credit or _named_in(entity, title):
        return entity
    # context: an article that names the outlet is no follow-up for it, nor does the credit
    # open a thread of the baseline (BBC 中文's 中文)
    return replace(entity, weight=min(entity.weight, CREDIT_MAX_WEIGHT), role="context")


# How an article cites its sources, in folded text: "told the BBC", "according to NPR", "as
# Emily Feng reports for NPR", "writes the Associated Press", 据路透社报道, 援引彭博社; and "NPR
# reported", "the Associated Press reports that", 路透社报道称
_CITING_BEFORE = re.compile(
    r"(?:\btold|\baccording to|\breports? for|\bwrites? for|\bwrote for|\bwrites|\bvia"
    r"|\breported by|援引|引述|据|據|接受)\s*(?:the\s+)?$"
)
_CITING_AFTER = re.compile(
    r"^\s*(?:['’]s\s+[\w-]+\s+)?(?:reports?\b|reported\b|wrote\b|报道|報導|报导|消息|采访|專訪|专访)"
)


def _source_down(entity: Entity, text: str) -> Entity:
    """A body the article only cites as a source (the Associated Press "reports that", "told
    the BBC") is context, as its own credit line is: news naming it is no follow-up on that
    alone. Not a person (whose quotes may be the story) nor a name the article also writes
    otherwise."""
    if entity.type == "person" or entity.role == "context":
        return entity
    names = {fold(alias) for alias in entity.all_aliases()}
    spots = [(a, b) for a, b in _spans(text, names) if on_word_edges(text, a, b, text[a:b])]
    citing = [
        _CITING_BEFORE.search(text[max(0, start - 20) : start])
        or _CITING_AFTER.match(text[end : end + 20])
        for start, end in spots
    ]
    if not spots or not all(citing):
        return entity
    return replace(entity, weight=min(entity.weight, CREDIT_MAX_WEIGHT), role="context")


def _named_in(entity: Entity, text: str) -> bool:
    """One of the entity's names (two characters or more) in folded ``text``."""
    return any(_names(fold(alias), text) for alias in entity.all_aliases() if len(fold(alias)) >= 2)


def _names(name: str, text: str) -> bool:
    """``name`` in folded ``text``; a Latin name as whole words ("us" is not in "house")."""
    return find_bounded(text, name) >= 0


def _known_owner(
    phrase: Phrase, known: Sequence[Entity], mentions: Mapping[str, Sequence[str]]
) -> Entity | None:
    """The curated name this phrase is (one of its aliases or mention forms)."""
    for entity in known:
        forms = [*entity.all_aliases(), *mentions.get(entity.name, ())]
        if any(fold(form) == phrase.key for form in forms):
            return entity
    return None


def _reweighed(entity: Entity, centrality: float | None) -> Entity:
    """A known name weighs what the article makes of it, not what the alias data says."""
    if centrality is None:
        # named in passing: the article never made it one of its subjects
        return replace(entity, weight=round(entity.weight * UNREAD_FACTOR, 2), role="context")
    role = entity.role or ROLE_OF_TYPE.get(entity.type, "actor")
    return replace(entity, weight=max(entity.weight * 0.5, centrality), role=role)


def _entity(phrase: Phrase, weight: float, share: float, paragraphs: Sequence[str]) -> Entity:
    role = ROLE_OF_KIND.get(phrase.kind, "thread")
    if phrase.kind == "place" and share > CONTEXT_SHARE:
        role = "context"
    aliases = subject_aliases(phrase)
    # reviewed when a dictionary gave it a name in the other language; a name nothing knows
    # stays in the article's language and is listed for review
    known_somewhere = ("en" in aliases) == has_chinese(phrase.text) or (
        "zh-Hans" in aliases and not has_chinese(phrase.text)
    )
    return Entity(
        name=display_name(phrase, aliases),
        type=TYPE_OF_KIND.get(phrase.kind, "concept"),
        weight=weight,
        aliases=aliases,
        passages=_passages(phrase, paragraphs),
        reviewed=known_somewhere,
        role=role,
    )


def _with_short_forms(entity: Entity, phrase: Phrase, background: Background) -> Entity:
    """A long Chinese name nothing knows is often cut short in headlines (普发现金 -> 普发,
    高市早苗 -> 早苗): its two-character head and tail join its aliases when
    ordinary news never uses them and jieba's dictionary does not know them as words."""
    text = phrase.text
    if not has_chinese(text) or len(text) < 4 or entity.role == "context":
        return entity
    if text in jieba_frequency() or is_compound(phrase.parts):
        return entity  # a word, or a compound of words (人工智能公司): not a name to shorten
    if all(ch in TRANSLITERATION for ch in text.rstrip(_PLACE_SUFFIXES)):
        # a foreign name (南利斯特), or the place it names (盖尼特拉省, 哈达达镇): its halves
        # are no names of it (拉省, 达镇)
        return entity
    # halves of two characters: a cut of three leaves a piece of a word (发现金, 市早苗, 锋锂业)
    shorts = {text[:2], text[-2:]}
    shorts = {s for s in shorts if s not in jieba_frequency() and has_chinese(s)}
    rare = background.document_frequency(fold(s) for s in shorts)
    ceiling = max(2, round(RARE_SHARE * background.size))
    kept = sorted(s for s in shorts if rare.get(fold(s), 0) <= ceiling)
    if not kept:
        return entity
    aliases = dict(entity.aliases)
    aliases["zh-Hans"] = unique([*aliases.get("zh-Hans", ()), *kept])
    aliases["zh-Hant"] = unique([*aliases.get("zh-Hant", ()), *(convert(k, "s2t") for k in kept)])
    return replace(entity, aliases=aliases)


def _passages(phrase: Phrase, paragraphs: Sequence[str]) -> tuple[Passage, ...]:
    """The first sentence of each paragraph that holds the phrase (the paragraph's first when
    the phrase runs across a sentence end)."""
    found = []
    for number in phrase.paragraphs:
        sentences = split_sentences(paragraphs[number - 1])
        for index, sentence in enumerate(sentences, 1):
            if phrase.key in fold(sentence):
                found.append(Passage(number, index))
                break
        else:
            found.append(Passage(number, 1))
    return tuple(found)
