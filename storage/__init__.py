"""Persistence: one SQLite database, opened with every migration applied."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from monitor.errors import StorageError
from storage.schema import migrations


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(str(path))
        # WAL lets `monitor serve` read while a poll writes; the busy timeout rides over
        # the short overlaps between the scheduler's jobs.
        if str(path) != ":memory:":
            db.enable_wal()
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        migrations.apply(db)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    return db
