"""The schema, one migration per change. Append new migrations at the end; never edit one
that has shipped."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("monitor")


@migrations()
def m001_feeds(db: Database) -> None:
    # The poll schedule lives here, so a restart loses nothing.
    db.execute(
        """
        CREATE TABLE feeds (
            url TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            interval_minutes INTEGER NOT NULL DEFAULT 60,
            etag TEXT,
            last_modified TEXT,
            next_poll_at TEXT,           -- ISO 8601 UTC; NULL means due now
            last_polled_at TEXT,
            last_status INTEGER,
            error_count INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            added_at TEXT
        )
        """
    )


@migrations()
def m002_articles(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,    -- canonical URL
            fingerprint TEXT,            -- text fingerprint, finds syndicated copies
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT '',
            published TEXT,              -- ISO 8601 UTC
            feed_url TEXT NOT NULL DEFAULT '',
            source_name TEXT NOT NULL DEFAULT '',
            extract_error TEXT NOT NULL DEFAULT '',
            stored_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX articles_fingerprint ON articles(fingerprint)")
    db.execute("CREATE INDEX articles_published ON articles(published)")
    db.table("articles").enable_fts(["title", "text"], create_triggers=True, tokenize="trigram")
    db.execute(
        """
        CREATE TABLE article_sources (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            url TEXT NOT NULL,           -- the URL as a feed gave it
            feed_url TEXT NOT NULL DEFAULT '',
            source_name TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            seen_at TEXT NOT NULL,
            PRIMARY KEY (article_id, url)
        )
        """
    )
    # Entries already handled, so a restart or a second poll does not fetch them again.
    db.execute(
        """
        CREATE TABLE entries (
            feed_url TEXT NOT NULL,
            guid TEXT NOT NULL,
            article_id INTEGER REFERENCES articles(id),
            seen_at TEXT NOT NULL,
            PRIMARY KEY (feed_url, guid)
        )
        """
    )


@migrations()
def m003_matches(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE matches (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            baseline_id TEXT NOT NULL,
            score REAL NOT NULL,
            entities TEXT NOT NULL,      -- JSON list of entity names
            paragraph INTEGER NOT NULL,
            passage TEXT NOT NULL,
            reason TEXT NOT NULL,
            matched_at TEXT NOT NULL,
            PRIMARY KEY (article_id, baseline_id)
        )
        """
    )
    db.execute("CREATE INDEX matches_baseline ON matches(baseline_id)")


@migrations()
def m004_digests(db: Database) -> None:
    # The outbox: a row is written pending before sending and marked sent after.
    db.execute(
        """
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,          -- 'daily' or 'alert'
            key TEXT NOT NULL,           -- the local day, or the alert batch key
            status TEXT NOT NULL,        -- 'pending', 'sending', 'sent'
            recipients TEXT NOT NULL,    -- JSON list
            subject TEXT NOT NULL,
            message_id TEXT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            sent_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            UNIQUE (kind, key)
        )
        """
    )


@migrations()
def m_digests_claims_and_alerts(db: Database) -> None:
    # claimed_at lets a run reclaim a digest whose sender crashed mid-send; `alerted` records
    # which follow-ups an alert already covers, so each is alerted once.
    db.execute("ALTER TABLE digests ADD COLUMN claimed_at TEXT")
    db.execute("CREATE INDEX digests_status ON digests(status)")
    db.execute(
        """
        CREATE TABLE alerted (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            baseline_id TEXT NOT NULL,
            digest_id INTEGER NOT NULL REFERENCES digests(id),
            PRIMARY KEY (article_id, baseline_id)
        )
        """
    )


