"""The command line. Each command parses its arguments, loads Settings and makes one call
into the pipeline; a MonitorError becomes one line and a hint, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence

import click

from monitor import cli_summaries, pipeline, scheduler, timeutil
from monitor import config as config_module
from monitor.cli_output import (
    JSON_OPTION,
    MonitorGroup,
    feeds_file_from,
    log_lines,
    print,
    print_json,
    settings_from,
)
from monitor.config import Settings
from monitor.errors import DeliveryError, WatchlistError
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


# --- the service and search ---------------------------------------------------------------


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
    feeds = feeds_file_from(settings)
    if as_json and not once:
        raise click.UsageError("--json goes with --once")
    _check_before_running(settings, feeds)
    if not once:
        log_lines()
        scheduler.serve(settings, feeds_file=feeds)
        return
    log_lines(logging.WARNING)
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
from monitor import cli_backfill, cli_baselines, cli_feeds, cli_relevance, cli_scale  # noqa: E402

for _module in (cli_backfill, cli_feeds, cli_baselines, cli_relevance, cli_scale):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
