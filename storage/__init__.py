"""Persistence: one SQLite database, opened with every migration applied."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import os
import sqlite3
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import sqlite_utils

from monitor.errors import StorageError
from storage.schema import migrations


class _Database(sqlite_utils.Database):
    """sqlite_utils.Database whose outermost ``atomic()`` block takes the write lock at once
    (BEGIN IMMEDIATE). A deferred transaction that reads, then writes, fails at once with
    "database is locked" when another process wrote in between (WAL gives no busy wait for
    that upgrade); taking the lock first makes it wait on the busy timeout instead."""

    @contextlib.contextmanager
    def atomic(self) -> Generator[sqlite_utils.Database, None, None]:
        if self.conn.in_transaction:
            with super().atomic():  # nested: a savepoint
                yield self
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.conn.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.rollback()
                raise


def open_db(path: str | Path) -> sqlite_utils.Database:
    """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        with _migration_lock(path):
            _refuse_emptied(path)
            db = _Database(str(path))
            # The busy timeout rides over the short overlaps between processes; it is set
            # first so that switching to WAL (a moment of exclusive access) waits too.
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA foreign_keys = ON")
            # WAL lets `monitor serve` read while a poll writes.
            if str(path) != ":memory:":
                db.enable_wal()
            migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        if _damaged(exc):
            raise StorageError(f"cannot open database {path}: {exc}", hint=DAMAGED_HINT) from exc
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    return db


DAMAGED_HINT = (
    "the database file is damaged: restore it from a backup, or move it away to start a new"
    " one (the monitor never replaces it by itself)"
)


def _damaged(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def _refuse_emptied(path: str | Path) -> None:
    """An existing database file of 0 bytes held the outbox and articles once: SQLite would
    silently start a new, empty database in it. Refuse; the user decides."""
    if str(path) == ":memory:":
        return
    file = Path(path)
    if file.exists() and file.stat().st_size == 0:
        raise StorageError(
            f"database {file} is empty (0 bytes): refusing to start a new database over it",
            hint="restore it from a backup, or delete the empty file to start afresh",
        )


@contextlib.contextmanager
def _migration_lock(path: str | Path) -> Iterator[None]:
    """Hold ``<database>.migrate.lock`` (waiting for it): two processes starting on a fresh
    data directory would otherwise both create the tables ("table feeds already exists").
    An flock goes away with its process, so a killed start leaves nothing behind."""
    if str(path) == ":memory:":
        yield
        return
    try:
        fd = os.open(f"{path}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        # A read-only data directory: reading the database still works (search), and any
        # write fails on its own with a clear error.
        yield
        return
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
            hint = DAMAGED_HINT if _damaged(exc) else None
            raise StorageError(f"database error: {exc}", hint=hint) from exc
        except OSError as exc:
            if exc.errno in _NO_SPACE:
                raise StorageError(f"no space left to write {exc.filename or 'a file'}") from exc
            raise

    return wrapper
