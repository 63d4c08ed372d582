"""The scriptable CLI: every --json output parses, poll --force and "no feed is due" with the
next time, search folding, and baseline list / remove."""

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
from monitor.models import Baseline, Entity, Watchlist
from monitor.pipeline import search_variants
from storage import open_db

REPO = Path(__file__).resolve().parents[1]
ARCHIVE = conftest.DATA / "backfill" / "feeds"  # real saved feeds
WATCHLISTS = conftest.DATA / "backfill" / "watchlists"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A data directory, a copy of the small backfill watchlist, and a feeds file of two real
    saved feeds read from disk (no page fetching)."""
    watchlists = tmp_path / "watchlists"
    shutil.copytree(WATCHLISTS, watchlists)
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(
        "feeds:\n"
        f"  - url: {ARCHIVE / 'phoronix.xml'}\n    name: Phoronix\n    fetch_pages: false\n"
        f"  - url: {ARCHIVE / 'cnbeta.xml'}\n    name: cnBeta\n    fetch_pages: false\n",
        encoding="utf-8",
    )
    return {
        "MONITOR_DATA_DIR": str(tmp_path / "data"),
        "MONITOR_WATCHLISTS_DIR": str(watchlists),
        "MONITOR_FEEDS_FILE": str(feeds),
        "MONITOR_FETCH_PAGES": "false",
        "MONITOR_MATCH_THRESHOLD": "0.3",
        "MONITOR_SMTP_HOST": "",
    }


def run(env: dict[str, str], *args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, obj={})
    assert result.exit_code == code, result.output
    return result


def run_json(env: dict[str, str], *args: str, code: int = 0) -> Any:
    return json.loads(run(env, *args, "--json", code=code).stdout)


def test_poll_json_then_nothing_due_says_when_and_force_polls_all(env) -> None:
    first = run_json(env, "poll")
    assert sorted(feed["name"] for feed in first["feeds"]) == ["Phoronix", "cnBeta"]
    assert all(feed["status"] == "new" for feed in first["feeds"])
    assert first["new"] == sum(feed["new"] for feed in first["feeds"]) > 10
    assert first["next_poll_at"]

    again = run(env, "poll").stdout
    assert again.startswith("no feed is due; the next is due at ")
    assert "--force" in again
    assert run_json(env, "poll")["feeds"] == []

    forced = run_json(env, "poll", "--force")
    assert len(forced["feeds"]) == 2
    assert forced["new"] == 0  # everything was stored by the first poll


def test_feeds_list_json_has_each_feeds_health(env) -> None:
    before = run_json(env, "feeds", "list")
    assert {feed["status"] for feed in before["feeds"]} == {"new"}
    run(env, "poll")
    feeds = run_json(env, "feeds", "list")["feeds"]
    assert len(feeds) == 2
    for feed in feeds:
        assert feed["status"] == "ok"
        assert feed["last_success_at"]
        assert feed["consecutive_failures"] == 0
        assert feed["next_poll_at"]
    # Articles in the last 7 days count by the time they were stored (now), not published.
    assert sum(feed["articles_7d"] for feed in feeds) > 10
    text = run(env, "feeds", "list").stdout
    assert "ok       Phoronix: last success " in text


def test_run_once_json(env) -> None:
    report = run_json(env, "run", "--once")
    assert report["skipped"] is False
    assert len(report["feeds"]) == 2
    assert report["new_articles"] > 10
    assert report["today_page"].endswith(".html")
    run(env, "run", "--json", code=2)  # --json needs --once


def test_backfill_json(env) -> None:
    report = run_json(
        env, "backfill", "--since", "2000-01-01", "--until", "2026-12-31", "--archive", str(ARCHIVE)
    )
    assert report["new_articles"] > 50
    assert report["since"] == "2000-01-01"
    assert report["stopped"] is False
    assert report["digests"]["written"]


def test_search_json_shows_source_and_follow_ups(env) -> None:
    run(env, "poll")
    found = run_json(env, "search", "Linux")
    assert found["query"] == "Linux"
    assert found["articles"]
    assert found["articles"][0]["source_name"] == "Phoronix"
    assert all("follow_ups" in article for article in found["articles"])


def test_search_folds_traditional_chinese_and_watchlist_aliases() -> None:
    entity = Entity("Nvidia", "company", 0.9, {"zh-Hans": ("英伟达",), "zh-Hant": ("輝達",)})
    watchlist = Watchlist(Baseline("b", "B", "en", None, "b.txt"), (entity,))
    assert "英伟达" in search_variants("輝達", [])
    assert set(search_variants("nvidia", [watchlist])) >= {"nvidia", "Nvidia", "英伟达", "輝達"}
    assert search_variants("nothing known", [watchlist]) == ["nothing known"]


def test_watchlist_check_json(env) -> None:
    result = run_json(env, "watchlist", "check")
    (watchlist,) = result["watchlists"]
    assert watchlist["baseline_id"] == "chip-race"
    assert watchlist["entities"] == len(watchlist["top"]) or len(watchlist["top"]) == 10
    assert result["problems"] == []


def test_baseline_list_and_remove(env, tmp_path) -> None:
    watchlists = tmp_path / "shipped"
    shutil.copytree(REPO / "watchlists", watchlists)
    env = {**env, "MONITOR_WATCHLISTS_DIR": str(watchlists)}
    listed = run_json(env, "baseline", "list")["baselines"]
    assert len(listed) == 5
    assert all(b["watchlist"] for b in listed)
    header = (watchlists / "baselines" / "index.yaml").read_text(encoding="utf-8")[:200]

    out = run(env, "baseline", "remove", "schuman-ai-dominance").stdout
    assert "removed schuman-ai-dominance" in out
    after = run_json(env, "baseline", "list")["baselines"]
    assert [b["id"] for b in after] == [
        b["id"] for b in listed if b["id"] != "schuman-ai-dominance"
    ]
    index = (watchlists / "baselines" / "index.yaml").read_text(encoding="utf-8")
    assert index.startswith(header)  # the comments are kept
    assert "schuman" not in index
    removed = sorted(p.name for p in (watchlists / ".removed").iterdir())
    assert "schuman-ai-dominance.yaml" in removed
    assert "schuman-race-for-global-ai-dominance.zh-Hans.txt" in removed
    assert not (watchlists / "schuman-ai-dominance.yaml").exists()
    assert "Error: no baseline 'nope'" in run(env, "baseline", "remove", "nope", code=1).output


def test_search_for_a_traditional_name_finds_the_simplified_article(env) -> None:
    db = open_db(Path(env["MONITOR_DATA_DIR"]) / "monitor.db")
    stored = dt.datetime(2026, 1, 28, tzinfo=dt.UTC)
    store_article(
        db,
        url="https://a.example/1",
        title="英伟达H200芯片获批",
        source_name="快科技",
        stored_at=stored,
    )
    db.close()
    found = run_json(env, "search", "輝達")["articles"]
    assert [(a["title"], a["source_name"]) for a in found] == [("英伟达H200芯片获批", "快科技")]
    assert "英伟达H200芯片获批 (快科技)" in run(env, "search", "輝達").stdout
