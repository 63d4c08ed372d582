"""Poll state: which feeds exist, when each is next due, its validators and its last error.

The schedule lives here rather than in the scheduler, so a restart loses nothing. Times are
stored as ISO 8601 UTC text, which sorts as time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlite_utils import Database

from monitor.models import Feed, FeedState


def iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware UTC time")
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def sync_feeds(db: Database, feeds: Sequence[Feed], now: dt.datetime) -> None:
    """Add the feeds of the file that are new and refresh name, language and interval of the
    others. Feeds no longer listed keep their state (a shorter --feeds file removes nothing)."""
    with db.atomic():
        for feed in feeds:
            db.execute(
                """
                INSERT INTO feeds (url, origin_url, name, language, interval_minutes, added_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (origin_url) DO UPDATE SET
                    name = excluded.name,
                    language = excluded.language,
                    interval_minutes = excluded.interval_minutes
                ON CONFLICT DO NOTHING  -- another listed feed already moved to this URL
                """,
                [feed.url, feed.url, feed.name, feed.language, feed.interval_minutes, iso(now)],
            )


def due_feeds(
    db: Database, now: dt.datetime, origins: Collection[str] | None = None
) -> list[FeedState]:
    """Feeds whose next poll time has come (or was never set), earliest first; only those
    listed in ``origins`` when given."""
    rows = db.execute(
        """
        SELECT * FROM feeds
        WHERE (next_poll_at IS NULL OR next_poll_at <= ?) AND disabled_reason IS NULL
        ORDER BY next_poll_at IS NOT NULL, next_poll_at, url
        """,
        [iso(now)],
    ).fetchall()
    columns = _columns(db)
    states = [_state(dict(zip(columns, row, strict=True))) for row in rows]
    if origins is not None:
        wanted = set(origins)
        states = [s for s in states if s.origin_url in wanted]
    return states


def get_feed(db: Database, url: str) -> FeedState | None:
    """The feed stored under ``url`` (its current URL or the one the file lists)."""
    row = db.execute(
        "SELECT * FROM feeds WHERE url = ? OR origin_url = ? LIMIT 1", [url, url]
    ).fetchone()
    return _state(dict(zip(_columns(db), row, strict=True))) if row else None


def all_feeds(db: Database) -> list[FeedState]:
    columns = _columns(db)
    rows = db.execute("SELECT * FROM feeds ORDER BY url").fetchall()
    return [_state(dict(zip(columns, row, strict=True))) for row in rows]


def record_success(
    db: Database,
    url: str,
    now: dt.datetime,
    *,
    status: int,
    etag: str | None,
    last_modified: str | None,
    next_poll_at: dt.datetime,
) -> None:
    """A poll worked (200 or 304): keep the validators, clear the error count."""
    with db.atomic():
        db.execute(
            """
            UPDATE feeds SET
                etag = COALESCE(?, etag),
                last_modified = COALESCE(?, last_modified),
                last_polled_at = ?,
                last_status = ?,
                next_poll_at = ?,
                error_count = 0,
                last_error = NULL,
                last_success_at = ?,
                failing_since = NULL
            WHERE url = ?
            """,
            [etag, last_modified, iso(now), status, iso(next_poll_at), iso(now), url],
        )


def record_failure(
    db: Database,
    url: str,
    now: dt.datetime,
    *,
    error: str,
    status: int | None,
    next_poll_at: dt.datetime,
) -> None:
    """A poll failed: count it, keep why, and wait until ``next_poll_at`` (the backoff)."""
    with db.atomic():
        db.execute(
            """
            UPDATE feeds SET
                last_polled_at = ?,
                last_status = ?,
                next_poll_at = ?,
                error_count = error_count + 1,
                last_error = ?,
                failing_since = COALESCE(failing_since, ?)
            WHERE url = ?
            """,
            [iso(now), status, iso(next_poll_at), error, iso(now), url],
        )


def disable(db: Database, url: str, reason: str) -> None:
    """Stop polling the feed: it is gone. Its row and reason stay for the health report."""
    with db.atomic():
        db.execute("UPDATE feeds SET disabled_reason = ? WHERE url = ?", [reason, url])


def update_url(db: Database, old_url: str, new_url: str) -> bool:
    """A permanent redirect moved the feed: poll ``new_url`` from now on. False (and no
    change) when another feed already has that URL."""
    if old_url == new_url:
        return False
    with db.atomic():
        taken = db.execute("SELECT 1 FROM feeds WHERE url = ?", [new_url]).fetchone()
        if taken:
            return False
        db.execute("UPDATE feeds SET url = ? WHERE url = ?", [new_url, old_url])
    return True


def _columns(db: Database) -> list[str]:
    return [row[1] for row in db.execute("PRAGMA table_info(feeds)").fetchall()]


def _state(row: dict[str, Any]) -> FeedState:
    return FeedState(
        url=row["url"],
        origin_url=row["origin_url"] or row["url"],
        name=row["name"],
        language=row["language"],
        interval_minutes=row["interval_minutes"],
        last_success_at=_moment(row.get("last_success_at")),
        failing_since=_moment(row.get("failing_since")),
        etag=row["etag"],
        last_modified=row["last_modified"],
        next_poll_at=_moment(row["next_poll_at"]),
        last_polled_at=_moment(row["last_polled_at"]),
        last_status=row["last_status"],
        error_count=row["error_count"],
        last_error=row["last_error"],
        disabled_reason=row.get("disabled_reason"),
    )


def articles_since(db: Database, since: dt.datetime) -> dict[str, int]:
    """Articles stored since ``since``, per feed (the feed URL as the feeds file lists it)."""
    rows = db.execute(
        "SELECT feed_url, count(*) FROM articles WHERE julianday(stored_at) >= julianday(?) "
        "GROUP BY feed_url",
        [iso(since)],
    ).fetchall()
    return {str(url): int(count) for url, count in rows}
