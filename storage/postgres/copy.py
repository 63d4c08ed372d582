"""Move an existing SQLite database into an empty PostgreSQL one (`monitor db copy`): every
feed with its schedule, every article with its id, sources, entries, follow-ups and the
outbox, in one transaction, so a failed copy leaves the target empty."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlite_utils import Database

from monitor.errors import StorageError
from storage import open_db, pages
from storage.postgres import PostgresStorage

# (table, columns holding timestamps); in foreign-key order.
TABLES: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "feeds",
        frozenset(
            {"next_poll_at", "last_polled_at", "added_at", "last_success_at", "failing_since"}
        ),
    ),
    ("articles", frozenset({"published", "stored_at"})),
    ("article_sources", frozenset({"seen_at"})),
    ("entries", frozenset({"seen_at"})),
    ("matches", frozenset({"matched_at"})),
    ("digests", frozenset({"created_at", "sent_at", "claimed_at"})),
    ("alerted", frozenset()),
    ("feedback", frozenset({"given_at"})),
)
BATCH = 1000


@dataclass(frozen=True)
class CopyReport:
    rows: dict[str, int]


def _moment(text: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _rows(db: Any, table: str, columns: list[str], times: frozenset[str]) -> Iterator[list[Any]]:
    cursor = db.execute(f"SELECT {', '.join(columns)} FROM {table}")
    while batch := cursor.fetchmany(BATCH):
        for row in batch:
            yield [
                _moment(value) if name in times else value
                for name, value in zip(columns, row, strict=True)
            ]


def copy_sqlite_to_postgres(sqlite_path: str | Path, database_url: str) -> CopyReport:
    if not Path(sqlite_path).exists():
        raise StorageError(f"no SQLite database at {sqlite_path}")
    source = open_db(sqlite_path)
    try:
        _refuse_pending_pages(source)
    except StorageError:
        source.close()
        raise
    target = PostgresStorage(database_url)
    counts: dict[str, int] = {}
    try:
        row = target.conn.execute("SELECT count(*) AS n FROM feeds").fetchone()
        row2 = target.conn.execute("SELECT count(*) AS n FROM articles").fetchone()
        if (row and row["n"]) or (row2 and row2["n"]):
            raise StorageError(
                "the PostgreSQL database already holds feeds or articles; copy into an empty one",
                hint="create a new database (createdb) and point --to at it",
            )
        with target.conn.transaction(), target.conn.cursor() as cursor:
            for table, times in TABLES:
                wanted = {c.name for c in source.table(table).columns}
                pg_columns = [
                    r["column_name"]
                    for r in target.conn.execute(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_name = %s ORDER BY ordinal_position",
                        [table],
                    ).fetchall()
                ]
                columns = [c for c in pg_columns if c in wanted]
                marks = ", ".join(["%s"] * len(columns))
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                counts[table] = 0
                for batch in _batches(_rows(source, table, columns, times)):
                    cursor.executemany(sql.encode(), batch)
                    counts[table] += len(batch)
            for table in ("articles", "digests"):
                target.conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT max(id) FROM {table}), 1))".encode()
                )
    except psycopg.Error as exc:
        raise StorageError(f"copy to PostgreSQL failed (nothing was copied): {exc}") from exc
    finally:
        source.close()
        target.close()
    return CopyReport(counts)


def _refuse_pending_pages(source: Database) -> None:
    """Pages a poll's budget left for the next poll live only in SQLite (workers fetch each
    page in its own job): copied without them, those articles would keep their feed text
    for good."""
    waiting = pages.count(source)
    if waiting:
        raise StorageError(
            f"{waiting} stored article(s) still wait for their page; copied now, they would"
            " keep only their feed text",
            hint="run `monitor poll` until no page waits (each poll fetches waiting pages"
            " first), then copy",
        )


def _batches(rows: Iterator[list[Any]]) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
