"""The command line. Each command parses its arguments, loads Settings and makes one call
into the pipeline; a MonitorError becomes one line and a hint, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from monitor import cli_summaries, pipeline, scheduler, timeutil
from monitor import config as config_module
from monitor.cli_output import (
    JSON_OPTION,
    MonitorGroup,
    SafeFormatter,
    print,
    print_json,
    settings_from,
)
from monitor.config import Settings
from monitor.errors import ConfigError, DeliveryError, WatchlistError
from monitor.locks import exclusive


@click.group(cls=MonitorGroup)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML configuration file (default: ./monitor.toml if present).",
)
@click.version_option(package_name="followup-monitor")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """Follow-up news monitor: watches the news for what happens next to your baseline articles.

    \b
    Example:
        monitor run --once
    """
    ctx.ensure_object(dict)
    ctx.obj["config_file"] = config_file


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def config_command(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (file, then MONITOR_* environment).

    \b
    Example:
        MONITOR_TIMEZONE=Asia/Taipei monitor config
    """
    values = config_module.effective(settings_from(ctx))
    if as_json:
        print(json.dumps(values, ensure_ascii=False, indent=2))
        return
    for name, value in values.items():
        print(f"{name} = {json.dumps(value, ensure_ascii=False)}")


@cli.command("poll")
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feeds file to poll (default: the feeds_file setting).",
)
@click.option("--force", is_flag=True, help="Poll every feed now, whatever its schedule.")
@JSON_OPTION
@click.pass_context
def poll_command(ctx: click.Context, feeds_file: str | None, force: bool, as_json: bool) -> None:
    """Poll every due feed once now (--force: every feed) and print what happened to each.

    \b
    Example:
        monitor poll --feeds watchlists/sample-feeds.yaml --force
    """
    settings = settings_from(ctx)
    # The same lock as the service's poll: two polls at once would fetch everything twice
    # and trip over each other's writes ("database is locked").
    with exclusive(settings, "poll") as acquired:
        if not acquired:
            print("another poll is running (lock held); nothing done this time")
            return
        report = pipeline.poll_once(settings, dt.datetime.now(dt.UTC), feeds_file, force=force)
    next_due = pipeline.next_poll_at(settings, feeds_file)
    if as_json:
        print_json(
            {
                "feeds": list(report.feeds),
                "new": report.new,
                "unchanged": len(report.unchanged),
                "failed": len(report.failed),
                "next_poll_at": next_due,
            }
        )
        return
    if not report.feeds:
        print(f"no feed is due{_next_due(next_due, settings.timezone)}")
    for outcome in report.feeds:
        name = outcome.name or outcome.url
        if outcome.status == "failed":
            print(f"{name}: failed: {outcome.error}")
        elif outcome.status == "unchanged":
            print(f"{name}: unchanged")
        else:
            line = f"{name}: {outcome.new} new of {outcome.entries} entries"
            print(line + (f" (warning: {outcome.warning})" if outcome.warning else ""))
    print(
        f"{len(report.feeds)} feeds polled: {report.new} new articles, "
        f"{len(report.unchanged)} unchanged, {len(report.failed)} failed"
    )


def _next_due(moment: dt.datetime | None, timezone: str) -> str:
    """'; the next is due at 09:40 (in 25 min); --force polls all now' or ''."""
    if moment is None:
        return ""
    local = timeutil.local_time(moment, timezone)
    minutes = max(0, round((moment - dt.datetime.now(dt.UTC)).total_seconds() / 60))
    return f"; the next is due at {local} (in {minutes} min); --force polls every feed now"


@cli.command("digest")
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Local day (YYYY-MM-DD) in the timezone setting; default: yesterday.",
)
@click.option("--send", is_flag=True, help="Email it (once: a day already sent is not resent).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Also write the HTML and text versions into this directory.",
)
@click.pass_context
def digest_command(
    ctx: click.Context, day: dt.datetime | None, send: bool, out: str | None
) -> None:
    """Build the digest of one day, write its HTML page and optionally send it.

    \b
    Example:
        monitor digest --date 2025-06-02 --out /tmp/digest
    """
    built_day, page, report = pipeline.run_digest(
        settings_from(ctx),
        dt.datetime.now(dt.UTC),
        day.date() if day else None,
        send=send,
        out=out,
    )
    print(f"digest of {built_day}: {page}")
    for key in report.sent:
        print(f"sent digest {key}")
    for key, error in report.failed:
        print(f"not sent {key}: {error}")
    for key in report.skipped:
        print(f"digest of {key} is empty and digest_skip_empty is set; not sent")
    for key in report.unconfirmed:
        print(
            f"digest of {key} is being sent, unconfirmed: a send was started and its answer"
            " not recorded (a run was stopped mid-send); it is tried again once its claim"
            " expires"
        )
    if send and not (report.sent or report.failed or report.skipped or report.unconfirmed):
        print(f"digest of {built_day} was already sent; not sending it again")
    _fail_if_not_sent(report.failed)


