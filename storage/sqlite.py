"""The embedded default: the Storage contract over one SQLite file, by delegating to the
functions of storage/feeds.py, articles.py, matches.py and digests.py, which the single
process uses directly; so SQLite behaves exactly as before, and the rows come back frozen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.models import Article, Feed, FeedState, Match
from storage import articles, digests, feedback, feeds, matches, open_db
from storage.interface import (
    EntryResult,
    Feedback,
    FollowUp,
    NewDigest,
    OutboxRow,
    SearchHit,
    Source,
    StoredArticle,
    iso,
)


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def _required(text: str | None) -> dt.datetime:
    moment = _moment(text)
    if moment is None:
        raise ValueError("a required timestamp is missing")
    return moment


def _source(row: dict[str, Any]) -> Source:
    return Source(
        url=row["url"],
        feed_url=row["feed_url"],
        source_name=row["source_name"],
        title=row["title"],
        seen_at=_moment(row["seen_at"]),
    )


def follow_up(row: dict[str, Any]) -> FollowUp:
    """A ``matches_between`` row (entities decoded, sources attached) as a FollowUp."""
    return FollowUp(
        article_id=int(row["article_id"]),
        baseline_id=row["baseline_id"],
        score=float(row["score"]),
        entities=tuple(row["entities"]),
        paragraph=int(row["paragraph"]),
        passage=row["passage"],
        reason=row["reason"],
        thread=row.get("thread") or "",
        matched_at=_required(row["matched_at"]),
        url=row["url"],
        title=row["title"],
        text=row["text"],
        language=row["language"],
        published=_moment(row["published"]),
        author=row["author"],
        feed_url=row["feed_url"],
        source_name=row["source_name"],
        stored_at=_required(row["stored_at"]),
        sources=tuple(_source(s) for s in row["sources"]),
    )


def _outbox(row: dict[str, Any]) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        kind=row["kind"],
        key=row["key"],
        status=row["status"],
        recipients=tuple(row["recipients"]),
        subject=row["subject"],
        message_id=row["message_id"],
        html=row["html"],
        text=row["text"],
        created_at=_required(row["created_at"]),
        sent_at=_moment(row["sent_at"]),
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
    )


class SqliteStorage:
    backend = "sqlite"

    def __init__(self, path: str | Path) -> None:
        self.db: Database = open_db(path)

    def close(self) -> None:
        self.db.close()

    # feeds
    def sync_feeds(self, feed_list: Sequence[Feed], now: dt.datetime) -> None:
        feeds.sync_feeds(self.db, feed_list, now)

    def due_feeds(
        self, now: dt.datetime, origins: Collection[str] | None = None
    ) -> list[FeedState]:
        return feeds.due_feeds(self.db, now, origins)

    def get_feed(self, url: str) -> FeedState | None:
        return feeds.get_feed(self.db, url)

    def all_feeds(self) -> list[FeedState]:
        return feeds.all_feeds(self.db)

    def claim_feed(self, url: str, now: dt.datetime, lease: dt.timedelta) -> FeedState | None:
        # The lease is a next_poll_at pushed forward: a poller that dies leaves the feed due
        # again once it runs out, and no one else takes it meanwhile.
        with self.db.atomic():
            cursor = self.db.execute(
                "UPDATE feeds SET next_poll_at = ? WHERE url = ? "
                "AND (next_poll_at IS NULL OR next_poll_at <= ?)",
                [iso(now + lease), url, iso(now)],
            )
            claimed = cursor.rowcount == 1
        return self.get_feed(url) if claimed else None

    def record_success(
        self,
        url: str,
        now: dt.datetime,
        *,
        status: int,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: dt.datetime,
    ) -> None:
        feeds.record_success(
            self.db,
            url,
            now,
            status=status,
            etag=etag,
            last_modified=last_modified,
            next_poll_at=next_poll_at,
        )

    def record_failure(
        self,
        url: str,
        now: dt.datetime,
        *,
        error: str,
        status: int | None,
        next_poll_at: dt.datetime,
    ) -> None:
        feeds.record_failure(
            self.db, url, now, error=error, status=status, next_poll_at=next_poll_at
        )

    def update_url(self, old_url: str, new_url: str) -> bool:
        return feeds.update_url(self.db, old_url, new_url)

    # entries and articles
    def is_entry_seen(self, feed_url: str, guid: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM entries WHERE feed_url = ? AND guid = ?", [feed_url, guid]
        ).fetchone()
        return row is not None

    def find_article(self, urls: Iterable[str], fingerprint: str | None = None) -> int | None:
        return articles.find_article(self.db, urls, fingerprint)

    def add_known_source(
        self, urls: Sequence[str], source: Source, feed_url: str, guid: str, now: dt.datetime
    ) -> int | None:
        with self.db.atomic():
            article_id = articles.find_article(self.db, urls)
            if article_id is None:
                return None
            articles.add_source(self.db, article_id, source, now)
            articles.mark_entry(self.db, feed_url, guid, article_id, now)
        return article_id

    def store_entry(
        self,
        article: Article,
        fingerprint: str | None,
        source: Source,
        lookup_urls: Sequence[str],
        feed_url: str,
        guid: str,
        found: Sequence[Match],
        now: dt.datetime,
    ) -> EntryResult:
        # The same steps, in the same transaction, as monitor.pipeline.ingest.store_entry.
        with self.db.atomic():
            known = articles.find_article(self.db, lookup_urls, fingerprint)
            if known is not None:
                articles.add_source(self.db, known, source, now)
                articles.mark_entry(self.db, feed_url, guid, known, now)
                return EntryResult(known, False)
            article_id, _ = articles.save_article(self.db, article, fingerprint, source, now)
            articles.mark_entry(self.db, feed_url, guid, article_id, now)
            matches.save_matches(self.db, article_id, found, now)
        return EntryResult(article_id, True)

    def get_article(self, article_id: int) -> StoredArticle | None:
        row = articles.get_article(self.db, article_id)
        if row is None:
            return None
        return StoredArticle(
            id=int(row["id"]),
            url=row["url"],
            fingerprint=row["fingerprint"],
            title=row["title"],
            text=row["text"],
            author=row["author"],
            language=row["language"],
            published=_moment(row["published"]),
            feed_url=row["feed_url"],
            source_name=row["source_name"],
            extract_error=row["extract_error"],
            stored_at=_required(row["stored_at"]),
            sources=tuple(_source(s) for s in row["sources"]),
        )

    def count_articles(self) -> int:
        return articles.count_articles(self.db)

    def article_urls(self) -> list[str]:
        return [row[0] for row in self.db.execute("SELECT url FROM articles ORDER BY id")]

    def article_ids_since(self, since: dt.datetime | None = None) -> list[int]:
        return articles.article_ids_since(self.db, since)

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        return [
            SearchHit(
                int(row["id"]),
                row["url"],
                row["title"],
                _moment(row["published"]),
                row["language"],
            )
            for row in articles.search(self.db, query, limit)
        ]

    # follow-ups
    def save_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> None:
        matches.save_matches(self.db, article_id, found, now)

    def add_new_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> int:
        return matches.add_new_matches(self.db, article_id, found, now)

    def matches_between(self, start: dt.datetime, end: dt.datetime) -> list[FollowUp]:
        return [follow_up(row) for row in matches.matches_between(self.db, start, end)]

    # feedback
    def save_feedback(self, verdict: Feedback) -> bool:
        return feedback.save_feedback(self.db, verdict)

    def all_feedback(self) -> list[Feedback]:
        return feedback.all_feedback(self.db)

    # the outbox
    def create_pending(self, digest: NewDigest, now: dt.datetime) -> int | None:
        return digests.create_pending(
            self.db,
            kind=digest.kind,
            key=digest.key,
            subject=digest.subject,
            html=digest.html,
            text=digest.text,
            recipients=digest.recipients,
            message_id=digest.message_id,
            now=now,
            alerted=digest.alerted,
            status=digest.status,
        )

    def outbox_keys(self, kind: str) -> set[str]:
        return digests.keys(self.db, kind)

    def get_outbox(self, kind: str, key: str) -> OutboxRow | None:
        row = digests.get(self.db, kind, key)
        return _outbox(row) if row else None

    def unsent(self, kind: str | None = None) -> list[OutboxRow]:
        return [_outbox(row) for row in digests.unsent(self.db, kind)]

    def claim_outbox(self, digest_id: int, now: dt.datetime) -> bool:
        return digests.claim(self.db, digest_id, now)

    def mark_sent(self, digest_id: int, message_id: str, now: dt.datetime) -> None:
        digests.mark_sent(self.db, digest_id, message_id, now)

    def mark_failed(self, digest_id: int, error: str, *, give_up: bool = False) -> None:
        digests.mark_failed(self.db, digest_id, error, give_up=give_up)
