"""YAML files a person edits, read to nodes that carry line numbers, so every problem is a
``file:line: field: problem`` error (a WatchlistError), never a traceback; and the plain
scalars and wrapped flow lists they are written back with."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import WatchlistError

LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
BASELINE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class Reader:
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


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WatchlistError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise WatchlistError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def compose(path: Path, reader: Reader, source: str | None = None) -> yaml.Node | None:
    """The YAML as nodes (they carry line numbers); syntax errors become file:line errors."""
    if source is None:
        source = read_text(path)
    try:
        return yaml.compose(source, Loader=LOADER)
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


# libyaml when present: four times faster, and its nodes carry the same line marks.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# "|" and ">" are block-scalar indicators only at the start: "<all> a|b + c" stays plain.
_PLAIN_UNSAFE = re.compile(r"[,\[\]{}:#&*!'\"%@`?]|^[-\s|>]|\s$")


# What a double-quoted YAML scalar must escape: its quote and backslash, and every character
# YAML does not allow as it is (control characters, line breaks such as NEL and U+2028): a
# title read from a damaged file must not make index.yaml unreadable.
_ESCAPES = re.compile(
    r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\n\r\t]'
)


def scalar_text(value: str) -> str:
    """``value`` as a YAML scalar usable in flow context: plain when that reads back the same."""
    if value and not _PLAIN_UNSAFE.search(value) and not _ESCAPES.search(value):
        try:
            if yaml.safe_load(f"[{value}]") == [value]:
                return value
        except yaml.YAMLError:
            pass
    return '"' + _ESCAPES.sub(_escaped, value) + '"'


def _escaped(found: re.Match[str]) -> str:
    char = found.group(0)
    return "\\" + char if char in '"\\' else f"\\u{ord(char):04x}"


def number_text(value: float) -> str:
    if value in (0, 1):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def display_width(text: str) -> int:
    """Display width: Chinese characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def flow_list(prefix: str, items: list[str], width: int = 100) -> list[str]:
    """``prefix[a, b, ...]`` wrapped at ``width``; continuation lines indented past the key."""
    indent = " " * (len(prefix) - len(prefix.lstrip()) + 2)
    lines: list[str] = []
    line = prefix + "["
    for number, item in enumerate(items):
        piece = item + ("," if number < len(items) - 1 else "]")
        if display_width(line) + 1 + display_width(piece) > width and line != prefix + "[":
            lines.append(line)
            line = indent + piece
        else:
            line += ("" if line.endswith("[") else " ") + piece
    lines.append(line if items else prefix + "[]")
    return lines
