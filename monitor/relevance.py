"""The relevance decision: does a candidate article (one that names something from a baseline's
watchlist) follow that baseline up? One model for every baseline, so it holds for a baseline
nobody labelled: its features mean the same for any watchlist.

- alias evidence by role and zone: how central (weight) the subjects found are, in the title,
  the lead or the body; how many distinct subjects, threads and actors;
- meaning: the article's title and lead against the baseline's title, its closest paragraph
  and the whole article, by a multilingual sentence encoder (monitor.encoder); each similarity
  is a z-score against ordinary news (monitor/data/background.jsonl.gz) of the article's
  language family, so "0.45 similar" means as much for a sprawling baseline as for a narrow one
  (each baseline embedded once: monitor.baseline_vectors);
- cues: a language pair, a headline list, a large money figure;
- agreement: the article's vector times its closest thread's, dimension by dimension, so the
  model learns which dimensions of agreement mean a follow-up (a similarity learned across
  baselines, not the encoder's plain cosine).

The model is a logistic regression stored as JSON (monitor/data/relevance-model.json), trained
by ``monitor train`` with scikit-learn; applying it needs only numpy. Pure: no I/O here except
reading the model file the caller names.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from monitor.baseline_vectors import (
    SIMILARITIES,
    BaselineVectors,
    background_vectors,
    cached_baseline_vectors,
    closest_paragraph,
    family,
    similarities,
)
from monitor.encoder import Encoder, Vectors
from monitor.errors import MonitorError
from monitor.models import BODY, LEAD, TITLE, Article, Entity, Watchlist
from monitor.text import has_chinese

MODEL_FILE = Path(__file__).parent / "data" / "relevance-model.json"
ENCODED_CHARS = 300  # title plus this much of the text is what the encoder reads
# The agreement features (the article's vector times its closest thread's, one per encoder
# dimension) enter the model multiplied by this, unstandardised: a learned similarity that
# weighs the dimensions where agreement means a follow-up. Measured leave-one-baseline-out
# against 10 and 60, it lifted the AUC on every labelled set (derived watchlists of the four
# other baselines 0.896 -> 0.908, of the shipped five 0.793 -> 0.839).
AGREEMENT_SCALE = 30.0

FEATURES = (
    "title_weight",
    "lead_weight",
    "body_weight",
    "best_title_or_lead",
    "subjects",
    "thread_subjects",
    "actor_subjects",
    "context_only",
    "threads_touched",
    "rule_score",
    "rule_topic",
    "z_paragraph",
    "z_whole",
    "z_title",
    "z_thread",
    "z_sentence",
    "z_top3",
    "z_subject",
    "z_margin",
    "cross_language",
    "headline_list",
    "large_amount",
    "z_lead_over_others",
    "best_of_candidates",
    "background_rate",
)


class Hit(Protocol):
    zone: int
    count: int
    combined: bool


def role_of(entity: Entity) -> str:
    """The role the file gives, or one read from type and weight in older files."""
    if entity.role:
        return entity.role
    if entity.weight < 0.3:
        return "context"
    return "thread" if entity.type in ("concept", "policy") else "actor"


def encoded_text(article: Article) -> str:
    return f"{article.title}\n{article.text[:ENCODED_CHARS]}"


@dataclass(frozen=True)
class Evidence:
    """What the alias pass found for one (article, baseline) pair."""

    hits: dict[int, Any]  # entity index -> Hit
    rule_score: float
    rule_topic: bool
    headline_list: bool
    large_amount: bool


def features(
    watchlist: Watchlist,
    evidence: Evidence,
    article: Article,
    vectors: BaselineVectors,
    item: Vectors,
) -> list[float]:
    """The feature row of FEATURES for one candidate pair. ``item`` is the article's vector."""
    entities = watchlist.entities
    zone_weight = [0.0, 0.0, 0.0]
    roles = {"thread": 0, "actor": 0, "context": 0}
    best_head = 0.0
    found_names = set()
    for ei, hit in evidence.hits.items():
        entity = entities[ei]
        zone_weight[hit.zone] += entity.weight
        roles[role_of(entity)] += 1
        found_names.add(entity.name)
        if hit.zone != BODY:
            best_head = max(best_head, entity.weight)
    threads = sum(1 for t in watchlist.threads if found_names & set(t.subjects))
    sims = similarities(vectors, item[None, :])
    calibration = vectors.calibration[family(article.title + article.text[:200])]
    z = {
        key: (float(sims[key][0]) - calibration[key][0]) / calibration[key][1]
        for key in SIMILARITIES
    }
    baseline_chinese = watchlist.baseline.language.startswith("zh")
    return [
        math.log1p(zone_weight[TITLE]),
        math.log1p(zone_weight[LEAD]),
        math.log1p(zone_weight[BODY]),
        best_head,
        math.log1p(len(evidence.hits)),
        math.log1p(roles["thread"]),
        math.log1p(roles["actor"]),
        float(roles["thread"] == 0 and roles["actor"] == 0),
        math.log1p(threads),
        evidence.rule_score,
        float(evidence.rule_topic),
        z["paragraph"],
        z["whole"],
        z["title"],
        z["thread"],
        z["sentence"],
        z["top3"],
        z["subject"],
        z["margin"],
        float(has_chinese(article.title) != baseline_chinese),
        float(evidence.headline_list),
        float(evidence.large_amount),
        vectors.background_rate,
    ]


