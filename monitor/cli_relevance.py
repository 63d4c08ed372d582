"""`monitor eval`, `monitor train` and `monitor feedback`: measuring, training and correcting
the relevance decision. Added by cli.py."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from monitor.cli_output import print, settings_from


@click.command("eval")
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


@click.command("train")
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


@click.command("feedback")
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


COMMANDS = (
    eval_command,
    train_command,
    feedback_command,
)
