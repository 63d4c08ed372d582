"""PostgresStorage's feeds: their list, schedule, claims and health."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from monitor.models import Feed, FeedState
from storage.postgres.base import Connected, Row


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


class FeedTable(Connected):
    """The feeds table: synced from the feed list, claimed by workers."""

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
