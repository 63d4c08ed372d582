"""Watchlist files: loading, validation errors as file:line: field, writing, and the check
command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor import derive, models, watchlist
from monitor.cli import cli
from monitor.errors import WatchlistError
from monitor.models import Entity, Passage
from monitor.watchlist import (
    dump_watchlist,
    load_aliases,
    load_baseline_index,
    load_watchlist,
    load_watchlists,
)

ROOT = Path(__file__).resolve().parents[1]
WATCHLISTS = ROOT / "watchlists"
BASELINE_FILE = "baselines/decoupling-wastes-us-leverage.zh-Hans.txt"

GOOD = f"""\
baseline:
  id: decoupling
  title: 脱钩浪费了美国对中国的筹码
  language: zh-Hans
  published: 2023-01-01
  file: {BASELINE_FILE}
  source_url: null
  author: null
  outlet: null
entities:
  - name: Jake Sullivan
    type: person
    weight: 0.4
    aliases: {{en: [Jake Sullivan], zh-Hans: [杰克·沙利文], zh-Hant: [傑克·蘇利文]}}
    passages: [{{paragraph: 2, sentence: 2}}]
    reviewed: true
  - name: export controls
    type: policy
    weight: 0.9
    aliases:
      en: [export controls]
      zh-Hans: [出口管制]
    passages: [{{paragraph: 1, sentence: 5}}]