def with_comparison(rows: list[list[float]]) -> list[list[float]]:
    """Add how this baseline compares with the article's other candidate baselines: the
    margin of its best-paragraph z-score over theirs, and whether it is the closest."""
    column = FEATURES.index("z_paragraph")
    scores = [row[column] for row in rows]
    result = []
    for index, row in enumerate(rows):
        others = scores[:index] + scores[index + 1 :]
        margin = scores[index] - max(others) if others else 0.0
        result.append([*row[:-1], min(margin, 3.0), float(not others or margin >= 0), row[-1]])
    return result


def agreement(vectors: BaselineVectors, item: Vectors) -> list[float]:
    """The article's vector times that of the baseline thread closest to it, dimension by
    dimension, scaled: what the model weighs as a learned similarity."""
    closest = vectors.threads[int(np.argmax(vectors.threads @ item))]
    product = item.astype(np.float64) * closest * AGREEMENT_SCALE
    values: list[float] = product.tolist()
    return values


@dataclass(frozen=True)
class RelevanceModel:
    """A logistic regression over FEATURES, standardised; ``threshold`` is the probability at
    or above which a candidate is a follow-up."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    version: str = ""
    # coefficients of the agreement features that follow FEATURES in a row (see
    # AGREEMENT_SCALE), as many as the encoder has dimensions; empty: none
    agreement: tuple[float, ...] = ()

    def probability(self, row: Sequence[float]) -> float:
        values = np.asarray(row, dtype=np.float64)
        size = len(self.features)
        if len(values) != size + len(self.agreement):
            raise MonitorError(
                f"a feature row of {len(values)} values for a model of {size} features and"
                f" {len(self.agreement)} agreement dimensions",
                hint="`monitor train` retrains the model for this encoder",
            )
        x = (values[:size] - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = float(x @ np.asarray(self.coef) + self.intercept)
        if self.agreement:
            logit += float(values[size:] @ np.asarray(self.agreement))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))

    def to_json(self, report: dict[str, Any] | None = None) -> str:
        data: dict[str, Any] = {
            "version": self.version,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "agreement": [round(v, 6) for v in self.agreement],
        }
        if report is not None:
            data["report"] = report
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def load_model(path: str | Path = MODEL_FILE) -> RelevanceModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = RelevanceModel(
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            version=str(data.get("version", "")),
            agreement=tuple(float(v) for v in data.get("agreement", ())),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MonitorError(
            f"cannot read the relevance model {path}: {exc}",
            hint="`monitor train` writes a new one",
        ) from exc
    if model.features != FEATURES:
        raise MonitorError(
            f"the relevance model {path} was trained on other features",
            hint="`monitor train` retrains it for this version",
        )
    return model


@dataclass(frozen=True)
class Decision:
    probability: float
    paragraph: int  # the baseline paragraph closest in meaning
    thread: str


class Judge:
    """The learned decision over candidates, with every baseline embedded once."""

    def __init__(
        self,
        watchlists: Sequence[Watchlist],
        model: RelevanceModel,
        encoder: Encoder,
        background: Sequence[str],
        background_vecs: Vectors,
        background_rates: dict[str, float],
        cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir``: where each baseline's vectors are kept between runs (a watchlist
        folder's .derived/), keyed by the encoder and the baseline's text and subjects."""
        self.model = model
        self.encoder = encoder
        # rows carry the agreement features when the model weighs them, and always when
        # they are built for training (monitor.training sets this)
        self.agreement_features = bool(model.agreement)
        self.vectors = {
            w.baseline.id: dataclasses.replace(
                cached_baseline_vectors(w, encoder, background, background_vecs, cache_dir),
                background_rate=background_rates.get(w.baseline.id, 0.0),
            )
            for w in watchlists
        }

    def rows(
        self,
        article: Article,
        candidates: Sequence[tuple[Watchlist, Evidence]],
        item: Vectors | None = None,
    ) -> tuple[Vectors, list[list[float]]]:
        """Feature rows; ``item`` is the article's vector when the caller has it already."""
        if item is None:
            item = self.encoder.encode([encoded_text(article)])[0]
        rows = [features(w, e, article, self.vectors[w.baseline.id], item) for w, e in candidates]
        if not self.agreement_features:
            return item, with_comparison(rows)
        return item, [
            [*row, *agreement(self.vectors[w.baseline.id], item)]
            for row, (w, _) in zip(with_comparison(rows), candidates, strict=True)
        ]

    def decide(
        self,
        article: Article,
        candidates: Sequence[tuple[Watchlist, Evidence]],
        item: Vectors | None = None,
    ) -> list[Decision]:
        if not candidates:
            return []
        item, rows = self.rows(article, candidates, item)
        decisions = []
        for (watchlist, evidence), row in zip(candidates, rows, strict=True):
            vectors = self.vectors[watchlist.baseline.id]
            decisions.append(
                Decision(
                    probability=self.model.probability(row),
                    paragraph=closest_paragraph(vectors, item),
                    thread=_thread_moved(watchlist, evidence, vectors, item),
                )
            )
        return decisions


