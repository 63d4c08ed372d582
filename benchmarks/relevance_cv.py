"""Leave-one-baseline-out figures for the relevance model: what a baseline nobody labelled gets.

    python benchmarks/derive_scratch.py ../shared/eval/other/baselines /tmp/derived-other
    python benchmarks/derive_scratch.py watchlists/baselines /tmp/derived-dev
    python benchmarks/relevance_cv.py /tmp/derived-other /tmp/derived-dev

Watchlists derived from scratch (no hand edits) for the four baselines of
../shared/eval/other/ and the five shipped ones; each baseline judged by a model trained
without it. Encoder vectors are cached in .cache/item-vectors.npz.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from monitor.training import labelled_set, leave_one_baseline_out

CACHE = Path(".cache/item-vectors.npz")


def main(derived_other: Path, derived_dev: Path) -> None:
    CACHE.parent.mkdir(exist_ok=True)
    sets = [
        labelled_set("other", Path("../shared/eval/other/labelled.jsonl"), derived_other, CACHE),
        labelled_set("dev", Path("../shared/eval/dev.jsonl"), derived_dev, CACHE),
    ]
    per_set, per_baseline = leave_one_baseline_out(sets)
    print(json.dumps({"per_set": per_set, "per_baseline": per_baseline}, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
