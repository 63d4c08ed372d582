"""Lock files in the data directory, so two processes never run the same job at once."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from monitor.config import Settings
from monitor.errors import StorageError


@contextlib.contextmanager
def exclusive(settings: Settings, name: str) -> Iterator[bool]:
    """Hold ``<data_dir>/<name>.lock`` for the block; yields False at once if another
    process (or thread) holds it. flock locks go away with the process, so a killed run
    never leaves a stale lock behind."""
    directory = Path(settings.data_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StorageError(
            f"cannot write the lock file {directory / f'{name}.lock'}: {exc.strerror}",
            hint="data_dir must be a writable directory (in Docker: owned by the container user)",
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
