"""Can the sentence encoder tell when an English and a Chinese report are one development?

tests/data/stories/cross-language-pairs.jsonl holds the 70 most similar pairs (by the encoder)
of an English-titled and a Chinese-titled follow-up of one baseline, published within 48 hours
of each other, from the project's labelled sets, each judged by hand: the same development
(one event, statement or release) or two developments of one thread. This prints precision
and recall of "similarity >= t" for a range of t, and of the rule monitor/stories.py uses
(the same model or product code in both titles).

    .venv/bin/python benchmarks/cross_language_stories.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.encoder import load_encoder  # noqa: E402
from monitor.evaluate import load_items  # noqa: E402
from monitor.relevance import encoded_text  # noqa: E402
from monitor.stories import codes  # noqa: E402

PAIRS = ROOT / "tests" / "data" / "stories" / "cross-language-pairs.jsonl"
EVAL = ROOT / "tests" / "data" / "eval"


def scores(decided: list[bool], truth: list[bool]) -> str:
    tp = sum(d and t for d, t in zip(decided, truth, strict=True))
    chosen, real = sum(decided), sum(truth)
    precision = tp / chosen if chosen else 1.0
    return f"P {precision:.2f} R {tp / real:.2f} ({chosen} grouped)"


def main() -> None:
    pairs = [json.loads(line) for line in PAIRS.read_text(encoding="utf-8").splitlines()]
    articles = {
        item.id: item.article
        for path in [*EVAL.glob("*.jsonl"), *EVAL.glob("other/*.jsonl")]
        for item in load_items(path)
    }
    wanted = sorted({i for p in pairs for i in (p["a"], p["b"])})
    encoder = load_encoder()
    vectors = dict(
        zip(wanted, encoder.encode([encoded_text(articles[i]) for i in wanted]), strict=True)
    )
    similarity = [float(vectors[p["a"]] @ vectors[p["b"]]) for p in pairs]
    truth = [bool(p["same_development"]) for p in pairs]
    print(f"{len(pairs)} pairs, {sum(truth)} one development")
    for threshold in (0.40, 0.45, 0.50, 0.55, 0.60, 0.65):
        grouped = [s >= threshold for s in similarity]
        print(f"  similarity >= {threshold:.2f}: {scores(grouped, truth)}")
    shared_code = [
        bool(codes(articles[p["a"]].title) & codes(articles[p["b"]].title)) for p in pairs
    ]
    print(f"  a shared code (monitor/stories.py): {scores(shared_code, truth)}")


if __name__ == "__main__":
    main()
