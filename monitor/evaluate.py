"""Measure the matcher against a labelled file: item-level and pair-level precision, recall
and F1, next to a keyword-alert floor (an item is a hit when any watchlist alias appears).

A tool, not a stage: it reads the labelled file and the shipped watchlists, then runs the
pure matcher over every item.

Labelled file: one JSON object a line with ``id, title, text, published, language, labels``;
``labels`` lists the baseline ids the item follows up (empty: none). ``published`` comes in
the sources' own formats (ISO 8601, RFC 822, a bare date).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError
from monitor.feeds import parse_date
from monitor.match import RULES, Matcher, build
from monitor.models import Article, Watchlist
from monitor.relevance import encoded_text

METRIC_KEYS = ("precision", "recall", "f1", "pair_precision", "pair_recall", "pair_f1")


EVAL_FILE_HINT = "each line must be a JSON object with title, text, published and labels"


@dataclass(frozen=True)
class Item:
    id: str
    article: Article
    labels: frozenset[str]


def item_from(record: dict[str, Any]) -> Item:
    article = Article(
        url=str(record.get("url") or ""),
        title=str(record.get("title") or ""),
        text=str(record.get("text") or ""),
        language=str(record.get("language") or ""),
        published=parse_date(str(record.get("published") or "")),
    )
    labels = frozenset(str(label) for label in record.get("labels") or ())
    return Item(str(record.get("id") or ""), article, labels)


def load_items(path: str | Path) -> list[Item]:
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MonitorError(f"{path}: cannot read: {exc.strerror}", hint=EVAL_FILE_HINT) from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"{path}:{number}: not JSON: {exc.msg}"
            raise MonitorError(message, hint=EVAL_FILE_HINT) from exc
        if not isinstance(record, dict):
            raise MonitorError(f"{path}:{number}: not a JSON object", hint=EVAL_FILE_HINT)
        items.append(item_from(record))
    return items


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def scores(gold: Sequence[frozenset[str]], predicted: Sequence[Iterable[str]]) -> dict[str, Any]:
    """Item-level (any baseline) and pair-level (which baselines) precision, recall, F1."""
    tp = fp = fn = ptp = pfp = pfn = 0
    for labels, guess in zip(gold, predicted, strict=True):
        found = set(guess)
        if found and labels:
            tp += 1
        elif found:
            fp += 1
        elif labels:
            fn += 1
        ptp += len(found & labels)
        pfp += len(found - labels)
        pfn += len(labels - found)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    pair_precision, pair_recall = _ratio(ptp, ptp + pfp), _ratio(ptp, ptp + pfn)
    return {
        "items": len(gold),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(_f1(precision, recall), 4),
        "pair_precision": round(pair_precision, 4),
        "pair_recall": round(pair_recall, 4),
        "pair_f1": round(_f1(pair_precision, pair_recall), 4),
    }


def evaluate(
    watchlists: Sequence[Watchlist],
    items: Sequence[Item],
    threshold: float = 0.5,
    relevance_model: str = RULES,
) -> dict[str, Any]:
    """The matcher's figures, with the keyword floor's under ``keyword_floor``.
    ``relevance_model``: "rules", "" (the shipped model) or a model file."""
    matcher = build(watchlists, relevance_model, threshold)
    gold = [item.labels for item in items]
    vectors = _vectors(matcher, items)
    matched = [
        [m.baseline_id for m in matcher.match(item.article, vectors.get(item.id))] for item in items
    ]
    keyword = [matcher.keyword_hits(item.article) for item in items]
    result = scores(gold, matched)
    result["keyword_floor"] = scores(gold, keyword)
    return result


def _vectors(matcher: Matcher, items: Sequence[Item]) -> dict[str, Any]:
    """Encoder vectors of the candidate items, encoded in batches (much faster than one by
    one); nothing when the rules decide."""
    if matcher.judge is None:
        return {}
    wanted = [item for item in items if matcher.candidates(item.article)]
    result: dict[str, Any] = {}
    for start in range(0, len(wanted), 64):
        chunk = wanted[start : start + 64]
        texts = [encoded_text(item.article) for item in chunk]
        for item, vector in zip(chunk, matcher.judge.encoder.encode(texts), strict=True):
            result[item.id] = vector
    return result


def fold_of(item_id: str, folds: int) -> int:
    """A fixed fold for an item, from the SHA-1 of its id: the same split on every run and
    machine, unrelated to the order or the source of the items."""
    return int(hashlib.sha1(item_id.encode("utf-8")).hexdigest(), 16) % folds


def scores_by_fold(
    items: Sequence[Item], predicted: Sequence[Iterable[str]], folds: int
) -> list[dict[str, Any]]:
    """The figures of ``scores`` on each fold of the items (see ``fold_of``)."""
    guesses = [list(guess) for guess in predicted]
    result = []
    for fold in range(folds):
        chosen = [i for i, item in enumerate(items) if fold_of(item.id, folds) == fold]
        result.append(scores([items[i].labels for i in chosen], [guesses[i] for i in chosen]))
    return result


def format_report(result: dict[str, Any]) -> str:
    floor = result["keyword_floor"]
    rows = [f"{result['items']} items", f"{'':16}{'matcher':>9}{'keyword':>9}"]
    for key in METRIC_KEYS:
        rows.append(f"{key:16}{result[key]:9.3f}{floor[key]:9.3f}")
    return "\n".join(rows)


def run(
    path: str | Path,
    watchlists_dir: str | Path,
    threshold: float = 0.5,
    relevance_model: str = RULES,
) -> dict[str, Any]:
    """Evaluate the watchlists in ``watchlists_dir`` on the labelled file ``path``."""
    # Imported here: the evaluation tool sits above the stages, like the pipeline.
    from monitor.watchlist import load_watchlists

    return evaluate(load_watchlists(watchlists_dir), load_items(path), threshold, relevance_model)


ALIAS_DATA = Path(__file__).resolve().parents[1] / "watchlists" / "aliases.yaml"


def derive_from_scratch(baselines: Path, target: Path) -> dict[str, float]:
    """Derive watchlists as a new user would, with no hand edits: an empty folder with the
    baseline texts and their index.yaml, the curated alias data, then ``derive`` for every
    baseline. Returns the seconds each derivation took (after the shared data is loaded)."""
    # Imported here: the evaluation tool sits above the stages, like the pipeline.
    from monitor.background import default_background
    from monitor.config import Settings
    from monitor.pipeline import derive_watchlists
    from monitor.watchlist import load_baseline_index

    if target.exists():
        shutil.rmtree(target)
    (target / "baselines").mkdir(parents=True)
    for path in baselines.iterdir():
        if path.is_file():
            shutil.copy(path, target / "baselines" / path.name)
    shutil.copy(ALIAS_DATA, target / "aliases.yaml")
    default_background()  # loaded once per process: not part of one baseline's cost
    settings = Settings(watchlists_dir=str(target))
    seconds: dict[str, float] = {}
    for baseline in load_baseline_index(target / "baselines" / "index.yaml"):
        started = time.perf_counter()
        derive_watchlists(settings, baseline.id)
        seconds[baseline.id] = time.perf_counter() - started
    return seconds
