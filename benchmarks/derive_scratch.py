"""Derive watchlists from scratch (no hand edits): an empty watchlists folder with the baseline
texts, their index and the curated alias data, then `derive` for every baseline.

    python benchmarks/derive_scratch.py ../shared/eval/other/baselines /tmp/derived-other
    python benchmarks/derive_scratch.py watchlists/baselines /tmp/derived-dev

Prints the seconds each baseline took, cold (the first run in this process also loads jieba's
dictionary and CC-CEDICT's tables, from the user's cache folder once a run has written them
there) and warm (a second run, what every later baseline costs), against
the goal of 5 s per baseline, and each baseline's ten most central subjects.
"""

from __future__ import annotations

import sys
from pathlib import Path

from monitor.evaluate import derive_from_scratch
from monitor.watchlist import load_watchlist

GOAL_SECONDS = 5.0


def main(source: Path, target: Path) -> None:
    cold = derive_from_scratch(source, target)
    warm = derive_from_scratch(source, target)
    for baseline_id, seconds in warm.items():
        watchlist = load_watchlist(target / f"{baseline_id}.yaml", base_dir=target)
        top = ", ".join(e.name for e in watchlist.entities[:10])
        print(f"{baseline_id}: cold {cold[baseline_id]:.2f} s, warm {seconds:.2f} s; {top}")
    worst = max(warm.values())
    print(f"slowest warm derivation {worst:.2f} s ({worst / GOAL_SECONDS:.2f}x the 5 s goal)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
