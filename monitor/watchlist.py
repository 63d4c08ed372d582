"""Read, validate and write watchlist YAML files (``watchlists/<baseline-id>.yaml``).

The YAML is composed to nodes first, so every problem is reported as ``file:line: field:
problem`` (a WatchlistError), never as a traceback. The format is documented in
watchlists/README.md.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import WatchlistError
from monitor.models import (
    ROLES,
    AliasData,
    Baseline,
    Entity,
    KnownName,
    Passage,
    Thread,
    Watchlist,
    split_paragraphs,
    split_sentences,
)

ENTITY_TYPES = ("company", "person", "product", "model", "policy", "body", "place", "concept")

# Files in the watchlists directory that are not watchlists.
RESERVED_FILES = frozenset({"aliases.yaml", "feeds.yaml"})

_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_BASELINE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

_BASELINE_FIELDS = (
    "id",
    "title",
    "language",
    "published",
    "file",
    "source_url",
    "author",
    "outlet",
)
_ENTITY_FIELDS = ("name", "type", "weight", "role", "aliases", "passages", "reviewed")
_TOP_FIELDS = ("baseline", "entities", "threads")
_THREAD_FIELDS = ("name", "subjects", "paragraphs")


# --- reading -----------------------------------------------------------------------------


class _Reader:
    """Walks composed YAML nodes, converting and validating with line numbers at hand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._constructor = yaml.constructor.SafeConstructor()

    def fail(self, node: yaml.Node | None, field: str, problem: str) -> WatchlistError:
        line = node.start_mark.line + 1 if node is not None else 1
        where = f"{self.path}:{line}"
        return WatchlistError(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")

    def scalar(self, node: yaml.Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def mapping(
        self, node: yaml.Node, field: str, allowed: Sequence[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, field, "expected a mapping (key: value lines)")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            key_field = f"{field}.{key}" if field else str(key)
            if not isinstance(key, str):
                raise self.fail(key_node, field or "top level", f"key {key!r} is not a name")
            if allowed is not None and key not in allowed:
                raise self.fail(
                    key_node, key_field, f"unknown field; expected one of {', '.join(allowed)}"
                )
            if key in out:
                raise self.fail(key_node, key_field, "given twice")
            out[key] = (key_node, value_node)
        return out

    def sequence(self, node: yaml.Node, field: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and self.scalar(node) is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, field, "expected a list")
        return list(node.value)

    def text(self, node: yaml.Node, field: str, *, required: bool = False) -> str:
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else node
        if value is None:
            value = ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a bare number is still a usable name, e.g. 910
        if not isinstance(value, str):
            raise self.fail(node, field, "expected text")
        if required and not value.strip():
            raise self.fail(node, field, "must not be empty")
        return value.strip()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _compose(path: Path, reader: _Reader, source: str | None = None) -> yaml.Node | None:
    """The YAML as nodes (they carry line numbers); syntax errors become file:line errors."""
    if source is None:
        source = _read_text(path)
    try:
        return yaml.compose(source, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or str(exc)
        if exc.context:
            context = exc.context
            started = exc.context_mark.line + 1 if exc.context_mark is not None else line
            if started != line:
                context += f" started on line {started}"
            problem = f"{problem} ({context})"
        raise WatchlistError(f"{path}:{line}: YAML syntax: {problem}") from exc
    except yaml.YAMLError as exc:
        raise WatchlistError(f"{path}: YAML syntax: {exc}") from exc


def load_watchlist(path: str | Path, *, base_dir: str | Path | None = None) -> Watchlist:
    """Load and validate one watchlist file. ``base_dir`` is where ``baseline.file`` is relative
    to (default: the file's own directory). Raises WatchlistError("file:line: field: problem")."""
    path = Path(path)
    base = Path(base_dir) if base_dir is not None else path.parent
    source = _read_text(path)
    reader = _Reader(path)
    root = _compose(path, reader, source)
    if root is None:
        raise WatchlistError(f"{path}:1: the file is empty; expected baseline: and entities:")
    try:
        return _watchlist(reader, root, base)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise WatchlistError(f"{path}:{line}: {exc.problem}") from exc


def _watchlist(reader: _Reader, root: yaml.Node, base: Path) -> Watchlist:
    top = reader.mapping(root, "", _TOP_FIELDS)
    if "baseline" not in top:
        raise reader.fail(root, "baseline", "missing")
    baseline, file_node = _baseline(reader, top["baseline"][1])
    paragraphs: tuple[str, ...] = ()
    if baseline.path:
        text_path = base / baseline.path
        try:
            paragraphs = split_paragraphs(text_path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise reader.fail(file_node, "baseline.file", f"cannot read {text_path}") from exc
    entities_node = top["entities"][1] if "entities" in top else None
    entities: list[Entity] = []
    seen: dict[str, int] = {}
    for index, node in enumerate(
        reader.sequence(entities_node, "entities") if entities_node else []
    ):
        entity = _entity(reader, node, f"entities[{index + 1}]", paragraphs)
        key = entity.name.casefold()
        if key in seen:
            raise reader.fail(
                node, f"entities[{index + 1}].name", f"{entity.name!r} is also entity {seen[key]}"
            )
        seen[key] = index + 1
        entities.append(entity)
    threads_node = top["threads"][1] if "threads" in top else None
    threads = tuple(
        _thread(reader, node, f"threads[{index + 1}]", {e.name for e in entities})
        for index, node in enumerate(
            reader.sequence(threads_node, "threads") if threads_node else []
        )
    )
    return Watchlist(
        baseline=baseline, entities=tuple(entities), paragraphs=paragraphs, threads=threads
    )


def _thread(reader: _Reader, node: yaml.Node, field: str, names: set[str]) -> Thread:
    fields = reader.mapping(node, field, _THREAD_FIELDS)
    if "name" not in fields:
        raise reader.fail(node, f"{field}.name", "missing")
    name = reader.text(fields["name"][1], f"{field}.name", required=True)
    subjects: list[str] = []
    if "subjects" in fields:
        for item in reader.sequence(fields["subjects"][1], f"{field}.subjects"):
            subject = reader.text(item, f"{field}.subjects", required=True)
            if subject not in names:
                raise reader.fail(item, f"{field}.subjects", f"{subject!r} is not an entity")
            subjects.append(subject)
    paragraphs: list[int] = []
    if "paragraphs" in fields:
        for item in reader.sequence(fields["paragraphs"][1], f"{field}.paragraphs"):
            value = reader.scalar(item) if isinstance(item, yaml.ScalarNode) else None
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise reader.fail(item, f"{field}.paragraphs", "expected a paragraph number")
            paragraphs.append(value)
    return Thread(name=name, subjects=tuple(subjects), paragraphs=tuple(paragraphs))


def _baseline(reader: _Reader, node: yaml.Node) -> tuple[Baseline, yaml.Node | None]:
    fields = reader.mapping(node, "baseline", _BASELINE_FIELDS)
    for required in ("id", "language"):
        if required not in fields:
            raise reader.fail(node, f"baseline.{required}", "missing")

    def text(name: str, required: bool = False) -> str:
        if name not in fields:
            return ""
        return reader.text(fields[name][1], f"baseline.{name}", required=required)

    baseline_id = text("id", True)
    if not _BASELINE_ID.match(baseline_id):
        raise reader.fail(
            fields["id"][1], "baseline.id", "use lower-case letters, digits, '-', '_' or '.'"
        )
    language = text("language", True)
    if not _LANGUAGE_TAG.match(language):
        raise reader.fail(
            fields["language"][1], "baseline.language", f"{language!r} is not a language tag"
        )
    published: dt.date | None = None
    if "published" in fields:
        published = _date(reader, fields["published"][1])
    baseline = Baseline(
        id=baseline_id,
        title=text("title"),
        language=language,
        published=published,
        path=text("file"),
        source_url=text("source_url"),
        author=text("author"),
        outlet=text("outlet"),
    )
    return baseline, fields["file"][1] if "file" in fields else None


def _date(reader: _Reader, node: yaml.Node) -> dt.date | None:
    value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else node
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise reader.fail(node, "baseline.published", f"expected a date YYYY-MM-DD, not {value!r}")


def _entity(reader: _Reader, node: yaml.Node, field: str, paragraphs: tuple[str, ...]) -> Entity:
    fields = reader.mapping(node, field, None)
    if "name" in fields:  # name the entity in every later message
        field = f"{field} ({reader.text(fields['name'][1], f'{field}.name', required=True)})"
    for key, (key_node, _) in fields.items():
        if key not in _ENTITY_FIELDS:
            raise reader.fail(
                key_node,
                f"{field}.{key}",
                f"unknown field; expected one of {', '.join(_ENTITY_FIELDS)}",
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
        aliases = _aliases(reader, fields["aliases"][1], f"{field}.aliases")
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
    )


def _aliases(reader: _Reader, node: yaml.Node, field: str) -> dict[str, tuple[str, ...]]:
    if isinstance(node, yaml.ScalarNode) and reader.scalar(node) is None:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for script, (key_node, value_node) in reader.mapping(node, field, None).items():
        if not _LANGUAGE_TAG.match(script):
            raise reader.fail(
                key_node, f"{field}.{script}", "expected a script such as en, zh-Hans or zh-Hant"
            )
        names: list[str] = []
        for item in reader.sequence(value_node, f"{field}.{script}"):
            alias = reader.text(item, f"{field}.{script}", required=True)
            if alias not in names:
                names.append(alias)
        out[script] = tuple(names)
    return out


def _passages(
    reader: _Reader, node: yaml.Node, field: str, paragraphs: tuple[str, ...]
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


# libyaml when present: four times faster, and its nodes carry the same line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_WATCHLIST_KEY = re.compile(r"^(baseline|entities)\s*:", re.MULTILINE)


def watchlist_files(directory: str | Path) -> list[Path]:
    """Every ``<id>.yaml`` directly in ``directory`` that is a watchlist: it has a top-level
    ``baseline:`` or ``entities:`` key. Feed lists and aliases.yaml live there too."""
    return [p for p in _yaml_files(directory) if _looks_like_watchlist(p)]


def _yaml_files(directory: str | Path) -> list[Path]:
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.glob("*.yaml")
        if p.name not in RESERVED_FILES and not p.name.startswith((".", "_"))
    )


def _looks_like_watchlist(path: Path) -> bool:
    try:
        return bool(_WATCHLIST_KEY.search(path.read_text(encoding="utf-8", errors="replace")))
    except OSError:
        return True  # let the loader report it


def other_yaml_files(directory: str | Path) -> list[Path]:
    """YAML files in the directory that are not watchlists (feed lists); `check` names them."""
    return [p for p in _yaml_files(directory) if not _looks_like_watchlist(p)]


def load_watchlists(directory: str | Path) -> list[Watchlist]:
    """Load every watchlist in ``directory`` (sorted by file name). Raises WatchlistError on the
    first bad file; `check_watchlists` collects them all."""
    paths = watchlist_files(directory)
    watchlists = [load_watchlist(p, base_dir=directory) for p in paths]
    seen: dict[str, Path] = {}
    for path, watchlist in zip(paths, watchlists, strict=True):
        other = seen.setdefault(watchlist.baseline.id, path)
        if other != path:
            raise WatchlistError(
                f"{path}: baseline.id: {watchlist.baseline.id!r} is also the id in {other}"
            )
    return watchlists


def check_watchlists(directory: str | Path) -> tuple[list[Watchlist], list[str]]:
    """Load every watchlist, collecting problems instead of stopping at the first."""
    good: list[Watchlist] = []
    problems: list[str] = []
    for path in watchlist_files(directory):
        try:
            good.append(load_watchlist(path, base_dir=directory))
        except WatchlistError as exc:
            problems.append(str(exc))
    return good, problems


# --- curated alias data ------------------------------------------------------------------

_KNOWN_FIELDS = ("name", "type", "en", "zh-Hans", "zh-Hant", "mentions", "max_weight", "parent")


def load_aliases(path: str | Path) -> AliasData:
    """Read the curated alias file (watchlists/aliases.yaml); a missing file is empty data."""
    path = Path(path)
    if not path.exists():
        return AliasData()
    reader = _Reader(path)
    root = _compose(path, reader)
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


# --- the baseline index (watchlists/baselines/index.yaml) ---------------------------------

_INDEX_FIELDS = (
    "id",
    "file",
    "script",
    "language",
    "title_zh",
    "title",
    "original",
    "published",
    "notes",
    "source_url",
    "author",
    "outlet",
    "added",
)
_APPROXIMATE_DATE = re.compile(r"^~?\s*(\d{4})-(\d{2})(?:-(\d{2}))?$")


def load_baseline_index(path: str | Path) -> list[Baseline]:
    """The baselines listed in index.yaml, as Baselines whose ``path`` is relative to the
    watchlists directory (``baselines/<file>``). An approximate date such as "~2025-01" becomes
    the first day of that month."""
    path = Path(path)
    if not path.exists():
        return []
    reader = _Reader(path)
    root = _compose(path, reader)
    if root is None:
        return []
    top = reader.mapping(root, "", ("baselines",))
    out: list[Baseline] = []
    seen: set[str] = set()
    nodes = reader.sequence(top["baselines"][1], "baselines") if "baselines" in top else []
    for index, node in enumerate(nodes):
        baseline, id_node = _index_entry(reader, node, f"baselines[{index + 1}]")
        if baseline.id in seen:
            raise reader.fail(id_node, f"baselines[{index + 1}].id", "listed twice")
        seen.add(baseline.id)
        out.append(baseline)
    return out


def _index_entry(reader: _Reader, node: yaml.Node, field: str) -> tuple[Baseline, yaml.Node]:
    fields = reader.mapping(node, field, _INDEX_FIELDS)
    for required in ("id", "file"):
        if required not in fields:
            raise reader.fail(node, f"{field}.{required}", "missing")
    original: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    if "original" in fields:
        original_node = fields["original"][1]
        if not (
            isinstance(original_node, yaml.ScalarNode) and reader.scalar(original_node) is None
        ):
            original = reader.mapping(
                original_node, f"{field}.original", ("title", "author", "outlet")
            )

    def text(name: str) -> str:
        if name in fields:
            return reader.text(fields[name][1], f"{field}.{name}")
        key = name.removeprefix("original.")
        if name.startswith("original.") and key in original:
            return reader.text(original[key][1], f"{field}.{name}")
        return ""

    baseline_id = text("id")
    if not _BASELINE_ID.match(baseline_id):
        raise reader.fail(fields["id"][1], f"{field}.id", "use a-z, 0-9, '-', '_' or '.'")
    published = None
    if "published" in fields:
        published = _index_date(reader, fields["published"][1], f"{field}.published")
    baseline = Baseline(
        id=baseline_id,
        title=text("title_zh") or text("title") or text("original.title"),
        language=text("script") or text("language") or "und",
        published=published,
        path=f"baselines/{text('file')}",
        source_url=text("source_url"),
        author=text("author") or text("original.author"),
        outlet=text("outlet") or text("original.outlet"),
    )
    return baseline, fields["id"][1]


def _index_date(reader: _Reader, node: yaml.Node, field: str) -> dt.date | None:
    value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else node
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    match = _APPROXIMATE_DATE.match(str(value).strip())
    if match:
        year, month, day = match.groups()
        try:
            return dt.date(int(year), int(month), int(day or 1))
        except ValueError:
            pass
    raise reader.fail(node, field, f"expected YYYY-MM-DD or ~YYYY-MM, not {value!r}")


def append_baseline_entry(path: str | Path, entry: dict[str, str]) -> None:
    """Add one baseline to index.yaml, appending text so the file's comments survive."""
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else "baselines:\n"
    if not re.search(r"^baselines\s*:", existing, re.MULTILINE):
        existing += "baselines:\n"
    if re.search(r"^baselines\s*:\s*\[\s*\]\s*$", existing, re.MULTILINE):
        existing = re.sub(r"^baselines\s*:\s*\[\s*\]\s*$", "baselines:", existing, flags=re.M)
    lines = []
    for number, (key, value) in enumerate(entry.items()):
        lead = "  - " if number == 0 else "    "
        lines.append(f"{lead}{key}: {_scalar(value) if value else 'null'}")
    text = existing.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --- writing -----------------------------------------------------------------------------

_PLAIN_UNSAFE = re.compile(r"[,\[\]{}:#&*!|>'\"%@`?]|^[-\s]|\s$")


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar usable in flow context: plain when that reads back the same."""
    if value and not _PLAIN_UNSAFE.search(value):
        try:
            if yaml.safe_load(f"[{value}]") == [value]:
                return value
        except yaml.YAMLError:
            pass
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _weight(value: float) -> str:
    if value in (0, 1):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _width(text: str) -> int:
    """Display width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _flow_list(prefix: str, items: list[str], width: int = 100) -> list[str]:
    """``prefix[a, b, ...]`` wrapped at ``width``; continuation lines indented past the key."""
    indent = " " * (len(prefix) - len(prefix.lstrip()) + 2)
    lines: list[str] = []
    line = prefix + "["
    for number, item in enumerate(items):
        piece = item + ("," if number < len(items) - 1 else "]")
        if _width(line) + 1 + _width(piece) > width and line != prefix + "[":
            lines.append(line)
            line = indent + piece
        else:
            line += ("" if line.endswith("[") else " ") + piece
    lines.append(line if items else prefix + "[]")
    return lines


def dump_entity(entity: Entity) -> list[str]:
    lines = [
        f"  - name: {_scalar(entity.name)}",
        f"    type: {entity.type}",
        f"    weight: {_weight(entity.weight)}",
    ]
    if entity.role:
        lines.append(f"    role: {entity.role}")
    scripts = [s for s in entity.aliases if entity.aliases[s]]
    if scripts:
        lines.append("    aliases:")
        for script in scripts:
            items = [_scalar(a) for a in entity.aliases[script]]
            lines.extend(_flow_list(f"      {script}: ", items))
    if entity.passages:
        items = [f"{{paragraph: {p.paragraph}, sentence: {p.sentence}}}" for p in entity.passages]
        lines.extend(_flow_list("    passages: ", items))
    lines.append(f"    reviewed: {'true' if entity.reviewed else 'false'}")
    return lines


def dump_watchlist(watchlist: Watchlist, header: Iterable[str] = ()) -> str:
    """YAML text for ``watchlist``: one block per entity, aliases and passages on one line each."""
    b = watchlist.baseline
    lines = [f"# {line}" if line else "#" for line in header]
    lines.append("baseline:")
    lines.append(f"  id: {_scalar(b.id)}")
    lines.append(f"  title: {_scalar(b.title)}")
    lines.append(f"  language: {_scalar(b.language)}")
    lines.append(f"  published: {b.published.isoformat() if b.published else 'null'}")
    lines.append(f"  file: {_scalar(b.path)}" if b.path else "  file: null")
    for key, value in (("source_url", b.source_url), ("author", b.author), ("outlet", b.outlet)):
        lines.append(f"  {key}: {_scalar(value)}" if value else f"  {key}: null")
    lines.append("entities:")
    if not watchlist.entities:
        lines[-1] = "entities: []"
    for entity in watchlist.entities:
        lines.extend(dump_entity(entity))
    if watchlist.threads:
        lines.append("threads:")
    for thread in watchlist.threads:
        lines.append(f"  - name: {_scalar(thread.name)}")
        lines.extend(_flow_list("    subjects: ", [_scalar(n) for n in thread.subjects]))
        lines.extend(_flow_list("    paragraphs: ", [str(n) for n in thread.paragraphs]))
    return "\n".join(lines) + "\n"


def write_watchlist(path: str | Path, watchlist: Watchlist, header: Iterable[str] = ()) -> None:
    """Write atomically (temp file then rename) so a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dump_watchlist(watchlist, header), encoding="utf-8")
    tmp.replace(path)
