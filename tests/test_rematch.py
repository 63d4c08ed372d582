"""`monitor rematch` and `monitor baseline add` on stored articles: real saved feeds polled
into a real database, then matched again as polling would have matched them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import conftest
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from storage import open_db

ARCHIVE = conftest.DATA / "backfill" / "feeds"  # real saved feeds
WATCHLISTS = conftest.DATA / "backfill" / "watchlists"
SHIPPED = Path(__file__).resolve().parents[1] / "watchlists"
CHIP_NEWS = conftest.DATA / "feeds" / "36kr-ai.xml"  # real saved feed with chip-race stories


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    watchlists = tmp_path / "watchlists"
    shutil.copytree(WATCHLISTS, watchlists)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {ARCHIVE / 'phoronix.xml'}\n    name: Phoronix\n    fetch_pages: false\n"
        f"  - url: {ARCHIVE / 'cnbeta.xml'}\n    name: cnBeta\n    fetch_pages: false\n"
        f"  - url: {CHIP_NEWS}\n    name: 36Kr AI\n    fetch_pages: false\n",
        encoding="utf-8",
    )
    return {
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WATCHLISTS_DIR": str(watchlists),
        "MONITOR_FEEDS_FILE": str(feeds),
        "MONITOR_FETCH_PAGES": "false",
        "MONITOR_SMTP_HOST": "",
    }


def run(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, obj={})
    assert result.exit_code == code, result.output
    return result


def follow_ups(env: dict[str, str]) -> dict[tuple[int, str], tuple[float, str]]:
    db = open_db(Path(env["MONITOR_DATA_DIR"]) / "monitor.db")
    try:
        rows = db.execute("SELECT article_id, baseline_id, score, matched_at FROM matches")
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}
    finally:
        db.close()


def test_rematch_finds_what_polling_found_and_adds_nothing_twice(env: dict[str, str]) -> None:
    run(env, "poll")
    polled = follow_ups(env)
    assert polled, "the saved feeds hold follow-ups of the chip-race baseline"

    # Polling already stored every follow-up the same matcher finds: nothing to add.
    report = json.loads(run(env, "rematch", "--json").stdout)
    assert report["added"] == {}
    db = open_db(Path(env["MONITOR_DATA_DIR"]) / "monitor.db")
    assert report["articles"] == db.execute("SELECT count(*) FROM articles").fetchone()[0] > 20
    db.close()
    assert follow_ups(env) == polled

    # A baseline whose follow-ups were never stored gets exactly polling's follow-ups back.
    db = open_db(Path(env["MONITOR_DATA_DIR"]) / "monitor.db")
    with db.atomic():
        db.execute("DELETE FROM matches WHERE baseline_id = 'chip-race'")
    db.close()
    out = run(env, "rematch", "--baseline", "chip-race").stdout
    assert f"new follow-ups: chip-race {len(polled)}" in out
    assert set(follow_ups(env)) == set(polled)
    assert {k: v[0] for k, v in follow_ups(env).items()} == {k: v[0] for k, v in polled.items()}

    again = json.loads(run(env, "rematch", "--json").stdout)
    assert again["added"] == {}
    later = json.loads(run(env, "rematch", "--since", "2999-01-01", "--json").stdout)
    assert later == {"articles": 0, "added": {}}


def test_rematch_names_an_unknown_baseline(env: dict[str, str]) -> None:
    result = run(env, "rematch", "--baseline", "nope", code=1)
    assert "no watchlist of baseline 'nope'" in result.output


def test_a_new_baseline_is_matched_against_the_stored_articles(
    env: dict[str, str], tmp_path: Path
) -> None:
    run(env, "poll")
    polled = follow_ups(env)
    text = tmp_path / "chips.txt"
    shutil.copy(SHIPPED / "baselines" / "decoupling-wastes-us-leverage.zh-Hans.txt", text)
    out = run(env, "baseline", "add", str(text), "--id", "decoupling").stdout
    assert "decoupling: wrote" in out
    after = follow_ups(env)
    new = {key for key in after if key[1] == "decoupling"}
    assert f"new follow-ups: decoupling {len(new)}" in out or (
        not new and "new follow-ups: none" in out
    )
    assert new, "36Kr's chip stories (OpenAI's own chip, made by TSMC) follow up decoupling"
    assert {k: v for k, v in after.items() if k[1] != "decoupling"} == polled
    # Once is enough: matching it again adds nothing.
    again = run(env, "rematch", "--baseline", "decoupling", "--json").stdout
    assert json.loads(again)["added"] == {}


def test_a_bad_id_is_refused_before_anything_is_written(env: dict[str, str], tmp_path: Path):
    shutil.copytree(SHIPPED, tmp_path / "shipped")
    env = {**env, "MONITOR_WATCHLISTS_DIR": str(tmp_path / "shipped")}
    index = Path(env["MONITOR_WATCHLISTS_DIR"]) / "baselines" / "index.yaml"
    before = index.read_text(encoding="utf-8")
    files = sorted(Path(env["MONITOR_WATCHLISTS_DIR"]).rglob("*"))
    text = tmp_path / "chips.txt"
    shutil.copy(SHIPPED / "baselines" / "decoupling-wastes-us-leverage.zh-Hans.txt", text)
    result = CliRunner().invoke(cli, ["baseline", "add", str(text), "--id", "Bad ID!"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: --id: baseline id 'Bad ID!' is not usable")
    assert index.read_text(encoding="utf-8") == before
    assert sorted(Path(env["MONITOR_WATCHLISTS_DIR"]).rglob("*")) == files
    run(env, "baseline", "list")  # every later command still works


def test_a_text_file_baseline_takes_its_date_and_outlet_from_the_command(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A text file tells no date: without --published, 36Kr's chip stories of 2024 follow up an
    article of 2025; with it, the date rule keeps them out, as it does for a dated page, and
    the later news stays."""
    run(env, "poll")
    text = tmp_path / "chips.txt"
    shutil.copy(SHIPPED / "baselines" / "decoupling-wastes-us-leverage.zh-Hans.txt", text)
    run(env, "baseline", "add", str(text), "--id", "undated")
    args = ("--published", "2025-06-01", "--outlet", "Foreign Affairs: Essays")
    run(env, "baseline", "add", str(text), "--id", "dated", *args)
    undated, dated = published_follow_ups(env, "undated"), published_follow_ups(env, "dated")
    assert any(day < "2025-06-01" for day in undated.values()), "36Kr's 2024 stories match"
    assert dated == {a: day for a, day in undated.items() if day >= "2025-06-01"}
    assert dated, "the news of 2026 still follows it up"
    listed = json.loads(run(env, "baseline", "list", "--json").stdout)["baselines"]
    by_id = {b["id"]: b for b in listed}
    assert (by_id["dated"]["published"], by_id["dated"]["outlet"]) == (
        "2025-06-01",
        "Foreign Affairs: Essays",
    )
    assert by_id["undated"]["published"] is None


def published_follow_ups(env: dict[str, str], baseline_id: str) -> dict[int, str]:
    """The baseline's follow-ups: article id -> the article's published day."""
    db = open_db(Path(env["MONITOR_DATA_DIR"]) / "monitor.db")
    try:
        rows = db.execute(
            "SELECT a.id, a.published FROM matches m JOIN articles a ON a.id = m.article_id"
            " WHERE m.baseline_id = ?",
            [baseline_id],
        )
        return {r[0]: r[1][:10] for r in rows}
    finally:
        db.close()


def test_a_publication_date_in_the_future_is_refused(env: dict[str, str], tmp_path: Path):
    text = tmp_path / "chips.txt"
    shutil.copy(SHIPPED / "baselines" / "decoupling-wastes-us-leverage.zh-Hans.txt", text)
    result = CliRunner().invoke(
        cli, ["baseline", "add", str(text), "--published", "2999-01-01"], env=env
    )
    assert result.exit_code == 2
    assert result.stderr == "Error: --published: 2999-01-01 is in the future\n"
    assert not (Path(env["MONITOR_WATCHLISTS_DIR"]) / "baselines" / "chips.zh-Hans.txt").exists()
