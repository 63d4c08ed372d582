"""Fold a fresh derivation into a watchlist a person may have edited, so hand edits survive a
re-derive. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from monitor.models import Baseline, Entity, Passage, Watchlist
from monitor.names import unique


def merge(current: Watchlist | None, previous: Watchlist | None, fresh: Watchlist) -> Watchlist:
    """Fold a fresh derivation into the watchlist file as a person may have edited it.

    ``previous`` is what derivation wrote last time (kept beside the file). A field that differs
    from it was edited by hand and is kept; a field nobody touched takes the fresh value. Aliases
    merge as sets: hand-added ones stay, hand-removed ones stay removed, newly curated ones
    arrive. An entity deleted by hand is not brought back. Without ``previous`` the file wins
    for every entity it has and derivation only adds new entities and passages.
    """
    if current is None:
        return fresh
    old = {e.name.casefold(): e for e in previous.entities} if previous else {}
    new = {e.name.casefold(): e for e in fresh.entities}
    result: list[Entity] = []
    for entity in current.entities:
        key = entity.name.casefold()
        if key not in new:
            if key in old and _without_text(old[key]) == _without_text(entity):
                continue  # derivation no longer finds it and nobody had touched it
            result.append(entity)
            continue
        result.append(_merge_entity(entity, old.get(key), new[key]))
    present = {e.name.casefold() for e in current.entities}
    for key, entity in new.items():
        if key in present or key in old:
            continue  # kept above, or deleted by hand after an earlier derive
        result.append(entity)
    result.sort(key=lambda e: (-e.weight, e.name.casefold()))
    baseline = _merge_baseline(
        current.baseline, previous.baseline if previous else None, fresh.baseline
    )
    names = {e.name for e in result}
    threads = tuple(
        replace(t, subjects=tuple(n for n in t.subjects if n in names)) for t in fresh.threads
    )
    return Watchlist(
        baseline=baseline, entities=tuple(result), paragraphs=fresh.paragraphs, threads=threads
    )


def _without_text(entity: Entity) -> Entity:
    return replace(
        entity, passages=tuple(Passage(p.paragraph, p.sentence) for p in entity.passages)
    )


def _merge_entity(mine: Entity, base: Entity | None, theirs: Entity) -> Entity:
    if base is None:
        # added by hand before derivation found it: the hand version wins, derivation adds
        return replace(
            mine,
            aliases=_union_aliases(mine.aliases, theirs.aliases),
            passages=_union_passages(mine.passages, theirs.passages),
        )
    aliases: dict[str, tuple[str, ...]] = {}
    for script in unique([*theirs.aliases, *mine.aliases]):
        m, b, t = (set(x.aliases.get(script, ())) for x in (mine, base, theirs))
        keep = (t | (m - b)) - (b - m)
        order = [*mine.aliases.get(script, ()), *theirs.aliases.get(script, ())]
        names = unique(a for a in order if a in keep)
        if names:
            aliases[script] = names
    return Entity(
        name=mine.name,
        type=mine.type if mine.type != base.type else theirs.type,
        weight=mine.weight if mine.weight != base.weight else theirs.weight,
        aliases=aliases,
        passages=_union_passages(mine.passages, theirs.passages)
        if _pairs(mine.passages) != _pairs(base.passages)
        else theirs.passages,
        reviewed=mine.reviewed if mine.reviewed != base.reviewed else theirs.reviewed,
        role=mine.role if mine.role != base.role else theirs.role,
        vocabulary=mine.vocabulary,  # only a person names a shared vocabulary
    )


def _pairs(passages: Iterable[Passage]) -> list[tuple[int, int]]:
    return [(p.paragraph, p.sentence) for p in passages]


def _union_aliases(
    a: dict[str, tuple[str, ...]], b: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    scripts = unique([*a, *b])
    return {s: unique([*a.get(s, ()), *b.get(s, ())]) for s in scripts}


def _union_passages(a: Sequence[Passage], b: Sequence[Passage]) -> tuple[Passage, ...]:
    pairs = sorted(set(_pairs(a)) | set(_pairs(b)))
    return tuple(Passage(p, s) for p, s in pairs)


def _merge_baseline(mine: Baseline, base: Baseline | None, theirs: Baseline) -> Baseline:
    if base is None:
        return mine
    values = {}
    for name in ("title", "language", "published", "path", "source_url", "author", "outlet"):
        m, b, t = getattr(mine, name), getattr(base, name), getattr(theirs, name)
        values[name] = m if m != b else t
    return replace(mine, **values)
