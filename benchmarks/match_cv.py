"""How well the matcher's figures carry over to items it was not tuned on.

    .venv/bin/python benchmarks/match_cv.py               # the shipped matcher, fold by fold
    .venv/bin/python benchmarks/match_cv.py --combiner    # and a learned combiner, cross-validated

The labelled set is split by the SHA-1 of each item's id (monitor.evaluate.fold_of): five
folds, and two halves (even / odd). The shipped matcher has no fitted parameters, so its
per-fold figures show the spread one should expect, not a held-out score; the halves are
reported because the later vocabulary changes were made looking at the even half only.

``--combiner`` fits a logistic regression over per-(article, baseline) features of the
matcher (weighted entity hits by zone and kind, the hand scorer's own score and topic test,
a money figure in the title or lead, cross-baseline agreement) on four folds and scores the
fifth, for several regularisation strengths and thresholds. It is an experiment kept for
reproducibility: on the current set it does not beat the hand scorer, so it does not ship.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import evaluate  # noqa: E402
from monitor import match as m  # noqa: E402
from monitor.watchlist import load_watchlists  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
WATCHLISTS = ROOT / "watchlists"
FOLDS = 5
SHOWN = ("precision", "recall", "f1", "pair_precision", "pair_recall", "pair_f1")
# A sum of at least a hundred million in a currency: "$10bn", "3570亿美元", "500億元".
MONEY = re.compile(
    r"(?:us\$|\$|€|£)\s?\d[\d,.]*\s?-?(?:billion|bn|trillion|tn)\b"
    r"|\d[\d,.]*\s?(?:billion|trillion)\s(?:dollars|euros|yuan)\b"
    r"|[\d.,一二三四五六七八九十百千两数几]+\s?(?:万亿|亿)\s?(?:美元|元|人民币|欧元|日元|新台币|台币)"
)
KIND = {
    "company": "org",
    "body": "org",
    "product": "product",
    "model": "product",
    "person": "who",
    "place": "who",
    "concept": "thread",
    "policy": "thread",
}


def row(line: str, figures: dict[str, Any]) -> str:
    return f"{line:22}" + "".join(f"{figures[key]:8.3f}" for key in SHOWN)


def header() -> str:
    names = ("P", "R", "F1", "pair P", "pair R", "pair F1")
    return f"{'':22}" + "".join(f"{name:>8}" for name in names)


def mean(figures: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {key: sum(f[key] for f in figures) / len(figures) for key in SHOWN}


def shipped(items: Sequence[evaluate.Item], matcher: m.Matcher) -> None:
    guesses = [[x.baseline_id for x in matcher.match(item.article)] for item in items]
    print(header())
    print(row("all items", evaluate.scores([i.labels for i in items], guesses)))
    by_fold = evaluate.scores_by_fold(items, guesses, FOLDS)
    for fold, figures in enumerate(by_fold):
        print(row(f"fold {fold} ({figures['items']} items)", figures))
    print(row("mean of folds", mean(by_fold)))
    for half, figures in zip(
        ("even", "odd"), evaluate.scores_by_fold(items, guesses, 2), strict=True
    ):
        print(row(f"{half} half", figures))


# --- the learned combiner (experiment) ---------------------------------------------------


def features(matcher: m.Matcher, wi: int, hits: dict[int, Any], head: str) -> dict[str, float]:
    indexed = matcher._lists[wi]
    entities = indexed.entities
    f: dict[str, float] = {}
    for kind in ("org", "product", "who", "thread"):
        for zone_name, zones in (("head", (m.TITLE, m.LEAD)), ("body", (m.BODY,))):
            f[f"{kind}_{zone_name}"] = sum(
                entities[ei].weight
                for ei, hit in hits.items()
                if hit.zone in zones and KIND.get(entities[ei].type) == kind
            )
    topic = m._is_topic(entities, hits)
    found = m._score(indexed, hits) if topic else None
    f["topic"] = float(topic)
    f["score"] = found.score if found else 0.0
    f["evidence"] = min(sum(1 for ei in hits if entities[ei].weight >= m.CONTEXT_WEIGHT), 6) / 6
    f["money"] = float(bool(MONEY.search(head)))
    return f


def pair_rows(
    items: Sequence[evaluate.Item], matcher: m.Matcher
) -> list[tuple[int, int, list[float], bool]]:
    """(item index, watchlist index, features, is it a labelled pair) for every baseline the
    article hits at all and may follow up by date."""
    rows = []
    for index, item in enumerate(items):
        found = matcher.found(item.article)
        head = m.fold(item.article.title) + " " + m.fold(item.article.text)[: m.LEAD_CHARS]
        published = item.article.published.date() if item.article.published else None
        per_item = []
        for wi, hits in found.items():
            indexed = matcher._lists[wi]
            if published and indexed.cutoff and published < indexed.cutoff:
                continue
            per_item.append((wi, features(matcher, wi, hits, head)))
        best = max((f["score"] for _, f in per_item), default=0.0)
        agreeing = sum(f["topic"] for _, f in per_item) / max(len(matcher._lists), 1)
        for wi, f in per_item:
            f["item_best"], f["item_agreeing"] = best, agreeing
            label = matcher._lists[wi].watchlist.baseline.id in item.labels
            rows.append((index, wi, [f[k] for k in sorted(f)], label))
    return rows


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (the systems are about 20 x 20)."""
    n = len(b)
    mat = [[*r, b[i]] for i, r in enumerate(a)]
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(mat[r][c]))
        mat[c], mat[pivot] = mat[pivot], mat[c]
        for r in range(n):
            if r != c and mat[r][c]:
                factor = mat[r][c] / mat[c][c]
                mat[r] = [x - factor * y for x, y in zip(mat[r], mat[c], strict=True)]
    return [mat[i][n] / mat[i][i] for i in range(n)]


