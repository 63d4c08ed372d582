"""Train the relevance model (monitor.relevance) on labelled files, and measure what a baseline
nobody labelled gets: leave-one-baseline-out (train without baseline B, measure on B).

A tool, not a stage: it reads labelled files and watchlist folders, runs the alias pass and
the encoder over every item, and fits a logistic regression with scikit-learn. The encoder's
vectors of labelled items are cached in a file so that retraining does not re-encode.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.encoder import Vectors
from monitor.evaluate import Item, load_items, scores
from monitor.match import Matcher, learned_matcher
from monitor.models import Watchlist
from monitor.relevance import (
    FEATURES,
    Judge,
    RelevanceModel,
    encoded_text,
)
from monitor.watchlist import load_watchlists

MODEL_VERSION = "2"  # 2: agreement features
THRESHOLD_FOLDS = 5
REGULARISATION = 0.5  # inverse strength (C) of the L2 penalty: few, correlated features
BATCH = 64


@dataclass(frozen=True)
class Pair:
    set_name: str
    item_id: str
    baseline_id: str
    row: tuple[float, ...]
    label: bool
    weight: float = 1.0  # a reader's verdict weighs more (monitor.feedback.FEEDBACK_WEIGHT)


@dataclass(frozen=True)
class LabelledSet:
    name: str
    items: tuple[Item, ...]
    baselines: tuple[str, ...]
    pairs: tuple[Pair, ...]  # candidates only: a labelled pair with no alias is a miss


def item_vectors(judge: Judge, items: Sequence[Item], cache: Path | None) -> dict[str, Vectors]:
    """Encoder vectors of the items' title and lead, through a cache keyed by text hash."""
    texts = {item.id: encoded_text(item.article) for item in items}
    keys = {
        i: hashlib.sha1(f"{judge.encoder.name}\n{t}".encode()).hexdigest() for i, t in texts.items()
    }
    stored: dict[str, Vectors] = {}
    if cache is not None and cache.exists():
        with np.load(cache) as data:
            stored = {k: data[k] for k in data.files}
    missing = [i for i in texts if keys[i] not in stored]
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        for ident, vector in zip(
            chunk, judge.encoder.encode([texts[i] for i in chunk]), strict=True
        ):
            stored[keys[ident]] = vector
    if cache is not None and missing:
        np.savez(cache, **stored)  # type: ignore[arg-type]
    return {i: stored[keys[i]] for i in texts}


def labelled_set(
    name: str, path: Path, watchlists_dir: Path, cache: Path | None = None
) -> LabelledSet:
    items = load_items(path)
    watchlists = load_watchlists(watchlists_dir)
    matcher = training_matcher(watchlists, watchlists_dir)
    judge = matcher.judge
    assert judge is not None
    vectors = item_vectors(judge, items, cache)
    pairs = []
    for item in items:
        candidates = matcher.candidates(item.article)
        if not candidates:
            continue
        _, rows = judge.rows(item.article, candidates, vectors[item.id])
        for (watchlist, _), row in zip(candidates, rows, strict=True):
            baseline = watchlist.baseline.id
            pairs.append(Pair(name, item.id, baseline, tuple(row), baseline in item.labels))
    baselines = tuple(w.baseline.id for w in watchlists)
    return LabelledSet(name, tuple(items), baselines, tuple(pairs))


def training_matcher(watchlists: Sequence[Watchlist], directory: Path) -> Matcher:
    """A matcher whose judge builds the full feature rows (agreement features included) for
    a model still to be trained; the baselines' vectors cached beside the watchlists, as the
    pipeline keeps them."""
    matcher = learned_matcher(watchlists, _NO_MODEL, cache_dir=directory / ".derived")
    assert matcher.judge is not None
    matcher.judge.agreement_features = True
    return matcher


_NO_MODEL = RelevanceModel(
    features=FEATURES,
    mean=(0.0,) * len(FEATURES),
    scale=(1.0,) * len(FEATURES),
    coef=(0.0,) * len(FEATURES),
    intercept=0.0,
    threshold=0.5,
)


