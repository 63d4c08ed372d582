"""Articles, each stored once, with every URL and outlet it was seen under; the entries table
that makes each feed entry handled once; full-text search.

An article is the same as a stored one when its canonical URL or its text fingerprint is
already known; then only a source row is added. The caller holds the transaction
(``with db.atomic():``) around save_article, mark_entry and the matches, so a process killed
mid-poll leaves either all of them or none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from monitor.models import Article, Entry
from storage.interface import Source


def iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC time")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def find_article(
    db: Database,
    urls: Iterable[str],
    fingerprint: str | None = None,
    *,
    exclude: int | None = None,
) -> int | None:
    """The id of a stored article with one of these canonical URLs (or source URLs), else
    with this fingerprint, else None; never ``exclude`` (an article looking for another
    copy of itself)."""
    other = -1 if exclude is None else exclude
    candidates = [u for u in dict.fromkeys(urls) if u]
    if candidates:
        marks = ",".join("?" * len(candidates))
        row = db.execute(
            f"SELECT id FROM articles WHERE url IN ({marks}) AND id != ? LIMIT 1",
            [*candidates, other],
        ).fetchone()
        if row is None:
            row = db.execute(
                f"SELECT article_id FROM article_sources WHERE url IN ({marks}) "
                "AND article_id != ? LIMIT 1",
                [*candidates, other],
            ).fetchone()
        if row is not None:
            return int(row[0])
    if fingerprint:
        row = db.execute(
            "SELECT id FROM articles WHERE fingerprint = ? AND id != ? ORDER BY id LIMIT 1",
            [fingerprint, other],
        ).fetchone()
        if row is not None:
            return int(row[0])
    return None


def save_article(
    db: Database,
    article: Article,
    fingerprint: str | None,
    source: Source,
    now: dt.datetime,
) -> tuple[int, bool]:
    """Store ``article`` unless it is already known; add ``source`` either way.
    Returns (article id, True when the article is new)."""
    with db.atomic():
        existing = find_article(db, [article.url, source.url], fingerprint)
        if existing is not None:
            add_source(db, existing, source, now)
            return existing, False
        cursor = db.execute(
            """
            INSERT INTO articles (url, fingerprint, title, text, author, language, published,
                                  feed_url, source_name, extract_error, stored_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                article.url,
                fingerprint,
                article.title,
                article.text,
                article.author,
                article.language,
                iso(article.published) if article.published else None,
                article.feed_url,
                article.source_name,
                article.extract_error,
                iso(now),
            ],
        )
        article_id = int(cursor.lastrowid or 0)
        add_source(db, article_id, source, now)
    return article_id, True


def replace_article(
    db: Database, article_id: int, article: Article, fingerprint: str | None
) -> None:
    """Give a stored article its final text (its page's, or the feed's with the reason the
    page is not there); it keeps its id, sources, follow-ups and ``stored_at``."""
    db.execute(
        """
        UPDATE articles SET url = ?, fingerprint = ?, title = ?, text = ?, author = ?,
               language = ?, published = ?, extract_error = ?
        WHERE id = ?
        """,
        [
            article.url,
            fingerprint,
            article.title,
            article.text,
            article.author,
            article.language,
            iso(article.published) if article.published else None,
            article.extract_error,
            article_id,
        ],
    )


def merge_article(db: Database, article_id: int, into: int) -> None:
    """``article_id`` turned out to be another copy of ``into`` (its page's URL or text is
    stored already): its sources and entries move to ``into``, and so do its follow-ups and
    alert marks for baselines ``into`` lacks (a follow-up found is kept, never doubled);
    then it is deleted. In the caller's transaction."""
    moves = [
        "INSERT OR IGNORE INTO article_sources "
        "(article_id, url, feed_url, source_name, title, seen_at) "
        "SELECT :into, url, feed_url, source_name, title, seen_at "
        "FROM article_sources WHERE article_id = :gone",
        "DELETE FROM article_sources WHERE article_id = :gone",
        "UPDATE entries SET article_id = :into WHERE article_id = :gone",
        "INSERT OR IGNORE INTO matches (article_id, baseline_id, score, entities, paragraph, "
        "passage, reason, matched_at) SELECT :into, baseline_id, score, entities, paragraph, "
        "passage, reason, matched_at FROM matches WHERE article_id = :gone",
        "DELETE FROM matches WHERE article_id = :gone",
        "INSERT OR IGNORE INTO alerted (article_id, baseline_id, digest_id) "
        "SELECT :into, baseline_id, digest_id FROM alerted WHERE article_id = :gone",
        "DELETE FROM alerted WHERE article_id = :gone",
        "DELETE FROM pending_pages WHERE article_id = :gone",
        "DELETE FROM articles WHERE id = :gone",
    ]
    for statement in moves:
        db.execute(statement, {"into": into, "gone": article_id})


