"""The PostgreSQL schema, one migration per change, applied in order and recorded in
``schema_migrations``. Append new migrations at the end; never edit one that has shipped.

Timestamps are ``timestamptz``; the tables and their meaning are those of the SQLite schema
(storage/schema.py), plus ``jobs``, the ledger of the task queue. Full-text search uses
pg_trgm, whose trigrams need no word boundaries, so it works for Chinese as SQLite's trigram
FTS does.
"""

from __future__ import annotations

from typing import Any

import psycopg

MIGRATIONS: list[tuple[str, str]] = [
    (
        "m001_feeds",
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            origin_url TEXT UNIQUE,
            name TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            interval_minutes INTEGER NOT NULL DEFAULT 60,
            etag TEXT,
            last_modified TEXT,
            next_poll_at TIMESTAMPTZ,      -- NULL means due now
            last_polled_at TIMESTAMPTZ,
            last_status INTEGER,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            added_at TIMESTAMPTZ
        );
        CREATE INDEX feeds_next_poll_at ON feeds (next_poll_at);
        """,
    ),
    (
        "m002_articles",
        """
        CREATE TABLE articles (
            id BIGSERIAL PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            fingerprint TEXT,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            published TIMESTAMPTZ,
            feed_url TEXT NOT NULL DEFAULT '',
            source_name TEXT NOT NULL DEFAULT '',
            extract_error TEXT NOT NULL DEFAULT '',
            stored_at TIMESTAMPTZ NOT NULL
        );
        CREATE INDEX articles_fingerprint ON articles (fingerprint);
        CREATE INDEX articles_published ON articles (published);
        CREATE INDEX articles_stored_at ON articles (stored_at);
        CREATE TABLE article_sources (
            article_id BIGINT NOT NULL REFERENCES articles (id),
            url TEXT NOT NULL,
            feed_url TEXT NOT NULL DEFAULT '',
            source_name TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            seen_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (article_id, url)
        );
        CREATE INDEX article_sources_url ON article_sources (url);
        CREATE TABLE entries (
            feed_url TEXT NOT NULL,
            guid TEXT NOT NULL,
            article_id BIGINT REFERENCES articles (id),
            seen_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (feed_url, guid)
        );
        """,
    ),
    (
        "m003_search",
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX articles_title_trgm ON articles USING gin (title gin_trgm_ops);
        CREATE INDEX articles_text_trgm ON articles USING gin (text gin_trgm_ops);
        """,
    ),
    (
        "m004_matches_and_outbox",
        """
        CREATE TABLE matches (
            article_id BIGINT NOT NULL REFERENCES articles (id),
            baseline_id TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL,
            entities TEXT NOT NULL,        -- JSON list of entity names
            paragraph INTEGER NOT NULL,
            passage TEXT NOT NULL,
            reason TEXT NOT NULL,
            matched_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (article_id, baseline_id)
        );
        CREATE INDEX matches_baseline ON matches (baseline_id);
        CREATE TABLE digests (
            id BIGSERIAL PRIMARY KEY,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            status TEXT NOT NULL,
            recipients TEXT NOT NULL,      -- JSON list
            subject TEXT NOT NULL,
            message_id TEXT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            sent_at TIMESTAMPTZ,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            claimed_at TIMESTAMPTZ,
            UNIQUE (kind, key)
        );
        CREATE INDEX digests_status ON digests (status);
        CREATE TABLE alerted (
            article_id BIGINT NOT NULL REFERENCES articles (id),
            baseline_id TEXT NOT NULL,
            digest_id BIGINT NOT NULL REFERENCES digests (id),
            PRIMARY KEY (article_id, baseline_id)
        );
        """,
    ),
    (
        "m005_jobs",
        """
        -- The task queue's ledger: Redis carries the messages, this table says what each
        -- job is, who runs it and whether it is done, so a lost message can be sent again
        -- and `monitor status` can count.
        CREATE TABLE jobs (
            key TEXT PRIMARY KEY,          -- the idempotency key, e.g. poll:<feed url>
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,         -- JSON arguments
            status TEXT NOT NULL,          -- queued, running, done, failed
            enqueued_at TIMESTAMPTZ NOT NULL,
            started_at TIMESTAMPTZ,
            finished_at TIMESTAMPTZ,
            attempts INTEGER NOT NULL DEFAULT 0,
            worker TEXT,
            last_error TEXT
        );
        CREATE INDEX jobs_status ON jobs (status, enqueued_at);
        """,
    ),
    (
        "m006_feed_health",
        # as SQLite's m_feeds_health and m_feeds_disabled_reason: when a feed last worked,
        # since when it fails, and why it is no longer polled
        """
        ALTER TABLE feeds ADD COLUMN last_success_at TIMESTAMPTZ;
        ALTER TABLE feeds ADD COLUMN failing_since TIMESTAMPTZ;
        ALTER TABLE feeds ADD COLUMN disabled_reason TEXT;
        """,
    ),
    (
        "m007_matches_thread_and_feedback",
        # as SQLite's m_matches_thread and m_feedback: the thread a follow-up moves, and a
        # reader's latest verdict per article and baseline (kept across re-derivation)
        """
        ALTER TABLE matches ADD COLUMN thread TEXT NOT NULL DEFAULT '';
        CREATE TABLE feedback (
            article_id BIGINT NOT NULL REFERENCES articles (id),
            baseline_id TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),
            given_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (article_id, baseline_id)
        );
        """,
    ),
]

# One number for the advisory lock that serialises migrations between processes starting
# at the same time (workers, the scheduler, `monitor serve`).
_MIGRATION_LOCK = 7_301_013


def apply(conn: psycopg.Connection[dict[str, Any]]) -> list[str]:
    """Apply the migrations not yet recorded; the names applied, in order."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATION_LOCK])
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row["name"] for row in conn.execute("SELECT name FROM schema_migrations")}
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            conn.execute(sql.encode())  # bytes: several statements in one simple query
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", [name])
            applied.append(name)
    return applied
