"""What a baseline article is about, read from the article itself: its key phrases and names,
each with how central it is in *this* article.

English phrases are runs of one to three words without a stop word at either end; Chinese ones
are read by monitor.chinese_phrases (recurring strings cut on jieba's word edges). A phrase's
centrality is its frequency, its spread over paragraphs and its presence in the title and
lead, times how rare it is in the background sample of ordinary news (monitor.background):
"美国", "公司" or "said" are everywhere and say little. Pure: the background is passed in.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor import dictionary
from monitor.background import Background
from monitor.chinese_phrases import JIEBA_TYPICAL_IDF, chinese_tallies, jieba_idf
from monitor.names import NAME_ADJECTIVES
from monitor.phrase_tally import EXTENDS, Tally
from monitor.stopwords import stopwords
from monitor.text import LATIN_LETTER, LATIN_LOWER, LATIN_UPPER, fold, has_chinese

MAX_WORDS = 3
MIN_CHARS_LATIN = 3
_LATIN_WORD = re.compile(
    rf"[{LATIN_LETTER}][{LATIN_LETTER}0-9'’\-\.&]*[{LATIN_LETTER}0-9]|[{LATIN_LETTER}]"
)
# A middle initial ("Donald J. Trump"): its full stop ends no clause, and names go without it.
_INITIAL = re.compile(
    rf"\b([{LATIN_UPPER}][{LATIN_LOWER}]+) [{LATIN_UPPER}]\. (?=[{LATIN_UPPER}][{LATIN_LOWER}])"
)
# Where and from whom wire copy opens: "SAN FRANCISCO (AP) — ", "WASHINGTON, Dec 5 (Reuters) -"
_DATELINE = re.compile(
    r"^[A-Z][A-Z.' ]{2,}(?:, [A-Za-z0-9.' ]+)?\s*(?:\([A-Za-z ]+\)\s*)?[—–-]+\s+"
)
# a figure standing as a word of its own: 30, $1, 2.5%, 787-9 (not H200 or Claude 4, which
# open with a letter)
_FIGURE = re.compile(r"(?<!\S)[$€£¥]?\d\S*")
_POSSESSIVE = re.compile(rf"(?<=[{LATIN_LETTER}])['’]s$")
_ROMAN = re.compile(r"^(?:[ivxlcdm]+)$", re.IGNORECASE)
# Headings and references of legal and official English: "Section 4", "Sec. 2", "(a)".
_REFERENCE = re.compile(r"^(?:sec(?:tion)?\.?|subsection|paragraph|part|clause|annex)\b", re.I)
# what kind of document the baseline is, not what it is about: the White House's "Joint
# Statement on United States-Ukraine Meeting" is not about joint statements
_DOCUMENT = re.compile(
    r"^(?:joint |presidential )?(?:executive orders?|statements?|fact sheets?|proclamations?"
    r"|memorand(?:um|a)|press releases?|readouts?|remarks|briefings?|presidential actions?)$",
    re.IGNORECASE,
)
TITLE_BOOST = 1.0
LEAD_BOOST = 0.5
LEAD_PARAGRAPHS = 2
ACRONYM_CHARS = 6  # IEEPA, HTSUS; a shouted headline word (AMERICA’S) is not an acronym
_INNER_WORDS = frozenset({"of", "and", "for", "on", "in"})  # may sit inside a phrase


@functools.lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """yake's English stop list (shipped inside the package), plus reporting verbs."""
    words = set(stopwords("en"))
    words |= {"said", "says", "say", "also", "would", "could", "may", "shall", "will", "one"}
    # dates and the formulas of official English are not subjects
    words |= {m.lower() for m in calendar.month_name[1:] + calendar.day_name[:]}
    words |= {"dated", "daylight", "eastern", "thereof", "hereby", "pursuant", "amended", "herein"}
    return frozenset(words)


@dataclass(frozen=True)
class Phrase:
    text: str  # as written in the article (simplified script for Chinese)
    key: str  # folded
    kind: str  # person, place, body, name, concept
    score: float  # centrality x rarity, before normalising
    count: int
    paragraphs: tuple[int, ...]  # 1-based line numbers it appears in
    parts: tuple[str, ...]  # the words it is made of (Chinese), for dictionary glosses
    in_title: bool


