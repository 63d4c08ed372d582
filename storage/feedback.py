"""Feedback: a reader's verdict on whether an article follows up a baseline (SQLite side of
Storage.save_feedback / all_feedback). One row per article and baseline, the latest verdict
kept. Rows name baselines by id and never the watchlist's content, so re-deriving a
watchlist keeps them."""

from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from storage.interface import Feedback
from storage.matches import iso_utc


def save_feedback(db: Database, feedback: Feedback) -> bool:
    with db.atomic():
        if db.execute("SELECT 1 FROM articles WHERE id = ?", [feedback.article_id]).fetchone():
            db.execute(
                """
                INSERT INTO feedback (article_id, baseline_id, verdict, given_at)
                VALUES (?, ?, ?, ?)
                ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                    verdict = excluded.verdict, given_at = excluded.given_at
                """,
                [
                    feedback.article_id,
                    feedback.baseline_id,
                    "right" if feedback.right else "wrong",
                    iso_utc(feedback.given_at),
                ],
            )
            return True
    return False


def all_feedback(db: Database) -> list[Feedback]:
    rows = db.execute(
        "SELECT article_id, baseline_id, verdict, given_at FROM feedback "
        "ORDER BY given_at, article_id, baseline_id"
    ).fetchall()
    return [
        Feedback(int(a), str(b), verdict == "right", dt.datetime.fromisoformat(given))
        for a, b, verdict, given in rows
    ]
