"""`monitor feeds`: the feed list with its health, and OPML in and out. Added by cli.py."""

from __future__ import annotations

import datetime as dt

import click

from monitor import health, pipeline, timeutil
from monitor.cli_output import JSON_OPTION, print, print_json, settings_from


@click.group("feeds")
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


COMMANDS = (feeds_group,)
