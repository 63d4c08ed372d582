"""The command line. Each command parses its arguments, loads Settings and makes one call
into the pipeline; a MonitorError becomes one line and a hint, never a traceback."""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import errno
import json
import logging
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from monitor import cli_summaries, health, pipeline, scheduler, timeutil
from monitor import config as config_module
from monitor.baseline_index import baseline_id_problem
from monitor.config import Settings
from monitor.errors import ConfigError, DeliveryError, MonitorError, WatchlistError
from monitor.locks import exclusive

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


class _SafeFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


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


@cli.group("feeds")
def feeds_group() -> None:
    """List the feeds with their health; import and export the feed list as OPML.

    \b
    Examples:
        monitor feeds list --json
        monitor feeds import subscriptions.opml
    """


@feeds_group.command("list")
@click.option(
    "--feeds",
    "feeds_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Feeds file whose feeds are listed too (default: the feeds_file setting).",
)
@JSON_OPTION
@click.pass_context
def feeds_list_command(ctx: click.Context, feeds_file: str | None, as_json: bool) -> None:
    """Each feed's status (ok, failing, disabled, new), last success, last error, failures
    in a row, next poll and articles stored in the last 7 days.

    \b
    Example:
        monitor feeds list --json
    """
    settings = settings_from(ctx)
    feeds = pipeline.list_feeds(settings, dt.datetime.now(dt.UTC), feeds_file)
    if as_json:
        print_json({"feeds": [health.as_json(feed) for feed in feeds]})
        return
    zone = settings.timezone
    for feed in feeds:
        success = timeutil.local_time(feed.last_success_at, zone) or "never"
        due = timeutil.local_time(feed.next_poll_at, zone) or "now"
        print(
            f"{feed.status:8} {feed.name or feed.url}: last success {success}, "
            f"{feed.consecutive_failures} failures in a row, next poll {due}, "
            f"{feed.articles_7d} articles in 7 days"
        )
        if feed.last_error:
            print(f"         last error: {feed.last_error}")
    failing = sum(1 for feed in feeds if feed.status in ("failing", "disabled"))
    print(f"{len(feeds)} feeds, {failing} failing or disabled")


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
    handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
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


@cli.command("rematch")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only articles stored on or after this day (timezone setting); default: all.",
)
@click.option("--baseline", "baseline_id", default=None, help="Only this baseline's follow-ups.")
@JSON_OPTION
@click.pass_context
def rematch_command(
    ctx: click.Context, since: dt.datetime | None, baseline_id: str | None, as_json: bool
) -> None:
    """Match stored articles again with the current watchlists and store the follow-ups
    polling would have found; ones already stored are kept as they are (re-running it adds
    nothing). Run it after editing a watchlist.

    \b
    Example:
        monitor rematch --since 2026-01-01 --baseline chips-story
    """
    settings = settings_from(ctx)
    start = timeutil.day_bounds(since.date(), settings.timezone)[0] if since else None
    report = pipeline.rematch(settings, dt.datetime.now(dt.UTC), start, baseline_id)
    if as_json:
        print_json({"articles": report.articles, "added": report.added})
        return
    _print_rematch(report)


def _print_rematch(report: pipeline.RematchReport) -> None:
    for problem in report.problems:
        print(f"left out: {problem}")
    added = ", ".join(f"{b} {n}" for b, n in sorted(report.added.items())) or "none"
    print(f"matched {report.articles} stored articles; new follow-ups: {added}")


@cli.command("eval")
@click.argument("labelled_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--watchlists",
    "watchlists_dir",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="Watchlist folder to evaluate (default: watchlists_dir).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def eval_command(
    ctx: click.Context, labelled_file: str, watchlists_dir: str | None, as_json: bool
) -> None:
    """Measure matching on a labelled JSONL file, next to a keyword-alert floor.

    \b
    Example:
        monitor eval tests/data/eval/dev.jsonl --json
        monitor eval ../shared/eval/other/labelled.jsonl --watchlists /tmp/derived
    """
    from monitor import evaluate

    settings = settings_from(ctx)
    result = evaluate.run(
        labelled_file,
        watchlists_dir or settings.watchlists_dir,
        settings.match_threshold,
        settings.relevance_model,
    )
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(evaluate.format_report(result))