def add_source(db: Database, article_id: int, source: Source, now: dt.datetime) -> None:
    db.execute(
        """
        INSERT INTO article_sources (article_id, url, feed_url, source_name, title, seen_at)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (article_id, url) DO NOTHING
        """,
        [article_id, source.url, source.feed_url, source.source_name, source.title, iso(now)],
    )


@dataclass(frozen=True)
class EntryKeys:
    """What else an entry is known by within its feed, besides its guid."""

    link: str | None = None  # its canonical link
    content: str | None = None  # a hash of its title and summary


def mark_entry(
    db: Database,
    feed_url: str,
    guid: str,
    article_id: int | None,
    now: dt.datetime,
    keys: EntryKeys | None = None,
) -> None:
    """Remember that this entry was handled (in the caller's transaction)."""
    keys = keys or EntryKeys()
    db.execute(
        """
        INSERT INTO entries (feed_url, guid, article_id, seen_at, link_key, content_key)
        VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (feed_url, guid) DO NOTHING
        """,
        [feed_url, guid, article_id, iso(now), keys.link, keys.content],
    )


def unseen_entries(
    db: Database, entries: Sequence[Entry], keys: Callable[[Entry], EntryKeys] | None = None
) -> list[Entry]:
    """The entries not handled before, in feed order: an entry is known by its (feed, guid),
    and with ``keys`` also by its feed and canonical link or content hash, so a feed that
    rotates its GUIDs (and link parameters) does not re-list its items as new."""
    fresh: list[Entry] = []
    known: set[tuple[str, str, str]] = set()
    for entry in entries:
        extra = keys(entry) if keys else EntryKeys()
        wanted = [("guid", entry.guid), ("link_key", extra.link), ("content_key", extra.content)]
        pairs = [(column, value) for column, value in wanted if value]
        if any((entry.feed_url, column, value) in known for column, value in pairs):
            continue
        known.update((entry.feed_url, column, value) for column, value in pairs)
        if not _entry_seen(db, entry.feed_url, pairs):
            fresh.append(entry)
    return fresh


def _entry_seen(db: Database, feed_url: str, pairs: Sequence[tuple[str, str]]) -> bool:
    for column, value in pairs:  # column names come from unseen_entries, never from input
        row = db.execute(
            f"SELECT 1 FROM entries WHERE feed_url = ? AND {column} = ? LIMIT 1",
            [feed_url, value],
        ).fetchone()
        if row is not None:
            return True
    return False


def get_article(db: Database, article_id: int) -> dict[str, Any] | None:
    """The article row plus its ``sources`` (list of dicts), or None."""
    rows = list(db.query("SELECT * FROM articles WHERE id = ?", [article_id]))
    if not rows:
        return None
    article = rows[0]
    article["sources"] = list(
        db.query(
            "SELECT url, feed_url, source_name, title, seen_at FROM article_sources "
            "WHERE article_id = ? ORDER BY seen_at, url",
            [article_id],
        )
    )
    return article


def article_ids_since(db: Database, since: dt.datetime | None = None) -> list[int]:
    """Ids of the articles stored at or after ``since`` (all without it), oldest first."""
    if since is None:
        return [int(row[0]) for row in db.execute("SELECT id FROM articles ORDER BY id")]
    rows = db.execute("SELECT id FROM articles WHERE stored_at >= ? ORDER BY id", [iso(since)])
    return [int(row[0]) for row in rows]


def count_articles(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])


_FTS_SPECIAL = re.compile(r'["*^():]')


def search(db: Database, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Articles whose title or text contain every word of ``query``, best first.
    The index is a trigram one (it works for Chinese, which has no spaces); words shorter
    than three characters cannot use it and are matched with LIKE instead."""
    words = [w for w in _FTS_SPECIAL.sub(" ", query).split() if w]
    if not words:
        return []
    long_words = [w for w in words if len(w) >= 3]
    short_words = [w for w in words if len(w) < 3]
    where = []
    params: list[Any] = []
    if long_words:
        where.append("articles_fts MATCH ?")
        params.append(" AND ".join(f'"{w}"' for w in long_words))
    for word in short_words:
        where.append("(articles.title LIKE ? OR articles.text LIKE ?)")
        params += [f"%{word}%", f"%{word}%"]
    if long_words:
        sql = (
            "SELECT articles.id, articles.url, articles.title, articles.published, "
            "articles.language, articles.source_name "
            "FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid "
            f"WHERE {' AND '.join(where)} ORDER BY articles_fts.rank LIMIT ?"
        )
    else:
        sql = (
            "SELECT id, url, title, published, language, source_name FROM articles "
            f"WHERE {' AND '.join(where)} ORDER BY published DESC LIMIT ?"
        )
    return list(db.query(sql, [*params, limit]))
