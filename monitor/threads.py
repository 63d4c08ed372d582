"""A baseline's threads: groups of the thread subjects that the same paragraphs develop, so a
match can say which thread of the baseline an article moves on."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.models import Entity, Thread

THREADS = 6
THREAD_OVERLAP = 0.3  # paragraphs shared with a thread's first subject to join it


def threads(entities: Sequence[Entity]) -> tuple[Thread, ...]:
    """Greedy grouping: the most central unassigned thread subject opens a thread; subjects
    whose paragraphs overlap its paragraphs enough join it."""
    candidates = [e for e in entities if e.role == "thread" and e.passages]
    used: set[str] = set()
    threads: list[Thread] = []
    for seed in candidates:
        if seed.name in used or len(threads) >= THREADS:
            continue
        seed_paragraphs = {p.paragraph for p in seed.passages}
        members = [seed]
        for other in candidates:
            if other.name in used or other is seed:
                continue
            paragraphs = {p.paragraph for p in other.passages}
            overlap = len(paragraphs & seed_paragraphs) / max(1, len(paragraphs))
            if overlap >= THREAD_OVERLAP and len(members) < 5:
                members.append(other)
        used.update(m.name for m in members)
        spots = sorted({p.paragraph for m in members for p in m.passages})
        threads.append(
            Thread(
                name=" / ".join(m.name for m in members[:2]),
                subjects=tuple(m.name for m in members),
                paragraphs=tuple(spots),
            )
        )
    return tuple(threads)
