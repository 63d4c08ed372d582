"""Cost per follow-up of grouping follow-ups into stories (monitor/stories.py), as a baseline's
timeline page and the main feed do on every poll tick, at 100, 1,000 and 4,000 follow-ups.

Items are the titles of the four labelled sets (real en / zh / zh-Hant news), one per label,
stored a few minutes apart; beyond the 1,108 titles they repeat a week later, so repeats are
separate events. Goal: 4,000 follow-ups cost at most 3x per follow-up of 100 (grouping
compares only candidates sharing a code or uncommon title bigrams within 72 hours, not every
pair).

    .venv/bin/python benchmarks/digest_stories.py
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.models import DigestItem  # noqa: E402
from monitor.stories import group_stories  # noqa: E402

EVAL = ROOT / "tests" / "data" / "eval"
SIZES = (100, 1_000, 4_000)
GOAL = 3.0
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def records() -> list[tuple[dict[str, str], str]]:
    out = []
    for path in sorted(EVAL.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for label in record.get("labels") or ["none"]:
                out.append((record, label))
    return out


def items(count: int) -> list[DigestItem]:
    pool = records()
    out = []
    for number in range(count):
        record, label = pool[number % len(pool)]
        at = START + dt.timedelta(minutes=5 * number, days=7 * (number // len(pool)))
        out.append(
            DigestItem(
                article_id=number,
                baseline_id=label,
                title=record["title"],
                url="",
                source=record["source"],
                published=None,
                language=record.get("language", ""),
                extract="",
                reason="",
                score=0.5 + (number % 50) / 100,
                entities=(),
                paragraph=1,
                passage="",
                passage_url="",
                stored_at=at,
                matched_at=at,
            )
        )
    return out


def per_item(count: int) -> tuple[float, int]:
    batch = items(count)
    group_stories(batch, {}, {})  # warm the title caches and opencc
    times = []
    stories = 0
    for _ in range(3):
        started = time.perf_counter()
        stories = len(group_stories(batch, {}, {}))
        times.append(time.perf_counter() - started)
    return statistics.median(times) / count, stories


def main() -> int:
    costs = {}
    for size in SIZES:
        cost, stories = per_item(size)
        costs[size] = cost
        print(f"{size:>5} follow-ups -> {stories:>5} stories: {cost * 1e6:7.1f} µs per follow-up")
    ratio = costs[SIZES[-1]] / costs[SIZES[0]]
    print(f"{SIZES[-1]} vs {SIZES[0]}: {ratio:.2f}x per follow-up (goal <= {GOAL}x)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