@cli.command("train")
@click.argument("sets", nargs=-1, required=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Model file to write (default: the shipped model file).",
)
@click.option(
    "--feedback/--no-feedback",
    default=True,
    help="Learn from the verdicts of `monitor feedback` in the database (default: yes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the training report as JSON.")
@click.pass_context
def train_command(
    ctx: click.Context, sets: tuple[str, ...], output: str | None, feedback: bool, as_json: bool
) -> None:
    """Train the relevance model on labelled files, each given as FILE=WATCHLISTS_DIR, and
    print leave-one-baseline-out figures (each baseline judged by a model trained without it).
    Verdicts given with `monitor feedback` join the training pairs, each weighing as much as
    monitor.feedback.FEEDBACK_WEIGHT shipped labels.

    \b
    Example:
        monitor train ../shared/eval/dev.jsonl=watchlists \\
            ../shared/eval/other/labelled.jsonl=/tmp/derived-other
    """
    from monitor import feedback as feedback_module
    from monitor import training

    try:
        pairs = [training.parse_set(text) for text in sets]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    verdicts, skipped = (
        feedback_module.configured_feedback(settings_from(ctx)) if feedback else (None, [])
    )
    for left_out in skipped:
        print(
            f"feedback on article {left_out.article_id} for {left_out.baseline_id} "
            f"not used: {left_out.why}",
            file=sys.stderr,
        )
    report = training.train(pairs, Path(output) if output else None, verdicts)
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print(training.format_report(report))


@cli.command("feedback")
@click.argument("article_id", type=int)
@click.argument("baseline_id")
@click.argument("verdict", type=click.Choice(["right", "wrong"]))
@click.pass_context
def feedback_command(ctx: click.Context, article_id: int, baseline_id: str, verdict: str) -> None:
    """Say whether a stored article follows up a baseline (right) or not (wrong); the next
    `monitor train` learns from it. The latest verdict on an article and baseline counts.

    \b
    Example:
        monitor feedback 42 goujon-real-stakes wrong
    """
    from monitor import feedback

    settings = settings_from(ctx)
    given = feedback.give(settings, article_id, baseline_id, verdict, dt.datetime.now(dt.UTC))
    print(f"article {given.article_id} for {given.baseline_id}: {verdict}, used by `monitor train`")


@cli.group("watchlist")
def watchlist_group() -> None:
    """Derive and check the watchlists (watchlists/<baseline-id>.yaml).

    \b
    Examples:
        monitor watchlist derive --baseline goujon-real-stakes
        monitor watchlist check --json
    """


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
@JSON_OPTION
@click.pass_context
def watchlist_check_command(ctx: click.Context, show_all: bool, as_json: bool) -> None:
    """Validate every watchlist and print what each would match; problems are given as
    file:line: field.

    \b
    Example:
        monitor watchlist check
    """
    result = pipeline.check_all_watchlists(settings_from(ctx))
    if as_json:
        print_json(_check_json(result, show_all))
    for watchlist in result.watchlists if not as_json else ():
        entities = watchlist.entities
        unreviewed = [e.name for e in entities if not e.reviewed]
        print(f"{watchlist.baseline.id}: {len(entities)} entities, {len(unreviewed)} to review")
        for entity in entities if show_all else entities[:10]:
            names = ", ".join(entity.all_aliases()[:8])
            print(f"  {entity.weight:.2f}  {entity.name} ({entity.type}): {names}")
        if unreviewed:
            print(f"  to review (reviewed: false): {', '.join(unreviewed)}")
    for name in result.missing if not as_json else ():
        print(f"{name}: no watchlist yet (run `monitor watchlist derive`)")
    if result.not_watchlists and not as_json:
        print(f"not watchlists (no baseline: key): {', '.join(result.not_watchlists)}")
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if result.problems:
        raise MonitorError(
            f"{len(result.problems)} problem(s) in the watchlists",
            hint="fix the file at the line shown and run `monitor watchlist check` again",
        )


