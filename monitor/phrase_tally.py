"""A phrase counted while a baseline's key phrases are read: by monitor.keyphrases from English
text, by monitor.chinese_phrases from Chinese."""

from __future__ import annotations

from dataclasses import dataclass

# a phrase that runs on into the same character or word (either side) this often is a fragment
EXTENDS = 0.8


@dataclass
class Tally:
    text: str
    kind: str
    parts: tuple[str, ...]
    count: int = 0
    paragraphs: set[int] | None = None
    # seen outside title-case lines (headlines, headings), where capitals say nothing of a name
    in_prose: bool = True
