"""The stop words of the Latin-script languages yake ships lists for, and which of those
languages a text is written in: a German or Spanish baseline read with English stop words made
subjects of "und", "den" and "los". Pure; the lists are read once from the yake package."""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path

from monitor.text import LATIN_LETTER

# yake's file suffix -> BCP 47 tag, for the languages written in Latin script (its Slovak and
# Lithuanian lists are in legacy encodings, and short: left out)
LANGUAGES = {
    "en": "en",
    "de": "de",
    "fr": "fr",
    "es": "es",
    "it": "it",
    "pt": "pt",
    "nl": "nl",
    "da": "da",
    "sv": "sv",
    "no": "no",
    "fi": "fi",
    "pl": "pl",
    "cz": "cs",
    "sl": "sl",
    "hr": "hr",
    "ro": "ro",
    "hu": "hu",
    "tr": "tr",
    "id": "id",
    "et": "et",
    "lv": "lv",
}
SAMPLE_WORDS = 400
MIN_WORDS = 30  # a headline alone ("The quant shop — AI lab convergence") is too short to tell
# Another language wins only with clearly more of its stop words than English has: lists
# share short words ("in", "die", "de"), and English is the default of the sources.
MARGIN = 1.5
_WORD = re.compile(rf"[{LATIN_LETTER}]+")


@functools.cache
def stopwords(tag: str) -> frozenset[str]:
    """The stop list of a language (a BCP 47 tag), lower case; empty for one yake lacks."""
    import yake

    suffix = next((k for k, v in LANGUAGES.items() if v == tag), None)
    if suffix is None:
        return frozenset()
    path = Path(yake.__file__).parent / "core" / "StopwordsList" / f"stopwords_{suffix}.txt"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    return frozenset(w.strip().lower() for w in text.split() if w.strip())


def latin_language(text: str) -> str:
    """The language of a Latin-script text, by whose stop words its words are: 'en' unless
    another language's list covers clearly more of them."""
    sample = _WORD.findall(text)[:SAMPLE_WORDS]
    if len(sample) < MIN_WORDS:
        return "en"
    words = Counter(w.lower() for w in sample)
    hits = {
        tag: sum(n for w, n in words.items() if w in stopwords(tag)) for tag in LANGUAGES.values()
    }
    best = max(hits, key=lambda tag: hits[tag])
    return best if best != "en" and hits[best] > MARGIN * hits["en"] else "en"