def _check_json(result: pipeline.WatchlistCheck, show_all: bool) -> dict[str, Any]:
    return {
        "watchlists": [
            {
                "baseline_id": w.baseline.id,
                "title": w.baseline.title,
                "entities": len(w.entities),
                "to_review": [e.name for e in w.entities if not e.reviewed],
                "top": [
                    {"name": e.name, "type": e.type, "weight": e.weight, "aliases": e.all_aliases()}
                    for e in (w.entities if show_all else w.entities[:10])
                ],
            }
            for w in result.watchlists
        ],
        "missing": result.missing,
        "not_watchlists": result.not_watchlists,
        "problems": result.problems,
    }


@cli.group("baseline")
def baseline_group() -> None:
    """Manage baseline articles (watchlists/baselines/).

    \b
    Examples:
        monitor baseline list
        monitor baseline add https://example.org/chips-story.html --id chips-story
        monitor baseline remove chips-story
    """


@baseline_group.command("add")
@click.argument("source")
@click.option("--id", "baseline_id", default=None, help="Baseline id (default: from the title).")
@click.pass_context
def baseline_add_command(ctx: click.Context, source: str, baseline_id: str | None) -> None:
    """Add an article (txt, md or html file, or a URL) as a baseline, derive its watchlist and
    match the stored articles against it.

    \b
    Example:
        monitor baseline add https://example.org/chips-story.html --id chips-story
    """
    if baseline_id is not None and (problem := baseline_id_problem(baseline_id)):
        click.echo(f"Error: --id: {terminal_safe(problem)}", err=True)
        ctx.exit(2)  # a usage error, before anything is read or written
    settings = settings_from(ctx)
    report = pipeline.add_baseline(settings, source, baseline_id)
    print(f"{report.baseline_id}: wrote {report.path} ({report.entities} entities)")
    if report.unreviewed:
        print(f"  to review (reviewed: false): {', '.join(report.unreviewed)}")
    # Its follow-ups from what is stored already, as polling would have found them.
    _print_rematch(pipeline.rematch(settings, dt.datetime.now(dt.UTC), None, report.baseline_id))


@baseline_group.command("list")
@JSON_OPTION
@click.pass_context
def baseline_list_command(ctx: click.Context, as_json: bool) -> None:
    """List the baselines (watchlists/baselines/index.yaml) with their watchlists.

    \b
    Example:
        monitor baseline list --json
    """
    infos = pipeline.list_baselines(settings_from(ctx))
    if as_json:
        print_json(
            {
                "baselines": [
                    {
                        "id": info.baseline.id,
                        "title": info.baseline.title,
                        "language": info.baseline.language,
                        "published": info.baseline.published,
                        "author": info.baseline.author,
                        "outlet": info.baseline.outlet,
                        "source_url": info.baseline.source_url,
                        "text": info.baseline.path,
                        "watchlist": info.watchlist,
                        "entities": info.entities,
                    }
                    for info in infos
                ]
            }
        )
        return
    for info in infos:
        b = info.baseline
        watchlist = f"{info.entities} entities" if info.watchlist else "no watchlist yet"
        date = b.published.isoformat() if b.published else "undated"
        print(f"{b.id}: {b.title} ({b.language}, {date}; {watchlist})")
    print(f"{len(infos)} baselines")


@baseline_group.command("remove")
@click.argument("baseline_id")
@click.pass_context
def baseline_remove_command(ctx: click.Context, baseline_id: str) -> None:
    """Stop following a baseline: its entry leaves index.yaml, its text and watchlist move
    to watchlists/.removed/ (nothing is deleted); stored follow-ups stay.

    \b
    Example:
        monitor baseline remove chips-story
    """
    moved = pipeline.remove_baseline(settings_from(ctx), baseline_id)
    print(f"removed {baseline_id} from the baselines")
    for path in moved:
        print(f"  moved to {path}")


# The scale-out commands live in their own module (monitor/cli_scale.py).
from monitor.cli_scale import COMMANDS as _SCALE_COMMANDS  # noqa: E402

for _command in _SCALE_COMMANDS:
    cli.add_command(_command)
