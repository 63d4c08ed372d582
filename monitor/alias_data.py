"""The curated alias data (watchlists/aliases.yaml): names of the domain in English,
simplified and traditional Chinese, which derivation looks for in a baseline; and the thread
vocabulary several watchlists share (``vocabulary:``), written once and taken by an entity
with ``vocabulary: <name>``."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.models import ENTITY_TYPES, AliasData, KnownName, SharedVocabulary
from monitor.vocabulary import AliasSyntaxError, PlainAlias, parse_alias
from monitor.yamlfile import LANGUAGE_TAG, Reader, compose

ALIASES_FILE = "aliases.yaml"
_KNOWN_FIELDS = ("name", "type", "en", "zh-Hans", "zh-Hant", "mentions", "max_weight", "parent")
_SCRIPTS = ("en", "zh-Hans", "zh-Hant")


def load_aliases(path: str | Path) -> AliasData:
    """Read the curated alias file (watchlists/aliases.yaml); a missing file is empty data."""
    path = Path(path)
    if not path.exists():
        return AliasData()
    reader = Reader(path)
    root = compose(path, reader)
    if root is None:
        return AliasData()
    top = reader.mapping(root, "", ("ignore", "names", "vocabulary"))
    ignore: list[str] = []
    if "ignore" in top:
        for item in reader.sequence(top["ignore"][1], "ignore"):
            ignore.append(reader.text(item, "ignore", required=True))
    names = _names(reader, top["names"][1]) if "names" in top else ()
    vocabulary = _vocabulary(reader, top["vocabulary"][1]) if "vocabulary" in top else ()
    return AliasData(names=names, ignore=tuple(ignore), vocabulary=vocabulary)


def _names(reader: Reader, node: yaml.Node) -> tuple[KnownName, ...]:
    names: list[KnownName] = []
    parents: list[tuple[str, yaml.Node, str]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(reader.sequence(node, "names")):
        field = f"names[{index + 1}]"
        fields = reader.mapping(item, field, _KNOWN_FIELDS)
        for required in ("name", "type"):
            if required not in fields:
                raise reader.fail(item, f"{field}.{required}", "missing")
        name = reader.text(fields["name"][1], f"{field}.name", required=True)
        field = f"{field} ({name})"
        if name.casefold() in seen:
            raise reader.fail(item, f"{field}.name", f"also names[{seen[name.casefold()]}]")
        seen[name.casefold()] = index + 1
        kind = reader.text(fields["type"][1], f"{field}.type", required=True)
        if kind not in ENTITY_TYPES:
            raise reader.fail(
                fields["type"][1],
                f"{field}.type",
                f"{kind!r} is not one of {', '.join(ENTITY_TYPES)}",
            )
        aliases = {
            script: _plain_names(reader, fields[script][1], f"{field}.{script}")
            for script in _SCRIPTS
            if script in fields
        }
        mentions: tuple[str, ...] = ()
        if "mentions" in fields:
            mentions = _plain_names(reader, fields["mentions"][1], f"{field}.mentions")
        max_weight = 1.0
        if "max_weight" in fields:
            max_weight = _fraction(reader, fields["max_weight"][1], f"{field}.max_weight")
        parent = ""
        if "parent" in fields:
            parent = reader.text(fields["parent"][1], f"{field}.parent", required=True)
            parents.append((parent, fields["parent"][1], f"{field}.parent"))
        names.append(KnownName(name, kind, aliases, mentions, max_weight, parent))
    for parent, parent_node, field in parents:
        if parent.casefold() not in seen:
            raise reader.fail(parent_node, field, f"{parent!r} is not a name in this file")
    return tuple(names)


def _plain_names(reader: Reader, node: yaml.Node, field: str) -> tuple[str, ...]:
    """Names derivation searches baselines for: plain text; an "<all> ..." pattern belongs in
    a watchlist or in ``vocabulary:``."""
    out = []
    for item in reader.sequence(node, field):
        text = reader.text(item, field, required=True)
        try:
            typed = parse_alias(text)
        except AliasSyntaxError as exc:
            raise reader.fail(item, field, f"{text!r}: {exc}") from exc
        if not isinstance(typed, PlainAlias):
            raise reader.fail(
                item, field, f"{text!r}: a tagged alias belongs under vocabulary:, not names:"
            )
        out.append(text)
    return tuple(out)


def _fraction(reader: Reader, node: yaml.Node, field: str) -> float:
    value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise reader.fail(node, field, f"expected a number from 0 to 1, not {value!r}")
    return float(value)


def _vocabulary(reader: Reader, node: yaml.Node) -> tuple[SharedVocabulary, ...]:
    out: list[SharedVocabulary] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(reader.sequence(node, "vocabulary")):
        field = f"vocabulary[{index + 1}]"
        fields = reader.mapping(item, field, ("name", *_SCRIPTS))
        if "name" not in fields:
            raise reader.fail(item, f"{field}.name", "missing")
        name = reader.text(fields["name"][1], f"{field}.name", required=True)
        if name.casefold() in seen:
            raise reader.fail(item, f"{field}.name", f"also vocabulary[{seen[name.casefold()]}]")
        seen[name.casefold()] = index + 1
        aliases = {
            script: read_alias_list(reader, fields[script][1], f"{field} ({name}).{script}")
            for script in _SCRIPTS
            if script in fields
        }
        out.append(SharedVocabulary(name, aliases))
    return tuple(out)


def read_aliases(reader: Reader, node: yaml.Node, field: str) -> dict[str, tuple[str, ...]]:
    """script -> aliases, each checked against the alias mini-language (file:line errors)."""
    if isinstance(node, yaml.ScalarNode) and reader.scalar(node) is None:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for script, (key_node, value_node) in reader.mapping(node, field, None).items():
        if not LANGUAGE_TAG.match(script):
            raise reader.fail(
                key_node, f"{field}.{script}", "expected a script such as en, zh-Hans or zh-Hant"
            )
        out[script] = read_alias_list(reader, value_node, f"{field}.{script}")
    return out


def read_alias_list(reader: Reader, node: yaml.Node, field: str) -> tuple[str, ...]:
    """Aliases as written (each once), every one parsed: a typo is a file:line error."""
    names: list[str] = []
    for item in reader.sequence(node, field):
        alias = reader.text(item, field, required=True)
        try:
            parse_alias(alias)
        except AliasSyntaxError as exc:
            raise reader.fail(item, field, f"{alias!r}: {exc}") from exc
        if alias not in names:
            names.append(alias)
    return tuple(names)


class SharedVocabularies:
    """The ``vocabulary:`` of one aliases.yaml, read the first time a watchlist names one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_name: dict[str, SharedVocabulary] | None = None

    def get(self, name: str) -> SharedVocabulary:
        """The vocabulary called ``name``; LookupError (a message) when there is none. A broken
        aliases.yaml raises its own file:line WatchlistError."""
        if self._by_name is None:
            data = load_aliases(self.path)
            self._by_name = {v.name.casefold(): v for v in data.vocabulary}
        found = self._by_name.get(name.casefold())
        if found is None:
            known = ", ".join(sorted(v.name for v in self._by_name.values())) or "none"
            raise LookupError(
                f"{name!r} is not a vocabulary: entry of {self.path} (known: {known})"
            )
        return found
