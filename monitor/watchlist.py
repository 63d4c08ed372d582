"""Read and validate watchlist YAML files (``watchlists/<baseline-id>.yaml``).

The YAML is composed to nodes first, so every problem is reported as ``file:line: field:
problem`` (a WatchlistError), never as a traceback. The format is documented in
watchlists/README.md. The other files of the directory have their own modules, re-exported
here: the curated alias data (monitor.alias_data), the baseline index
(monitor.baseline_index) and writing watchlists back (monitor.watchlist_writer).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from monitor.alias_data import ALIASES_FILE, SharedVocabularies, load_aliases
from monitor.baseline_index import append_baseline_entry, load_baseline_index
from monitor.errors import WatchlistError
from monitor.models import (
    ENTITY_TYPES,
    Baseline,
    Entity,
    Thread,
    Watchlist,
    split_paragraphs,
    split_sentences,
)
from monitor.watchlist_entity import ENTITY_FIELDS, read_entity
from monitor.watchlist_writer import dump_entity, dump_watchlist, write_watchlist
from monitor.yamlfile import BASELINE_ID, LANGUAGE_TAG, Reader, compose, read_text

__all__ = [
    "ENTITY_FIELDS",
    "ENTITY_TYPES",
    "RESERVED_FILES",
    "append_baseline_entry",
    "check_watchlists",
    "dump_entity",
    "dump_watchlist",
    "load_aliases",
    "load_baseline_index",
    "load_watchlist",
    "load_watchlists",
    "other_yaml_files",
    "split_sentences",
    "watchlist_files",
    "write_watchlist",
]

# Files in the watchlists directory that are not watchlists.
RESERVED_FILES = frozenset({ALIASES_FILE, "feeds.yaml"})

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
_TOP_FIELDS = ("baseline", "entities", "threads")
_THREAD_FIELDS = ("name", "subjects", "paragraphs")


def load_watchlist(
    path: str | Path,
    *,
    base_dir: str | Path | None = None,
    shared: SharedVocabularies | None = None,
) -> Watchlist:
    """Load and validate one watchlist file. ``base_dir`` is where ``baseline.file`` is relative
    to (default: the file's own directory); the thread vocabulary an entity names comes from
    ``shared``, by default ``base_dir``/aliases.yaml. Raises WatchlistError("file:line: field:
    problem")."""
    path = Path(path)
    base = Path(base_dir) if base_dir is not None else path.parent
    if shared is None:
        shared = SharedVocabularies(base / ALIASES_FILE)
    source = read_text(path)
    reader = Reader(path)
    root = compose(path, reader, source)
    if root is None:
        raise WatchlistError(f"{path}:1: the file is empty; expected baseline: and entities:")
    try:
        return _watchlist(reader, root, base, shared)
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise WatchlistError(f"{path}:{line}: {exc.problem}") from exc


def _watchlist(
    reader: Reader, root: yaml.Node, base: Path, shared: SharedVocabularies
) -> Watchlist:
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
        entity = read_entity(reader, node, f"entities[{index + 1}]", paragraphs, shared)
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


def _thread(reader: Reader, node: yaml.Node, field: str, names: set[str]) -> Thread:
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


def _baseline(reader: Reader, node: yaml.Node) -> tuple[Baseline, yaml.Node | None]:
    fields = reader.mapping(node, "baseline", _BASELINE_FIELDS)
    for required in ("id", "language"):
        if required not in fields:
            raise reader.fail(node, f"baseline.{required}", "missing")

    def text(name: str, required: bool = False) -> str:
        if name not in fields:
            return ""
        return reader.text(fields[name][1], f"baseline.{name}", required=required)

    baseline_id = text("id", True)
    if not BASELINE_ID.match(baseline_id):
        raise reader.fail(
            fields["id"][1], "baseline.id", "use lower-case letters, digits, '-', '_' or '.'"
        )
    language = text("language", True)
    if not LANGUAGE_TAG.match(language):
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


def _date(reader: Reader, node: yaml.Node) -> dt.date | None:
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
    shared = SharedVocabularies(Path(directory) / ALIASES_FILE)  # read once, when named
    watchlists = [load_watchlist(p, base_dir=directory, shared=shared) for p in paths]
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
    shared = SharedVocabularies(Path(directory) / ALIASES_FILE)
    for path in watchlist_files(directory):
        try:
            good.append(load_watchlist(path, base_dir=directory, shared=shared))
        except WatchlistError as exc:
            problems.append(str(exc))
    return good, problems
