"""What every command prints, and how a failure reads: terminal-safe text and log lines, one
JSON document, the settings of the command line (and the feed list they name), and
MonitorError as one line and a hint."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import errno
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import click

from monitor import config as config_module
from monitor.config import Settings
from monitor.errors import ConfigError, MonitorError

# Control characters (C0 but tab and newline, DEL, C1) and bidi overrides: a feed title with
# ESC]0;...BEL or ESC[2J would retitle the window or clear the screen when printed.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control or bidi character shown as an escape (\\x1b, \\u202e)."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def print(*values: Any, **kwargs: Any) -> None:
    """Every line this CLI prints goes through terminal_safe: much of it came from feeds."""
    builtins.print(*(terminal_safe(str(value)) for value in values), **kwargs)


class SafeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


def log_lines(level: int = logging.INFO) -> None:
    """Plain timestamped log lines on stderr, for a supervisor or a pipe."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class MonitorGroup(click.Group):
    """Turns MonitorError from any command into `Error: ...` plus a hint, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            message = f"Error: {terminal_safe(str(exc))}"
            if exc.hint:
                message += f"\nHint: {terminal_safe(exc.hint)}"
            raise click.ClickException(message[len("Error: ") :]) from exc
        except OSError as exc:
            # A file the monitor must write is not writable (a read-only or root-owned
            # directory, a full disk): one line naming it, not a traceback.
            where = f": {exc.filename}" if exc.filename else ""
            message = f"{exc.strerror or exc}{where}\nHint: {_os_hint(exc)}"
            raise click.ClickException(terminal_safe(message)) from exc


def _os_hint(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make that path writable by this user (in Docker: by the container's user)"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space and run the command again"
    return "check that the path exists and is a directory where one is expected"


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the --config file and the environment, with command-line overrides."""
    return config_module.load(ctx.obj.get("config_file"), **overrides)


def feeds_file_from(settings: Settings) -> str:
    """The feeds_file setting, or ConfigError when no such file exists."""
    if not Path(settings.feeds_file).is_file():
        raise ConfigError(
            f"feed list not found: {settings.feeds_file}",
            hint="pass --feeds FILE or set feeds_file (see `monitor config`)",
        )
    return settings.feeds_file


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(value: Any) -> None:
    """One JSON document on stdout (dataclasses as objects, times as ISO 8601)."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=_json_default))


JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
