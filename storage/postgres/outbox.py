"""PostgresStorage's outbox: digests and alerts sent once, claimed under a lease."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from storage.interface import (
    NewDigest,
    OutboxRow,
)
from storage.postgres.base import Connected, Row

CLAIM_LEASE = dt.timedelta(minutes=15)  # as storage.digests.CLAIM_LEASE


def _outbox(row: Row) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        kind=row["kind"],
        key=row["key"],
        status=row["status"],
        recipients=tuple(json.loads(row["recipients"] or "[]")),
        subject=row["subject"],
        message_id=row["message_id"],
        html=row["html"],
        text=row["text"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
    )


class OutboxTable(Connected):
    """Pending and sent messages, each claimed before it is sent."""

    def create_pending(self, digest: NewDigest, now: dt.datetime) -> int | None:
        with self.conn.transaction():
            row = self._one(
                """
                INSERT INTO digests (kind, key, status, recipients, subject, message_id, html,
                                     text, created_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (kind, key) DO NOTHING RETURNING id
                """,
                [
                    digest.kind,
                    digest.key,
                    digest.status,
                    json.dumps(list(digest.recipients)),
                    digest.subject,
                    digest.message_id,
                    digest.html,
                    digest.text,
                    now,
                ],
            )
            if row is None:
                return None
            digest_id = int(row["id"])
            for article_id, baseline_id in digest.alerted:
                self.conn.execute(
                    "INSERT INTO alerted (article_id, baseline_id, digest_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [article_id, baseline_id, digest_id],
                )
        return digest_id

    def outbox_keys(self, kind: str) -> set[str]:
        return {row["key"] for row in self._all("SELECT key FROM digests WHERE kind = %s", [kind])}

    def get_outbox(self, kind: str, key: str) -> OutboxRow | None:
        row = self._one("SELECT * FROM digests WHERE kind = %s AND key = %s", [kind, key])
        return _outbox(row) if row else None

    def unsent(self, kind: str | None = None) -> list[OutboxRow]:
        sql = "SELECT * FROM digests WHERE status IN ('pending', 'sending')"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind = %s"
            params.append(kind)
        return [_outbox(row) for row in self._all(sql + " ORDER BY created_at, id", params)]

    def claim_outbox(self, digest_id: int, now: dt.datetime) -> bool:
        cursor = self.conn.execute(
            """
            UPDATE digests SET status = 'sending', claimed_at = %s, attempts = attempts + 1
            WHERE id = %s AND (status = 'pending' OR (status = 'sending' AND claimed_at < %s))
            """,
            [now, digest_id, now - CLAIM_LEASE],
        )
        return cursor.rowcount == 1

    def mark_sent(self, digest_id: int, message_id: str, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE digests SET status = 'sent', sent_at = %s, message_id = %s, "
            "last_error = NULL WHERE id = %s",
            [now, message_id, digest_id],
        )

    def mark_failed(self, digest_id: int, error: str, *, give_up: bool = False) -> None:
        """Back to pending for the next run; with ``give_up``, failed for good."""
        self.conn.execute(
            "UPDATE digests SET status = %s, claimed_at = NULL, last_error = %s "
            "WHERE id = %s AND status = 'sending'",
            ["failed" if give_up else "pending", error, digest_id],
        )