def _fail_if_not_sent(failed: Sequence[tuple[str, str]]) -> None:
    """Exit 1 (one line) when something this command was asked to send was not sent."""
    if failed:
        raise DeliveryError(
            f"{len(failed)} message(s) not sent: {', '.join(key for key, _ in failed)}"
        )


@cli.command("serve")
@click.option("--port", type=int, default=None, help="Port (default: the serve_port setting).")
@click.pass_context
def serve_command(ctx: click.Context, port: int | None) -> None:
    """Serve the feeds, digest pages and baseline pages over HTTP (with 304s).

    \b
    Example:
        monitor serve --port 8080
    """
    server = pipeline.make_server(settings_from(ctx), port)
    host, bound = server.server_address[:2]
    print(f"serving on http://{host!s}:{bound}/ (index, digest, baselines, feeds); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the service, backfill and search -----------------------------------------------------


def _log_lines(level: int = logging.INFO) -> None:
    """Plain timestamped log lines on stderr, for a supervisor or a pipe."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def _feeds_file(settings: Settings) -> str:
    if not Path(settings.feeds_file).is_file():
        raise ConfigError(
            f"feed list not found: {settings.feeds_file}",
            hint="pass --feeds FILE or set feeds_file (see `monitor config`)",
        )
    return settings.feeds_file


def _check_before_running(settings: Settings, feeds_file: str) -> None:
    """Refuse to start, in one line, on a broken feed list or watchlist: a service that
    starts anyway fails on every tick."""
    pipeline.check_feeds_file(feeds_file)
    problems = pipeline.check_all_watchlists(settings).problems
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise WatchlistError(f"{problems[0]}{more}")


@cli.command("run")
@click.option("--once", is_flag=True, help="Do one cycle (poll, alerts, outputs, digests), exit.")
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feed list to poll (default: the feeds_file setting).",
)
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object.")
@click.pass_context
def run_command(ctx: click.Context, once: bool, feeds_file: str | None, as_json: bool) -> None:
    """Run the monitor: poll due feeds every poll_tick_seconds, send alerts at once and the
    daily digest at digest_time. SIGTERM or Ctrl-C stops it after the job in hand.

    \b
    Example:
        monitor run --once --feeds watchlists/sample-feeds.yaml
    """
    settings = settings_from(ctx, feeds_file=feeds_file)
    feeds = _feeds_file(settings)
    if as_json and not once:
        raise click.UsageError("--json goes with --once")
    _check_before_running(settings, feeds)
    if not once:
        _log_lines()
        scheduler.serve(settings, feeds_file=feeds)
        return
    _log_lines(logging.WARNING)
    report = pipeline.run_once(settings, dt.datetime.now(dt.UTC), feeds_file=feeds)
    if as_json:
        print_json(cli_summaries.cycle_json(report, settings))
        return
    for line in cli_summaries.cycle_lines(report, settings):
        print(line)
    _fail_if_not_sent(
        [
            *(report.alerts.failed if report.alerts else ()),
            *(report.digests.failed if report.digests else ()),
        ]
    )


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


@cli.command("backfill")
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
    kind, path = chosen[0] if chosen else ("feeds", _feeds_file(settings))
    if not Path(path).exists():
        raise ConfigError(f"not found: {path}", hint=f"check the --{kind} path")
    now = dt.datetime.now(dt.UTC)
    last = until.date() if until else timeutil.local_day(now, settings.timezone)
    if last < since.date():
        raise click.UsageError("--until is before --since")
    _log_lines()
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


@cli.command("search")
@click.argument("query")
@click.option("--limit", type=int, default=20, show_default=True, help="Most results shown.")
@JSON_OPTION
@click.pass_context
def search_command(ctx: click.Context, query: str, limit: int, as_json: bool) -> None:
    """Full-text search over stored articles (every word must appear; Chinese works too).
    Names are folded as matching folds them: 輝達 finds 英伟达, and a name a watchlist
    knows finds its aliases (Nvidia finds 英伟达). Each result shows its source and the
    baselines it follows up.

    \b
    Example:
        monitor search 英伟达
    """
    rows = pipeline.search_articles(settings_from(ctx), query, limit)
    if as_json:
        print_json({"query": query, "articles": rows})
        return
    for row in rows:
        published = (row.get("published") or "")[:10] or "undated"
        source = f" ({row['source_name']})" if row.get("source_name") else ""
        print(f"{published}  {row['title'] or '(no title)'}{source}\n            {row['url']}")
        for follow in row.get("follow_ups", []):
            print(f"            follows up {follow['baseline_id']} ({follow['score']:.2f})")
    print(f"{len(rows)} articles")


# Commands of one concern each live in their own module.
from monitor import cli_baselines, cli_feeds, cli_relevance, cli_scale  # noqa: E402

for _module in (cli_feeds, cli_baselines, cli_relevance, cli_scale):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