def _latin_phrases(
    paragraph: str, names: frozenset[str], stop: frozenset[str]
) -> Iterable[tuple[str, str, tuple[str, ...], bool]]:
    """Phrases with their kind, words, and whether their clause is set in capitals.
    ``names``: everyday words the article uses as names (see _names_among_words); ``stop``:
    English's stop words and those of the article's language."""
    paragraph = _INITIAL.sub(r"\1 ", paragraph)
    for clause in _pieces(paragraph):
        written = _LATIN_WORD.findall(clause)
        words = _unshouted(written)
        shouted = words != written
        # a possessive ends its noun: a run ending on "Ukraine’s" is a mention of Ukraine
        bare = [_POSSESSIVE.sub("", w) for w in words]
        for i in range(len(words)):
            for n in range(1, MAX_WORDS + 1):
                if i + n > len(words):
                    continue
                run = [*words[i : i + n - 1], bare[i + n - 1]]
                lowered = [w.lower().replace("’", "'") for w in run]  # We’ve = we've
                capitals = all(w[0].isupper() for w in run)
                opens_name = lowered[0] in NAME_ADJECTIVES and n > 1 and capitals
                if (lowered[0] in stop and not opens_name) or lowered[-1] in stop:
                    continue
                if any(w in stop and w not in _INNER_WORDS for w in lowered[1:-1]):
                    continue  # "respect to imports": a clause, not a phrase
                text = " ".join(run)
                if len(text) < MIN_CHARS_LATIN or _ROMAN.match(text) or _REFERENCE.match(text):
                    continue
                if any("." in w and len(w) <= 5 for w in run):
                    continue  # a.m., U.S.C., Sec.: abbreviations, not subjects
                if _clause_like(run, lowered, capitals, stop) and text not in names:
                    continue
                kind = "name" if capitals else "concept"
                yield text, kind, tuple(run), shouted


def _pieces(paragraph: str) -> list[str]:
    """Clauses, and within them the runs between figures: a phrase does not reach across
    "$1" or "30" ("reached $1 billion" makes no "reached billion")."""
    clauses = re.split(r"[,.;:!?()\"“”\[\]—]+\s|\n", paragraph)
    return [piece for clause in clauses for piece in _FIGURE.split(clause)]


def _unshouted(words: list[str]) -> list[str]:
    """The words of a clause set in capitals ("ENSURING AMERICAN SOVEREIGNTY OVER ITS SKIES:"),
    as prose would write them: capitals there say nothing of a name, so only a short word that
    is no everyday English (UAS, FAA) stays an acronym."""
    if len(words) < 2 or not all(w.isupper() for w in words):
        return words
    return [
        w if len(w) <= ACRONYM_CHARS and not dictionary.is_common_english(w) else w.lower()
        for w in words
    ]


def _clause_like(
    run: Sequence[str], lowered: Sequence[str], capitals: bool, stop: frozenset[str]
) -> bool:
    """Word runs that are pieces of a clause, not subjects: "duties imposed", "conditions
    reflected" (a participle closes it), "States in response" (a preposition inside a run
    that is not a name), "Modifying", "Trading" (an everyday word capitalised by a heading)."""
    last = run[-1]
    if len(run) > 1 and last.islower() and last.endswith("ed") and len(last) > 4:
        return True
    if len(run) == 1 and "-" in last and last.rsplit("-", 1)[1].islower():
        return True  # an adjective made on a name (U.S.-based, China-made), not a name
    if len(run) == 1 and last.islower() and dictionary.is_participle(last):
        return True  # "signed", "announced": what happened, not what it is about
    if not capitals and any(w in stop and w not in ("of", "and") for w in lowered[1:-1]):
        return True
    return (
        len(run) == 1
        and capitals
        and not (last.isupper() and len(last) <= ACRONYM_CHARS)
        and dictionary.is_common_english(last)
    )


