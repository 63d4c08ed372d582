"""Cost of matching one article against watchlists of 100, 1,000 and 10,000 aliases, and
against a per-alias regex loop at 10,000 aliases.

Goals: 10,000 aliases cost at most 1.2x of 100 (one pass over the text, whatever the number of
aliases), also when one in ten is a word-group alias ("<all> a|b + c + d|e", each with a group
from a pool of 50 shared words, one of which the article holds, as "China" or "AI" are shared by
real ones), and the automaton is at least 50x faster than the loop.

    .venv/bin/python benchmarks/match_speed.py
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.match import Matcher  # noqa: E402
from monitor.models import Article, Baseline, Entity, Passage, Watchlist  # noqa: E402
from monitor.text import fold  # noqa: E402

DEV = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
SIZES = (100, 1_000, 10_000)
PER_WATCHLIST = 100  # aliases per watchlist, as in a derived one
HAN = "中国美芯片人工智能模型出口管制华为英伟达台积电算力数据中心投资稀土政策"


def article() -> Article:
    """The longest mixed-script item of the labelled set (about 1,500 characters)."""
    records = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    longest = max(records, key=lambda r: len(r["title"]) + len(r["text"]))
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return Article("", longest["title"], longest["text"], longest["language"], when)


def aliases(count: int, rng: random.Random) -> list[str]:
    """Half Latin names, half Han strings: shaped like real aliases, rarely in the text."""
    names = []
    for i in range(count):
        if i % 2:
            names.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7)))
        else:
            names.append("".join(rng.choice(HAN) for _ in range(4)))
    return names


def watchlists(count: int, grouped: bool = False) -> list[Watchlist]:
    rng = random.Random(count)
    names = aliases(count, rng)
    if grouped:  # every tenth alias a word-group alias; "national" is in the article
        shared = ["national", *aliases(49, rng)]
        names = [
            f"<all> {n}|{names[i - 1]} + {names[i - 2]} + {shared[i // 10 % 50]}|中国"
            if i % 10 == 0
            else n
            for i, n in enumerate(names)
        ]
    lists = []
    for start in range(0, count, PER_WATCHLIST):
        baseline = Baseline(f"b{start}", "t", "en", dt.date(2025, 1, 1), "b.txt")
        entities = tuple(
            Entity(name, "concept", 0.5, {"en": (name,)}, (Passage(1, 1),))
            for name in names[start : start + PER_WATCHLIST]
        )
        lists.append(Watchlist(baseline, entities, ("p",)))
    return lists


def per_call(fn: Callable[[], object], min_seconds: float = 0.5) -> float:
    """Median seconds per call over several rounds."""
    fn()
    rounds = []
    for _ in range(5):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < min_seconds / 5:
            fn()
            calls += 1
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


def regex_loop(names: list[str], item: Article) -> Callable[[], object]:
    patterns = [re.compile(rf"(?<![a-z0-9]){re.escape(fold(n))}(?![a-z0-9])") for n in names]

    def run() -> list[str]:
        text = fold(item.title) + "\n" + fold(item.text)
        return [p.pattern for p in patterns if p.search(text)]

    return run


def main() -> None:
    item = article()
    print(f"article: {len(item.title) + len(item.text)} characters")
    per_call(lambda: fold(item.text), 1.0)  # warm up opencc and the CPU before timing
    cost = {}
    for size in SIZES:
        matcher = Matcher(watchlists(size))
        cost[size] = per_call(lambda m=matcher: m.match(item))
        print(f"automaton, {size:>6} aliases: {cost[size] * 1e6:9.1f} µs per article")
    grouped = Matcher(watchlists(SIZES[-1], grouped=True))
    cost_grouped = per_call(lambda: grouped.match(item))
    print(f"automaton, {SIZES[-1]:>6} aliases, 1 in 10 word groups: {cost_grouped * 1e6:9.1f} µs")
    names = [e.name for w in watchlists(SIZES[-1]) for e in w.entities]
    loop = per_call(regex_loop(names, item))
    print(f"regex loop, {SIZES[-1]:>5} aliases: {loop * 1e6:9.1f} µs per article")
    growth = cost[SIZES[-1]] / cost[SIZES[0]]
    speedup = loop / cost[SIZES[-1]]
    print(f"10,000 vs 100 aliases: {growth:.2f}x (goal <= 1.2x)")
    print(f"10,000 with word groups vs 100: {cost_grouped / cost[SIZES[0]]:.2f}x (goal <= 1.2x)")
    print(f"automaton vs regex loop at 10,000: {speedup:.0f}x faster (goal >= 50x)")


if __name__ == "__main__":
    main()
