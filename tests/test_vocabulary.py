"""The alias mini-language as typed values, its file:line errors, and the thread vocabulary
that watchlists share through aliases.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.errors import WatchlistError
from monitor.match import Matcher
from monitor.merge import merge
from monitor.models import Article, Entity
from monitor.vocabulary import (
    AliasSyntaxError,
    AllWordsAlias,
    AmountAlias,
    PlainAlias,
    format_alias,
    parse_alias,
)
from monitor.watchlist import dump_watchlist, load_aliases, load_watchlist, load_watchlists

ROOT = Path(__file__).resolve().parents[1]
WATCHLISTS = ROOT / "watchlists"


def test_aliases_parse_to_typed_values() -> None:
    assert parse_alias("export controls") == PlainAlias("export controls")
    assert parse_alias("<all> export|出口 + chip|芯片") == AllWordsAlias(
        (("export", "出口"), ("chip", "芯片"))
    )
    assert parse_alias("<title> TSMC + U.S.|美国") == AllWordsAlias(
        (("TSMC",), ("U.S.", "美国")), title_only=True
    )
    assert parse_alias("<amount> 数据中心") == AmountAlias("数据中心")
    # "+" inside a word is part of it; only " + " separates groups
    assert parse_alias("<all> AI+ + plan") == AllWordsAlias((("AI+",), ("plan",)))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<al> export + chip", "unknown tag <al>"),
        ("<ALL> export + chip", "unknown tag <ALL>"),
        ("<all> export|出口", "at least two word groups"),
        ("<all> export +  + chip", "group 2 is empty"),
        ("<all> export||出口 + chip", "group 1 has an empty word"),
        ("<title> chip + ", "group 2 is empty"),
        ("<amount>", "followed by nothing"),
        ("<amount>data centre", "must be followed by a space"),
    ],
)
def test_a_malformed_alias_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(AliasSyntaxError, match=problem):
        parse_alias(text)


def test_every_shipped_alias_writes_back_as_it_reads() -> None:
    terms = [t for w in load_watchlists(WATCHLISTS) for e in w.entities for t in e.terms]
    assert any(isinstance(t, AllWordsAlias) and t.title_only for t in terms)
    assert any(isinstance(t, AmountAlias) for t in terms)
    for term in terms:
        assert parse_alias(format_alias(term)) == term


WATCHLIST = """\
baseline:
  id: chips
  title: Chips
  language: en
  published: 2025-01-01
entities:
  - name: export controls
    type: policy
    weight: 0.9
    vocabulary: export controls
    aliases:
      en: [chip curbs]
  - name: Nvidia
    type: company
    weight: 0.6
    aliases:
      en: [Nvidia,
        <al> Nvidia + China]
"""

ALIASES = """\
names:
  - {name: Nvidia, type: company, en: [Nvidia]}
vocabulary:
  - name: export controls
    en: [<all> export|exports + chip|chips + China, export controls]
    zh-Hans: [出口管制]