def fit(x: list[list[float]], y: list[float], l2: float, steps: int = 30) -> list[float]:
    """L2-regularised logistic regression by Newton steps; the last weight is the intercept."""
    data = [[*xi, 1.0] for xi in x]
    n = len(data[0])
    w = [0.0] * n
    for _ in range(steps):
        grad = [0.0] * n
        hess = [[0.0] * n for _ in range(n)]
        for xi, yi in zip(data, y, strict=True):
            p = sigmoid(sum(a * b for a, b in zip(w, xi, strict=True)))
            s = p * (1 - p)
            for i in range(n):
                grad[i] += (p - yi) * xi[i]
                for j in range(n):
                    hess[i][j] += s * xi[i] * xi[j]
        for i in range(n - 1):
            grad[i] += l2 * w[i]
            hess[i][i] += l2
        hess[n - 1][n - 1] += 1e-6
        step = solve(hess, grad)
        w = [a - b for a, b in zip(w, step, strict=True)]
        if max(abs(s) for s in step) < 1e-7:
            break
    return w


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def combiner(items: Sequence[evaluate.Item], matcher: m.Matcher) -> None:
    rows = pair_rows(items, matcher)
    ids = [matcher._lists[wi].watchlist.baseline.id for wi in range(len(matcher._lists))]
    gold = [item.labels for item in items]
    print(f"\nlogistic combiner, {FOLDS}-fold cross-validation ({len(rows)} candidate pairs)")
    print(f"{'l2, threshold':22}" + header()[22:])
    for l2 in (1.0, 3.0, 10.0):
        for threshold in (0.3, 0.4, 0.5):
            guesses: list[list[str]] = [[] for _ in items]
            for fold in range(FOLDS):
                held = [evaluate.fold_of(items[r[0]].id, FOLDS) == fold for r in rows]
                train = [r for r, h in zip(rows, held, strict=True) if not h]
                w = fit([r[2] for r in train], [float(r[3]) for r in train], l2)
                for r, h in zip(rows, held, strict=True):
                    if (
                        h
                        and sigmoid(sum(a * b for a, b in zip(w, [*r[2], 1.0], strict=True)))
                        >= threshold
                    ):
                        guesses[r[0]].append(ids[r[1]])
            print(row(f"{l2:g}, {threshold:g}", evaluate.scores(gold, guesses)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combiner", action="store_true", help="also cross-validate a combiner")
    args = parser.parse_args(argv)
    items = evaluate.load_items(CORPUS)
    matcher = m.Matcher(load_watchlists(WATCHLISTS))
    shipped(items, matcher)
    if args.combiner:
        combiner(items, matcher)
    return 0


if __name__ == "__main__":
    sys.exit(main())
