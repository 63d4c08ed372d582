"""`monitor search`: stored articles by word, in any writing of the names matching knows.

The query is searched as typed and in its variants: the other Chinese scripts and regional
wording (輝達 / 英伟达, 晶片 / 芯片), Chinese and Latin split into words ("昇腾910C" also finds
"昇腾 910C"), and, when the query is a name the watchlists or the curated alias data know
(compared in the one normal form, monitor.text.fold), every plain alias of that name: "Nvidia"
finds articles that only say 英伟达 or 輝達. Both storage backends search the words as given.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from monitor.alias_data import ALIASES_FILE, load_aliases
from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.models import KnownName, Watchlist
from monitor.names import known_aliases
from monitor.pipeline.ingest import open_database
from monitor.text import CJK_RANGE, convert, fold
from monitor.vocabulary import PlainAlias
from monitor.watchlist import load_watchlists
from storage import articles as stored_articles
from storage import storage_errors
from storage.matches import follow_ups_of

# Where Chinese meets a Latin letter or a digit: words of their own in a search.
_SCRIPT_EDGE = re.compile(f"(?<=[{CJK_RANGE}])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[{CJK_RANGE}])")
_SCRIPT_CONFIGS = ("t2s", "tw2sp", "s2t", "s2twp")


def search_variants(
    query: str, watchlists: Sequence[Watchlist], known: Sequence[KnownName] = ()
) -> list[str]:
    """The query as typed, in the other Chinese scripts, and, when it is a name a watchlist
    or the curated alias data knows, every plain alias of that name; each also with Chinese
    and Latin split into words. The query itself comes first."""
    typed = unicodedata.normalize("NFKC", query)
    variants = [query, typed, *(convert(typed, config) for config in _SCRIPT_CONFIGS)]
    folded = fold(query)
    for names in _name_sets(watchlists, known):
        if any(fold(name) == folded for name in names):
            variants.extend(names)
    spaced = [_SCRIPT_EDGE.sub(" ", v) for v in variants]
    return list(dict.fromkeys(v for v in [*variants, *spaced] if v.strip()))


def _name_sets(
    watchlists: Sequence[Watchlist], known: Sequence[KnownName]
) -> Iterable[tuple[str, ...]]:
    """Every name with its plain aliases ("<all>" patterns are not words to search for)."""
    for watchlist in watchlists:
        for entity in watchlist.entities:
            yield tuple(t.text for t in entity.terms if isinstance(t, PlainAlias))
    for name in known:
        yield (name.name, *(a for aliases in known_aliases(name).values() for a in aliases))


def _known_names(settings: Settings) -> tuple[KnownName, ...]:
    try:
        return load_aliases(Path(settings.watchlists_dir) / ALIASES_FILE).names
    except (MonitorError, OSError):
        return ()  # a broken alias file must not stop a search


@storage_errors
def search_articles(settings: Settings, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Stored articles containing every word of ``query`` (or of one of its variants, see
    search_variants), best first, each with its source and the baselines it follows up."""
    try:
        watchlists = load_watchlists(settings.watchlists_dir)
    except (MonitorError, OSError):
        watchlists = []  # search still works on the words as typed
    db = open_database(settings)
    try:
        found: dict[int, dict[str, Any]] = {}
        for variant in search_variants(query, watchlists, _known_names(settings)):
            for row in stored_articles.search(db, variant, limit):
                found.setdefault(int(row["id"]), dict(row))
            if len(found) >= limit:
                break
        rows = list(found.values())[:limit]
        follows = follow_ups_of(db, [int(row["id"]) for row in rows])
        for row in rows:
            row["follow_ups"] = follows.get(int(row["id"]), [])
        return rows
    finally:
        db.close()
