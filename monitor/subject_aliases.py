"""The aliases of a subject read from the article, in English and both Chinese scripts, from
CC-CEDICT and opencc; and the name a watchlist shows for it."""

from __future__ import annotations

import functools

from monitor import dictionary
from monitor.chinese_phrases import is_everyday_chinese
from monitor.keyphrases import Phrase
from monitor.names import unique
from monitor.text import convert, has_chinese


@functools.lru_cache(maxsize=1)
def jieba_frequency() -> dict[str, int]:
    import jieba

    jieba.initialize()
    return dict(jieba.dt.FREQ)


def display_name(phrase: Phrase, aliases: dict[str, tuple[str, ...]]) -> str:
    english = aliases.get("en", ())
    # a gloss composed word by word ("human form robot") reads worse than the article's word
    glossed = english and english[0] in dictionary.english(phrase.text)
    if has_chinese(phrase.text) and glossed and phrase.kind == "concept":
        return f"{english[0]} ({phrase.text})"
    return phrase.text


def in_both_scripts(simplified: str) -> dict[str, tuple[str, ...]]:
    """A simplified Chinese name as aliases in both scripts: traditional characters, and
    Taiwan's wording where it differs."""
    return {
        "zh-Hans": (simplified,),
        "zh-Hant": unique([convert(simplified, "s2t"), convert(simplified, "s2twp")]),
    }


def subject_aliases(phrase: Phrase) -> dict[str, tuple[str, ...]]:
    if has_chinese(phrase.text):
        # an English word that renders a dozen Chinese ones (model, lead) finds other news
        english = [e for e in dictionary.english(phrase.text) if not dictionary.is_ambiguous(e)]
        if not english and phrase.kind == "concept":
            composed = dictionary.compose(list(phrase.parts))
            english = [composed] if composed else []
        result = in_both_scripts(phrase.text)
        if english:
            result["en"] = tuple(english)
        return result
    if (
        phrase.kind == "name"
        and " " not in phrase.text
        and dictionary.is_common_english(phrase.text)
    ):
        # an everyday word the article uses as a name (Bun, the company): its dictionary
        # senses (小面包, a bread roll) would find other things; what the dictionary gives
        # for it as a name (Turkey: 土耳其, not 火鸡) is the name
        chinese = dictionary.chinese_name(phrase.text, jieba_frequency())
    elif dictionary.is_ambiguous(phrase.text):
        chinese = []  # an English word that renders a dozen Chinese ones: which one is meant?
    else:
        chinese = dictionary.chinese(phrase.text, jieba_frequency())
    if phrase.kind == "concept":
        # an everyday Chinese word (方面 for "sides") finds every story
        chinese = [c for c in chinese if not is_everyday_chinese(c)]
    result = {"en": (phrase.text,)}
    if chinese:
        result["zh-Hans"] = tuple(chinese)
        result["zh-Hant"] = unique([convert(c, s) for c in chinese for s in ("s2t", "s2twp")])
    return result