def fit(pairs: Sequence[Pair]) -> RelevanceModel:
    """Logistic regression on standardised features, with the threshold that maximises pair
    F1 on out-of-fold probabilities: each training baseline judged by a model fitted without
    it (THRESHOLD_FOLDS groups of baselines). On its own training pairs the model is surer
    than on a new baseline, and a threshold chosen there moved between 0.65 and 0.775 from one
    retraining to the next, halving recall on a blind set."""
    model = _fitted(pairs)
    baselines = sorted({p.baseline_id for p in pairs})
    if len(baselines) < 2:
        probabilities = [model.probability(p.row) for p in pairs]
    else:
        folds = min(THRESHOLD_FOLDS, len(baselines))
        fold_of = {b: n % folds for n, b in enumerate(baselines)}
        probability = {}
        for fold in range(folds):
            held = [i for i, p in enumerate(pairs) if fold_of[p.baseline_id] == fold]
            rest = [p for p in pairs if fold_of[p.baseline_id] != fold]
            partial = _fitted(rest)
            probability.update({i: partial.probability(pairs[i].row) for i in held})
        probabilities = [probability[i] for i in range(len(pairs))]
    return _with_threshold(
        model, probabilities, [p.label for p in pairs], [p.weight for p in pairs]
    )


def _fitted(pairs: Sequence[Pair]) -> RelevanceModel:
    from sklearn.linear_model import LogisticRegression

    size = len(FEATURES)
    rows = np.asarray([p.row for p in pairs], dtype=np.float64)
    x, products = rows[:, :size], rows[:, size:]
    y = np.asarray([p.label for p in pairs])
    weights = np.asarray([p.weight for p in pairs], dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    # the agreement features stay as they are (already scaled, see AGREEMENT_SCALE): one
    # penalty strength for all of them, not one per dimension's spread
    model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000)
    model.fit(np.hstack([(x - mean) / scale, products]), y, sample_weight=weights)
    return RelevanceModel(
        features=FEATURES,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0][:size]),
        intercept=float(model.intercept_[0]),
        threshold=0.5,
        version=MODEL_VERSION,
        agreement=tuple(float(v) for v in model.coef_[0][size:]),
    )


def _with_threshold(
    model: RelevanceModel,
    probabilities: Sequence[float],
    labels: Sequence[bool],
    weights: Sequence[float] | None = None,
) -> RelevanceModel:
    best, best_f1 = 0.5, -1.0
    weighted = list(zip(probabilities, labels, weights or [1.0] * len(labels), strict=True))
    for threshold in np.arange(0.2, 0.95, 0.025):
        tp = sum(w for p, y, w in weighted if p >= threshold and y)
        fp = sum(w for p, y, w in weighted if p >= threshold and not y)
        fn = sum(w for p, y, w in weighted if p < threshold and y)
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return dataclasses.replace(model, threshold=round(best, 3))


def predictions(
    sets: Sequence[LabelledSet], decide: dict[tuple[str, str, str], bool]
) -> dict[str, dict[str, Any]]:
    """Item and pair scores per set from pair decisions (set, item, baseline) -> accepted."""
    result = {}
    for labelled in sets:
        predicted: dict[str, set[str]] = defaultdict(set)
        for (set_name, item_id, baseline), accepted in decide.items():
            if set_name == labelled.name and accepted:
                predicted[item_id].add(baseline)
        gold = [item.labels for item in labelled.items]
        result[labelled.name] = scores(gold, [predicted[i.id] for i in labelled.items])
    return result


