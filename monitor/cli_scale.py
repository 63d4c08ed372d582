"""The scale-out commands: `monitor dispatch` (the one scheduler), `monitor worker`,
`monitor status` and `monitor db copy`. Kept apart from cli.py, which adds them."""

from __future__ import annotations

import datetime as dt
import logging

import click

from monitor.cli_output import settings_from


@click.command("dispatch")
@click.option("--once", is_flag=True, help="Enqueue the due jobs once and exit.")
@click.pass_context
def dispatch_command(ctx: click.Context, once: bool) -> None:
    """The one scheduler of the scale-out setup: every poll_tick_seconds, enqueue a poll job
    per due feed and a deliver job for `monitor worker` processes (needs database_url and
    queue_url). A second scheduler on the same database refuses to start.

    \b
    Example:
        monitor dispatch --once
    """
    from monitor import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per tick is ours
    report = worker.run_dispatch(settings_from(ctx), once=once)
    if report is not None:
        click.echo(
            f"{report.due} feeds due, {report.enqueued} jobs enqueued, {report.resent} resent"
        )


@click.command("worker")
@click.option("--threads", default=1, show_default=True, help="Jobs run at once.")
@click.pass_context
def worker_command(ctx: click.Context, threads: int) -> None:
    """Run queued jobs (poll a feed, ingest an entry, deliver the outbox) with the pipeline's
    own code until SIGTERM; start as many as the machines allow.

    \b
    Example:
        MONITOR_DATABASE_URL=postgresql://monitor@db/monitor monitor worker --threads 2
    """
    from monitor import worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    worker.run_worker(settings_from(ctx), threads=threads)


@click.command("status")
@click.pass_context
def status_command(ctx: click.Context) -> None:
    """Queue depth, jobs in flight, failures and the oldest waiting job.

    \b
    Example:
        monitor status
    """
    from monitor import worker

    status = worker.queue_status(settings_from(ctx))
    for line in worker.status_lines(status, dt.datetime.now(dt.UTC)):
        click.echo(line)


@click.group("db")
def db_group() -> None:
    """Move the database between backends."""


@db_group.command("copy")
@click.option("--to", "target", required=True, help="postgresql:// URL of an empty database.")
@click.pass_context
def db_copy_command(ctx: click.Context, target: str) -> None:
    """Copy the SQLite database (db_path) into an empty PostgreSQL database, in one
    transaction; then set database_url to the same URL.

    \b
    Example:
        monitor db copy --to postgresql://monitor@127.0.0.1/monitor
    """
    from storage.postgres.copy import copy_sqlite_to_postgres

    settings = settings_from(ctx)
    report = copy_sqlite_to_postgres(settings.database, target)
    for table, rows in report.rows.items():
        click.echo(f"{table}: {rows} rows")
    click.echo(f"done: set database_url = {target!r}")


COMMANDS: tuple[click.Command, ...] = (dispatch_command, worker_command, status_command, db_group)
