"""Pure: a feed's stored poll state -> how it is doing, and which feeds need a person.

One failure is noise (a timeout, a 503 during a deploy); the digest names a feed only once
it has failed without a success in between for more than ATTENTION_AFTER. A feed answering
410 Gone, or 404 DISABLED_404 times in a row, is shown as disabled: it will not come back
by itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from monitor.models import FeedHealth, FeedState

ATTENTION_AFTER = dt.timedelta(days=1)
DISABLED_404 = 3


def status_of(state: FeedState) -> str:
    # A poller that stops polling a gone feed records why (a ``disabled_reason`` field);
    # where there is none, 410 and repeated 404s are read from the last status.
    if getattr(state, "disabled_reason", None):
        return "disabled"
    if state.error_count == 0:
        return "ok" if state.last_polled_at is not None else "new"
    if state.last_status == 410 or (state.last_status == 404 and state.error_count >= DISABLED_404):
        return "disabled"
    return "failing"


def health_of(state: FeedState, articles_7d: int = 0) -> FeedHealth:
    failing_since = state.failing_since
    if state.error_count and failing_since is None:
        # State written before failing_since was recorded: the last success bounds it.
        failing_since = state.last_success_at or state.last_polled_at
    return FeedHealth(
        url=state.url,
        name=state.name,
        status=status_of(state),
        last_success_at=state.last_success_at,
        last_polled_at=state.last_polled_at,
        failing_since=failing_since if state.error_count else None,
        consecutive_failures=state.error_count,
        last_status=state.last_status,
        last_error=state.last_error or "",
        next_poll_at=state.next_poll_at,
        articles_7d=articles_7d,
    )


def needing_attention(feeds: Iterable[FeedHealth], now: dt.datetime) -> list[FeedHealth]:
    """Feeds failing (or disabled) for more than ATTENTION_AFTER at ``now``, longest first."""
    found = [
        feed
        for feed in feeds
        if feed.status in ("failing", "disabled")
        and feed.failing_since is not None
        and now - feed.failing_since > ATTENTION_AFTER
    ]
    return sorted(found, key=lambda f: (f.failing_since or now, f.url))


def as_json(feed: FeedHealth) -> dict[str, object]:
    """One feed for `monitor feeds list --json`: times as ISO 8601 UTC or null."""

    def moment(value: dt.datetime | None) -> str | None:
        return value.astimezone(dt.UTC).isoformat() if value else None

    return {
        "url": feed.url,
        "name": feed.name,
        "status": feed.status,
        "last_success_at": moment(feed.last_success_at),
        "last_polled_at": moment(feed.last_polled_at),
        "failing_since": moment(feed.failing_since),
        "consecutive_failures": feed.consecutive_failures,
        "last_status": feed.last_status,
        "last_error": feed.last_error,
        "next_poll_at": moment(feed.next_poll_at),
        "articles_7d": feed.articles_7d,
    }
