"""The background: a shipped sample of ordinary news (titles and leads, monitor/data/
background.jsonl.gz, built by benchmarks/build_background.py) that says what is usual, so
derivation can tell a baseline's own subjects from words every story uses."""

from __future__ import annotations

import functools
import gzip
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import ahocorasick

from monitor.text import fold, on_word_edges


@dataclass(frozen=True)
class Background:
    """Ordinary news: how many of its documents contain a folded phrase."""

    documents: tuple[str, ...]  # folded title + lead

    @functools.cached_property
    def size(self) -> int:
        return len(self.documents)

    def document_frequency(self, phrases: Iterable[str]) -> dict[str, int]:
        keys = {p for p in phrases if p}
        if not keys or not self.documents:
            return dict.fromkeys(keys, 0)
        automaton = ahocorasick.Automaton()
        for key in keys:
            automaton.add_word(key, key)
        automaton.make_automaton()
        counts: Counter[str] = Counter()
        for document in self.documents:
            found = {
                key
                for end, key in automaton.iter(document)
                if on_word_edges(document, end - len(key) + 1, end + 1, key)
            }
            counts.update(found)
        return {key: counts.get(key, 0) for key in keys}


BACKGROUND_FILE = Path(__file__).parent / "data" / "background.jsonl.gz"


def default_background() -> Background:
    """The sample of ordinary news shipped with the package."""
    return load_background(str(BACKGROUND_FILE))


def read_background(path: str | Path) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@functools.lru_cache(maxsize=4)
def load_background(path: str) -> Background:
    rows = read_background(path)
    return Background(tuple(fold(f"{r['title']} {r.get('lead', '')}") for r in rows))
