"""Watchlist YAML as a person reads it: one block per entity, aliases and passages on one
line each (wrapped at 100 columns), written atomically."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from monitor.models import Entity, Watchlist
from monitor.yamlfile import flow_list, number_text, scalar_text


def dump_entity(entity: Entity) -> list[str]:
    lines = [
        f"  - name: {scalar_text(entity.name)}",
        f"    type: {entity.type}",
        f"    weight: {number_text(entity.weight)}",
    ]
    if entity.role:
        lines.append(f"    role: {entity.role}")
    own = _own_aliases(entity)
    if entity.vocabulary is not None:
        lines.append(f"    vocabulary: {scalar_text(entity.vocabulary.name)}")
    scripts = [s for s in own if own[s]]
    if scripts:
        lines.append("    aliases:")
        for script in scripts:
            items = [scalar_text(a) for a in own[script]]
            lines.extend(flow_list(f"      {script}: ", items))
    if entity.passages:
        items = [f"{{paragraph: {p.paragraph}, sentence: {p.sentence}}}" for p in entity.passages]
        lines.extend(flow_list("    passages: ", items))
    lines.append(f"    reviewed: {'true' if entity.reviewed else 'false'}")
    return lines


def _own_aliases(entity: Entity) -> dict[str, tuple[str, ...]]:
    """The aliases the entity has beyond its shared vocabulary: what its file lists."""
    if entity.vocabulary is None:
        return entity.aliases
    shared = entity.vocabulary.aliases
    return {
        script: tuple(a for a in names if a not in shared.get(script, ()))
        for script, names in entity.aliases.items()
    }


def dump_watchlist(watchlist: Watchlist, header: Iterable[str] = ()) -> str:
    """YAML text for ``watchlist``: one block per entity, aliases and passages on one line each."""
    b = watchlist.baseline
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append("baseline:")
    lines.append(f"  id: {scalar_text(b.id)}")
    lines.append(f"  title: {scalar_text(b.title)}")
    lines.append(f"  language: {scalar_text(b.language)}")
    lines.append(f"  published: {b.published.isoformat() if b.published else 'null'}")
    lines.append(f"  file: {scalar_text(b.path)}" if b.path else "  file: null")
    for key, value in (("source_url", b.source_url), ("author", b.author), ("outlet", b.outlet)):
        lines.append(f"  {key}: {scalar_text(value)}" if value else f"  {key}: null")
    lines.append("entities:")
    if not watchlist.entities:
        lines[-1] = "entities: []"
    for entity in watchlist.entities:
        lines.extend(dump_entity(entity))
    if watchlist.threads:
        lines.append("threads:")
    for thread in watchlist.threads:
        lines.append(f"  - name: {scalar_text(thread.name)}")
        lines.extend(flow_list("    subjects: ", [scalar_text(n) for n in thread.subjects]))
        lines.extend(flow_list("    paragraphs: ", [str(n) for n in thread.paragraphs]))
    return "\n".join(lines) + "\n"


def write_watchlist(path: str | Path, watchlist: Watchlist, header: Iterable[str] = ()) -> None:
    """Write atomically (temp file then rename) so a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_watchlist(watchlist, header), encoding="utf-8")
    tmp.replace(path)
