"""The baseline index (watchlists/baselines/index.yaml): which baseline articles are followed,
read with file:line errors and appended to without losing the file's comments."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from monitor.models import Baseline
from monitor.yamlfile import BASELINE_ID, Reader, compose, scalar_text

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
    reader = Reader(path)
    root = compose(path, reader)
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


def _index_entry(reader: Reader, node: yaml.Node, field: str) -> tuple[Baseline, yaml.Node]:
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
    if not BASELINE_ID.match(baseline_id):
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


def _index_date(reader: Reader, node: yaml.Node, field: str) -> dt.date | None:
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


def baseline_id_problem(baseline_id: str) -> str | None:
    """Why ``baseline_id`` cannot name a baseline (None: it can). Checked before anything is
    written: an id the index cannot read back breaks every later command."""
    if BASELINE_ID.match(baseline_id):
        return None
    return (
        f"baseline id {baseline_id!r} is not usable: use lower-case letters, digits, '-', '_'"
        " or '.', starting with a letter or digit"
    )


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
        lines.append(f"{lead}{key}: {scalar_text(value) if value else 'null'}")
    text = existing.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