def extract(
    title: str,
    paragraphs: Sequence[str],
    background: Background,
    limit: int = 40,
    own_stop_words: frozenset[str] = frozenset(),
) -> list[Phrase]:
    """The article's key phrases, most central first. Chinese text is expected in simplified
    script (the caller converts). ``own_stop_words``: those of the article's language when it
    is written in Latin script but not in English."""
    chinese = has_chinese("".join(paragraphs))
    if chinese:
        tallies = chinese_tallies(title, paragraphs)
    else:
        tallies = _latin_tallies(paragraphs, english_stopwords() | own_stop_words)
    folded_title = fold(title)
    # A phrase that occurs once, outside the title, is not a subject of the article.
    kept = {
        k: t
        for k, t in tallies.items()
        if t.count >= 2 or (k in folded_title and t.in_prose and not _headline_clause(t))
    }
    frequency = background.document_frequency(kept)
    spread_max = max((len(t.paragraphs or ()) for t in kept.values()), default=1)
    lead = lead_paragraphs(paragraphs)
    phrases = []
    for key, tally in kept.items():
        spots = tuple(sorted(tally.paragraphs or ()))
        in_title = key in folded_title
        usage = Usage(tally.count, spots, in_title, frequency.get(key, 0))
        score = centrality(usage, lead, spread_max, background.size) * _commonness(tally)
        phrases.append(
            Phrase(tally.text, key, tally.kind, score, tally.count, spots, tally.parts, in_title)
        )
    phrases.sort(key=lambda p: (-p.score, p.key))
    return phrases[:limit]


@dataclass(frozen=True)
class Usage:
    """How an article uses one phrase, and how many documents of ordinary news do."""

    count: int
    paragraphs: tuple[int, ...]
    in_title: bool
    background_documents: int


def centrality(usage: Usage, lead: set[int], spread_max: int, background_size: int) -> float:
    """Repetition x spread over the paragraphs x title and lead x rarity in ordinary news."""
    rarity = math.log((background_size + 1) / (usage.background_documents + 1)) + 0.1
    position = 1.0 + TITLE_BOOST * usage.in_title + LEAD_BOOST * bool(lead & set(usage.paragraphs))
    spread = 0.5 + len(usage.paragraphs) / max(1, spread_max)
    return math.log1p(usage.count) * spread * position * rarity


def _headline_clause(tally: Tally) -> bool:
    """A run of the title that mixes names and lowercase words ("Anthropic acquires Bun",
    "Claude Code reaches") is a piece of the headline's sentence; only the article's own
    repetition would make it a subject."""
    words = [w for w in tally.parts if w.lower() not in _INNER_WORDS]
    if has_chinese(tally.text) or len(words) < 2:
        return False
    return any(w[0].isupper() for w in words) and any(w.islower() for w in words)


def _commonness(tally: Tally) -> float:
    """Below 1 for words of everyday language: jieba's IDF for a Chinese dictionary word
    (时候, 觉得), a single English word that is not a name."""
    if has_chinese(tally.text):
        idf = jieba_idf().get(tally.text)
        return 1.0 if idf is None else min(1.0, idf / JIEBA_TYPICAL_IDF)
    if " " not in tally.text and not (tally.text.isupper() and len(tally.text) <= ACRONYM_CHARS):
        return 0.5  # one English word that is not an acronym (IEEPA) says little alone
    return 1.0


def is_boilerplate(text: str) -> bool:
    """Headings, references and document kinds of official English: roman numerals,
    "Section 4", "Sec.", "Executive Order", "Joint Statement"."""
    return bool(_ROMAN.match(text) or _REFERENCE.match(text) or _DOCUMENT.match(text))


MID_SENTENCE_NAME = 2  # capitalised inside a sentence this often, never in lower case


