"""Persistence: one SQLite database, opened with every migration applied."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import sqlite_utils

from monitor.errors import StorageError
from storage.schema import migrations


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite_utils.Database(str(path))
        # The busy timeout rides over the short overlaps between processes; it is set first
        # so that switching to WAL (which needs a moment of exclusive access) waits too.
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        with _migration_lock(path):
            # WAL lets `monitor serve` read while a poll writes.
            if str(path) != ":memory:":
                db.enable_wal()
            migrations.apply(db)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    return db


@contextlib.contextmanager
def _migration_lock(path: str | Path) -> Iterator[None]:
    """Hold ``<database>.migrate.lock`` (waiting for it): two processes starting on a fresh
    data directory would otherwise both create the tables ("table feeds already exists").
    An flock goes away with its process, so a killed start leaves nothing behind."""
    if str(path) == ":memory:":
        yield
        return
    fd = os.open(f"{path}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


_P = ParamSpec("_P")
_R = TypeVar("_R")
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def storage_errors(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Database and disk failures (a full disk, a read-only or locked file) leave ``func`` as
    StorageError with the cause kept, so the CLI prints one line and the scheduler logs it.
    Work is written in transactions, so what failed is rolled back and done on the next run."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except sqlite3.Error as exc:
            raise StorageError(f"database error: {exc}") from exc
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise StorageError(f"no space left to write {exc.filename or 'a file'}") from exc
            raise

    return wrapper
