"""Immutable values that cross stage boundaries. Stages add fields here, never globals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Writing systems an alias can be in.
SCRIPTS = ("en", "zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class Baseline:
    id: str
    title: str
    language: str  # "en", "zh-Hans", "zh-Hant", or any BCP 47 tag
    published: dt.date | None
    path: str  # text file, relative to the watchlists directory
    source_url: str = ""
    author: str = ""
    outlet: str = ""


@dataclass(frozen=True)
class Passage:
    """Where an entity appears in a baseline (1-based paragraph and sentence)."""

    paragraph: int
    sentence: int
    text: str = ""


@dataclass(frozen=True)
class Entity:
    name: str  # canonical name, English where one is known
    type: str  # company, person, product, model, policy, body, place, concept
    weight: float  # 0..1, how central to the baseline
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # script -> names
    passages: tuple[Passage, ...] = ()
    reviewed: bool = True  # False: found in the text, unknown to the curated alias data

    def all_aliases(self) -> tuple[str, ...]:
        names = [self.name]
        for script in self.aliases:
            names.extend(self.aliases[script])
        return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True)
class Watchlist:
    baseline: Baseline
    entities: tuple[Entity, ...]
    paragraphs: tuple[str, ...] = ()  # the baseline text, one paragraph each, for reasons


@dataclass(frozen=True)
class Feed:
    url: str  # http(s) URL or a local file path
    name: str = ""
    language: str = ""
    interval_minutes: int = 60


@dataclass(frozen=True)
class Fetched:
    url: str  # final URL after redirects
    status: int  # 304 means not modified, body empty
    headers: dict[str, str]
    body: bytes
    text: str | None = None  # decoded body, when the fetcher decoded it
    encoding: str | None = None


@dataclass(frozen=True)
class Entry:
    feed_url: str
    guid: str
    link: str
    title: str
    summary: str
    published: dt.datetime | None
    language: str = ""
    author: str = ""


@dataclass(frozen=True)
class Article:
    url: str  # canonical URL
    title: str
    text: str
    language: str
    published: dt.datetime | None
    author: str = ""
    feed_url: str = ""
    source_name: str = ""
    extract_error: str = ""  # why the page text could not be used, if it could not


@dataclass(frozen=True)
class Match:
    baseline_id: str
    score: float
    entities: tuple[str, ...]
    paragraph: int  # the baseline paragraph it follows up (1-based)
    passage: str  # that paragraph's text, or its key sentence
    reason: str
