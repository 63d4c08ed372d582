"""`monitor rematch`: the configured matcher over stored articles, so a new or edited baseline
shows its follow-ups from the history at once.

Exactly what live polling decides: the matcher the poll builds (build_matcher: every watchlist
that loads, the configured relevance model), each stored article matched as polling matched it
when it arrived. Only follow-ups not stored yet are added (once per article and baseline, as
live polling stores them); one already stored, from polling or an earlier rematch, is left as
it is, so running it again changes nothing. Follow-ups it no longer finds are kept: a rematch
adds, it never takes back what a digest may already have shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from monitor.config import Settings
from monitor.errors import WatchlistError
from monitor.pipeline.ingest import build_matcher, chunks
from storage import storage_errors
from storage.backends import open_storage

BATCH = 64  # articles encoded at once: the encoder is much faster on a batch


@dataclass(frozen=True)
class RematchReport:
    articles: int  # stored articles matched
    added: dict[str, int]  # baseline id -> follow-ups stored by this run
    problems: tuple[str, ...] = ()  # watchlists left out of matching, as polling leaves them

    @property
    def total(self) -> int:
        return sum(self.added.values())


@storage_errors
def rematch(
    settings: Settings,
    now: dt.datetime,
    since: dt.datetime | None = None,
    baseline_id: str | None = None,
) -> RematchReport:
    """Match the articles stored at or after ``since`` (all without it) and store the
    follow-ups not stored yet, of every baseline or of ``baseline_id`` only."""
    problems: list[str] = []
    matcher = build_matcher(settings, problems)
    known = {indexed.watchlist.baseline.id for indexed in matcher.indexed}
    if baseline_id is not None and baseline_id not in known:
        raise WatchlistError(
            f"no watchlist of baseline {baseline_id!r} loads",
            hint="`monitor baseline list` shows the ids; `monitor watchlist check` the problems",
        )
    storage = open_storage(settings.database_url, settings.database)
    added: Counter[str] = Counter()
    count = 0
    try:
        for ids in chunks(storage.article_ids_since(since), BATCH):
            stored = [a for a in (storage.get_article(i) for i in ids) if a is not None]
            matched = matcher.match_many([s.article() for s in stored])
            for article, found in zip(stored, matched, strict=True):
                for match in found:
                    if baseline_id in (None, match.baseline_id):
                        added[match.baseline_id] += storage.add_new_matches(
                            article.id, [match], now
                        )
            count += len(stored)
    finally:
        storage.close()
    return RematchReport(count, {b: n for b, n in added.items() if n}, tuple(problems))
