"""Derive watchlists from scratch (no hand edits): an empty watchlists folder with the baseline
texts, their index and the curated alias data, then `derive` for every baseline.

    python benchmarks/derive_scratch.py ../shared/eval/other/baselines /tmp/derived-other
    python benchmarks/derive_scratch.py watchlists/baselines /tmp/derived-dev

Prints the seconds each baseline took and its ten most central subjects.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from monitor.config import Settings
from monitor.pipeline import derive_watchlists
from monitor.watchlist import load_watchlist


def main(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    (target / "baselines").mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, target / "baselines" / path.name)
    shutil.copy(Path(__file__).parent.parent / "watchlists" / "aliases.yaml", target)
    settings = Settings(watchlists_dir=str(target))
    started = time.perf_counter()
    for report in derive_watchlists(settings):
        took = time.perf_counter() - started
        started = time.perf_counter()
        watchlist = load_watchlist(report.path, base_dir=target)
        top = ", ".join(e.name for e in watchlist.entities[:10])
        print(f"{report.baseline_id}: {took:.2f} s; {top}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
