"""A reader's verdicts on follow-ups, and what `monitor train` learns from them.

`monitor feedback ARTICLE BASELINE right|wrong` and the right/wrong buttons of the pages
`monitor serve` shows record one verdict per article and baseline in the database (the latest
wins). Verdicts name the article by its stored id and the baseline by its id, never a
watchlist's content, so re-deriving a watchlist keeps them.

`monitor train` turns them into training pairs: the article's feature row for that baseline,
computed with the watchlists as they are now, labelled by the verdict and weighted
FEEDBACK_WEIGHT; a shipped label on the same article and baseline gives way to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Settings
from monitor.errors import MonitorError
from monitor.evaluate import Item
from monitor.models import Watchlist
from monitor.training import LabelledSet, Pair, item_vectors, training_matcher
from monitor.watchlist import check_watchlists
from storage.interface import Feedback, Storage

VERDICTS = {"right": True, "wrong": False}
# One verdict counts as this many shipped labels. The shipped files hold about a thousand
# candidate pairs, two hundred or so per baseline; a reader marks a handful of items. At
# weight 1 ten verdicts barely move a model fitted on a thousand pairs, so a wrong kind keeps
# matching; at 20 ten verdicts weigh as much as a whole baseline's shipped pairs, enough to
# move the decision for that kind of item (tests/test_feedback.py shows weight 1 is not)
# while a single mistaken click cannot outvote the shipped labels of a whole kind.
FEEDBACK_WEIGHT = 20.0
SET_NAME = "feedback"


@dataclass(frozen=True)
class Skipped:
    article_id: int
    baseline_id: str
    why: str


def record(
    storage: Storage,
    baselines: Collection[str],
    article_id: int,
    baseline_id: str,
    verdict: str,
    now: dt.datetime,
) -> Feedback:
    """Store a verdict; MonitorError in one line for an unknown verdict, baseline or article."""
    if verdict not in VERDICTS:
        raise MonitorError(f"verdict must be right or wrong, not {verdict!r}")
    if baseline_id not in baselines:
        known = ", ".join(sorted(baselines)) or "none"
        raise MonitorError(
            f"no baseline {baseline_id!r}",
            hint=f"baselines: {known} (`monitor baseline list`)",
        )
    feedback = Feedback(article_id, baseline_id, VERDICTS[verdict], now)
    if not storage.save_feedback(feedback):
        raise MonitorError(
            f"no stored article {article_id}",
            hint="article ids are the numbers `monitor search --json` shows",
        )
    return feedback


def baseline_ids(watchlists_dir: str | Path) -> set[str]:
    return {w.baseline.id for w in check_watchlists(watchlists_dir)[0]}


def feedback_set(storage: Storage, watchlists_dir: str | Path) -> tuple[LabelledSet, list[Skipped]]:
    """Every verdict as a weighted training pair, and those that cannot be one: the article
    is gone, its baseline has no watchlist, or no alias of it is found any more (the model
    only judges candidates)."""
    verdicts = storage.all_feedback()
    directory = Path(watchlists_dir)
    watchlists = check_watchlists(directory)[0]
    known = {w.baseline.id for w in watchlists}
    skipped: list[Skipped] = []
    items: dict[int, Item] = {}
    wanted: dict[int, dict[str, bool]] = {}
    for verdict in verdicts:
        if verdict.baseline_id not in known:
            skipped.append(Skipped(verdict.article_id, verdict.baseline_id, "no such baseline"))
            continue
        if verdict.article_id not in items:
            stored = storage.get_article(verdict.article_id)
            if stored is None:
                skipped.append(Skipped(verdict.article_id, verdict.baseline_id, "no article"))
                continue
            items[verdict.article_id] = Item(f"article:{stored.id}", stored.article(), frozenset())
        wanted.setdefault(verdict.article_id, {})[verdict.baseline_id] = verdict.right
    pairs = _pairs(watchlists, directory, items, wanted, skipped) if items else []
    labelled = tuple(
        Item(item.id, item.article, frozenset(b for b, right in wanted[n].items() if right))
        for n, item in items.items()
    )
    return LabelledSet(SET_NAME, labelled, tuple(sorted(known)), tuple(pairs)), skipped


def _pairs(
    watchlists: Sequence[Watchlist],
    directory: Path,
    items: dict[int, Item],
    wanted: dict[int, dict[str, bool]],
    skipped: list[Skipped],
) -> list[Pair]:
    matcher = training_matcher(watchlists, directory)
    judge = matcher.judge
    assert judge is not None
    vectors = item_vectors(judge, list(items.values()), None)
    pairs = []
    for article_id, item in items.items():
        candidates = matcher.candidates(item.article)
        rows = judge.rows(item.article, candidates, vectors[item.id])[1] if candidates else []
        found = {w.baseline.id: row for (w, _), row in zip(candidates, rows, strict=True)}
        for baseline_id, right in wanted[article_id].items():
            if baseline_id not in found:
                skipped.append(Skipped(article_id, baseline_id, "not a candidate any more"))
                continue
            row = tuple(found[baseline_id])
            pairs.append(Pair(SET_NAME, item.id, baseline_id, row, right, FEEDBACK_WEIGHT))
    return pairs


def open_configured(settings: Settings) -> Storage:
    from storage.backends import open_storage

    return open_storage(settings.database_url, settings.database)


def give(
    settings: Settings, article_id: int, baseline_id: str, verdict: str, now: dt.datetime
) -> Feedback:
    """`monitor feedback` and the serve page's buttons: one verdict into the database."""
    storage = open_configured(settings)
    try:
        return record(
            storage, baseline_ids(settings.watchlists_dir), article_id, baseline_id, verdict, now
        )
    finally:
        storage.close()


def configured_feedback(settings: Settings) -> tuple[LabelledSet | None, list[Skipped]]:
    """The verdicts of the configured database for `monitor train` (None: no database yet)."""
    if not settings.database_url and not settings.database.exists():
        return None, []
    storage = open_configured(settings)
    try:
        return feedback_set(storage, settings.watchlists_dir)
    finally:
        storage.close()
