"""Rules about language that matching applies to every watchlist (monitor/data/language.yaml):
descriptors that turn a thread term into a sector name, headline-list and market-wrap titles,
money figures of at least a billion, Chinese words that run on into longer ones, and the
inflections of Latin words. Read and validated once, with file:line errors; the matcher gets
them as one frozen value."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from monitor.yamlfile import Reader, compose

LANGUAGE_FILE = Path(__file__).parent / "data" / "language.yaml"
_TOP_FIELDS = ("descriptors", "headline_lists", "money", "longer_words", "inflections")
_MONEY_FIELDS = (
    "patterns",
    "chinese_min_yi",
    "chinese_always_large_unit",
    "chinese_large_words",
)


@dataclass(frozen=True)
class LanguageRules:
    descriptors: re.Pattern[str]  # matched right after a thread term
    headline_list: re.Pattern[str]  # searched in a folded title
    money: re.Pattern[str]  # searched in the folded title and lead
    chinese_min_yi: float
    chinese_always_large_unit: str
    chinese_large_words: str
    longer_words: dict[str, str]  # last character -> characters that make a longer word
    inflections: tuple[str, ...]

    def large_amount(self, text: str) -> re.Match[str] | None:
        """The first money figure of at least a billion (ten 亿) in ``text``."""
        for found in self.money.finditer(text):
            groups = found.groupdict()
            number = groups.get("yi")
            if number is None or groups.get("unit") == self.chinese_always_large_unit:
                return found
            try:
                if float(number.replace(",", "")) >= self.chinese_min_yi:
                    return found
            except ValueError:
                if any(ch in number for ch in self.chinese_large_words):
                    return found
        return None


@functools.cache
def default_rules() -> LanguageRules:
    """The shipped rules, read once per process."""
    return load_rules(LANGUAGE_FILE)


def load_rules(path: str | Path) -> LanguageRules:
    """Read and validate a language rules file; WatchlistError("file:line: field: problem")."""
    path = Path(path)
    reader = Reader(path)
    root = compose(path, reader)
    if root is None:
        raise reader.fail(None, "", f"the file is empty; expected {', '.join(_TOP_FIELDS)}")
    top = reader.mapping(root, "", _TOP_FIELDS)
    for required in _TOP_FIELDS:
        if required not in top:
            raise reader.fail(root, required, "missing")
    money = reader.mapping(top["money"][1], "money", _MONEY_FIELDS)
    for required in _MONEY_FIELDS:
        if required not in money:
            raise reader.fail(top["money"][1], f"money.{required}", "missing")
    descriptors = _patterns(reader, top["descriptors"][1], "descriptors")
    money_node = money["patterns"][1]
    money_patterns = _patterns(reader, money_node, "money.patterns")
    joined_money = _compile(reader, money_node, "money.patterns", money_patterns)
    if set(joined_money.groupindex) - {"yi", "unit"}:
        raise reader.fail(money_node, "money.patterns", "only the groups yi and unit are read")
    return LanguageRules(
        descriptors=_compile(reader, top["descriptors"][1], "descriptors", descriptors, r"\s?"),
        headline_list=_compile(
            reader,
            top["headline_lists"][1],
            "headline_lists",
            _patterns(reader, top["headline_lists"][1], "headline_lists"),
        ),
        money=joined_money,
        chinese_min_yi=_number(reader, money["chinese_min_yi"][1], "money.chinese_min_yi"),
        chinese_always_large_unit=reader.text(
            money["chinese_always_large_unit"][1], "money.chinese_always_large_unit", required=True
        ),
        chinese_large_words=reader.text(
            money["chinese_large_words"][1], "money.chinese_large_words", required=True
        ),
        longer_words=_longer_words(reader, top["longer_words"][1]),
        inflections=tuple(
            reader.text(item, "inflections", required=True)
            for item in reader.sequence(top["inflections"][1], "inflections")
        ),
    )


def _patterns(reader: Reader, node: yaml.Node, field: str) -> list[str]:
    """Each pattern of a list, compiled on its own so a mistake is reported at its own line."""
    out = []
    items = reader.sequence(node, field)
    if not items:
        raise reader.fail(node, field, "expected at least one pattern")
    for number, item in enumerate(items, 1):
        pattern = reader.text(item, f"{field}[{number}]", required=True)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise reader.fail(
                item, f"{field}[{number}]", f"not a regular expression: {exc}"
            ) from exc
        out.append(pattern)
    return out


def _compile(
    reader: Reader, node: yaml.Node, field: str, patterns: list[str], prefix: str = ""
) -> re.Pattern[str]:
    """The alternatives as one pattern, tried in the order written."""
    try:
        return re.compile(prefix + "(?:" + "|".join(f"(?:{p})" for p in patterns) + ")")
    except re.error as exc:  # e.g. a group name used twice across the list
        raise reader.fail(node, field, f"the patterns do not combine: {exc}") from exc


def _number(reader: Reader, node: yaml.Node, field: str) -> float:
    value = reader.scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise reader.fail(node, field, f"expected a positive number, not {value!r}")
    return float(value)


def _longer_words(reader: Reader, node: yaml.Node) -> dict[str, str]:
    out = {}
    for key, (key_node, value_node) in reader.mapping(node, "longer_words", None).items():
        if len(key) != 1:
            raise reader.fail(key_node, f"longer_words.{key}", "expected one character")
        out[key] = reader.text(value_node, f"longer_words.{key}", required=True)
    return out
