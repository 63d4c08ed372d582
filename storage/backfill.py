"""Backfill progress: which units of a run are done, so a killed run resumes where it stopped.

A run is keyed by its source and window. Finishing a run marks it finished; running the same
backfill again afterwards starts a fresh pass (which adds nothing, since entries already
handled are skipped), while an unfinished run skips the units it has already done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence

from sqlite_utils import Database

from storage import matches


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def start_run(
    db: Database, key: str, source: str, since: dt.date, until: dt.date, now: dt.datetime
) -> bool:
    """Open the run ``key``; True if it resumes an unfinished run (its done units count)."""
    with db.atomic():
        rows = list(db.query("SELECT finished_at FROM backfill_runs WHERE key = ?", [key]))
        if rows and rows[0]["finished_at"] is None:
            return True
        db.execute("DELETE FROM backfill_units WHERE run_key = ?", [key])
        db.execute(
            """
            INSERT INTO backfill_runs (key, source, since, until, started_at, finished_at)
            VALUES (?, ?, ?, ?, ?, NULL)
            ON CONFLICT (key) DO UPDATE SET started_at = excluded.started_at, finished_at = NULL
            """,
            [key, source, since.isoformat(), until.isoformat(), _iso(now)],
        )
    return False


def done_units(db: Database, key: str) -> set[str]:
    return {
        row["unit"] for row in db.query("SELECT unit FROM backfill_units WHERE run_key = ?", [key])
    }


def mark_unit_done(db: Database, key: str, unit: str, items: int, now: dt.datetime) -> None:
    with db.atomic():
        db.execute(
            """
            INSERT OR REPLACE INTO backfill_units (run_key, unit, items, done_at)
            VALUES (?, ?, ?, ?)
            """,
            [key, unit, items, _iso(now)],
        )


def finish_run(db: Database, key: str, now: dt.datetime) -> None:
    with db.atomic():
        db.execute("UPDATE backfill_runs SET finished_at = ? WHERE key = ?", [_iso(now), key])


def count_matches(db: Database, article_ids: Sequence[int]) -> int:
    """How many follow-ups the given articles have."""
    return matches.count_for(db, article_ids)


def follow_up_times(db: Database, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """When the articles with follow-ups stored in [start, end) were stored."""
    rows = db.execute(
        """
        SELECT DISTINCT articles.stored_at FROM matches
        JOIN articles ON articles.id = matches.article_id
        WHERE articles.stored_at >= ? AND articles.stored_at < ?
        """,
        [_iso(start), _iso(end)],
    ).fetchall()
    return [dt.datetime.fromisoformat(row[0]) for row in rows]


@contextlib.contextmanager
def bulk_writes(db: Database) -> Iterator[None]:
    """Commits without waiting for fsync while the block runs (``synchronous = NORMAL``; the
    database is in WAL mode). A crash cannot corrupt the database; a power cut may lose the
    last commits, which a resumed backfill simply does again."""
    previous = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        db.execute(f"PRAGMA synchronous = {int(previous)}")
