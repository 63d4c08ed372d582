"""One entity of a watchlist file, read and validated: its type, weight, role, aliases (in
the alias mini-language of monitor.vocabulary, typed when read), the shared thread vocabulary
it takes from aliases.yaml, and the passages of the baseline that name it."""

from __future__ import annotations

import yaml

from monitor.alias_data import SharedVocabularies, read_aliases
from monitor.models import ENTITY_TYPES, ROLES, Entity, Passage, SharedVocabulary, split_sentences
from monitor.yamlfile import Reader

ENTITY_FIELDS = (
    "name",
    "type",
    "weight",
    "role",
    "vocabulary",
    "aliases",
    "passages",
    "reviewed",
)


def read_entity(
    reader: Reader,
    node: yaml.Node,
    field: str,
    paragraphs: tuple[str, ...],
    shared: SharedVocabularies,
) -> Entity:
    """One entity of a watchlist, validated; its aliases typed (see monitor.vocabulary)."""
    fields = reader.mapping(node, field, None)
    if "name" in fields:  # name the entity in every later message
        field = f"{field} ({reader.text(fields['name'][1], f'{field}.name', required=True)})"
    for key, (key_node, _) in fields.items():
        if key not in ENTITY_FIELDS:
            raise reader.fail(
                key_node,
                f"{field}.{key}",
                f"unknown field; expected one of {', '.join(ENTITY_FIELDS)}",
            )
    for required in ("name", "type"):
        if required not in fields:
            raise reader.fail(node, f"{field}.{required}", "missing")
    name = reader.text(fields["name"][1], f"{field}.name", required=True)
    type_node = fields["type"][1]
    kind = reader.text(type_node, f"{field}.type", required=True)
    if kind not in ENTITY_TYPES:
        raise reader.fail(
            type_node, f"{field}.type", f"{kind!r} is not one of {', '.join(ENTITY_TYPES)}"
        )
    weight = 0.5
    if "weight" in fields:
        weight_node = fields["weight"][1]
        value = reader.scalar(weight_node) if isinstance(weight_node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise reader.fail(
                weight_node, f"{field}.weight", f"expected a number from 0 to 1, not {value!r}"
            )
        weight = float(value)
    aliases: dict[str, tuple[str, ...]] = {}
    if "aliases" in fields:
        aliases = read_aliases(reader, fields["aliases"][1], f"{field}.aliases")
    vocabulary = None
    if "vocabulary" in fields:
        vocabulary = _vocabulary(reader, fields["vocabulary"][1], f"{field}.vocabulary", shared)
        aliases = with_vocabulary(vocabulary, aliases)
    passages: tuple[Passage, ...] = ()
    if "passages" in fields:
        passages = _passages(reader, fields["passages"][1], f"{field}.passages", paragraphs)
    role = ""
    if "role" in fields:
        role = reader.text(fields["role"][1], f"{field}.role", required=True)
        if role not in ROLES:
            raise reader.fail(
                fields["role"][1], f"{field}.role", f"{role!r} is not one of {', '.join(ROLES)}"
            )
    reviewed = True
    if "reviewed" in fields:
        reviewed_node = fields["reviewed"][1]
        value = reader.scalar(reviewed_node) if isinstance(reviewed_node, yaml.ScalarNode) else None
        if not isinstance(value, bool):
            raise reader.fail(reviewed_node, f"{field}.reviewed", "expected true or false")
        reviewed = value
    return Entity(
        name=name,
        type=kind,
        weight=weight,
        aliases=aliases,
        passages=passages,
        reviewed=reviewed,
        role=role,
        vocabulary=vocabulary,
    )


def _vocabulary(
    reader: Reader, node: yaml.Node, field: str, shared: SharedVocabularies
) -> SharedVocabulary:
    name = reader.text(node, field, required=True)
    try:
        return shared.get(name)
    except LookupError as exc:
        raise reader.fail(node, field, str(exc.args[0])) from exc


def with_vocabulary(
    vocabulary: SharedVocabulary, own: dict[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The shared aliases first, then the entity's own, each once, per script."""
    scripts = dict.fromkeys([*vocabulary.aliases, *own])
    return {
        script: tuple(dict.fromkeys([*vocabulary.aliases.get(script, ()), *own.get(script, ())]))
        for script in scripts
    }


def _passages(
    reader: Reader, node: yaml.Node, field: str, paragraphs: tuple[str, ...]
) -> tuple[Passage, ...]:
    out: list[Passage] = []
    for item in reader.sequence(node, field):
        fields = reader.mapping(item, field, ("paragraph", "sentence"))
        numbers: dict[str, int] = {}
        for key in ("paragraph", "sentence"):
            if key not in fields:
                if key == "sentence":
                    numbers[key] = 1
                    continue
                raise reader.fail(item, f"{field}.{key}", "missing")
            value_node = fields[key][1]
            value = reader.scalar(value_node) if isinstance(value_node, yaml.ScalarNode) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise reader.fail(
                    value_node, f"{field}.{key}", f"expected a number from 1, not {value!r}"
                )
            numbers[key] = value
        paragraph, sentence = numbers["paragraph"], numbers["sentence"]
        text = ""
        if paragraphs:
            if paragraph > len(paragraphs):
                raise reader.fail(
                    fields["paragraph"][1],
                    f"{field}.paragraph",
                    f"the baseline has {len(paragraphs)} paragraphs, not {paragraph}",
                )
            sentences = split_sentences(paragraphs[paragraph - 1])
            if sentence > len(sentences):
                raise reader.fail(
                    fields["sentence"][1] if "sentence" in fields else item,
                    f"{field}.sentence",
                    f"paragraph {paragraph} has {len(sentences)} sentences, not {sentence}",
                )
            text = sentences[sentence - 1]
        out.append(Passage(paragraph=paragraph, sentence=sentence, text=text))
    return tuple(out)
