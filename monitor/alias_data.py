"""The curated alias data (watchlists/aliases.yaml): names of the domain in English,
simplified and traditional Chinese, which derivation looks for in a baseline."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.models import ENTITY_TYPES, AliasData, KnownName
from monitor.yamlfile import Reader, compose

_KNOWN_FIELDS = ("name", "type", "en", "zh-Hans", "zh-Hant", "mentions", "max_weight", "parent")


def load_aliases(path: str | Path) -> AliasData:
    """Read the curated alias file (watchlists/aliases.yaml); a missing file is empty data."""
    path = Path(path)
    if not path.exists():
        return AliasData()
    reader = Reader(path)
    root = compose(path, reader)
    if root is None:
        return AliasData()
    top = reader.mapping(root, "", ("ignore", "names"))
    ignore: list[str] = []
    if "ignore" in top:
        for item in reader.sequence(top["ignore"][1], "ignore"):
            ignore.append(reader.text(item, "ignore", required=True))
    names: list[KnownName] = []
    parents: list[tuple[str, yaml.Node, str]] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(
        reader.sequence(top["names"][1], "names") if "names" in top else []
    ):
        field = f"names[{index + 1}]"
        fields = reader.mapping(node, field, _KNOWN_FIELDS)
        for required in ("name", "type"):
            if required not in fields:
                raise reader.fail(node, f"{field}.{required}", "missing")
        name = reader.text(fields["name"][1], f"{field}.name", required=True)
        field = f"{field} ({name})"
        if name.casefold() in seen:
            raise reader.fail(node, f"{field}.name", f"also names[{seen[name.casefold()]}]")
        seen[name.casefold()] = index + 1
        kind = reader.text(fields["type"][1], f"{field}.type", required=True)
        if kind not in ENTITY_TYPES:
            raise reader.fail(
                fields["type"][1],
                f"{field}.type",
                f"{kind!r} is not one of {', '.join(ENTITY_TYPES)}",
            )
        aliases: dict[str, tuple[str, ...]] = {}
        for script in ("en", "zh-Hans", "zh-Hant"):
            if script in fields:
                items = reader.sequence(fields[script][1], f"{field}.{script}")
                aliases[script] = tuple(
                    reader.text(i, f"{field}.{script}", required=True) for i in items
                )
        mentions: tuple[str, ...] = ()
        if "mentions" in fields:
            items = reader.sequence(fields["mentions"][1], f"{field}.mentions")
            mentions = tuple(reader.text(i, f"{field}.mentions", required=True) for i in items)
        max_weight = 1.0
        if "max_weight" in fields:
            value_node = fields["max_weight"][1]
            value = reader.scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else None
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value <= 1
            ):
                raise reader.fail(
                    value_node,
                    f"{field}.max_weight",
                    f"expected a number from 0 to 1, not {value!r}",
                )
            max_weight = float(value)
        parent = ""
        if "parent" in fields:
            parent = reader.text(fields["parent"][1], f"{field}.parent", required=True)
            parents.append((parent, fields["parent"][1], f"{field}.parent"))
        names.append(KnownName(name, kind, aliases, mentions, max_weight, parent))
    for parent, node, field in parents:
        if parent.casefold() not in seen:
            raise reader.fail(node, field, f"{parent!r} is not a name in this file")
    return AliasData(names=tuple(names), ignore=tuple(ignore))
