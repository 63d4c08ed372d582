"""PostgresStorage's articles: entries seen, articles stored once under advisory locks, and
search."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from monitor.models import Article, Match
from storage.interface import (
    EntryResult,
    SearchHit,
    Source,
    StoredArticle,
)
from storage.postgres.base import source_of
from storage.postgres.follow_ups import FollowUpTable

_LIKE_SPECIAL = re.compile(r"([\\%_])")
_QUERY_SPECIAL = re.compile(r'["*^():]')


class ArticleTable(FollowUpTable):
    """Entries, articles and their sources, stored with their follow-ups in one transaction;
    full-text search."""

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
            sources=tuple(source_of(s) for s in sources),
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
