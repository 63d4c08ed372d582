"""The Storage contract on PostgreSQL (psycopg 3), for several workers sharing one database.

Each method is one transaction on an autocommit connection. Writers that could race (two
workers storing the same story from two feeds) take transaction-scoped advisory locks on
the entry, every URL and the fingerprint they are about to look up, in one sorted order, so
the look-up and the insert are atomic across workers without locking whole tables.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from monitor.errors import StorageError
from monitor.models import Article, Feed, FeedState, Match
from storage.interface import (
    EntryResult,
    Feedback,
    FollowUp,
    NewDigest,
    OutboxRow,
    SearchHit,
    Source,
    StoredArticle,
)
from storage.postgres import schema

CLAIM_LEASE = dt.timedelta(minutes=15)  # as storage.digests.CLAIM_LEASE

Row = dict[str, Any]


def connect(url: str) -> psycopg.Connection[Row]:
    try:
        return psycopg.connect(
            url, autocommit=True, row_factory=dict_row, options="-c TimeZone=UTC"
        )
    except psycopg.Error as exc:
        raise StorageError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc


def _state(row: Row) -> FeedState:
    return FeedState(
        url=row["url"],
        origin_url=row["origin_url"] or row["url"],
        name=row["name"],
        language=row["language"],
        interval_minutes=row["interval_minutes"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        next_poll_at=row["next_poll_at"],
        last_polled_at=row["last_polled_at"],
        last_status=row["last_status"],
        error_count=row["error_count"],
        last_error=row["last_error"],
        last_success_at=row.get("last_success_at"),
        failing_since=row.get("failing_since"),
        disabled_reason=row.get("disabled_reason"),
    )


def _source(row: Row) -> Source:
    return Source(row["url"], row["feed_url"], row["source_name"], row["title"], row["seen_at"])


def _outbox(row: Row) -> OutboxRow:
    return OutboxRow(
        id=int(row["id"]),
        kind=row["kind"],
        key=row["key"],
        status=row["status"],
        recipients=tuple(json.loads(row["recipients"] or "[]")),
        subject=row["subject"],
        message_id=row["message_id"],
        html=row["html"],
        text=row["text"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        attempts=int(row["attempts"]),
        last_error=row["last_error"],
    )


_FOLLOW_UP_SELECT = """
    SELECT m.article_id, m.baseline_id, m.score, m.entities, m.paragraph, m.passage,
           m.reason, m.thread, m.matched_at, a.url, a.title, a.text, a.language, a.published,
           a.author, a.feed_url, a.source_name, a.stored_at
    FROM matches AS m JOIN articles AS a ON a.id = m.article_id
