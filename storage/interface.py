"""The storage contract: what the pipeline asks of a database, as a Protocol, and the frozen
rows it gets back. Two implementations conform: ``storage.sqlite.SqliteStorage`` (the embedded
default, the functions of ``storage/<table>.py`` behind it unchanged) and
``storage.postgres.PostgresStorage`` (psycopg 3, for several workers on several machines).
``tests/test_storage_contract.py`` runs the same tests against both.

Every method is its own transaction: the ones that must be atomic together (an entry, its
article, its source and its follow-ups) are one method, so no caller holds a transaction
open across a backend.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from monitor.models import Article, FeedState, Match


def iso(moment: dt.datetime | None) -> str | None:
    """The text form every SQLite timestamp column holds (UTC, seconds)."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Source:
    """One place an article was seen: the URL as the feed gave it, and the feed."""

    url: str
    feed_url: str = ""
    source_name: str = ""
    title: str = ""
    seen_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredArticle:
    """An article as stored, with its id and every source it was seen under."""

    id: int
    url: str
    fingerprint: str | None
    title: str
    text: str
    author: str
    language: str
    published: dt.datetime | None
    feed_url: str
    source_name: str
    extract_error: str
    stored_at: dt.datetime
    sources: tuple[Source, ...] = ()

    def article(self) -> Article:
        return Article(
            url=self.url,
            title=self.title,
            text=self.text,
            language=self.language,
            published=self.published,
            author=self.author,
            feed_url=self.feed_url,
            source_name=self.source_name,
            extract_error=self.extract_error,
        )


@dataclass(frozen=True)
class EntryResult:
    """What storing one feed entry did: the article it stands for and whether it is new."""

    article_id: int
    new: bool


@dataclass(frozen=True)
class FollowUp:
    """One stored follow-up with the article columns a digest or feed shows."""

    article_id: int
    baseline_id: str
    score: float
    entities: tuple[str, ...]
    paragraph: int
    passage: str
    reason: str
    matched_at: dt.datetime
    url: str
    title: str
    text: str
    language: str
    published: dt.datetime | None
    author: str
    feed_url: str
    source_name: str
    stored_at: dt.datetime
    sources: tuple[Source, ...] = ()
    thread: str = ""  # the baseline thread the article moves, when the watchlist has threads

    def as_row(self) -> dict[str, Any]:
        """The row shape ``monitor.digest`` reads (timestamps as ISO text, as SQLite has them)."""
        return {
            "article_id": self.article_id,
            "baseline_id": self.baseline_id,
            "score": self.score,
            "entities": list(self.entities),
            "paragraph": self.paragraph,
            "passage": self.passage,
            "reason": self.reason,
            "thread": self.thread,
            "matched_at": iso(self.matched_at),
            "url": self.url,
            "title": self.title,
            "text": self.text,
            "language": self.language,
            "published": iso(self.published),
            "author": self.author,
            "feed_url": self.feed_url,
            "source_name": self.source_name,
            "stored_at": iso(self.stored_at),
            "sources": [
                {
                    "article_id": self.article_id,
                    "url": s.url,
                    "feed_url": s.feed_url,
                    "source_name": s.source_name,
                    "title": s.title,
                    "seen_at": iso(s.seen_at),
                }
                for s in self.sources
            ],
        }


@dataclass(frozen=True)
class OutboxRow:
    """A digest or alert in the outbox (see storage/digests.py for its states)."""

    id: int
    kind: str
    key: str
    status: str
    recipients: tuple[str, ...]
    subject: str
    message_id: str
    html: str
    text: str
    created_at: dt.datetime
    sent_at: dt.datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class SearchHit:
    id: int
    url: str
    title: str
    published: dt.datetime | None
    language: str


@dataclass(frozen=True)
class NewDigest:
    """A built digest to record in the outbox."""

    kind: str
    key: str
    subject: str
    html: str
    text: str
    recipients: tuple[str, ...]
    message_id: str
    status: str = "pending"
    alerted: tuple[tuple[int, str], ...] = field(default=())