@migrations()
def m_backfill_progress(db: Database) -> None:
    # A backfill records each finished unit (a feed file, an archive page, a URL batch) so a
    # killed run resumes where it stopped; the run row is marked finished at the end.
    db.execute(
        """
        CREATE TABLE backfill_runs (
            key TEXT PRIMARY KEY,        -- source kind, source and window
            source TEXT NOT NULL,
            since TEXT NOT NULL,         -- first local day, YYYY-MM-DD
            until TEXT NOT NULL,         -- last local day, included
            started_at TEXT NOT NULL,
            finished_at TEXT             -- NULL while running or after a kill
        )
        """
    )
    db.execute(
        """
        CREATE TABLE backfill_units (
            run_key TEXT NOT NULL REFERENCES backfill_runs(key),
            unit TEXT NOT NULL,          -- a file path, a feed page URL or a URL batch
            items INTEGER NOT NULL,
            done_at TEXT NOT NULL,
            PRIMARY KEY (run_key, unit)
        )
        """
    )


@migrations()
def m_feeds_origin_url(db: Database) -> None:
    # A permanent redirect moves `url`; `origin_url` keeps the URL as the feeds file lists it,
    # so the next sync from the file finds the moved feed instead of adding it again.
    db.execute("ALTER TABLE feeds ADD COLUMN origin_url TEXT")
    db.execute("UPDATE feeds SET origin_url = url")
    db.execute("CREATE UNIQUE INDEX feeds_origin_url ON feeds(origin_url)")
    db.execute("CREATE INDEX feeds_next_poll_at ON feeds(next_poll_at)")


@migrations()
def m_article_sources_url_index(db: Database) -> None:
    # Dedupe looks articles up by any URL a source gave; without this index every lookup
    # scanned the whole table, and ingest slowed down as the archive grew.
    db.execute("CREATE INDEX article_sources_url ON article_sources(url)")


@migrations()
def m_entries_link_and_content_keys(db: Database) -> None:
    # A feed whose GUIDs change on every fetch re-lists old items as new; an entry is also
    # known by its canonical link and by a hash of its title and summary within its feed.
    db.execute("ALTER TABLE entries ADD COLUMN link_key TEXT")
    db.execute("ALTER TABLE entries ADD COLUMN content_key TEXT")
    db.execute("CREATE INDEX entries_link_key ON entries(feed_url, link_key)")
    db.execute("CREATE INDEX entries_content_key ON entries(feed_url, content_key)")


@migrations()
def m_feeds_disabled_reason(db: Database) -> None:
    # A feed that is gone (410, or 404 again and again) is no longer polled; NULL: active.
    db.execute("ALTER TABLE feeds ADD COLUMN disabled_reason TEXT")


@migrations()
def m_feeds_health(db: Database) -> None:
    # Feed health: when a feed last worked, and since when it has been failing (the first
    # failure after a success), so a feed failing for days is told apart from one blip.
    db.execute("ALTER TABLE feeds ADD COLUMN last_success_at TEXT")
    db.execute("ALTER TABLE feeds ADD COLUMN failing_since TEXT")


@migrations()
def m_matches_thread(db: Database) -> None:
    # The baseline thread an article moves (Match.thread), shown as the why of a follow-up.
    db.execute("ALTER TABLE matches ADD COLUMN thread TEXT NOT NULL DEFAULT ''")


@migrations()
def m_feedback(db: Database) -> None:
    # A reader's verdict on one follow-up (or on an article for a baseline), the latest one
    # kept; keyed by article and baseline id, so re-deriving a watchlist keeps it.
    db.execute(
        """
        CREATE TABLE feedback (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            baseline_id TEXT NOT NULL,
            verdict TEXT NOT NULL CHECK (verdict IN ('right', 'wrong')),
            given_at TEXT NOT NULL,
            PRIMARY KEY (article_id, baseline_id)
        )
        """
    )


@migrations()
def m_pending_pages(db: Database) -> None:
    # An entry is stored from the feed's own text at once; its page is fetched after, and
    # this row remembers it until then, so a page deferred by a poll's budgets (or by a kill)
    # is fetched by a later poll. One row per article: the entry that first brought it.
    db.execute(
        """
        CREATE TABLE pending_pages (
            article_id INTEGER PRIMARY KEY REFERENCES articles(id),
            entry TEXT NOT NULL,         -- the entry as JSON (monitor.models.Entry)
            queued_at TEXT NOT NULL,
            deferrals INTEGER NOT NULL DEFAULT 0,
            last_reason TEXT NOT NULL DEFAULT ''
        )
        """
    )
