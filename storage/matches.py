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
from typing import Any

from sqlite_utils import Database

from monitor.models import Match


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with seconds, the form every timestamp column holds (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC time")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def save_matches(
    db: Database,
    article_id: int,
    matches: Sequence[Match],
    now: dt.datetime,
    *,
    keep_matched_at: bool = False,
) -> None:
    """Insert or update the follow-ups of one article (one row per baseline). With
    ``keep_matched_at`` a follow-up already stored keeps the moment it was first found (a
    page re-matching an article refreshes its evidence, not its date).

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
            "thread": match.thread,
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
                                 passage, reason, thread, matched_at)
            VALUES (:article_id, :baseline_id, :score, :entities, :paragraph,
                    :passage, :reason, :thread, :matched_at)
            ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                score = excluded.score,
                entities = excluded.entities,
                paragraph = excluded.paragraph,
                passage = excluded.passage,
                reason = excluded.reason,
                thread = excluded.thread,
                matched_at = CASE WHEN :keep THEN matches.matched_at
                                  ELSE excluded.matched_at END
            """,
            [{**row, "keep": keep_matched_at} for row in rows],
        )


def add_new_matches(
    db: Database, article_id: int, matches: Sequence[Match], now: dt.datetime
) -> int:
    """Store the follow-ups of one article that are not stored yet; one already there (live
    polling or an earlier rematch found it) is left as it is. How many were added."""
    added = 0
    with db.atomic():
        for match in matches:
            cursor = db.conn.execute(
                """
                INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                     passage, reason, thread, matched_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (article_id, baseline_id) DO NOTHING
                """,
                [
                    article_id,
                    match.baseline_id,
                    float(match.score),
                    json.dumps(list(match.entities), ensure_ascii=False),
                    int(match.paragraph),
                    match.passage,
                    match.reason,
                    match.thread,
                    iso_utc(now),
                ],
            )
            added += cursor.rowcount
    return added


def count_for(db: Database, article_ids: Sequence[int]) -> int:
    """How many follow-ups the given articles have."""
    total = 0
    for start in range(0, len(article_ids), 500):  # stay under SQLite's variable limit
        chunk = list(article_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        row = db.execute(
            f"SELECT count(*) FROM matches WHERE article_id IN ({marks})", chunk
        ).fetchone()
        total += int(row[0])
    return total


def matches_of(db: Database, article_id: int) -> list[Match]:
    """The follow-ups stored for one article, as the matcher gave them."""
    return [
        Match(
            baseline_id=row["baseline_id"],
            score=float(row["score"]),
            entities=tuple(json.loads(row["entities"] or "[]")),
            paragraph=int(row["paragraph"]),
            passage=row["passage"],
            reason=row["reason"],
            thread=row["thread"],
        )
        for row in db.query(
            "SELECT baseline_id, score, entities, paragraph, passage, reason, thread "
            "FROM matches "
            "WHERE article_id = ? ORDER BY baseline_id",
            [article_id],
        )
    ]


# The follow-up columns plus the article columns a digest or feed shows.
FOLLOW_UP_SELECT = """
    SELECT m.article_id, m.baseline_id, m.score, m.entities, m.paragraph, m.passage,
           m.reason, m.thread, m.matched_at, a.url, a.title, a.text, a.language, a.published,
           a.author, a.feed_url, a.source_name, a.stored_at
    FROM matches AS m JOIN articles AS a ON a.id = m.article_id
"""


def with_sources(db: Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decode the entities JSON and attach each article's sources (every URL a feed gave)."""
    ids = sorted({row["article_id"] for row in rows})
    sources: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for source in db.query(
            f"SELECT article_id, url, feed_url, source_name, title, seen_at "
            f"FROM article_sources WHERE article_id IN ({marks}) ORDER BY seen_at, url",
            chunk,
        ):
            sources.setdefault(source["article_id"], []).append(source)
    for row in rows:
        row["entities"] = json.loads(row["entities"] or "[]")
        row["sources"] = sources.get(row["article_id"], [])
    return rows


def matches_between(db: Database, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Follow-ups whose article was stored in ``[start, end)``, best score first.

    Each row: the ``matches`` columns (``entities`` decoded to a list), the article's url,
    title, text, language, published, author, feed_url, source_name and stored_at, and
    ``sources``: the article's ``article_sources`` rows (other outlets carrying it).
    """
    # julianday() compares instants, so rows written with "Z", "+00:00" or microseconds
    # all sort correctly.
    rows = [
        dict(row)
        for row in db.query(
            FOLLOW_UP_SELECT
            + """
            WHERE julianday(a.stored_at) >= julianday(:start)
              AND julianday(a.stored_at) < julianday(:end)
            ORDER BY m.score DESC, a.stored_at, m.article_id, m.baseline_id
            """,
            {"start": iso_utc(start), "end": iso_utc(end)},
        )
    ]
    return with_sources(db, rows)


def recent_matches(db: Database, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently stored follow-ups, newest first (for the RSS/Atom feed)."""
    rows = [
        dict(row)
        for row in db.query(
            FOLLOW_UP_SELECT
            + " ORDER BY julianday(a.stored_at) DESC, m.article_id DESC, m.baseline_id LIMIT ?",
            [limit],
        )
    ]
    return with_sources(db, rows)


def matches_for_baseline(db: Database, baseline_id: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recently stored follow-ups of one baseline, newest first."""
    rows = [
        dict(row)
        for row in db.query(
            FOLLOW_UP_SELECT
            + " WHERE m.baseline_id = ?"
            + " ORDER BY julianday(a.stored_at) DESC, m.article_id DESC LIMIT ?",
            [baseline_id, limit],
        )
    ]
    return with_sources(db, rows)


def follow_up_counts(db: Database) -> dict[str, int]:
    """Follow-ups stored so far, per baseline."""
    rows = db.execute("SELECT baseline_id, count(*) FROM matches GROUP BY baseline_id").fetchall()
    return {str(baseline_id): int(count) for baseline_id, count in rows}


def latest_follow_up_at(db: Database, before: dt.datetime) -> dt.datetime | None:
    """When the newest follow-up stored before ``before`` was stored, or None."""
    row = db.execute(
        "SELECT max(julianday(a.stored_at)) FROM matches AS m JOIN articles AS a "
        "ON a.id = m.article_id WHERE julianday(a.stored_at) < julianday(?)",
        [iso_utc(before)],
    ).fetchone()
    if not row or row[0] is None:
        return None
    # julianday 2440587.5 is the Unix epoch.
    seconds = (float(row[0]) - 2440587.5) * 86400
    return dt.datetime.fromtimestamp(round(seconds), dt.UTC)


def follow_ups_of(db: Database, article_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The follow-ups of each article: baseline_id, score and reason, best first."""
    found: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(article_ids), 500):  # stay under SQLite's bound-parameter limit
        chunk = list(article_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT article_id, baseline_id, score, reason FROM matches "
            f"WHERE article_id IN ({marks}) ORDER BY score DESC, baseline_id",
            chunk,
        ):
            found.setdefault(int(row["article_id"]), []).append(
                {"baseline_id": row["baseline_id"], "score": row["score"], "reason": row["reason"]}
            )
    return found
