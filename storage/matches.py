"""Follow-ups: which stored article follows up which baseline, with its score and reason.

Window rule of ``matches_between``: a follow-up belongs to the half-open window
``[start, end)`` that contains its article's ``stored_at``, the moment the monitor saw the
article (backfill stores with a past ``now``, so it lands in the day it would have been seen
live). Using ``stored_at`` rather than ``published`` means a late-arriving article with an old
date still reaches a digest, and each follow-up reaches exactly one daily digest.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from sqlite_utils import Database

from monitor.models import Match


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with seconds, the form every timestamp column holds (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC time")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def save_matches(db: Database, article_id: int, matches: Sequence[Match], now: dt.datetime) -> None:
    """Insert or update the follow-ups of one article (one row per baseline).

    Runs inside ``db.atomic()``, so it joins (as a savepoint) a transaction the caller holds
    for the article and its matches, or commits on its own when called alone."""
    rows = [
        {
            "article_id": article_id,
            "baseline_id": match.baseline_id,
            "score": float(match.score),
            "entities": json.dumps(list(match.entities), ensure_ascii=False),
            "paragraph": int(match.paragraph),
            "passage": match.passage,
            "reason": match.reason,
            "matched_at": iso_utc(now),
        }
        for match in matches
    ]
    if not rows:
        return
    with db.atomic():
        db.conn.executemany(
            """
            INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                 passage, reason, matched_at)
            VALUES (:article_id, :baseline_id, :score, :entities, :paragraph,
                    :passage, :reason, :matched_at)
            ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                score = excluded.score,
                entities = excluded.entities,
                paragraph = excluded.paragraph,
                passage = excluded.passage,
                reason = excluded.reason,
                matched_at = excluded.matched_at
            """,
            rows,
        )