"""
_LIKE_SPECIAL = re.compile(r"([\\%_])")
_QUERY_SPECIAL = re.compile(r'["*^():]')


class PostgresStorage:
    backend = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = connect(url)
        try:
            schema.apply(self.conn)
        except psycopg.Error as exc:
            self.conn.close()
            raise StorageError(f"cannot migrate the PostgreSQL database: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def _all(self, sql: str, params: Sequence[Any] | None = None) -> list[Row]:
        return self.conn.execute(sql.encode(), params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] | None = None) -> Row | None:
        return self.conn.execute(sql.encode(), params).fetchone()

    def _lock(self, keys: Iterable[str]) -> None:
        """Transaction-scoped locks on ``keys``, taken in one global order (no deadlocks)."""
        self.conn.execute(
            "SELECT count(pg_advisory_xact_lock(h)) FROM "
            "(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k "
            "ORDER BY h) AS locks",
            [sorted({k for k in keys if k})],
        )

    # feeds
    def sync_feeds(self, feed_list: Sequence[Feed], now: dt.datetime) -> None:
        with self.conn.transaction():
            for feed in feed_list:
                moved = self._one(
                    "SELECT 1 AS x FROM feeds WHERE url = %s AND origin_url <> %s",
                    [feed.url, feed.url],
                )
                if moved:  # another listed feed already moved to this URL
                    continue
                self.conn.execute(
                    """
                    INSERT INTO feeds (url, origin_url, name, language, interval_minutes,
                                       added_at)
                    VALUES (%s, %s, %s, %s, %s, %s)
                    ON CONFLICT (origin_url) DO UPDATE SET
                        name = excluded.name,
                        language = excluded.language,
                        interval_minutes = excluded.interval_minutes
                    """,
                    [feed.url, feed.url, feed.name, feed.language, feed.interval_minutes, now],
                )

    def due_feeds(
        self, now: dt.datetime, origins: Collection[str] | None = None
    ) -> list[FeedState]:
        rows = self._all(
            "SELECT * FROM feeds WHERE next_poll_at IS NULL OR next_poll_at <= %s "
            "ORDER BY next_poll_at IS NOT NULL, next_poll_at, url",
            [now],
        )
        states = [_state(row) for row in rows]
        if origins is not None:
            wanted = set(origins)
            states = [s for s in states if s.origin_url in wanted]
        return states

    def get_feed(self, url: str) -> FeedState | None:
        row = self._one("SELECT * FROM feeds WHERE url = %s OR origin_url = %s LIMIT 1", [url, url])
        return _state(row) if row else None

    def all_feeds(self) -> list[FeedState]:
        return [_state(row) for row in self._all("SELECT * FROM feeds ORDER BY url")]

    def claim_feed(self, url: str, now: dt.datetime, lease: dt.timedelta) -> FeedState | None:
        # A conditional UPDATE: of several workers handed the same feed, one moves its
        # next_poll_at forward by the lease and polls; the others find it not due.
        row = self._one(
            "UPDATE feeds SET next_poll_at = %s WHERE url = %s "
            "AND (next_poll_at IS NULL OR next_poll_at <= %s) RETURNING *",
            [now + lease, url, now],
        )
        return _state(row) if row else None

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
        self.conn.execute(
            """
            UPDATE feeds SET etag = COALESCE(%s, etag),
                last_modified = COALESCE(%s, last_modified), last_polled_at = %s,
                last_status = %s, next_poll_at = %s, error_count = 0, last_error = NULL
            WHERE url = %s
            """,
            [etag, last_modified, now, status, next_poll_at, url],
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
        self.conn.execute(
            """
            UPDATE feeds SET last_polled_at = %s, last_status = %s, next_poll_at = %s,
                error_count = error_count + 1, last_error = %s
            WHERE url = %s
            """,
            [now, status, next_poll_at, error, url],
        )

    def update_url(self, old_url: str, new_url: str) -> bool:
        if old_url == new_url:
            return False
        with self.conn.transaction():
            self._lock([f"feed:{new_url}"])
            if self._one("SELECT 1 AS x FROM feeds WHERE url = %s", [new_url]):
                return False
            self.conn.execute("UPDATE feeds SET url = %s WHERE url = %s", [new_url, old_url])
        return True

    # entries and articles
    def is_entry_seen(self, feed_url: str, guid: str) -> bool:
        row = self._one(
            "SELECT 1 AS x FROM entries WHERE feed_url = %s AND guid = %s", [feed_url, guid]
        )
        return row is not None

    def find_article(self, urls: Iterable[str], fingerprint: str | None = None) -> int | None:
        candidates = [u for u in dict.fromkeys(urls) if u]
        if candidates:
            row = self._one("SELECT id FROM articles WHERE url = ANY(%s) LIMIT 1", [candidates])
            if row is None:
                row = self._one(
                    "SELECT article_id AS id FROM article_sources WHERE url = ANY(%s) LIMIT 1",
                    [candidates],
                )
            if row is not None:
                return int(row["id"])
        if fingerprint:
            row = self._one(
                "SELECT id FROM articles WHERE fingerprint = %s ORDER BY id LIMIT 1",
                [fingerprint],
            )
            if row is not None:
                return int(row["id"])
        return None

    def _add_source(self, article_id: int, source: Source, now: dt.datetime) -> None:
        self.conn.execute(
            """
            INSERT INTO article_sources (article_id, url, feed_url, source_name, title, seen_at)
            VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (article_id, url) DO NOTHING
            """,
            [article_id, source.url, source.feed_url, source.source_name, source.title, now],
        )

    def _mark_entry(
        self, feed_url: str, guid: str, article_id: int | None, now: dt.datetime
    ) -> None:
        self.conn.execute(
            "INSERT INTO entries (feed_url, guid, article_id, seen_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (feed_url, guid) DO NOTHING",
            [feed_url, guid, article_id, now],
        )

    def _seen_entry(self, feed_url: str, guid: str) -> EntryResult | None:
        row = self._one(
            "SELECT article_id FROM entries WHERE feed_url = %s AND guid = %s", [feed_url, guid]
        )
        return EntryResult(int(row["article_id"] or 0), False) if row else None

    def add_known_source(
        self, urls: Sequence[str], source: Source, feed_url: str, guid: str, now: dt.datetime
    ) -> int | None:
        with self.conn.transaction():
            self._lock([f"entry:{feed_url}\n{guid}", *(f"url:{u}" for u in urls)])
            article_id = self.find_article(urls)
            if article_id is None:
                return None
            self._add_source(article_id, source, now)
            self._mark_entry(feed_url, guid, article_id, now)
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
        urls = [article.url, *lookup_urls]
        with self.conn.transaction():
            self._lock(
                [
                    f"entry:{feed_url}\n{guid}",
                    *(f"url:{u}" for u in urls),
                    f"fingerprint:{fingerprint or ''}",
                ]
            )
            seen = self._seen_entry(feed_url, guid)
            if seen is not None:  # another worker ran this job already
                return seen
            known = self.find_article(urls, fingerprint)
            if known is not None:
                self._add_source(known, source, now)
                self._mark_entry(feed_url, guid, known, now)
                return EntryResult(known, False)
            row = self._one(
                """
                INSERT INTO articles (url, fingerprint, title, text, author, language,
                                      published, feed_url, source_name, extract_error,
                                      stored_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id
                """,
                [
                    article.url,
                    fingerprint,
                    article.title,
                    article.text,
                    article.author,
                    article.language,
                    article.published,
                    article.feed_url,
                    article.source_name,
                    article.extract_error,
                    now,
                ],
            )
            assert row is not None
            article_id = int(row["id"])
            self._add_source(article_id, source, now)
            self._mark_entry(feed_url, guid, article_id, now)
            self.save_matches(article_id, found, now)
        return EntryResult(article_id, True)

    def get_article(self, article_id: int) -> StoredArticle | None:
        row = self._one("SELECT * FROM articles WHERE id = %s", [article_id])
        if row is None:
            return None
        sources = self._all(
            "SELECT * FROM article_sources WHERE article_id = %s ORDER BY seen_at, url",
            [article_id],
        )
        return StoredArticle(
            id=int(row["id"]),
            url=row["url"],
            fingerprint=row["fingerprint"],
            title=row["title"],
            text=row["text"],
            author=row["author"],
            language=row["language"],
            published=row["published"],
            feed_url=row["feed_url"],
            source_name=row["source_name"],
            extract_error=row["extract_error"],
            stored_at=row["stored_at"],
            sources=tuple(_source(s) for s in sources),
        )

    def count_articles(self) -> int:
        row = self._one("SELECT count(*) AS n FROM articles")
        return int(row["n"]) if row else 0

    def article_urls(self) -> list[str]:
        return [row["url"] for row in self._all("SELECT url FROM articles ORDER BY id")]

    def article_ids_since(self, since: dt.datetime | None = None) -> list[int]:
        if since is None:
            rows = self._all("SELECT id FROM articles ORDER BY id")
        else:
            rows = self._all("SELECT id FROM articles WHERE stored_at >= %s ORDER BY id", [since])
        return [int(row["id"]) for row in rows]

    def search(self, query: str, limit: int = 20) -> list[SearchHit]:
        """Articles whose title or text contain every word of ``query``; ILIKE is served by
        the trigram indexes (words of three characters or more), Chinese included."""
        words = [w for w in _QUERY_SPECIAL.sub(" ", query).split() if w]
        if not words:
            return []
        where: list[str] = []
        params: list[Any] = []
        for word in words:
            pattern = "%" + _LIKE_SPECIAL.sub(r"\\\1", word) + "%"
            where.append("(title ILIKE %s OR text ILIKE %s)")
            params += [pattern, pattern]
        rows = self._all(
            f"SELECT id, url, title, published, language FROM articles "
            f"WHERE {' AND '.join(where)} "
            f"ORDER BY similarity(title, %s) DESC, published DESC NULLS LAST, id LIMIT %s",
            [*params, " ".join(words), limit],
        )
        return [
            SearchHit(int(r["id"]), r["url"], r["title"], r["published"], r["language"])
            for r in rows
        ]

    # follow-ups
    def save_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> None:
        if not found:
            return
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(
                """
                INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                     passage, reason, thread, matched_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                    score = excluded.score, entities = excluded.entities,
                    paragraph = excluded.paragraph, passage = excluded.passage,
                    reason = excluded.reason, thread = excluded.thread,
                    matched_at = excluded.matched_at
                """,
                [
                    (
                        article_id,
                        m.baseline_id,
                        float(m.score),
                        json.dumps(list(m.entities), ensure_ascii=False),
                        int(m.paragraph),
                        m.passage,
                        m.reason,
                        m.thread,
                        now,
                    )
                    for m in found
                ],
            )

    def add_new_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> int:
        added = 0
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for m in found:
                cursor.execute(
                    """
                    INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                         passage, reason, matched_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (article_id, baseline_id) DO NOTHING
                    """,
                    (
                        article_id,
                        m.baseline_id,
                        float(m.score),
                        json.dumps(list(m.entities), ensure_ascii=False),
                        int(m.paragraph),
                        m.passage,
                        m.reason,
                        now,
                    ),
                )
                added += max(0, cursor.rowcount)
        return added

    def _follow_ups(self, sql: str, params: Sequence[Any]) -> list[FollowUp]:
        rows = self._all(_FOLLOW_UP_SELECT + sql, params)
        ids = sorted({int(row["article_id"]) for row in rows})
        sources: dict[int, list[Source]] = {}
        if ids:
            for source in self._all(
                "SELECT * FROM article_sources WHERE article_id = ANY(%s) ORDER BY seen_at, url",
                [ids],
            ):
                sources.setdefault(int(source["article_id"]), []).append(_source(source))
        return [
            FollowUp(
                article_id=int(row["article_id"]),
                baseline_id=row["baseline_id"],
                score=float(row["score"]),
                entities=tuple(json.loads(row["entities"] or "[]")),
                paragraph=int(row["paragraph"]),
                passage=row["passage"],
                reason=row["reason"],
                thread=row["thread"],
                matched_at=row["matched_at"],
                url=row["url"],
                title=row["title"],
                text=row["text"],
                language=row["language"],
                published=row["published"],
                author=row["author"],
                feed_url=row["feed_url"],
                source_name=row["source_name"],
                stored_at=row["stored_at"],
                sources=tuple(sources.get(int(row["article_id"]), ())),
            )
            for row in rows
        ]

    def matches_between(self, start: dt.datetime, end: dt.datetime) -> list[FollowUp]:
        return self._follow_ups(
            " WHERE a.stored_at >= %s AND a.stored_at < %s "
            "ORDER BY m.score DESC, a.stored_at, m.article_id, m.baseline_id",
            [start, end],
        )

    # feedback
    def save_feedback(self, feedback: Feedback) -> bool:
        with self.conn.transaction():
            if self._one("SELECT 1 FROM articles WHERE id = %s", [feedback.article_id]) is None:
                return False
            self.conn.execute(
                """
                INSERT INTO feedback (article_id, baseline_id, verdict, given_at)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                    verdict = excluded.verdict, given_at = excluded.given_at
                """,
                [
                    feedback.article_id,
                    feedback.baseline_id,
                    "right" if feedback.right else "wrong",
                    feedback.given_at,
                ],
            )
        return True

    def all_feedback(self) -> list[Feedback]:
        return [
            Feedback(int(r["article_id"]), r["baseline_id"], r["verdict"] == "right", r["given_at"])
            for r in self._all(
                "SELECT article_id, baseline_id, verdict, given_at FROM feedback "
                "ORDER BY given_at, article_id, baseline_id"
            )
        ]

    # the outbox
    def create_pending(self, digest: NewDigest, now: dt.datetime) -> int | None:
        with self.conn.transaction():
            row = self._one(
                """
                INSERT INTO digests (kind, key, status, recipients, subject, message_id, html,
                                     text, created_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (kind, key) DO NOTHING RETURNING id
                """,
                [
                    digest.kind,
                    digest.key,
                    digest.status,
                    json.dumps(list(digest.recipients)),
                    digest.subject,
                    digest.message_id,
                    digest.html,
                    digest.text,
                    now,
                ],
            )
            if row is None:
                return None
            digest_id = int(row["id"])
            for article_id, baseline_id in digest.alerted:
                self.conn.execute(
                    "INSERT INTO alerted (article_id, baseline_id, digest_id) "
                    "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [article_id, baseline_id, digest_id],
                )
        return digest_id

    def outbox_keys(self, kind: str) -> set[str]:
        return {row["key"] for row in self._all("SELECT key FROM digests WHERE kind = %s", [kind])}

    def get_outbox(self, kind: str, key: str) -> OutboxRow | None:
        row = self._one("SELECT * FROM digests WHERE kind = %s AND key = %s", [kind, key])
        return _outbox(row) if row else None

    def unsent(self, kind: str | None = None) -> list[OutboxRow]:
        sql = "SELECT * FROM digests WHERE status IN ('pending', 'sending')"
        params: list[Any] = []
        if kind is not None:
            sql += " AND kind = %s"
            params.append(kind)
        return [_outbox(row) for row in self._all(sql + " ORDER BY created_at, id", params)]

    def claim_outbox(self, digest_id: int, now: dt.datetime) -> bool:
        cursor = self.conn.execute(
            """
            UPDATE digests SET status = 'sending', claimed_at = %s, attempts = attempts + 1
            WHERE id = %s AND (status = 'pending' OR (status = 'sending' AND claimed_at < %s))
            """,
            [now, digest_id, now - CLAIM_LEASE],
        )
        return cursor.rowcount == 1

    def mark_sent(self, digest_id: int, message_id: str, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE digests SET status = 'sent', sent_at = %s, message_id = %s, "
            "last_error = NULL WHERE id = %s",
            [now, message_id, digest_id],
        )

    def mark_failed(self, digest_id: int, error: str, *, give_up: bool = False) -> None:
        """Back to pending for the next run; with ``give_up``, failed for good."""
        self.conn.execute(
            "UPDATE digests SET status = %s, claimed_at = NULL, last_error = %s "
            "WHERE id = %s AND status = 'sending'",
            ["failed" if give_up else "pending", error, digest_id],
        )