"""


def _folder(tmp_path: Path, watchlist: str, aliases: str = ALIASES) -> Path:
    (tmp_path / "aliases.yaml").write_text(aliases, encoding="utf-8")
    path = tmp_path / "chips.yaml"
    path.write_text(watchlist, encoding="utf-8")
    return path


def test_a_typo_in_an_alias_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _folder(tmp_path, WATCHLIST)
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    assert str(caught.value).startswith(f"{path}:18: entities[2] (Nvidia).aliases.en: ")
    assert "unknown tag <al>" in str(caught.value)


def test_an_entity_takes_the_shared_vocabulary_and_adds_its_own(tmp_path: Path) -> None:
    path = _folder(tmp_path, WATCHLIST.replace("<al> Nvidia + China", "<all> Nvidia + China"))
    controls, nvidia = load_watchlist(path).entities
    assert controls.aliases == {
        "en": ("<all> export|exports + chip|chips + China", "export controls", "chip curbs"),
        "zh-Hans": ("出口管制",),
    }
    assert AllWordsAlias((("export", "exports"), ("chip", "chips"), ("China",))) in controls.terms
    assert nvidia.vocabulary is None
    matcher = Matcher([load_watchlist(path)])
    found = matcher.found(Article("u", "U.S. curbs exports of chips to China", "", "en", None))
    assert 0 in found[0]  # export controls, through the shared "<all>" alias


def test_the_written_file_names_the_vocabulary_instead_of_pasting_it(tmp_path: Path) -> None:
    path = _folder(tmp_path, WATCHLIST.replace("<al> Nvidia + China", "<all> Nvidia + China"))
    loaded = load_watchlist(path)
    text = dump_watchlist(loaded)
    assert "    vocabulary: export controls\n    aliases:\n      en: [chip curbs]\n" in text
    assert "<all> export|exports" not in text
    assert "<all> Nvidia + China" in text  # tagged aliases stay plain, as a person writes them
    path.write_text(text, encoding="utf-8")
    assert load_watchlist(path) == loaded


def test_an_unknown_vocabulary_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _folder(tmp_path, WATCHLIST.replace("vocabulary: export controls", "vocabulary: expo"))
    with pytest.raises(WatchlistError) as caught:
        load_watchlist(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:10: entities[1] (export controls).vocabulary: 'expo'")
    assert "known: export controls" in message


def test_a_typo_in_the_shared_vocabulary_is_an_error_in_aliases_yaml(tmp_path: Path) -> None:
    broken = ALIASES.replace("<all> export|exports", "<all> export|")
    path = _folder(tmp_path, WATCHLIST, broken)
    with pytest.raises(WatchlistError, match=r"aliases.yaml:5: vocabulary\[1\] \(export"):
        load_watchlist(path)
    # a watchlist that names no vocabulary does not depend on aliases.yaml
    plain = WATCHLIST.replace("    vocabulary: export controls\n", "").replace("<al> ", "<all> ")
    assert len(load_watchlist(_folder(tmp_path, plain, broken)).entities) == 2


def test_curated_names_must_be_plain(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text("names:\n  - {name: AI race, type: concept, en: [<all> AI + race]}\n")
    with pytest.raises(WatchlistError, match=r"aliases.yaml:2: .*belongs under vocabulary:"):
        load_aliases(path)


def test_shipped_watchlists_share_thread_vocabulary_instead_of_pasting_it(tmp_path: Path) -> None:
    vocabulary = load_aliases(WATCHLISTS / "aliases.yaml").vocabulary
    assert {"export controls", "chip sales to China"} <= {v.name for v in vocabulary}
    texts = [p.read_text(encoding="utf-8") for p in WATCHLISTS.glob("*.yaml")]
    pasted = "<all> export|出口|禁运 + chip|semiconductor|芯片|半导体"
    assert sum(pasted in text for text in texts) == 1  # aliases.yaml alone
    users = [w for w in load_watchlists(WATCHLISTS) for e in w.entities if e.vocabulary]
    assert len({w.baseline.id for w in users}) == 5


def test_a_re_derive_keeps_the_vocabulary_a_person_named(tmp_path: Path) -> None:
    shutil.copytree(WATCHLISTS, tmp_path / "w", ignore=shutil.ignore_patterns("*.npz"))
    current = load_watchlist(tmp_path / "w" / "goujon-real-stakes.yaml")
    named = next(e for e in current.entities if e.vocabulary is not None)
    fresh = current.__class__(
        current.baseline,
        tuple(Entity(e.name, e.type, e.weight, {"en": (e.name,)}) for e in current.entities),
        current.paragraphs,
    )
    merged = merge(current, None, fresh)
    kept = next(e for e in merged.entities if e.name == named.name)
    assert kept.vocabulary == named.vocabulary
    assert "vocabulary: " + named.name in dump_watchlist(merged)
