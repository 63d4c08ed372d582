"""The command line. Each command parses its arguments, loads Settings and makes one call
into the pipeline; a MonitorError becomes one line and a hint, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from monitor import config as config_module
from monitor import pipeline, scheduler, timeutil
from monitor.config import Settings
from monitor.errors import ConfigError, MonitorError


class MonitorGroup(click.Group):
    """Turns MonitorError from any command into `Error: ...` plus a hint, exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            message = f"Error: {exc}"
            if exc.hint:
                message += f"\nHint: {exc.hint}"
            raise click.ClickException(message[len("Error: ") :]) from exc


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the --config file and the environment, with command-line overrides."""
    return config_module.load(ctx.obj.get("config_file"), **overrides)


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
@click.pass_context
def poll_command(ctx: click.Context, feeds_file: str | None) -> None:
    """Poll every due feed once now and print what happened to each.

    \b
    Example:
        monitor poll --feeds watchlists/sample-feeds.yaml
    """
    report = pipeline.poll_once(settings_from(ctx), dt.datetime.now(dt.UTC), feeds_file)
    if not report.feeds:
        print("no feed is due")
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


@cli.group("feeds")
def feeds_group() -> None:
    """Import and export the feed list as OPML."""


@feeds_group.command("import")
@click.argument("opml_file", type=click.Path(dir_okay=False))
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feeds file to add to (default: the feeds_file setting).",
)
@click.pass_context
def feeds_import_command(ctx: click.Context, opml_file: str, feeds_file: str | None) -> None:
    """Add the feeds of an OPML file (any reader's export) to the feeds file.

    \b
    Example:
        monitor feeds import subscriptions.opml
    """
    added = pipeline.import_opml(settings_from(ctx), opml_file, feeds_file)
    for feed in added:
        print(f"added {feed.name or feed.url} ({feed.url})")
    print(f"{len(added)} feeds added")


@feeds_group.command("export")
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feeds file to export (default: the feeds_file setting).",
)
@click.pass_context
def feeds_export_command(ctx: click.Context, feeds_file: str | None) -> None:
    """Print the feed list as OPML.

    \b
    Example:
        monitor feeds export > feeds.opml
    """
    print(pipeline.export_opml(settings_from(ctx), feeds_file), end="")


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
        print(f"not sent {key}: {error} (stays pending; retried on the next run)")
    for key in report.skipped:
        print(f"digest of {key} is empty and digest_skip_empty is set; not sent")
    if send and not (report.sent or report.failed or report.skipped):
        print(f"digest of {built_day} was already sent; not sending it again")


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
    print(f"serving on http://{host!s}:{bound}/ (feed.xml, atom.xml, digest.html); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the service, backfill and search -----------------------------------------------------


def _log_lines(level: int = logging.INFO) -> None:
    """Plain timestamped log lines on stderr, for a supervisor or a pipe."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


def _feeds_file(settings: Settings) -> str:
    if not Path(settings.feeds_file).is_file():
        raise ConfigError(
            f"feed list not found: {settings.feeds_file}",
            hint="pass --feeds FILE or set feeds_file (see `monitor config`)",
        )
    return settings.feeds_file


@cli.command("run")
@click.option("--once", is_flag=True, help="Do one cycle (poll, alerts, outputs, digests), exit.")
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feed list to poll (default: the feeds_file setting).",
)
@click.pass_context
def run_command(ctx: click.Context, once: bool, feeds_file: str | None) -> None:
    """Run the monitor: poll due feeds every poll_tick_seconds, send alerts at once and the
    daily digest at digest_time. SIGTERM or Ctrl-C stops it after the job in hand.

    \b
    Example:
        monitor run --once --feeds watchlists/sample-feeds.yaml
    """
    settings = settings_from(ctx, feeds_file=feeds_file)
    feeds = _feeds_file(settings)
    if not once:
        _log_lines()
        scheduler.serve(settings, feeds_file=feeds)
        return
    _log_lines(logging.WARNING)
    for line in scheduler.summary(scheduler.run_once(settings, feeds_file=feeds), settings):
        print(line)


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
@click.pass_context
def backfill_command(
    ctx: click.Context,
    since: dt.datetime,
    until: dt.datetime | None,
    feeds_file: str | None,
    urls_file: str | None,
    archive_dir: str | None,
    send: bool,
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
    with _Progress() as progress:
        report = scheduler.backfill(
            settings,
            since.date(),
            last,
            pipeline.BackfillSource(kind, path),
            send=send,
            now=now,
            on_progress=progress,
        )
    for line in scheduler.backfill_summary(report, settings):
        print(line)
    if report.stopped:
        ctx.exit(130)


@cli.command("search")
@click.argument("query")
@click.option("--limit", type=int, default=20, show_default=True, help="Most results shown.")
@click.pass_context
def search_command(ctx: click.Context, query: str, limit: int) -> None:
    """Full-text search over stored articles (every word must appear; Chinese works too).

    \b
    Example:
        monitor search 英伟达
    """
    rows = pipeline.search_articles(settings_from(ctx), query, limit)
    for row in rows:
        published = (row.get("published") or "")[:10] or "undated"
        print(f"{published}  {row['title'] or '(no title)'}\n            {row['url']}")
    print(f"{len(rows)} articles")


@cli.command("eval")
@click.argument("labelled_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def eval_command(ctx: click.Context, labelled_file: str, as_json: bool) -> None:
    """Measure matching on a labelled JSONL file, next to a keyword-alert floor.

    \b
    Example:
        monitor eval tests/data/eval/dev.jsonl --json
    """
    from monitor import evaluate

    settings = settings_from(ctx)
    result = evaluate.run(labelled_file, settings.watchlists_dir, settings.match_threshold)
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(evaluate.format_report(result))


@cli.group("watchlist")
def watchlist_group() -> None:
    """Derive and check the watchlists (watchlists/<baseline-id>.yaml)."""


@watchlist_group.command("derive")
@click.option("--baseline", "baseline_id", default=None, help="Only this baseline id.")
@click.pass_context
def watchlist_derive_command(ctx: click.Context, baseline_id: str | None) -> None:
    """Derive each baseline's watchlist; hand edits in an existing file are kept.

    \b
    Example:
        monitor watchlist derive --baseline goujon-real-stakes
    """
    reports = pipeline.derive_watchlists(settings_from(ctx), baseline_id)
    for report in reports:
        action = "merged into" if report.merged else "wrote"
        review = f", {len(report.unreviewed)} to review" if report.unreviewed else ""
        print(f"{report.baseline_id}: {action} {report.path} ({report.entities} entities{review})")
    if not reports:
        print("no baselines listed in baselines/index.yaml")


@watchlist_group.command("check")
@click.option("--all", "show_all", is_flag=True, help="List every entity, not the top ten.")
@click.pass_context
def watchlist_check_command(ctx: click.Context, show_all: bool) -> None:
    """Validate every watchlist and print what each would match; problems are given as
    file:line: field.

    \b
    Example:
        monitor watchlist check
    """
    result = pipeline.check_all_watchlists(settings_from(ctx))
    for watchlist in result.watchlists:
        entities = watchlist.entities
        unreviewed = [e.name for e in entities if not e.reviewed]
        print(f"{watchlist.baseline.id}: {len(entities)} entities, {len(unreviewed)} to review")
        for entity in entities if show_all else entities[:10]:
            names = ", ".join(entity.all_aliases()[:8])
            print(f"  {entity.weight:.2f}  {entity.name} ({entity.type}): {names}")
        if unreviewed:
            print(f"  to review (reviewed: false): {', '.join(unreviewed)}")
    for name in result.missing:
        print(f"{name}: no watchlist yet (run `monitor watchlist derive`)")
    if result.not_watchlists:
        print(f"not watchlists (no baseline: key): {', '.join(result.not_watchlists)}")
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if result.problems:
        raise MonitorError(
            f"{len(result.problems)} problem(s) in the watchlists",
            hint="fix the file at the line shown and run `monitor watchlist check` again",
        )


@cli.group("baseline")
def baseline_group() -> None:
    """Manage baseline articles (watchlists/baselines/)."""


@baseline_group.command("add")
@click.argument("source")
@click.option("--id", "baseline_id", default=None, help="Baseline id (default: from the title).")
@click.pass_context
def baseline_add_command(ctx: click.Context, source: str, baseline_id: str | None) -> None:
    """Add an article (txt, md or html file, or a URL) as a baseline and derive its watchlist.

    \b
    Example:
        monitor baseline add https://example.org/chips-story.html --id chips-story
    """
    report = pipeline.add_baseline(settings_from(ctx), source, baseline_id)
    print(f"{report.baseline_id}: wrote {report.path} ({report.entities} entities)")
    if report.unreviewed:
        print(f"  to review (reviewed: false): {', '.join(report.unreviewed)}")


# The scale-out commands live in their own module (monitor/cli_scale.py).
from monitor.cli_scale import COMMANDS as _SCALE_COMMANDS  # noqa: E402

for _command in _SCALE_COMMANDS:
    cli.add_command(_command)
