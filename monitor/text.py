"""The one text normal form that phrases are compared in: NFKC (full-width forms), case-folded,
Chinese in simplified characters with mainland wording (opencc tw2sp: 晶片 -> 芯片), no space
next to a Chinese character (華為昇騰 910C == 华为昇腾910c), single spaces."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

import opencc

# Chinese characters: the unified ideographs, extension A and the compatibility block
CJK_RANGE = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Latin letters with their accents (Latin-1, Extended-A and -B, Vietnamese), by case, for the
# patterns that read English names and words: "Sánchez" and "Lula da Silva's Inácio" are one
# word each, not "S" + "nchez". Built from Unicode's categories because re has no \p{Lu}.
_LATIN_BLOCKS = (range(0x00C0, 0x0250), range(0x1E00, 0x1F00))


def _latin(category: str) -> str:
    return "".join(
        chr(code)
        for block in _LATIN_BLOCKS
        for code in block
        if unicodedata.category(chr(code)) == category
    )


_ACCENTED_UPPER = _latin("Lu")
_ACCENTED_LOWER = _latin("Ll")
LATIN_UPPER = "A-Z" + _ACCENTED_UPPER  # for a character class: [{LATIN_UPPER}]
LATIN_LOWER = "a-z" + _ACCENTED_LOWER
LATIN_LETTER = LATIN_UPPER + LATIN_LOWER
_ACCENTED = frozenset(_ACCENTED_UPPER + _ACCENTED_LOWER)
_CJK_CHAR = re.compile(f"[{CJK_RANGE}]")
_SPACE_NEAR_CJK = re.compile(rf"\s+(?=[{CJK_RANGE}])|(?<=[{CJK_RANGE}])\s+")
_SPACES = re.compile(r"\s+")


@functools.lru_cache(maxsize=8)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def convert(text: str, config: str) -> str:
    """opencc conversion: t2s, s2t, s2twp (Taiwan phrases) or tw2sp (mainland phrases)."""
    return str(_converter(config).convert(text))


def fold(text: str) -> str:
    """The normal form: what derive, match, search, dedupe and stories compare."""
    return _tidy(convert(unicodedata.normalize("NFKC", text).casefold(), "tw2sp"))


def _tidy(text: str) -> str:
    text = _SPACE_NEAR_CJK.sub("", text)
    return _SPACES.sub(" ", text).strip()


def fold_forms(phrase: str) -> set[str]:
    """Every folded form a phrase (an alias) is searched under in folded text: ``fold``, and
    the forms with traditional characters only made simplified (t2s) and with none changed,
    for the phrases that opencc's mainland wording would rewrite differently on their own than
    inside a sentence."""
    base = unicodedata.normalize("NFKC", phrase).casefold()
    return {fold(phrase), _tidy(convert(base, "t2s")), _tidy(base)}


def alphanumeric(text: str) -> str:
    """The folded text's letters and digits only: what survives re-typesetting."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def has_chinese(text: str) -> bool:
    return bool(_CJK_CHAR.search(text))


def chinese_share(text: str) -> float:
    return len(_CJK_CHAR.findall(text)) / max(1, len(text))


def is_word_char(ch: str) -> bool:
    """A Latin letter (accented too) or digit: what a Latin-script key's edges must not
    touch ("nchez" is not in "sánchez")."""
    return (ch.isascii() and ch.isalnum()) or ch in _ACCENTED


def on_word_edges(text: str, start: int, end: int, key: str) -> bool:
    """``key`` at text[start:end] is whole: a Latin-script edge of it touches no other letter
    or digit ("amd" is not in "amdocs"), except a plural "s" that ends the word ("gpus",
    "h20s"; not "chip" in "chipsets"). Chinese needs no edges."""
    if is_word_char(key[0]) and start > 0 and is_word_char(text[start - 1]):
        return False
    if is_word_char(key[-1]) and end < len(text) and is_word_char(text[end]):
        return text[end] == "s" and not (end + 1 < len(text) and is_word_char(text[end + 1]))
    return True


_IN_CAPITALS = re.compile(r"[A-Z]{2,6}")  # an alias that is an acronym: US, WHO, AMD
_WORD_IN_CAPITALS = re.compile(r"(?<![A-Za-z])[A-Z]{2,6}(?![a-z])")


def words_in_capitals(text: str) -> frozenset[str]:
    """The words of two to six letters ``text`` writes in capitals (US, WHO), folded: an alias
    in capitals names only these ("all of us" is not the US)."""
    normal = unicodedata.normalize("NFKC", text)  # ＡＭＤ is AMD
    return frozenset(w.casefold() for w in _WORD_IN_CAPITALS.findall(normal))


def only_in_capitals(keyed: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Of (folded key, alias) pairs, the keys whose every alias is written in capitals: an
    acronym (US) that is another word in lower case (us)."""
    flags: dict[str, set[bool]] = defaultdict(set)
    for key, alias in keyed:
        flags[key].add(bool(_IN_CAPITALS.fullmatch(alias)))
    return frozenset(key for key, seen in flags.items() if seen == {True})
