"""The connection every table part of PostgresStorage shares, and its small helpers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from monitor.errors import StorageError
from storage.interface import Source

Row = dict[str, Any]


def connect(url: str) -> psycopg.Connection[Row]:
    try:
        return psycopg.connect(
            url, autocommit=True, row_factory=dict_row, options="-c TimeZone=UTC"
        )
    except psycopg.Error as exc:
        raise StorageError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc


class Connected:
    """An autocommit connection with one-call queries and advisory locks."""

    conn: psycopg.Connection[Row]

    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        return self.conn.execute(sql.encode(), params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] | None = None) -> Row | None:
        return self.conn.execute(sql.encode(), params).fetchone()

    def _lock(self, keys: Iterable[str]) -> None:
        """Transaction-scoped locks on ``keys``, taken in one global order (no deadlocks)."""
        self.conn.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM "
            "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k "
            "ORDER BY h) AS locks",
            [sorted({k for k in keys if k})],
        )


def source_of(row: Row) -> Source:
    return Source(row["url"], row["feed_url"], row["source_name"], row["title"], row["seen_at"])
