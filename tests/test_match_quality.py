"""Matching quality on the labelled set never falls below the floors pinned in
benchmarks/floors.json (see benchmarks/match_quality.py to measure and re-pin)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from monitor import evaluate

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "eval" / "dev.jsonl"
PINNED = json.loads((ROOT / "benchmarks" / "floors.json").read_text(encoding="utf-8"))
EPSILON = PINNED["epsilon"]


@pytest.fixture(scope="module")
def result() -> dict:
    measured = evaluate.run(CORPUS, ROOT / "watchlists")
    keyword_f1 = measured["keyword_floor"]["f1"]
    measured["f1_over_keyword"] = measured["f1"] / keyword_f1 if keyword_f1 else 0.0
    return measured


def test_floors_were_pinned_on_this_corpus():
    assert hashlib.sha256(CORPUS.read_bytes()).hexdigest() == PINNED["corpus_sha256"]


@pytest.mark.parametrize("key", sorted(PINNED["floors"]))
def test_figure_is_not_below_its_floor(result: dict, key: str):
    assert result[key] >= PINNED["floors"][key] - EPSILON


def test_matcher_beats_the_keyword_alert(result: dict):
    assert result["f1"] > result["keyword_floor"]["f1"]
    assert result["precision"] > result["keyword_floor"]["precision"]


def test_every_item_was_evaluated(result: dict):
    assert result["items"] == sum(1 for line in CORPUS.open(encoding="utf-8") if line.strip())
