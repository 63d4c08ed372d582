"""The Storage contract on PostgreSQL (psycopg 3), for several workers sharing one database.

Each method is one transaction on an autocommit connection. Writers that could race (two
workers storing the same story from two feeds) take transaction-scoped advisory locks on
the entry, every URL and the fingerprint they are about to look up, in one sorted order, so
the look-up and the insert are atomic across workers without locking whole tables.
"""

from __future__ import annotations

import psycopg

from monitor.errors import StorageError
from storage.postgres import schema
from storage.postgres.articles import ArticleTable
from storage.postgres.base import Row, connect
from storage.postgres.feeds import FeedTable
from storage.postgres.outbox import CLAIM_LEASE, OutboxTable

__all__ = ["CLAIM_LEASE", "PostgresStorage", "Row", "connect"]


class PostgresStorage(FeedTable, ArticleTable, OutboxTable):
    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = connect(url)
        try:
            schema.apply(self.conn)
        except psycopg.Error as exc:
            self.conn.close()
            raise StorageError(f"cannot migrate the PostgreSQL database: {exc}") from exc

    def close(self) -> None:
        self.conn.close()