def _names_among_words(prose: Sequence[str]) -> frozenset[str]:
    """Everyday words the article uses as names: capitalised after a lowercase word at least
    MID_SENTENCE_NAME times and never written in lower case ("acquires Bun", "Bun will"), so
    a company called Bun or Figure is not dropped as the word it also is. ``prose``: the
    paragraphs not set in title case (a heading's capitals say nothing)."""
    capitalised: Counter[str] = Counter()
    alone: set[str] = set()  # once not followed by another capitalised word
    lowercase: set[str] = set()
    for paragraph in prose:
        words = _LATIN_WORD.findall(paragraph)
        for before, word, after in zip(words, words[1:], [*words[2:], ""], strict=False):
            if word.islower():
                lowercase.add(word)
            elif before.islower() and word[0].isupper() and word[1:].islower():
                capitalised[word] += 1
                if not after[:1].isupper() and after not in _INNER_WORDS:
                    alone.add(word)
    # a word only ever seen before another name is a title or a name's first part
    # ("President Trump", "Secretary of Education"), not a name of its own
    return frozenset(
        w
        for w, n in capitalised.items()
        if n >= MID_SENTENCE_NAME and w in alone and w.lower() not in lowercase
    )


def _title_case(paragraph: str) -> bool:
    """A headline or heading set in title case: most words capitalised."""
    words = _LATIN_WORD.findall(paragraph)
    return bool(words) and sum(w[0].isupper() for w in words) > len(words) / 2


def opening_paragraph(paragraphs: Sequence[str]) -> int:
    """The number (from 1) of the first paragraph of prose after the title, where wire copy
    puts its dateline; blank lines between paragraphs and title-case lines are none."""
    return next((n for n, p in enumerate(paragraphs[1:], 2) if p.strip() and not _title_case(p)), 0)


def without_dateline(text: str) -> str:
    """The opening of wire copy without where and from whom it comes ("DUBAI, United Arab
    Emirates — ", "SAN FRANCISCO (AP) — "): a dateline names the place of the report, not a
    subject of it."""
    return _DATELINE.sub("", text)


def _latin_tallies(paragraphs: Sequence[str], stop: frozenset[str]) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    title_case = [_title_case(p) for p in paragraphs]
    names = _names_among_words([p for p, t in zip(paragraphs, title_case, strict=True) if not t])
    first_prose = opening_paragraph(paragraphs)
    for number, (paragraph, headline) in enumerate(zip(paragraphs, title_case, strict=True), 1):
        if number == first_prose:
            paragraph = without_dateline(paragraph)
        for text, kind, parts, shouted in _latin_phrases(paragraph, names, stop):
            # capitals in a title-case line or a shouted run ("HIGHER EDUCATION:") say nothing
            prose = not headline and not shouted
            key = fold(text)
            tally = tallies.get(key)
            if tally is None:
                tally = tallies[key] = Tally(text, kind, parts, 0, set(), prose)
            elif prose and not tally.in_prose:
                # the prose's writing decides name or concept, not a title-case headline's
                # ("Onshoring Production" in the title, "onshoring production" below)
                tally.text, tally.kind, tally.parts, tally.in_prose = text, kind, parts, True
            tally.count += 1
            assert tally.paragraphs is not None
            tally.paragraphs.add(number)
    _merge_plurals(tallies)
    # "United" inside "United States", "Order dated" inside "Executive Order dated"
    extended: Counter[str] = Counter()
    for key, tally in tallies.items():
        words = key.split()
        if len(words) > 1:
            for part in (" ".join(words[:-1]), " ".join(words[1:])):
                extended[part] = max(extended[part], tally.count)
    return {k: t for k, t in tallies.items() if extended.get(k, 0) < EXTENDS * t.count}


def _merge_plurals(tallies: dict[str, Tally]) -> None:
    """ "drones" is a mention of "drone" when the article writes both: one subject, under the
    singular, which matching finds in either form (an alias may take a plural "s")."""
    for key in [k for k in tallies if k.endswith("s") and k[:-1] in tallies]:
        plural, singular = tallies.pop(key), tallies[key[:-1]]
        assert plural.paragraphs is not None
        assert singular.paragraphs is not None
        singular.count += plural.count
        singular.paragraphs |= plural.paragraphs
        singular.in_prose = singular.in_prose or plural.in_prose


def lead_paragraphs(paragraphs: Sequence[str]) -> set[int]:
    numbers = [n for n, p in enumerate(paragraphs, 1) if p]
    return set(numbers[: LEAD_PARAGRAPHS + 1])
