"""Which backend a ``database_url`` names: empty (the SQLite file of ``db_path``),
``sqlite:///path/to/monitor.db``, or ``postgresql://user@host:port/dbname``."""

from __future__ import annotations

from pathlib import Path

from monitor.errors import ConfigError
from storage.interface import Storage


def open_storage(database_url: str, sqlite_path: str | Path) -> Storage:
    """The Storage for ``database_url``, migrated; SQLite at ``sqlite_path`` when empty."""
    if not database_url:
        from storage.sqlite import SqliteStorage

        return SqliteStorage(sqlite_path)
    if database_url.startswith("sqlite:///"):
        from storage.sqlite import SqliteStorage

        return SqliteStorage(database_url[len("sqlite:///") :])
    if database_url.startswith(("postgresql://", "postgres://")):
        from storage.postgres import PostgresStorage

        return PostgresStorage(database_url)
    raise ConfigError(
        f"database_url must start with postgresql:// or sqlite:///, not {database_url[:20]!r}",
        hint="leave database_url empty for the SQLite file at db_path",
    )
