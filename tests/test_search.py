"""`monitor search` in the one normal form: a name finds its other writings through the alias
data, and Chinese next to Latin is found with or without a space. Real saved feeds."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import conftest
import pytest
from click.testing import CliRunner
from digest_support import store_article

from monitor.cli import cli
from monitor.pipeline import search_variants
from storage import open_db

ARCHIVE = conftest.DATA / "backfill" / "feeds"
SHIPPED = Path(__file__).resolve().parents[1] / "watchlists"
# A real headline (readhub, 2026-04-29): a space between 昇腾 and 950.
ASCEND = "DeepSeek V4 发布引爆需求，大厂争相订购华为昇腾 950 芯片"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The real cnBeta and Phoronix feeds polled into a database; then a watchlists folder
    with the curated alias data only, so names are known through aliases.yaml alone."""
    tmp_path = tmp_path_factory.mktemp("search")
    watchlists = tmp_path / "watchlists"
    shutil.copytree(conftest.DATA / "backfill" / "watchlists", watchlists)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {ARCHIVE / 'phoronix.xml'}\n    name: Phoronix\n    fetch_pages: false\n"
        f"  - url: {ARCHIVE / 'cnbeta.xml'}\n    name: cnBeta\n    fetch_pages: false\n",
        encoding="utf-8",
    )
    env = {
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WATCHLISTS_DIR": str(watchlists),
        "MONITOR_FEEDS_FILE": str(feeds),
        "MONITOR_FETCH_PAGES": "false",
        "MONITOR_RELEVANCE_MODEL": "rules",
        "MONITOR_SMTP_HOST": "",
    }
    assert CliRunner().invoke(cli, ["poll"], env=env, obj={}).exit_code == 0
    db = open_db(tmp_path / "data" / "monitor.db")
    stored = dt.datetime(2026, 4, 29, 10, tzinfo=dt.UTC)
    store_article(db, url="https://readhub.test/1", title=ASCEND, stored_at=stored)
    db.close()
    curated = tmp_path / "curated"
    curated.mkdir()
    shutil.copy(SHIPPED / "aliases.yaml", curated / "aliases.yaml")
    return {**env, "MONITOR_WATCHLISTS_DIR": str(curated)}


def search(env: dict[str, str], query: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["search", query, "--limit", "200", "--json"], env=env)
    assert result.exit_code == 0, result.output
    articles: list[dict[str, Any]] = json.loads(result.stdout)["articles"]
    return articles


def test_a_name_finds_every_writing_the_alias_data_knows(env: dict[str, str]) -> None:
    by_name = {a["url"] for a in search(env, "Nvidia")}
    chinese = {a["url"] for a in search(env, "英伟达")}
    latin = {a["url"] for a in search(env, "NVIDIA")}
    assert chinese
    assert latin
    assert by_name >= chinese | latin  # cnBeta's 英伟达 stories and Phoronix's NVIDIA ones
    assert {a["source_name"] for a in search(env, "Nvidia")} >= {"cnBeta", "Phoronix"}
    assert {a["url"] for a in search(env, "輝達")} >= chinese  # Taiwan's name, too


def test_chinese_next_to_latin_is_found_with_or_without_a_space(env: dict[str, str]) -> None:
    for query in ("昇腾950", "昇腾 950", "昇腾　950"):  # full-width space too
        assert [a["title"] for a in search(env, query)] == [ASCEND], query


def test_variants_split_scripts_and_skip_word_patterns() -> None:
    assert "昇腾 910C" in search_variants("昇腾910C", [])
    assert search_variants("nothing known", []) == ["nothing known"]
