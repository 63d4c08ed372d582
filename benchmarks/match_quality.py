"""Matching quality on the labelled set, checked against the floors pinned in floors.json.

    .venv/bin/python benchmarks/match_quality.py            # print figures, fail below a floor
    .venv/bin/python benchmarks/match_quality.py --update   # pin the current figures as floors

``--update`` refuses to lower a floor unless ``--allow-regression`` is given. floors.json also
holds the SHA-256 of the labelled file: floors measured on another corpus do not apply.
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
CORPUS = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
WATCHLISTS = ROOT / "watchlists"
EPSILON = 0.002  # rounding noise; a real regression is larger
GUARDED = (*evaluate.METRIC_KEYS, "f1_over_keyword")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def measure(corpus: Path = CORPUS, watchlists: Path = WATCHLISTS) -> dict[str, Any]:
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


def update(result: dict[str, Any], pinned: dict[str, Any], corpus_sha: str, allow: bool) -> int:
    old = pinned.get("floors", {}) if pinned.get("corpus_sha256") == corpus_sha else {}
    lowered = below_floors(result, old)
    if lowered and not allow:
        print("refusing to lower floors (use --allow-regression):\n  " + "\n  ".join(lowered))
        return 1
    pinned = {
        "corpus": str(CORPUS.relative_to(ROOT)),
        "corpus_sha256": corpus_sha,
        "epsilon": EPSILON,
        "floors": {key: result[key] for key in GUARDED},
    }
    FLOORS.write_text(json.dumps(pinned, indent=2) + "\n", encoding="utf-8")
    print(f"pinned floors in {FLOORS}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="pin the current figures")
    parser.add_argument("--allow-regression", action="store_true", help="allow lower floors")
    args = parser.parse_args(argv)
    result = measure()
    print(evaluate.format_report(result))
    print(f"f1 / keyword f1   {result['f1_over_keyword']:.2f}x")
    pinned = load_floors()
    corpus_sha = sha256(CORPUS)
    if args.update:
        return update(result, pinned, corpus_sha, args.allow_regression)
    if pinned.get("corpus_sha256") != corpus_sha:
        print("the labelled file changed since the floors were pinned; run with --update")
        return 1
    failed = below_floors(result, pinned["floors"])
    for line in failed:
        print("below floor: " + line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
