"""`monitor search`: stored articles by word, with names folded as matching folds them."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import opencc

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.models import Watchlist
from monitor.pipeline.ingest import open_database
from monitor.watchlist import load_watchlists
from storage import articles as stored_articles
from storage import storage_errors
from storage.matches import follow_ups_of

_TW2SP = opencc.OpenCC("tw2sp")
_T2S = opencc.OpenCC("t2s")


def _fold(text: str) -> str:
    """As matching folds names: NFKC, Taiwan and traditional to mainland simplified, case."""
    return " ".join(_TW2SP.convert(unicodedata.normalize("NFKC", text)).casefold().split())


def search_variants(query: str, watchlists: Sequence[Watchlist]) -> list[str]:
    """The query as typed, in simplified Chinese (輝達 -> 英伟达), and, when it is a name a
    watchlist knows, every alias of that name (Nvidia -> 英伟达, 輝達)."""
    variants = [query, _T2S.convert(query), _TW2SP.convert(query)]
    folded = _fold(query)
    for watchlist in watchlists:
        for entity in watchlist.entities:
            aliases = entity.all_aliases()
            if any(_fold(alias) == folded for alias in aliases):
                variants.extend(aliases)
    return list(dict.fromkeys(v for v in variants if v.strip()))


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
        for variant in search_variants(query, watchlists):
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