@dataclass(frozen=True)
class Feedback:
    """A reader's verdict: does the article follow up the baseline (right) or not (wrong)."""

    article_id: int
    baseline_id: str
    right: bool
    given_at: dt.datetime


class Storage(Protocol):
    """The operations the pipeline uses, backend-neutral. Times are timezone-aware."""

    backend: str  # "sqlite" or "postgresql"

    def close(self) -> None: ...

    # feeds: the poll schedule
    def sync_feeds(self, feeds: Sequence[Any], now: dt.datetime) -> None: ...
    def due_feeds(
        self, now: dt.datetime, origins: Collection[str] | None = None
    ) -> list[FeedState]: ...
    def get_feed(self, url: str) -> FeedState | None: ...
    def all_feeds(self) -> list[FeedState]: ...
    def claim_feed(self, url: str, now: dt.datetime, lease: dt.timedelta) -> FeedState | None:
        """Take a due feed for polling; None when it is not due or another worker holds it."""
        ...

    def record_success(
        self,
        url: str,
        now: dt.datetime,
        *,
        status: int,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: dt.datetime,
    ) -> None: ...
    def record_failure(
        self,
        url: str,
        now: dt.datetime,
        *,
        error: str,
        status: int | None,
        next_poll_at: dt.datetime,
    ) -> None: ...
    def update_url(self, old_url: str, new_url: str) -> bool: ...

    # entries and articles
    def is_entry_seen(self, feed_url: str, guid: str) -> bool: ...
    def find_article(self, urls: Iterable[str], fingerprint: str | None = None) -> int | None: ...
    def add_known_source(
        self, urls: Sequence[str], source: Source, feed_url: str, guid: str, now: dt.datetime
    ) -> int | None:
        """When one of ``urls`` is stored: add ``source`` to it and mark the entry handled, in
        one transaction; the article id, or None (and nothing written) when none is stored."""
        ...

    def store_entry(
        self,
        article: Article,
        fingerprint: str | None,
        source: Source,
        lookup_urls: Sequence[str],
        feed_url: str,
        guid: str,
        matches: Sequence[Match],
        now: dt.datetime,
    ) -> EntryResult:
        """An entry with its article, source and follow-ups in one transaction. A stored
        article with one of ``lookup_urls`` or the fingerprint gains the source instead."""
        ...

    def get_article(self, article_id: int) -> StoredArticle | None: ...
    def count_articles(self) -> int: ...
    def article_urls(self) -> list[str]: ...
    def article_ids_since(self, since: dt.datetime | None = None) -> list[int]:
        """Ids of the articles stored at or after ``since`` (all without it), oldest first."""
        ...

    def search(self, query: str, limit: int = 20) -> list[SearchHit]: ...

    # follow-ups
    def save_matches(self, article_id: int, matches: Sequence[Match], now: dt.datetime) -> None: ...
    def add_new_matches(self, article_id: int, matches: Sequence[Match], now: dt.datetime) -> int:
        """The follow-ups not stored yet, stored; one already there is left as it is. How
        many were added (rematch: idempotent, once per article and baseline)."""
        ...

    def matches_between(self, start: dt.datetime, end: dt.datetime) -> list[FollowUp]: ...

    # feedback: a reader's verdicts, used by `monitor train`
    def save_feedback(self, feedback: Feedback) -> bool:
        """Record a verdict (replacing an earlier one on the same article and baseline);
        False, and nothing written, when no article has that id."""
        ...

    def all_feedback(self) -> list[Feedback]: ...

    # the outbox
    def create_pending(self, digest: NewDigest, now: dt.datetime) -> int | None: ...
    def outbox_keys(self, kind: str) -> set[str]: ...
    def get_outbox(self, kind: str, key: str) -> OutboxRow | None: ...
    def unsent(self, kind: str | None = None) -> list[OutboxRow]: ...
    def claim_outbox(self, digest_id: int, now: dt.datetime) -> bool: ...
    def mark_sent(self, digest_id: int, message_id: str, now: dt.datetime) -> None: ...
    def mark_failed(self, digest_id: int, error: str, *, give_up: bool = False) -> None: ...


def decode_entities(raw: str | None) -> tuple[str, ...]:
    return tuple(json.loads(raw or "[]"))
