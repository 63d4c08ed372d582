"""Matching quality on the labelled sets, checked against the floors pinned in floors.json.

    .venv/bin/python benchmarks/match_quality.py            # print figures, fail below a floor
    .venv/bin/python benchmarks/match_quality.py --update   # pin the current figures as floors

Three labelled sets are guarded: ``dev`` (the set the vocabulary was written against),
``holdout`` and ``holdout2`` (each labelled blind, later used for error analysis too), and
``holdout3`` (labelled blind, measured only).
``--update`` refuses to lower a floor of any unless ``--allow-regression`` is given.
floors.json also holds the SHA-256 of each labelled file: floors measured on another corpus
do not apply.
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

from monitor import evaluate  # noqa: E402

FLOORS = ROOT / "benchmarks" / "floors.json"
EVAL = ROOT / "tests" / "data" / "eval"
CORPORA = {
    "dev": EVAL / "dev.jsonl",
    "holdout": EVAL / "holdout.jsonl",
    "holdout2": EVAL / "holdout2.jsonl",
    "holdout3": EVAL / "holdout3.jsonl",
}
WATCHLISTS = ROOT / "watchlists"
EPSILON = 0.002  # rounding noise; a real regression is larger
GUARDED = (*evaluate.METRIC_KEYS, "f1_over_keyword")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(corpus: Path, watchlists: Path = WATCHLISTS) -> dict[str, Any]:
    result = evaluate.run(corpus, watchlists)
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
            "corpus": str(CORPORA[name].relative_to(ROOT)) if name in CORPORA else name,
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
    results = {name: measure(path) for name, path in CORPORA.items()}
    shas = {name: sha256(path) for name, path in CORPORA.items()}
    for name, result in results.items():
        print(f"== {name}: {CORPORA[name].relative_to(ROOT)}")
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
