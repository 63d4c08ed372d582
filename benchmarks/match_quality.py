"""Matching quality on the labelled sets, checked against the floors pinned in floors.json.

    .venv/bin/python benchmarks/match_quality.py            # print figures, fail below a floor
    .venv/bin/python benchmarks/match_quality.py --update   # pin the current figures as floors

Six labelled sets are guarded: ``dev`` (the set the vocabulary was written against),
``holdout`` and ``holdout2`` (each labelled blind, later used for error analysis too), and
``holdout3``, ``holdout4`` and ``holdout5`` (labelled blind, measured only; the last two
labelled twice and adjudicated).
``--update`` refuses to lower a floor of any unless ``--allow-regression`` is given.
floors.json also holds the SHA-256 of each labelled file: floors measured on another corpus
do not apply.

The same sets are also measured with the learned relevance model (names ending in
``+model``), and three with watchlists derived from scratch, no hand edits (``+derived``):
``other`` (four baselines on topics the project was never tuned on), ``dev`` and ``more``. The
shipped model was trained on the labels of ``other`` and ``dev``, so those are in-sample
figures: floors that catch a regression, not what a new baseline gets (the model file's report
has leave-one-baseline-out figures for that). It never saw ``more`` (four further baselines):
that one is what a new baseline gets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from monitor import evaluate  # noqa: E402
from monitor.match import RULES  # noqa: E402

FLOORS = ROOT / "benchmarks" / "floors.json"
EVAL = ROOT / "tests" / "data" / "eval"
CORPORA = {
    "dev": EVAL / "dev.jsonl",
    "holdout": EVAL / "holdout.jsonl",
    "holdout2": EVAL / "holdout2.jsonl",
    "holdout3": EVAL / "holdout3.jsonl",
    "holdout4": EVAL / "holdout4.jsonl",
    "holdout5": EVAL / "holdout5.jsonl",
}
WATCHLISTS = ROOT / "watchlists"
SHIPPED_MODEL = ""  # the relevance model shipped in monitor/data


@dataclass(frozen=True)
class Variant:
    """How one guarded figure set is measured: a labelled file, watchlists (the shipped folder,
    or derived from scratch from a folder of baselines) and the relevance decision."""

    corpus: Path
    relevance_model: str = RULES
    derive_from: Path | None = None


VARIANTS = {
    **{name: Variant(path) for name, path in CORPORA.items()},
    **{f"{name}+model": Variant(path, SHIPPED_MODEL) for name, path in CORPORA.items()},
    "other+derived+model": Variant(
        EVAL / "other" / "labelled.jsonl", SHIPPED_MODEL, EVAL / "other" / "baselines"
    ),
    "dev+derived+model": Variant(CORPORA["dev"], SHIPPED_MODEL, WATCHLISTS / "baselines"),
    # four more baselines the shipped model never trained on: a floor of what a new one gets
    "more+derived+model": Variant(
        EVAL / "more" / "labelled.jsonl", SHIPPED_MODEL, EVAL / "more" / "baselines"
    ),
}
EPSILON = 0.002  # rounding noise; a real regression is larger
GUARDED = (*evaluate.METRIC_KEYS, "f1_over_keyword")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(variant: Variant) -> dict[str, Any]:
    if variant.derive_from is None:
        return _measured(variant, WATCHLISTS)
    with tempfile.TemporaryDirectory() as scratch:
        derived = Path(scratch) / "watchlists"
        evaluate.derive_from_scratch(variant.derive_from, derived)
        return _measured(variant, derived)


def _measured(variant: Variant, watchlists: Path) -> dict[str, Any]:
    result = evaluate.run(variant.corpus, watchlists, relevance_model=variant.relevance_model)
    floor_f1 = result["keyword_floor"]["f1"]
    result["f1_over_keyword"] = round(result["f1"] / floor_f1, 4) if floor_f1 else 0.0
    return result


def below_floors(result: dict[str, Any], floors: dict[str, float]) -> list[str]:
    """Every figure that fell below its floor, as 'name: value < floor'."""
    return [
        f"{key}: {result[key]:.4f} < {floors[key]:.4f}"
        for key in GUARDED
        if key in floors and result[key] < floors[key] - EPSILON
    ]


def load_floors(path: Path = FLOORS) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def pinned_floors(pinned: dict[str, Any], name: str, corpus_sha: str) -> dict[str, float]:
    """The floors pinned for corpus ``name``, if they were measured on this very file."""
    entry = pinned.get("corpora", {}).get(name, {})
    return dict(entry.get("floors", {})) if entry.get("corpus_sha256") == corpus_sha else {}


def update(
    results: dict[str, dict[str, Any]],
    pinned: dict[str, Any],
    shas: dict[str, str],
    allow: bool,
) -> int:
    lowered = [
        f"{name} {line}"
        for name, result in results.items()
        for line in below_floors(result, pinned_floors(pinned, name, shas[name]))
    ]
    if lowered and not allow:
        print("refusing to lower floors (use --allow-regression):\n  " + "\n  ".join(lowered))
        return 1
    corpora = {
        name: {
            "corpus": str(VARIANTS[name].corpus.relative_to(ROOT)) if name in VARIANTS else name,
            "corpus_sha256": shas[name],
            "floors": {key: result[key] for key in GUARDED},
        }
        for name, result in results.items()
    }
    FLOORS.write_text(
        json.dumps({"epsilon": EPSILON, "corpora": corpora}, indent=2) + "\n", encoding="utf-8"
    )
    print(f"pinned floors in {FLOORS}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="pin the current figures")
    parser.add_argument("--allow-regression", action="store_true", help="allow lower floors")
    args = parser.parse_args(argv)
    results = {name: measure(variant) for name, variant in VARIANTS.items()}
    shas = {name: sha256(variant.corpus) for name, variant in VARIANTS.items()}
    for name, result in results.items():
        print(f"== {name}: {VARIANTS[name].corpus.relative_to(ROOT)}")
        print(evaluate.format_report(result))
        print(f"f1 / keyword f1   {result['f1_over_keyword']:.2f}x")
    pinned = load_floors()
    if args.update:
        return update(results, pinned, shas, args.allow_regression)
    failed = []
    for name, result in results.items():
        floors = pinned_floors(pinned, name, shas[name])
        if not floors:
            failed.append(f"{name}: no floors pinned for this file; run with --update")
            continue
        failed += [f"{name} {line}" for line in below_floors(result, floors)]
    for line in failed:
        print("below floor: " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
