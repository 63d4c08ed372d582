"""Per-article cost of our extract-and-store against bare ``trafilatura.extract``.

Both sides get the same real pages, already decoded (fetching is not measured): English pages
from trafilatura's evaluation set, Chinese news pages from GeneralNewsExtractor and
newspaper4k, read in place from ../shared. "Ours" is what ingest does per page after the
fetch: Extractor.extract (trafilatura with metadata, language), canonical URL, fingerprint,
and storing the article, its source and its entry row in one transaction (SQLite with the
full-text index). Goal: at most 1.15x the bare extraction.

Times are CPU seconds of this process (other load on the machine adds no noise), the best
of --rounds rounds, with the three variants interleaved.

    .venv/bin/python benchmarks/ingest.py [--pages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.dedupe import canonical_url, fingerprint  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract import Extractor  # noqa: E402
from monitor.models import Fetched  # noqa: E402
from storage import articles as stored_articles  # noqa: E402
from storage import open_db  # noqa: E402

RAW = ROOT.parent / "shared" / "data" / "raw"
GOAL = 1.15
NOW = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def pages(limit: int) -> list[tuple[str, str]]:
    """(url, html) of real pages, Chinese and English, decoded."""
    paths = sorted((RAW / "gne-chinese-news-html" / "tests").glob("*/*.html"))
    paths += sorted((RAW / "newspaper4k-tests" / "html").glob("chinese_article*.html"))
    english = sorted((RAW / "trafilatura-eval" / "html").glob("*.html"))
    chosen = paths[: limit // 2] + english[: limit - min(len(paths), limit // 2)]
    out = []
    for n, path in enumerate(chosen):
        html = path.read_bytes().decode("utf-8", errors="replace")
        out.append((f"https://news.example/{n}/{path.stem}?utm_source=rss", html))
    return out


def bare(docs: list[tuple[str, str]]) -> float:
    start = time.process_time()
    for url, html in docs:
        trafilatura.extract(html, url=url)
    return time.process_time() - start


def ours(
    docs: list[tuple[str, str]], directory: Path, round_no: int, want_date: bool
) -> tuple[float, int]:
    db = open_db(directory / f"bench-{round_no}.db")
    extractor = Extractor()
    failures = 0
    start = time.process_time()
    for n, (url, html) in enumerate(docs):
        page = Fetched(url, 200, {"content-type": "text/html; charset=utf-8"}, b"", html, "utf-8")
        try:
            article = extractor.extract(page, want_date=want_date)
        except ExtractError:
            failures += 1
            continue
        canonical = canonical_url(url)
        source = stored_articles.Source(url=url, feed_url="bench", source_name="bench")
        with db.atomic():
            article_id, _ = stored_articles.save_article(
                db,
                article.__class__(**{**article.__dict__, "url": canonical}),
                fingerprint(article.text),
                source,
                NOW,
            )
            stored_articles.mark_entry(db, "bench", f"e{n}", article_id, NOW)
    elapsed = time.process_time() - start
    db.close()
    return elapsed, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    docs = pages(args.pages)
    print(f"{len(docs)} real pages, {sum(len(h) for _, h in docs) / 1e6:.1f} MB of HTML")
    bare(docs[:5])  # warm imports and caches on both sides
    bare_times: list[float] = []
    dated: list[float] = []  # the entry had a date: the page is not searched for one
    undated: list[float] = []  # worst case: the page's date is looked up too
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        ours(docs[:5], Path(tmp), -1, True)
        for round_no in range(args.rounds):  # interleaved, so drift hits all three alike
            bare_times.append(bare(docs))
            elapsed, failures = ours(docs, Path(tmp), 2 * round_no, False)
            dated.append(elapsed)
            elapsed, failures = ours(docs, Path(tmp), 2 * round_no + 1, True)
            undated.append(elapsed)
    b = min(bare_times)
    print(f"bare trafilatura.extract:               {1000 * b / len(docs):.1f} ms/page")
    for label, times in (("entry dated (usual)", dated), ("entry undated (page date)", undated)):
        o = min(times)
        ratio = o / b
        verdict = "ok" if ratio <= GOAL else "over the goal"
        print(
            f"ours, {label + ':':27} {1000 * o / len(docs):.1f} ms/page, "
            f"{ratio:.2f}x (goal <= {GOAL}x: {verdict})"
        )
    print(f"{failures} pages gave no text (stored from the feed in a poll)")


if __name__ == "__main__":
    main()
