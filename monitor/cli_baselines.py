"""`monitor baseline`, `monitor watchlist` and `monitor rematch`: the baselines, their derived
watchlists, and stored articles matched again. Added by cli.py."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

import click

from monitor import pipeline, timeutil
from monitor.baseline_index import baseline_id_problem
from monitor.cli_output import JSON_OPTION, print, print_json, settings_from, terminal_safe
from monitor.errors import MonitorError


@click.command("rematch")
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


@click.group("watchlist")
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


@click.group("baseline")
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
@click.option(
    "--published",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="When the article appeared (default: the page's date, if it gives one); news "
    "published before it is no follow-up.",
)
@click.option("--outlet", default="", help="Who published it (its name is no subject).")
@click.option("--author", default="", help="Who wrote it (default: the page's byline).")
@click.pass_context
def baseline_add_command(
    ctx: click.Context,
    source: str,
    baseline_id: str | None,
    published: dt.datetime | None,
    outlet: str,
    author: str,
) -> None:
    """Add an article (txt, md or html file, or a URL) as a baseline, derive its watchlist and
    match the stored articles against it. A text file tells no date: give --published, or
    news from before the article counts as following it up.

    \b
    Example:
        monitor baseline add https://example.org/chips-story.html --id chips-story
        monitor baseline add story.txt --published 2025-11-23 --outlet "The White House"
    """
    if baseline_id is not None and (problem := baseline_id_problem(baseline_id)):
        click.echo(f"Error: --id: {terminal_safe(problem)}", err=True)
        ctx.exit(2)  # a usage error, before anything is read or written
    if published is not None and published.date() > dt.datetime.now(dt.UTC).date():
        click.echo(f"Error: --published: {published.date()} is in the future", err=True)
        ctx.exit(2)
    settings = settings_from(ctx)
    credits = pipeline.Credits(published.date() if published else None, outlet, author)
    report = pipeline.add_baseline(settings, source, baseline_id, credits)
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


COMMANDS = (
    rematch_command,
    watchlist_group,
    baseline_group,
)
