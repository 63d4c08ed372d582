"""Backfill throughput and peak memory over real news items, read in place from ../shared.

Streams 30,000+ real items (FT/WSJ/Economist/NYT feed items, Readhub topics, and the
exposir JSON Feeds parsed by the monitor's own feed parser) through `pipeline.backfill_entries`
(the ingest half of `monitor backfill`: dedupe, match, store, each with its published time as
`now`) into a fresh SQLite database, with page fetching off. Prints items per second and the
process's resident memory (now and peak) every 5k items and at the end; the goal is memory
that stays flat as items grow, at most 300 MB. Expect one-time steps, not growth: OpenCC's
dictionaries load with the first Chinese item (the Readhub part, after 10,823 items), and each
JSON Feed file is parsed whole (the largest is 4 MB).

    .venv/bin/python benchmarks/backfill.py [--limit N] [--chunk N]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor import config, pipeline  # noqa: E402
from monitor.feeds import parse_date, parse_feed  # noqa: E402
from monitor.models import Entry  # noqa: E402
from monitor.watchlist import load_watchlists  # noqa: E402
from storage import open_db  # noqa: E402

RAW = ROOT.parent / "shared" / "data" / "raw"
CHECKPOINTS = (5_000, 10_000, 15_000, 20_000, 25_000, 30_000)
GOAL_MB = 300


def orx365() -> Iterator[Entry]:
    """FT, WSJ, Economist and NYT feed items (English), one JSON object a line."""
    with (RAW / "orx365-rss-arch" / "items.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            item = json.loads(line)
            yield Entry(
                feed_url=f"https://archive.example/{item['source_path']}",
                guid=item["id"],
                link=item["link"],
                title=item["title"] or "",
                summary=item.get("summary") or "",
                published=parse_date(item.get("published") or ""),
                language="en",
            )


def readhub() -> Iterator[Entry]:
    """Readhub topic clusters (simplified Chinese), matching and non-matching."""
    for name in ("seed_matching_items.jsonl", "random_nonmatching_items.jsonl"):
        with (RAW / "readhub" / name).open(encoding="utf-8") as lines:
            for line in lines:
                item = json.loads(line)["item"]
                published = item.get("publishDate") or item.get("createdAt") or ""
                yield Entry(
                    feed_url="https://readhub.cn/hot",
                    guid=item["id"],
                    link=f"https://readhub.cn/topic/{item['id']}",
                    title=item.get("title") or "",
                    summary=item.get("summary") or "",
                    published=parse_date(published),
                    language="zh-Hans",
                )


def exposir() -> Iterator[Entry]:
    """40 Chinese and English JSON Feeds, through the monitor's feed parser."""
    for path in sorted((RAW / "exposir-rss-jsonfeed").glob("*.json")):
        parsed = parse_feed(
            path.read_bytes(), {"content-type": "application/feed+json"}, str(path), ""
        )
        yield from parsed.entries


def items(limit: int | None) -> Iterator[Entry]:
    count = 0
    for source in (orx365(), readhub(), exposir()):
        for entry in source:
            yield entry
            count += 1
            if limit is not None and count >= limit:
                return


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def current_mb() -> float:
    """Resident memory now (Linux), to tell a one-time step from growth with items."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="stop after N items")
    parser.add_argument("--chunk", type=int, default=500, help="entries read per ingest call")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        watchlists = ROOT / "watchlists"
        if not load_watchlists(watchlists):  # not derived yet: the tests' small one
            watchlists = ROOT / "tests" / "data" / "backfill" / "watchlists"
        settings = dataclasses.replace(
            config.load(None, env={}, data_dir=tmp),
            watchlists_dir=str(watchlists),
            fetch_pages=False,
        )
        db = open_db(settings.database)
        matcher = pipeline.build_matcher(settings)
        count = len(load_watchlists(watchlists))
        print(f"{count} watchlists from {watchlists.relative_to(ROOT)}; page fetching off")
        print(f"start: peak RSS {peak_mb():.0f} MB (interpreter, libraries, matcher)")
        print(f"{'items':>8} {'seconds':>8} {'items/s':>8} {'RSS MB':>8} {'peak MB':>8}")
        started = time.perf_counter()
        seen = 0
        marks = list(CHECKPOINTS)

        def counted() -> Iterator[Entry]:
            nonlocal seen
            for entry in items(args.limit):
                yield entry
                seen += 1
                if marks and seen == marks[0]:
                    marks.pop(0)
                    report(seen)

        def report(count: int) -> None:
            elapsed = time.perf_counter() - started
            print(
                f"{count:>8,} {elapsed:>8.1f} {count / elapsed:>8.0f} "
                f"{current_mb():>8.0f} {peak_mb():>8.0f}"
            )

        result = pipeline.backfill_entries(
            db,
            settings,
            counted(),
            dt.date(2000, 1, 1),
            dt.date(2030, 12, 31),
            matcher=matcher,
            chunk=args.chunk,
        )
        report(seen)
        print(
            f"stored {result.new_articles:,} articles ({result.entries - result.new_articles:,}"
            f" duplicates or already seen), {result.follow_ups:,} follow-ups, "
            f"{result.outside:,} outside the window"
        )
        verdict = "within" if peak_mb() <= GOAL_MB else "OVER"
        print(f"peak RSS {peak_mb():.0f} MB: {verdict} the {GOAL_MB} MB goal")


if __name__ == "__main__":
    main()