"""


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "baselines").mkdir()
    shutil.copy(WATCHLISTS / BASELINE_FILE, tmp_path / BASELINE_FILE)
    return tmp_path


def _write(directory: Path, text: str, name: str = "decoupling.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    return str(caught.value)


def test_a_good_file_loads_with_passage_text(directory: Path) -> None:
    loaded = load_watchlist(_write(directory, GOOD))
    sullivan, controls = loaded.entities
    assert sullivan.aliases["zh-Hant"] == ("傑克·蘇利文",)
    assert sullivan.passages[0].text.startswith("今年9月,美国国家安全顾问杰克·沙利文")
    assert controls.reviewed  # reviewed defaults to true
    assert loaded.baseline.path == BASELINE_FILE
    assert loaded.paragraphs[1].startswith("美国最近的出口管制")


def test_broken_yaml_names_file_and_line(directory: Path) -> None:
    path = _write(directory, GOOD.replace("    type: policy", "    type: [policy"))
    message = _error(path)
    assert message.startswith(f"{path}:19: YAML syntax:")
    assert "flow sequence started on line 18" in message
    assert "Traceback" not in message


def test_bad_weight_names_line_and_field(directory: Path) -> None:
    path = _write(directory, GOOD.replace("weight: 0.4", "weight: high"))
    assert _error(path) == (
        f"{path}:13: entities[1] (Jake Sullivan).weight: expected a number from 0 to 1, not 'high'"
    )


def test_misspelt_field_is_reported(directory: Path) -> None:
    path = _write(directory, GOOD.replace("    aliases: {en", "    alias: {en"))
    message = _error(path)
    assert message.startswith(f"{path}:14: entities[1] (Jake Sullivan).alias: unknown field")


def test_unknown_type_is_reported(directory: Path) -> None:
    path = _write(directory, GOOD.replace("type: person", "type: human"))
    assert "entities[1] (Jake Sullivan).type: 'human' is not one of company" in _error(path)


def test_passage_outside_the_baseline_is_reported(directory: Path) -> None:
    path = _write(directory, GOOD.replace("{paragraph: 2, sentence: 2}", "{paragraph: 99}"))
    assert _error(path) == (
        f"{path}:15: entities[1] (Jake Sullivan).passages.paragraph: "
        "the baseline has 15 paragraphs, not 99"
    )


def test_missing_baseline_text_is_reported(directory: Path) -> None:
    path = _write(directory, GOOD.replace(BASELINE_FILE, "baselines/gone.txt"))
    assert _error(path).startswith(f"{path}:6: baseline.file: cannot read")


def test_duplicate_entity_is_reported(directory: Path) -> None:
    path = _write(directory, GOOD.replace("name: export controls", "name: Jake Sullivan"))
    assert "entities[2].name: 'Jake Sullivan' is also entity 1" in _error(path)


def test_written_file_reads_back_the_same(directory: Path) -> None:
    loaded = load_watchlist(_write(directory, GOOD))
    odd = Entity(
        "Meta: the company",
        "company",
        0.25,
        {"en": ("Meta", "#meta", "a, b"), "zh-Hant": ("臉書",)},
        tuple(Passage(1, n) for n in range(1, 6)),
        reviewed=False,
    )
    rewritten = type(loaded)(loaded.baseline, (*loaded.entities, odd), loaded.paragraphs)
    again = load_watchlist(_write(directory, dump_watchlist(rewritten), "again.yaml"))
    assert again.baseline == loaded.baseline
    assert [(e.name, e.type, e.weight, e.aliases, e.reviewed) for e in again.entities] == [
        (e.name, e.type, e.weight, e.aliases, e.reviewed) for e in rewritten.entities
    ]
    assert [p.sentence for p in again.entities[-1].passages] == [1, 2, 3, 4, 5]


def test_feed_lists_beside_watchlists_are_not_loaded(directory: Path) -> None:
    _write(directory, GOOD)
    _write(directory, "feeds:\n  - url: https://example.org/feed.xml\n", "feeds.yaml")
    _write(directory, "feeds:\n  - url: samples/a.xml\n", "sample-feeds.yaml")
    _write(directory, "names: []\n", "aliases.yaml")
    assert [w.baseline.id for w in load_watchlists(directory)] == ["decoupling"]


def test_shipped_watchlists_load_with_paragraphs_numbered_as_lines() -> None:
    loaded = {w.baseline.id: w for w in load_watchlists(WATCHLISTS)}
    index = load_baseline_index(WATCHLISTS / "baselines" / "index.yaml")
    assert {b.id for b in index} <= set(loaded)
    emerge = loaded["emerge-2025-story-of-year"]
    lines = (WATCHLISTS / emerge.baseline.path).read_text(encoding="utf-8").split("\n")
    assert emerge.paragraphs[9] == lines[9].strip()  # paragraph 10 is line 10, blanks count
    assert emerge.paragraphs[1] == ""


def test_sentence_rule_is_the_same_for_loading_and_deriving() -> None:
    assert watchlist.split_sentences is derive.split_sentences is models.split_sentences
    text = "美國說。“好的。”他說!這是?不. The U.S. said so. J. Smith agreed! Yes."
    assert models.split_sentences(text) == [
        "美國說。",
        "“好的。”",
        "他說!",
        "這是?",
        "不.",
        "The U.S. said so.",
        "J. Smith agreed!",
        "Yes.",
    ]


def test_shipped_alias_data_is_valid_and_rich() -> None:
    data = load_aliases(WATCHLISTS / "aliases.yaml")
    assert len(data.names) > 200
    kinds = {known.type for known in data.names}
    assert kinds == set(watchlist.ENTITY_TYPES)


def test_alias_data_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "names:\n"
        "  - {name: Qwen, type: model, parent: Alibab}\n"
        "  - {name: Alibaba, type: company}\n"
    )
    with pytest.raises(WatchlistError, match=r"aliases.yaml:2: names\[1\] \(Qwen\).parent"):
        load_aliases(path)


def test_check_command_lists_problems_as_file_line_without_traceback(tmp_path: Path) -> None:
    directory = tmp_path / "watchlists"
    shutil.copytree(WATCHLISTS, directory, ignore=shutil.ignore_patterns(".derived"))
    broken = directory / "schuman-ai-dominance.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("weight: ", "weight: x", 1))
    result = CliRunner().invoke(
        cli, ["watchlist", "check"], env={"MONITOR_WATCHLISTS_DIR": str(directory)}
    )
    assert result.exit_code == 1
    assert f"{broken}:" in result.output
    assert ".weight: expected a number from 0 to 1" in result.output
    assert "Traceback" not in result.output
    assert "goujon-real-stakes:" in result.output  # the good ones are still shown


def test_check_command_prints_what_each_watchlist_matches() -> None:
    result = CliRunner().invoke(
        cli, ["watchlist", "check"], env={"MONITOR_WATCHLISTS_DIR": str(WATCHLISTS)}
    )
    assert result.exit_code == 0, result.output
    assert "goujon-real-stakes:" in result.output
    assert "中芯國際" in result.output or "SMIC" in result.output


@pytest.mark.parametrize(
    "command", [["watchlist", "derive"], ["watchlist", "check"], ["baseline", "add"]]
)
def test_every_command_help_has_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
