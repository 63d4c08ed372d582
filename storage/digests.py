"""The outbox of digests and alerts: a row is written ``pending`` before anything is sent,
claimed by a conditional UPDATE (``sending``), and marked ``sent`` only after the SMTP server
accepted it. A failed send puts it back to ``pending`` for the next run.

    create_pending ──► pending ──claim()──► sending ──mark_sent()──► sent
                          ▲                    │
                          └───mark_failed()────┘      (also: a claim older than the lease
                                                       is taken over by the next run)
    skipped: a day with nothing to say when empty digests are not sent.
    failed: the server refused it permanently (5xx) MAX_ATTEMPTS times; never tried again.

A claim is won by at most one process (``UPDATE ... WHERE status = 'pending'`` changes one row
or none), so two runs never send the same digest. A process that dies after the server
accepted a message but before ``mark_sent`` leaves a ``sending`` row; once its lease expires it
is sent again. That is the one window where a duplicate can happen; the Message-ID is stable so
mail clients fold the copy away. Losing a digest is never traded for it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from storage.matches import FOLLOW_UP_SELECT, iso_utc, with_sources

PENDING, SENDING, SENT, SKIPPED, FAILED = "pending", "sending", "sent", "skipped", "failed"
# Tries before a digest the server refuses with a 5xx answer is given up (marked failed). A
# refusal may be fixed meanwhile (a size limit raised), so it is not given up at once.
MAX_ATTEMPTS = 3
# How long a claim holds before another run may take the digest over.
CLAIM_LEASE = dt.timedelta(minutes=15)


def create_pending(
    db: Database,
    *,
    kind: str,
    key: str,
    subject: str,
    html: str,
    text: str,
    recipients: Sequence[str],
    message_id: str,
    now: dt.datetime,
    alerted: Iterable[tuple[int, str]] = (),
    status: str = PENDING,
) -> int | None:
    """Record a digest before it is sent; its id, or None if (kind, key) already exists.

    ``alerted`` (article_id, baseline_id) pairs are recorded in the same transaction, so a
    follow-up is in exactly one alert. ``status`` may be ``skipped`` for an empty day."""
    with db.atomic():
        cursor = db.conn.execute(
            """
            INSERT OR IGNORE INTO digests
                (kind, key, status, recipients, subject, message_id, html, text, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                kind,
                key,
                status,
                json.dumps(list(recipients)),
                subject,
                message_id,
                html,
                text,
                iso_utc(now),
            ],
        )
        if cursor.rowcount != 1:
            return None
        digest_id = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "INSERT OR IGNORE INTO alerted (article_id, baseline_id, digest_id) VALUES (?, ?, ?)",
            [(article_id, baseline_id, digest_id) for article_id, baseline_id in alerted],
        )
    return digest_id


def get(db: Database, kind: str, key: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM digests WHERE kind = ? AND key = ?", [kind, key]))
    return _decoded(rows[0]) if rows else None


def keys(db: Database, kind: str) -> set[str]:
    """Every key recorded for ``kind`` (whatever its status)."""
    return {row["key"] for row in db.query("SELECT key FROM digests WHERE kind = ?", [kind])}


def claim(db: Database, digest_id: int, now: dt.datetime) -> bool:
    """Take a digest for sending. True if this caller won it; False if it is sent, or another
    run holds a live claim."""
    stale = iso_utc(now - CLAIM_LEASE)
    with db.atomic():
        cursor = db.conn.execute(
            """
            UPDATE digests SET status = 'sending', claimed_at = ?, attempts = attempts + 1
            WHERE id = ? AND (status = 'pending'
                   OR (status = 'sending' AND julianday(claimed_at) < julianday(?)))
            """,
            [iso_utc(now), digest_id, stale],
        )
    return cursor.rowcount == 1


def mark_sent(db: Database, digest_id: int, message_id: str, now: dt.datetime) -> None:
    with db.atomic():
        db.conn.execute(
            "UPDATE digests SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL "
            "WHERE id = ?",
            [iso_utc(now), message_id, digest_id],
        )


def mark_failed(db: Database, digest_id: int, error: str, *, give_up: bool = False) -> None:
    """Back to pending, with the reason, for the next run; with ``give_up``, failed for good."""
    with db.atomic():
        db.conn.execute(
            "UPDATE digests SET status = ?, claimed_at = NULL, last_error = ? "
            "WHERE id = ? AND status = 'sending'",
            [FAILED if give_up else PENDING, error, digest_id],
        )


def unsent(db: Database, kind: str | None = None) -> list[dict[str, Any]]:
    """Digests not yet sent (pending, or claimed and maybe abandoned), oldest first."""
    sql = "SELECT * FROM digests WHERE status IN ('pending', 'sending')"
    params: list[Any] = []
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return [_decoded(row) for row in db.query(sql + " ORDER BY created_at, id", params)]


def unalerted_matches(db: Database, threshold: float, since: dt.datetime) -> list[dict[str, Any]]:
    """Follow-ups scoring at least ``threshold``, stored at or after ``since``, that no alert
    has covered yet; best first. Same row shape as ``storage.matches.matches_between``."""
    rows = [
        dict(row)
        for row in db.query(
            FOLLOW_UP_SELECT
            + """
            WHERE m.score >= ? AND julianday(a.stored_at) >= julianday(?)
              AND NOT EXISTS (SELECT 1 FROM alerted AS x
                              WHERE x.article_id = m.article_id
                                AND x.baseline_id = m.baseline_id)
            ORDER BY m.score DESC, m.article_id, m.baseline_id
            """,
            [threshold, iso_utc(since)],
        )
    ]
    return with_sources(db, rows)


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["recipients"] = json.loads(row["recipients"] or "[]")
    return row
