"""A reader's verdicts: `monitor feedback`, kept in the database across re-derivation, and
learnt by `monitor train` so that a kind of item marked wrong stops matching."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.evaluate import load_items
from monitor.feedback import FEEDBACK_WEIGHT, feedback_set
from monitor.models import Article
from monitor.relevance import FEATURES, load_model
from monitor.training import labelled_set
from storage.interface import Source
from storage.sqlite import SqliteStorage

REPO = Path(__file__).resolve().parents[1]
WATCHLISTS = REPO / "watchlists"
DEV = REPO / "tests" / "data" / "eval" / "dev.jsonl"  # real items, labelled by hand
BASELINE = "goujon-real-stakes"


def run(env: dict[str, str], *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env, obj={})
    assert result.exit_code == code, result.output
    return result


def environment(tmp_path: Path, watchlists: Path = WATCHLISTS) -> dict[str, str]:
    return {"MONITOR_DATA_DIR": str(tmp_path / "data"), "MONITOR_WATCHLISTS_DIR": str(watchlists)}


def store(tmp_path: Path, article: Article) -> int:
    """The article stored as a poll would store it; its id."""
    storage = SqliteStorage(tmp_path / "data" / "monitor.db")
    try:
        source = Source(article.url, "https://feed.test/rss", "Feed", article.title)
        return storage.store_entry(
            article, None, source, [article.url], "https://feed.test/rss", article.url, [], _now()
        ).article_id
    finally:
        storage.close()


def _now():  # type: ignore[no-untyped-def]
    import datetime as dt

    return dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def stored_copy(article: Article, key: str) -> Article:
    """Items whose url is a source's own id get a URL, as ingest would give them."""
    if article.url.startswith("http"):
        return article
    return Article(f"https://items.test/{key}", article.title, article.text, "", article.published)


def test_feedback_names_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    env = environment(tmp_path)
    article_id = store(tmp_path, stored_copy(load_items(DEV)[0].article, "first"))

    assert (
        "no stored article 9999" in run(env, "feedback", "9999", BASELINE, "wrong", code=1).output
    )
    unknown = run(env, "feedback", str(article_id), "no-such-baseline", "right", code=1).output
    assert "no baseline 'no-such-baseline'" in unknown
    assert BASELINE in unknown  # the hint lists the baselines there are
    assert "'maybe' is not one of" in run(env, "feedback", "1", BASELINE, "maybe", code=2).output
    assert (
        "'x' is not a valid integer" in run(env, "feedback", "x", BASELINE, "right", code=2).output
    )
    assert "right" in run(env, "feedback", str(article_id), BASELINE, "right").output


def test_feedback_is_kept_when_the_watchlist_is_derived_again(tmp_path: Path) -> None:
    watchlists = tmp_path / "watchlists"
    shutil.copytree(WATCHLISTS, watchlists)
    env = environment(tmp_path, watchlists)
    item = next(i for i in load_items(DEV) if BASELINE in i.labels)
    article_id = store(tmp_path, stored_copy(item.article, item.id))
    run(env, "feedback", str(article_id), BASELINE, "wrong")

    run(env, "watchlist", "derive", "--baseline", BASELINE)

    storage = SqliteStorage(tmp_path / "data" / "monitor.db")
    try:
        verdicts, skipped = feedback_set(storage, watchlists)
    finally:
        storage.close()
    assert skipped == []
    ((pair),) = verdicts.pairs
    assert (pair.baseline_id, pair.label, pair.weight) == (BASELINE, False, FEEDBACK_WEIGHT)


def test_a_kind_marked_wrong_no_longer_matches_after_retraining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # `monitor train` keeps its vector cache in ./.cache
    env = environment(tmp_path)
    # a small training set keeps the test fast: the encoder reads every item once
    subset = tmp_path / "dev-200.jsonl"
    subset.write_text("\n".join(DEV.read_text("utf-8").splitlines()[:200]) + "\n", "utf-8")
    labelled = f"{subset}={WATCHLISTS}"
    run(env, "train", labelled, "--output", "before.json", "--no-feedback")
    before = load_model(tmp_path / "before.json")
    cache = tmp_path / ".cache" / "item-vectors.npz"
    pairs = labelled_set("dev", subset, WATCHLISTS, cache).pairs
    accepted = [p for p in pairs if before.probability(p.row) >= before.threshold]
    # The kind: reports built around a large money figure (earnings, market value, deals),
    # real items the model matches today; the reader marks them wrong.
    money = FEATURES.index("large_amount")
    kind = [p for p in accepted if p.row[money] > 0]
    others = [p for p in accepted if p.row[money] == 0]
    assert len(kind) >= 4, "the labelled file holds too few of this kind to show anything"
    items = {i.id: i for i in load_items(DEV)}
    for pair in kind:
        article_id = store(tmp_path, stored_copy(items[pair.item_id].article, pair.item_id))
        run(env, "feedback", str(article_id), pair.baseline_id, "wrong")

    output = run(env, "train", labelled, "--output", "after.json").output
    after = load_model(tmp_path / "after.json")

    assert "feedback" in output
    still = [p.item_id for p in kind if after.probability(p.row) >= after.threshold]
    assert still == [], "the kind marked wrong stops matching"
    kept = sum(after.probability(p.row) >= after.threshold for p in others)
    assert kept >= 0.9 * len(others), f"only {kept} of {len(others)} other follow-ups kept"
