"""A baseline embedded once for the relevance model (monitor.relevance): its title,
paragraphs, whole text, threads, sentences and central subjects, with how similar ordinary news
is to each (per language family, for z-scores); cached beside the watchlists; and the
similarities of an article to them. Pure but for the cache file.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monitor.encoder import DEFAULT_MODEL, Encoder, Vectors, unit_rows
from monitor.models import Entity, Watchlist, split_sentences
from monitor.text import chinese_share

SIMILARITIES = ("paragraph", "whole", "title", "thread", "sentence", "top3", "subject", "margin")
SENTENCE_CHARS = 12  # shorter sentences ("他的預測是正確的。") say little on their own
SUBJECTS = 12


@dataclass(frozen=True)
class BaselineVectors:
    """A baseline embedded once: its title, paragraphs, whole text and threads, with the
    similarity of ordinary news to each, per language family, for z-scores."""

    title: Vectors  # (1, d)
    paragraphs: Vectors  # (n, d), non-empty paragraphs
    paragraph_numbers: tuple[int, ...]
    whole: Vectors  # (1, d)
    threads: Vectors  # (t, d), one per thread: mean of its paragraphs
    sentences: Vectors  # (s, d), sentences of at least SENTENCE_CHARS
    subjects: Vectors  # (k, d), the most central subjects' names
    calibration: dict[str, dict[str, tuple[float, float]]]  # family -> similarity -> (mean, sd)
    background_rate: float = 0.0  # share of ordinary news that names one of its subjects


def family(text: str) -> str:
    return "zh" if chinese_share(text) > 0.2 else "en"


def embed_baseline(
    watchlist: Watchlist, encoder: Encoder, background: Sequence[str], background_vectors: Vectors
) -> BaselineVectors:
    numbered = [(n, p) for n, p in enumerate(watchlist.paragraphs, 1) if len(p) >= 8]
    if not numbered:
        numbered = [(1, watchlist.baseline.title)]
    paragraphs = encoder.encode([p for _, p in numbered])
    title = encoder.encode([watchlist.baseline.title])
    whole = unit_rows(paragraphs.mean(axis=0, keepdims=True))
    index = {n: i for i, (n, _) in enumerate(numbered)}
    thread_rows = []
    for thread in watchlist.threads:
        rows = [index[n] for n in thread.paragraphs if n in index]
        if rows:
            thread_rows.append(paragraphs[rows].mean(axis=0))
    threads = unit_rows(np.asarray(thread_rows, dtype=np.float32)) if thread_rows else whole
    sentence_texts = [
        s for _, p in numbered for s in split_sentences(p) if len(s) >= SENTENCE_CHARS
    ] or [p for _, p in numbered]
    sentences = encoder.encode(sentence_texts)
    subject_names = [_subject_text(e) for e in watchlist.entities[:SUBJECTS]] or [
        watchlist.baseline.title
    ]
    subjects = encoder.encode(subject_names)
    numbers = tuple(n for n, _ in numbered)
    vectors = BaselineVectors(title, paragraphs, numbers, whole, threads, sentences, subjects, {})
    sims = similarities(vectors, background_vectors)
    families = np.asarray([family(text) for text in background])
    calibration: dict[str, dict[str, tuple[float, float]]] = {}
    for name in ("en", "zh"):
        mask = families == name
        if mask.sum() < 10:
            mask = np.ones(len(background), dtype=bool)
        calibration[name] = {
            key: (float(values[mask].mean()), float(values[mask].std()) or 1.0)
            for key, values in sims.items()
        }
    return dataclasses.replace(vectors, calibration=calibration)


_ARRAYS = ("title", "paragraphs", "whole", "threads", "sentences", "subjects")


def cached_baseline_vectors(
    watchlist: Watchlist,
    encoder: Encoder,
    background: Sequence[str],
    background_vectors: Vectors,
    cache_dir: Path | None,
) -> BaselineVectors:
    """embed_baseline through a file cache: encoding a baseline's sentences is the costly part
    of starting the matcher, and it only changes when the baseline or its watchlist does."""
    if cache_dir is None:
        return embed_baseline(watchlist, encoder, background, background_vectors)
    path = cache_dir / f"{watchlist.baseline.id}.vectors.npz"
    key = _vectors_key(watchlist, encoder, background)
    try:
        with np.load(path) as data:
            if str(data["key"]) == key:
                return BaselineVectors(
                    **{name: data[name] for name in _ARRAYS},
                    paragraph_numbers=tuple(int(n) for n in data["paragraph_numbers"]),
                    calibration=json.loads(str(data["calibration"])),
                )
    except (OSError, KeyError, ValueError):
        pass  # no cache yet, or an old or damaged one: encode again
    vectors = embed_baseline(watchlist, encoder, background, background_vectors)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(
            partial,
            key=np.asarray(key),
            paragraph_numbers=np.asarray(vectors.paragraph_numbers),
            calibration=np.asarray(json.dumps(vectors.calibration)),
            **{name: getattr(vectors, name) for name in _ARRAYS},
        )
        partial.replace(path)  # atomic: another process never reads half a file
    except OSError:
        pass  # a read-only folder only costs the encoding next time
    return vectors


def _vectors_key(watchlist: Watchlist, encoder: Encoder, background: Sequence[str]) -> str:
    # the background's texts, not only their number: a rebuilt sample of the same size
    # changes every calibration
    parts = [
        encoder.name,
        _background_digest(tuple(background)),
        watchlist.baseline.title,
        *watchlist.paragraphs,
        *(_subject_text(e) for e in watchlist.entities[:SUBJECTS]),
        *(",".join(map(str, t.paragraphs)) for t in watchlist.threads),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@functools.lru_cache(maxsize=2)
def _background_digest(background: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(background).encode()).hexdigest()


def _subject_text(entity: Entity) -> str:
    """A subject as the encoder reads it: its name and its aliases in other writings."""
    names = [entity.name, *(a for s in entity.aliases.values() for a in s[:1])]
    plain = [n for n in dict.fromkeys(names) if not n.startswith("<")]
    return " / ".join(plain[:3])


def similarities(vectors: BaselineVectors, items: Vectors) -> dict[str, Any]:
    """Per item: best paragraph, whole text, title, best thread, best sentence, mean of the
    three best paragraphs, best subject; and how far the best paragraph stands out."""
    paragraphs = items @ vectors.paragraphs.T
    top = np.sort(paragraphs, axis=1)[:, ::-1]
    top3 = top[:, :3].mean(axis=1)
    return {
        "paragraph": top[:, 0],
        "whole": (items @ vectors.whole.T)[:, 0],
        "title": (items @ vectors.title.T)[:, 0],
        "thread": (items @ vectors.threads.T).max(axis=1),
        "sentence": (items @ vectors.sentences.T).max(axis=1),
        "top3": top3,
        "subject": (items @ vectors.subjects.T).max(axis=1),
        "margin": top[:, 0] - np.median(paragraphs, axis=1),
    }


def closest_paragraph(vectors: BaselineVectors, item: Vectors) -> int:
    return vectors.paragraph_numbers[int(np.argmax(vectors.paragraphs @ item))]


BACKGROUND_VECTORS = Path(__file__).parent / "data" / "background-use.npy"


def background_vectors(encoder: Encoder, texts: Sequence[str]) -> Vectors:
    """The background sample embedded: shipped for the default encoder (16-bit), computed once
    per process for any other."""
    if encoder.name == DEFAULT_MODEL and BACKGROUND_VECTORS.exists():
        stored = np.load(BACKGROUND_VECTORS)
        if stored.shape[0] == len(texts):
            return unit_rows(stored.astype(np.float32))
    return encoder.encode(list(texts))