def _thread_moved(
    watchlist: Watchlist, evidence: Evidence, vectors: BaselineVectors, item: Vectors
) -> str:
    """The thread whose subjects the article names most, ties broken by meaning."""
    if not watchlist.threads:
        return ""
    found = {watchlist.entities[ei].name for ei in evidence.hits}
    closeness = vectors.threads @ item if len(vectors.threads) == len(watchlist.threads) else None
    best = max(
        range(len(watchlist.threads)),
        key=lambda t: (
            len(found & set(watchlist.threads[t].subjects)),
            float(closeness[t]) if closeness is not None else 0.0,
        ),
    )
    return watchlist.threads[best].name


def background_articles() -> list[Article]:
    from monitor.background import BACKGROUND_FILE, read_background

    return [
        Article(url="", title=row["title"], text=row.get("lead", ""), language="", published=None)
        for row in read_background(BACKGROUND_FILE)
    ]


def make_judge(
    watchlists: Sequence[Watchlist],
    background_rates: dict[str, float],
    model: RelevanceModel | None = None,
    encoder_name: str = "",
    cache_dir: Path | None = None,
) -> Judge:
    """A Judge with the shipped model, the offline encoder and the shipped background."""
    from monitor.encoder import DEFAULT_MODEL, load_encoder

    encoder = load_encoder(encoder_name or DEFAULT_MODEL)
    texts = [encoded_text(a) for a in background_articles()]
    return Judge(
        watchlists,
        model or load_model(),
        encoder,
        texts,
        background_vectors(encoder, texts),
        background_rates,
        cache_dir,
    )
