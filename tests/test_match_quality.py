"""Matching quality on the labelled sets never falls below the floors pinned in
benchmarks/floors.json (see benchmarks/match_quality.py to measure and re-pin): with the
hand-written rules and with the learned model on the shipped watchlists, and with the learned
model on watchlists derived from scratch for ``other`` and ``dev``."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from monitor import evaluate

ROOT = Path(__file__).resolve().parents[1]


def _benchmark_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "match_quality", ROOT / "benchmarks" / "match_quality.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark_module()
VARIANTS = BENCH.VARIANTS
PINNED = json.loads((ROOT / "benchmarks" / "floors.json").read_text(encoding="utf-8"))
EPSILON = PINNED["epsilon"]
FLOORED = [
    (name, key) for name in sorted(VARIANTS) for key in sorted(PINNED["corpora"][name]["floors"])
]


@pytest.fixture(scope="module")
def results() -> dict[str, dict]:
    return {name: BENCH.measure(variant) for name, variant in VARIANTS.items()}


@pytest.fixture(scope="module")
def result(results: dict[str, dict]) -> dict:
    return results["dev"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_floors_were_pinned_on_this_corpus(name: str):
    pinned = PINNED["corpora"][name]["corpus_sha256"]
    assert hashlib.sha256(VARIANTS[name].corpus.read_bytes()).hexdigest() == pinned


@pytest.mark.parametrize(("name", "key"), FLOORED)
def test_figure_is_not_below_its_floor(results: dict[str, dict], name: str, key: str):
    assert results[name][key] >= PINNED["corpora"][name]["floors"][key] - EPSILON


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_matcher_beats_the_keyword_alert(results: dict[str, dict], name: str):
    figures = results[name]
    assert figures["f1"] > figures["keyword_floor"]["f1"]
    assert figures["precision"] > figures["keyword_floor"]["precision"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_item_was_evaluated(results: dict[str, dict], name: str):
    with VARIANTS[name].corpus.open(encoding="utf-8") as lines:
        assert results[name]["items"] == sum(1 for line in lines if line.strip())


def test_dev_figures_meet_the_acceptance_bar(result: dict):
    assert result["precision"] >= 0.90
    assert result["recall"] >= 0.90
    assert result["pair_f1"] >= 0.80
    assert result["f1"] >= 1.5 * result["keyword_floor"]["f1"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-01-30T02:38:39.000Z", "2026-01-30T02:38:39+00:00"),
        ("2025-05-13T09:54:05-04:00", "2025-05-13T09:54:05-04:00"),
        ("2026-07-23T03:41:51+08:00", "2026-07-23T03:41:51+08:00"),
        ("Thu, 08 Jan 2026 11:31:00 GMT", "2026-01-08T11:31:00+00:00"),
        ("2023-05-23", "2023-05-23T00:00:00+00:00"),
        ("2025-09-27 12:38:54", "2025-09-27T12:38:54+00:00"),
    ],
)
def test_published_dates_in_every_source_format_are_read(raw: str, expected: str):
    parsed = evaluate.parse_date(raw)
    assert parsed is not None
    assert parsed == dt.datetime.fromisoformat(expected)
    assert parsed.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("raw", ["", "soon", None])
def test_unreadable_date_leaves_the_item_undated(raw):
    item = evaluate.item_from({"id": "x", "title": "t", "text": "", "published": raw, "labels": []})
    assert item.article.published is None


def test_item_and_pair_scores_count_baselines_separately():
    gold = [frozenset({"a", "b"}), frozenset(), frozenset({"a"}), frozenset()]
    guess = [["a"], ["b"], [], []]
    result = evaluate.scores(gold, guess)
    # items: one hit, one false alarm, one miss
    assert (result["precision"], result["recall"]) == (0.5, 0.5)
    # pairs: a/a right; b missed, b false, a missed
    assert result["pair_precision"] == 0.5
    assert result["pair_recall"] == pytest.approx(1 / 3, abs=1e-4)


def test_result_has_the_keys_the_json_report_promises(result: dict):
    keys = {"items", "precision", "recall", "f1", "pair_precision", "pair_recall", "pair_f1"}
    assert keys <= set(result)
    assert keys <= set(result["keyword_floor"])


def test_pinning_refuses_to_lower_a_floor_without_permission(tmp_path, monkeypatch):
    bench = BENCH
    monkeypatch.setattr(bench, "FLOORS", tmp_path / "floors.json")
    pinned = {"corpora": {"holdout": {"corpus_sha256": "x", "floors": {"f1": 0.8}}}}
    better = {key: 0.9 for key in bench.GUARDED}
    worse = {key: 0.5 for key in bench.GUARDED}
    results = {"dev": better, "holdout": worse}
    shas = {"dev": "d", "holdout": "x"}
    assert bench.update(results, pinned, shas, allow=False) == 1
    assert not (tmp_path / "floors.json").exists()
    assert bench.update(results, pinned, shas, allow=True) == 0
    written = json.loads((tmp_path / "floors.json").read_text())["corpora"]
    assert written["holdout"]["floors"]["f1"] == 0.5
    assert written["dev"]["floors"]["f1"] == 0.9


def test_floors_pinned_on_another_file_do_not_apply():
    bench = BENCH
    pinned = {"corpora": {"dev": {"corpus_sha256": "old", "floors": {"f1": 0.9}}}}
    assert bench.pinned_floors(pinned, "dev", "new") == {}
    assert bench.pinned_floors(pinned, "dev", "old") == {"f1": 0.9}


def test_folds_are_fixed_by_the_id_and_cover_every_item():
    ids = [f"source:{n}" for n in range(200)]
    folds = [evaluate.fold_of(item_id, 5) for item_id in ids]
    assert folds == [evaluate.fold_of(item_id, 5) for item_id in reversed(ids)][::-1]
    assert set(folds) == {0, 1, 2, 3, 4}
    assert evaluate.fold_of("source:1", 2) == int(hashlib.sha1(b"source:1").hexdigest(), 16) % 2


def test_scores_by_fold_split_the_items_without_overlap():
    items = [
        evaluate.Item(f"x:{n}", evaluate.item_from({}).article, frozenset({"a"} if n % 3 else ()))
        for n in range(30)
    ]
    guesses = [["a"] for _ in items]
    by_fold = evaluate.scores_by_fold(items, guesses, 3)
    assert sum(figures["items"] for figures in by_fold) == 30
    # every guess is "a": a fold's precision is its share of follow-ups
    for fold, figures in enumerate(by_fold):
        chosen = [i for i in items if evaluate.fold_of(i.id, 3) == fold]
        share = sum(1 for i in chosen if i.labels) / len(chosen)
        assert figures["precision"] == round(share, 4)
