"""The language rules file: validated with file:line errors, and what its rules decide."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import WatchlistError
from monitor.language import LANGUAGE_FILE, default_rules, load_rules
from monitor.match import is_headline_list
from monitor.text import fold


def _copy(tmp_path: Path, old: str, new: str) -> Path:
    text = LANGUAGE_FILE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "language.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, fragment: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if fragment in line)


def test_a_bad_regular_expression_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _copy(tmp_path, "'板块'", "'板块(?'")
    with pytest.raises(WatchlistError) as caught:
        load_rules(path)
    line = _line_of(path, "板块(?")
    assert str(caught.value).startswith(f"{path}:{line}: descriptors[5]: not a regular expression")


def test_an_unknown_key_and_a_missing_one_are_errors(tmp_path: Path) -> None:
    path = _copy(tmp_path, "inflections:", "inflexions:")
    with pytest.raises(WatchlistError, match=r"language.yaml:\d+: inflexions: unknown field"):
        load_rules(path)
    path = _copy(tmp_path, "  chinese_min_yi: 10\n", "")
    with pytest.raises(WatchlistError, match=r"money.chinese_min_yi: missing"):
        load_rules(path)


def test_a_money_pattern_with_a_group_nothing_reads_is_an_error(tmp_path: Path) -> None:
    path = _copy(tmp_path, "(?P<unit>万亿|亿)", "(?P<units>万亿|亿)")
    with pytest.raises(WatchlistError, match="only the groups yi and unit are read"):
        load_rules(path)


def test_the_shipped_rules_decide_as_documented() -> None:
    rules = default_rules()
    assert rules.descriptors.match(fold("芯片股大涨"), len("芯片"))
    assert not rules.descriptors.match(fold("芯片股权"), len("芯片"))
    assert rules.descriptors.match(fold("chip stocks"), len("chip"))
    assert is_headline_list("美股開盤：三大指數漲跌不一，輝達漲1.4%")  # traditional script too
    assert is_headline_list("氪星晚报｜a；b；c")
    assert not is_headline_list("英伟达发布新芯片")
    for large in ("$10bn deal", "us$ 3 trillion", "投资3570亿美元", "数十亿美元", "1.2万亿元"):
        assert rules.large_amount(fold(large)), large
    for small in ("9.84亿元", "$900m", "5 billion people"):
        assert rules.large_amount(fold(small)) is None, small
    assert rules.longer_words == {"战": "略术"}
    assert "ing" in rules.inflections
