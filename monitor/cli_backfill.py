"""`monitor backfill`: a past period through the same code as live, with a progress bar on a
terminal. Added by cli.py."""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import click

from monitor import cli_summaries, pipeline, scheduler, timeutil
from monitor.cli_output import (
    JSON_OPTION,
    feeds_file_from,
    log_lines,
    print,
    print_json,
    settings_from,
)
from monitor.errors import ConfigError


class _Progress:
    """A rich progress bar on a terminal, a log line per unit otherwise."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.bar = Progress(
                TextColumn("backfill"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(
                    "{task.fields[articles]} new articles, {task.fields[follow_ups]} follow-ups"
                ),
                transient=False,
            )
            self.task = self.bar.add_task("backfill", total=None, articles=0, follow_ups=0)

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, done: pipeline.BackfillProgress) -> None:
        if self.bar is None:
            total = f"/{done.units_total}" if done.units_total is not None else ""
            logging.getLogger("monitor.backfill").info(
                "%s%s done: %s (so far: %s entries, %s new articles, %s follow-ups)",
                done.units_done,
                total,
                done.unit,
                done.entries,
                done.new_articles,
                done.follow_ups,
            )
            return
        self.bar.update(
            self.task,
            completed=done.units_done,
            total=done.units_total,
            articles=done.new_articles,
            follow_ups=done.follow_ups,
        )


@click.command("backfill")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day.")
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Last day, included (default: today in the configured timezone).",
)
@click.option("--feeds", "feeds_file", type=click.Path(dir_okay=False), help="Feed list.")
@click.option(
    "--urls", "urls_file", type=click.Path(dir_okay=False), help="Article URLs, one a line."
)
@click.option(
    "--archive", "archive_dir", type=click.Path(file_okay=False), help="Folder of saved feeds."
)
@click.option("--send", is_flag=True, help="Email the digests of the covered days.")
@JSON_OPTION
@click.pass_context
def backfill_command(
    ctx: click.Context,
    since: dt.datetime,
    until: dt.datetime | None,
    feeds_file: str | None,
    urls_file: str | None,
    archive_dir: str | None,
    send: bool,
    as_json: bool,
) -> None:
    """Process a past period through the same code as live, each item with its own published
    time as "now", then write the digests of the covered days. Idempotent; a killed run
    resumes where it stopped. Source: --feeds (default: the feeds_file setting; RFC 5005
    archives are followed), --urls or --archive.

    \b
    Example:
        monitor backfill --since 2026-01-27 --until 2026-02-01 --archive saved-feeds/
    """
    chosen = [(k, v) for k, v in (("urls", urls_file), ("archive", archive_dir)) if v]
    if feeds_file:
        chosen.insert(0, ("feeds", feeds_file))
    if len(chosen) > 1:
        raise click.UsageError("give one of --feeds, --urls and --archive")
    settings = settings_from(ctx)
    kind, path = chosen[0] if chosen else ("feeds", feeds_file_from(settings))
    if not Path(path).exists():
        raise ConfigError(f"not found: {path}", hint=f"check the --{kind} path")
    now = dt.datetime.now(dt.UTC)
    last = until.date() if until else timeutil.local_day(now, settings.timezone)
    if last < since.date():
        raise click.UsageError("--until is before --since")
    log_lines()
    stop = threading.Event()
    # SIGTERM or Ctrl-C ends the backfill after the item in hand; run it again to resume.
    with _Progress() as progress, scheduler.stop_on_signals(stop):
        report = pipeline.run_backfill(
            settings,
            since.date(),
            last,
            pipeline.BackfillSource(kind, path),
            send=send,
            now=now,
            on_progress=progress,
            stop=stop,
        )
    if as_json:
        print_json(report)
    else:
        for line in cli_summaries.backfill_lines(report):
            print(line)
    if report.stopped:
        ctx.exit(130)


COMMANDS = (backfill_command,)
