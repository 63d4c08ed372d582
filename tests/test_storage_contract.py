"""The storage contract, run against both backends: SQLite (the default) and PostgreSQL (a
real server on 127.0.0.1 started by the tests). Each test states one behaviour the pipeline
relies on; both implementations must show it."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.models import Article, Feed, Match
from storage.backends import open_storage
from storage.interface import Feedback, NewDigest, Source, Storage

NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    url = "" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    storage = open_storage(url, tmp_path / "monitor.db")
    try:
        yield storage
    finally:
        storage.close()


def article(n: int, text: str = "") -> Article:
    return Article(
        url=f"https://news.test/{n}",
        title=f"Story {n}",
        text=text or f"Text of story {n} about 英伟达 chips.",
        language="en",
        published=NOW - dt.timedelta(days=1),
        feed_url="https://news.test/feed.xml",
        source_name="News",
    )


def match(baseline: str, score: float = 0.8) -> Match:
    return Match(
        baseline, score, ("Nvidia", "H200"), 2, "The passage.", "names Nvidia", "chip controls"
    )


def store_one(store: Storage, n: int, *, text: str = "", guid: str = "", now: dt.datetime = NOW):
    item = article(n, text)
    return store.store_entry(
        item,
        f"fp-{text or n}",
        Source(item.url, item.feed_url, "News", item.title),
        [item.url],
        item.feed_url,
        guid or f"g{n}",
        [match("chips")],
        now,
    )


def test_migrations_are_applied_once_and_reopening_keeps_the_data(
    store: Storage, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store_one(store, 1)
    again = open_storage(getattr(store, "url", ""), tmp_path / "monitor.db")
    try:
        assert again.count_articles() == 1
    finally:
        again.close()


def test_feeds_are_due_until_polled_then_at_their_next_poll(store: Storage) -> None:
    feeds = [Feed("https://a.test/f.xml", "A"), Feed("https://b.test/f.xml", "B")]
    store.sync_feeds(feeds, NOW)
    assert [s.url for s in store.due_feeds(NOW)] == [f.url for f in feeds]

    store.record_success(
        feeds[0].url, NOW, status=200, etag='"e1"', last_modified=None, next_poll_at=NOW + HOUR
    )
    store.record_failure(feeds[1].url, NOW, error="boom", status=503, next_poll_at=NOW + 2 * HOUR)

    assert store.due_feeds(NOW) == []
    assert [s.url for s in store.due_feeds(NOW + HOUR)] == [feeds[0].url]
    first, second = store.all_feeds()
    assert (first.etag, first.error_count, first.next_poll_at) == ('"e1"', 0, NOW + HOUR)
    assert (second.error_count, second.last_error, second.last_status) == (1, "boom", 503)


def test_a_due_feed_is_claimed_by_one_caller_only(store: Storage) -> None:
    url = "https://a.test/f.xml"
    store.sync_feeds([Feed(url)], NOW)
    lease = dt.timedelta(minutes=10)

    first = store.claim_feed(url, NOW, lease)
    second = store.claim_feed(url, NOW, lease)

    assert first is not None
    assert first.url == url
    assert second is None
    # A claimer that died leaves the feed due again once the lease has run out.
    assert store.claim_feed(url, NOW + lease, lease) is not None


def test_a_moved_feed_keeps_its_state_and_is_found_by_either_url(store: Storage) -> None:
    store.sync_feeds([Feed("https://old.test/f.xml")], NOW)
    assert store.update_url("https://old.test/f.xml", "https://new.test/f.xml")
    store.sync_feeds([Feed("https://old.test/f.xml", "renamed")], NOW)

    (state,) = store.all_feeds()
    assert (state.url, state.origin_url, state.name) == (
        "https://new.test/f.xml",
        "https://old.test/f.xml",
        "renamed",
    )
    assert store.get_feed("https://old.test/f.xml") == state


def test_an_entry_is_stored_once_with_its_article_source_and_follow_ups(store: Storage) -> None:
    first = store_one(store, 1)
    again = store_one(store, 1)

    assert first.new
    assert not again.new
    assert again.article_id == first.article_id
    assert store.is_entry_seen("https://news.test/feed.xml", "g1")
    assert store.count_articles() == 1
    stored = store.get_article(first.article_id)
    assert stored is not None
    assert (stored.url, stored.stored_at, stored.published) == (
        "https://news.test/1",
        NOW,
        NOW - dt.timedelta(days=1),
    )
    assert [s.url for s in stored.sources] == ["https://news.test/1"]
    (follow_up,) = store.matches_between(NOW, NOW + HOUR)
    assert (follow_up.article_id, follow_up.baseline_id, follow_up.entities) == (
        first.article_id,
        "chips",
        ("Nvidia", "H200"),
    )


def test_a_follow_up_keeps_the_thread_it_moves(store: Storage) -> None:
    stored = store_one(store, 1)
    store.save_matches(
        stored.article_id, [Match("other", 0.7, ("H20",), 1, "P.", "r", "")], NOW + HOUR
    )

    threads = {f.baseline_id: f.thread for f in store.matches_between(NOW, NOW + HOUR)}
    assert threads == {"chips": "chip controls", "other": ""}
    assert store.matches_between(NOW, NOW + HOUR)[0].as_row()["thread"] == "chip controls"


def test_feedback_keeps_the_latest_verdict_per_article_and_baseline(store: Storage) -> None:
    stored = store_one(store, 1)
    first = Feedback(stored.article_id, "chips", True, NOW)
    later = Feedback(stored.article_id, "chips", False, NOW + HOUR)

    assert store.save_feedback(first)
    assert store.save_feedback(Feedback(stored.article_id, "other", True, NOW))
    assert store.save_feedback(later)

    assert store.all_feedback() == [Feedback(stored.article_id, "other", True, NOW), later]


def test_feedback_on_an_unknown_article_is_refused_and_writes_nothing(store: Storage) -> None:
    assert not store.save_feedback(Feedback(404, "chips", False, NOW))
    assert store.all_feedback() == []


def test_a_syndicated_copy_becomes_a_source_of_the_stored_article(store: Storage) -> None:
    original = store_one(store, 1, text="the same words")
    copy = store_one(store, 2, text="the same words", guid="other")

    assert not copy.new
    assert copy.article_id == original.article_id
    stored = store.get_article(original.article_id)
    assert stored is not None
    assert sorted(s.url for s in stored.sources) == ["https://news.test/1", "https://news.test/2"]
    assert store.find_article(["https://news.test/2"]) == original.article_id


def test_a_known_link_adds_a_source_without_storing_anything_else(store: Storage) -> None:
    stored = store_one(store, 1)
    source = Source("https://news.test/1?utm_source=x", "https://b.test/f.xml", "B")

    found = store.add_known_source(
        ["https://news.test/1"], source, "https://b.test/f.xml", "b1", NOW
    )
    missing = store.add_known_source(
        ["https://news.test/9"], source, "https://b.test/f.xml", "b9", NOW
    )

    assert found == stored.article_id
    assert missing is None
    assert store.is_entry_seen("https://b.test/f.xml", "b1")
    assert not store.is_entry_seen("https://b.test/f.xml", "b9")


def test_follow_ups_belong_to_the_window_their_article_was_stored_in(store: Storage) -> None:
    store_one(store, 1, now=NOW)
    store_one(store, 2, now=NOW + HOUR)

    assert [f.url for f in store.matches_between(NOW, NOW + HOUR)] == ["https://news.test/1"]
    assert [f.url for f in store.matches_between(NOW + HOUR, NOW + 2 * HOUR)] == [
        "https://news.test/2"
    ]
    row = store.matches_between(NOW, NOW + HOUR)[0].as_row()
    assert row["stored_at"] == "2026-02-20T08:00:00+00:00"


def test_rematch_adds_only_follow_ups_not_stored_yet(store: Storage) -> None:
    first = store_one(store, 1, now=NOW).article_id
    second = store_one(store, 2, now=NOW + HOUR).article_id
    assert store.article_ids_since(None) == [first, second]
    assert store.article_ids_since(NOW + HOUR) == [second]

    later = NOW + 5 * HOUR
    assert store.add_new_matches(first, [match("chips", 0.1), match("fabs")], later) == 1
    assert store.add_new_matches(first, [match("chips", 0.1), match("fabs")], later) == 0
    rows = {f.baseline_id: f for f in store.matches_between(NOW, NOW + HOUR)}
    assert rows["chips"].score == 0.8  # live polling's follow-up is left as it was
    assert rows["chips"].matched_at == NOW
    assert rows["fabs"].matched_at == later


def test_search_finds_chinese_and_latin_words(store: Storage) -> None:
    store_one(store, 1)
    store_one(store, 2, text="A recipe for dumplings.")

    assert [hit.url for hit in store.search("英伟达 chips")] == ["https://news.test/1"]
    assert [hit.url for hit in store.search("dumplings")] == ["https://news.test/2"]
    assert store.search("nothing-like-this") == []


def digest(key: str) -> NewDigest:
    return NewDigest(
        kind="daily",
        key=key,
        subject=f"Digest {key}",
        html="<p>x</p>",
        text="x",
        recipients=("a@example.org",),
        message_id=f"<{key}@monitor>",
    )


def test_the_outbox_records_once_and_a_claim_is_won_once(store: Storage) -> None:
    digest_id = store.create_pending(digest("2026-02-19"), NOW)
    assert digest_id is not None
    assert store.create_pending(digest("2026-02-19"), NOW) is None
    assert store.outbox_keys("daily") == {"2026-02-19"}

    assert store.claim_outbox(digest_id, NOW)
    assert not store.claim_outbox(digest_id, NOW)
    store.mark_failed(digest_id, "451 try later")
    (pending,) = store.unsent("daily")
    assert (pending.status, pending.last_error, pending.attempts) == ("pending", "451 try later", 1)

    assert store.claim_outbox(digest_id, NOW)
    store.mark_sent(digest_id, "<2026-02-19@monitor>", NOW)
    assert store.unsent() == []
    row = store.get_outbox("daily", "2026-02-19")
    assert row is not None
    assert (row.status, row.sent_at) == ("sent", NOW)


def test_concurrent_writers_store_one_article_for_one_story(store: Storage, tmp_path: Path) -> None:
    """Two writers with their own connections store the same story from two feeds at once:
    one article, two sources."""
    if store.backend == "sqlite":
        pytest.skip("SQLite has one writer at a time by design")
    url = str(getattr(store, "url", ""))
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def write(n: int) -> None:
        own = open_storage(url, tmp_path / "unused.db")
        try:
            item = article(1)
            barrier.wait()
            result = own.store_entry(
                item,
                "fp-same",
                Source(f"https://feed{n}.test/1", f"https://feed{n}.test/f.xml", f"F{n}"),
                [item.url],
                f"https://feed{n}.test/f.xml",
                "g1",
                [match("chips")],
                NOW,
            )
            results.append(result.new)
        finally:
            own.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False] * 7 + [True]
    assert store.count_articles() == 1
    (stored_id,) = {f.article_id for f in store.matches_between(NOW, NOW + HOUR)}
    stored = store.get_article(stored_id)
    assert stored is not None
    assert len(stored.sources) == 8
