"""What the relevance stage costs, on real article pages, as a ratio to bare
``trafilatura.extract`` of the same pages measured in the same run.

- per average article: the whole match step (alias pass, and for candidates the encoder and
  the model) over every page, divided by extracting every page; goal at most 0.25x;
- per candidate article: the match step of an article that reaches the encoder, divided by
  extracting an average page;
- the share of articles that reach the encoder (those naming a thread or an actor of some
  baseline: monitor.match.worth_judging);
- the peak RSS of a fresh process holding the matcher and the encoder, having matched an
  article; goal at most 400 MB.

Pages: the Chinese news pages of the GNE benchmark and the Zyte article-extraction benchmark
(../shared/data/raw), dated after the baselines so the date rule lets them through.

    .venv/bin/python benchmarks/relevance_cost.py
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RAW = ROOT.parent / "shared" / "data" / "raw"
FOLDERS = ("gne-chinese-news-html", "zyte-article-extraction-benchmark")
WATCHLISTS = ROOT / "watchlists"
NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
GZ_OR_HTML = (".html", ".gz")
GOAL_RATIO = 0.25
POLL_BATCH = 64  # articles matched together, as a poll stores a feed batch
GOAL_MB = 400


def pages() -> list[str]:
    found = sorted(
        p for folder in FOLDERS for p in (RAW / folder).rglob("*.html*") if p.suffix in GZ_OR_HTML
    )
    return [
        (gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()).decode(
            "utf-8", "replace"
        )
        for p in found
    ]


def load_matcher():  # type: ignore[no-untyped-def]
    from monitor.match import learned_matcher
    from monitor.watchlist import load_watchlists

    return learned_matcher(load_watchlists(WATCHLISTS), cache_dir=WATCHLISTS / ".derived")


def articles(markups: list[str]):  # type: ignore[no-untyped-def]
    from trafilatura import bare_extraction

    from monitor.models import Article

    found = []
    for markup in markups:
        doc = bare_extraction(markup, with_metadata=True)
        if doc is None:
            continue
        title = (doc.title if hasattr(doc, "title") else doc.get("title")) or ""
        text = (doc.text if hasattr(doc, "text") else doc.get("text")) or ""
        found.append(Article("", title, text, "", NOW))
    return found


def extract_seconds(markups: list[str]) -> float:
    from trafilatura import extract

    start = time.perf_counter()
    for markup in markups:
        extract(markup)
    return time.perf_counter() - start


def peak_rss_mb() -> float:
    """A fresh process: load the matcher and encoder, match one article, report its peak
    resident size. VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so a
    child would report this benchmark's own peak (pages and trafilatura included)."""
    code = (
        "import sys, datetime as dt; sys.path.insert(0, sys.argv[1]);"
        "from benchmarks.relevance_cost import load_matcher; from monitor.models import Article;"
        "m = load_matcher();"
        "m.match(Article('', '美国收紧对华芯片出口管制', '英伟达H20对华出口受限。', '',"
        " dt.datetime(2026, 3, 1, tzinfo=dt.UTC)));"
        "print(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    from monitor.match import worth_judging

    markups = pages()
    extract_seconds(markups[:5])  # warm trafilatura up
    extracted = min(extract_seconds(markups) for _ in range(2))
    items = articles(markups)
    matcher = load_matcher()
    matcher.match(items[0])  # warm the encoder up
    candidate_seconds: list[float] = []
    total = 0.0
    for item in items:
        judged = worth_judging(matcher.candidates(item))  # not timed: the match step does it
        start = time.perf_counter()
        matcher.match(item)
        spent = time.perf_counter() - start
        total += spent
        if judged:
            candidate_seconds.append(spent)
    # what polling does: a feed batch's articles matched together, the encoder called once
    start = time.perf_counter()
    for first in range(0, len(items), POLL_BATCH):
        matcher.match_many(items[first : first + POLL_BATCH])
    batched = (time.perf_counter() - start) / len(items)
    per_page = extracted / len(markups)
    per_article = total / len(items)
    per_candidate = sum(candidate_seconds) / max(1, len(candidate_seconds))
    rss = peak_rss_mb()
    figures = {
        "pages": len(markups),
        "articles": len(items),
        "extract_ms_per_page": round(per_page * 1000, 2),
        "match_ms_per_article": round(per_article * 1000, 2),
        "match_ms_per_candidate": round(per_candidate * 1000, 2),
        "ratio_per_article": round(per_article / per_page, 3),
        "ratio_per_candidate": round(per_candidate / per_page, 3),
        "batched_ms_per_article": round(batched * 1000, 2),
        "batched_ratio_per_article": round(batched / per_page, 3),
        "share_reaching_encoder": round(len(candidate_seconds) / len(items), 3),
        "peak_rss_mb": round(rss, 1),
        "this_process_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(figures, indent=1))
    ratio = figures["ratio_per_article"]
    print(
        f"match step per average article: {ratio}x bare trafilatura.extract"
        f" (goal <= {GOAL_RATIO}x): {'met' if ratio <= GOAL_RATIO else 'NOT met'}"
    )
    print(f"per candidate article: {figures['ratio_per_candidate']}x")
    print(
        f"per article, matched {POLL_BATCH} at a time as polling does:"
        f" {figures['batched_ratio_per_article']}x"
    )
    print(f"share of articles reaching the encoder: {figures['share_reaching_encoder']:.0%}")
    print(
        f"peak RSS with matcher and encoder: {figures['peak_rss_mb']} MB (goal <= {GOAL_MB} MB):"
        f" {'met' if rss <= GOAL_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