def leave_one_baseline_out(
    sets: Sequence[LabelledSet], train_extra: Sequence[LabelledSet] = ()
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each baseline's pairs judged by a model trained without any pair of that baseline
    (in any set). Returns scores per set and per baseline."""
    everything = [p for s in [*sets, *train_extra] for p in s.pairs]
    decide: dict[tuple[str, str, str], bool] = {}
    for baseline in sorted({b for s in sets for b in s.baselines}):
        model = fit([p for p in everything if p.baseline_id != baseline])
        for labelled in sets:
            for pair in labelled.pairs:
                if pair.baseline_id == baseline:
                    accepted = model.probability(pair.row) >= model.threshold
                    decide[(pair.set_name, pair.item_id, baseline)] = accepted
    per_set = predictions(sets, decide)
    per_baseline = {}
    for labelled in sets:
        for baseline in labelled.baselines:
            per_baseline[f"{labelled.name}:{baseline}"] = _pair_scores(labelled, baseline, decide)
    return per_set, per_baseline


def _pair_scores(
    labelled: LabelledSet, baseline: str, decide: dict[tuple[str, str, str], bool]
) -> dict[str, Any]:
    tp = fp = fn = 0
    for item in labelled.items:
        accepted = decide.get((labelled.name, item.id, baseline), False)
        gold = baseline in item.labels
        tp += accepted and gold
        fp += accepted and not gold
        fn += gold and not accepted
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(f1, 3),
        "follow_ups": tp + fn,
    }


def log_loss(model: RelevanceModel, pairs: Sequence[Pair]) -> float:
    total = 0.0
    for pair in pairs:
        p = min(1 - 1e-9, max(1e-9, model.probability(pair.row)))
        total -= math.log(p if pair.label else 1 - p)
    return total / max(1, len(pairs))


CACHE = Path(".cache") / "item-vectors.npz"


def parse_set(text: str) -> tuple[Path, Path]:
    """FILE=WATCHLISTS_DIR."""
    path, sep, directory = text.partition("=")
    if not sep or not path or not directory:
        raise ValueError(f"{text!r}: expected FILE=WATCHLISTS_DIR")
    if not Path(path).is_file():
        raise ValueError(f"{path}: no such labelled file")
    if not Path(directory).is_dir():
        raise ValueError(f"{directory}: no such watchlist folder")
    return Path(path), Path(directory)


def train(
    sets: Sequence[tuple[Path, Path]],
    output: Path | None = None,
    feedback: LabelledSet | None = None,
) -> dict[str, Any]:
    """Fit the model on every set, write it (with its report) and return the report, whose
    leave-one-baseline-out figures are what a baseline nobody labelled gets. ``feedback``:
    a reader's verdicts (monitor.feedback), trained on and never measured on."""
    from monitor.relevance import MODEL_FILE

    CACHE.parent.mkdir(exist_ok=True)
    labelled = [
        labelled_set(f"{path.stem}@{directory.name}", path, directory, CACHE)
        for path, directory in sets
    ]
    extra = _with_feedback(labelled, feedback)
    per_set, per_baseline = leave_one_baseline_out(labelled, extra)
    model = fit([p for s in [*labelled, *extra] for p in s.pairs])
    report = {
        "trained_on": [s.name for s in [*labelled, *extra]],
        "pairs": sum(len(s.pairs) for s in [*labelled, *extra]),
        "threshold": model.threshold,
        "leave_one_baseline_out": {"per_set": per_set, "per_baseline": per_baseline},
    }
    target = output or MODEL_FILE
    target.write_text(model.to_json(report), encoding="utf-8")
    report["written"] = str(target)
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [f"trained on {', '.join(report['trained_on'])}: {report['pairs']} candidate pairs"]
    lines.append("leave-one-baseline-out (each baseline judged by a model trained without it):")
    for name, figures in report["leave_one_baseline_out"]["per_set"].items():
        lines.append(
            f"  {name}: P {figures['precision']:.2f} R {figures['recall']:.2f} "
            f"F1 {figures['f1']:.2f}, pair F1 {figures['pair_f1']:.2f}"
        )
    lines.append(f"model written to {report['written']} (threshold {report['threshold']})")
    return "\n".join(lines)


# --- feedback hook: a reader's verdicts (monitor.feedback) join the training pairs ---------


def _with_feedback(labelled: list[LabelledSet], feedback: LabelledSet | None) -> list[LabelledSet]:
    """The feedback set as extra training pairs; a shipped pair on the same article and
    baseline (same URL or title) gives way to the reader's verdict (``labelled`` is edited)."""
    if feedback is None or not feedback.pairs:
        return []
    articles = {item.id: item.article for item in feedback.items}
    judged = set()
    for pair in feedback.pairs:
        article = articles[pair.item_id]
        judged |= {(key, pair.baseline_id) for key in (article.url, article.title) if key}
    for index, labelled_set_ in enumerate(labelled):
        items = {item.id: item.article for item in labelled_set_.items}
        kept = tuple(
            pair
            for pair in labelled_set_.pairs
            if (items[pair.item_id].url, pair.baseline_id) not in judged
            and (items[pair.item_id].title, pair.baseline_id) not in judged
        )
        labelled[index] = LabelledSet(
            labelled_set_.name, labelled_set_.items, labelled_set_.baselines, kept
        )
    return [feedback]
