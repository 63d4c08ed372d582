"""Every exception the monitor raises on purpose.

MonitorError                 anything the CLI turns into one line plus a hint
 +-- ConfigError             a bad setting or configuration file
 +-- FeedError               one feed failed; the others go on
 |    +-- FetchError         network, HTTP status, size limit, refused address
 |    +-- FeedParseError     the body is not a feed that yields entries
 +-- ExtractError            an article page gave no usable text (reason kept)
 +-- WatchlistError          a watchlist or baseline file is wrong (file:line, field)
 +-- StorageError            the database could not be read or written
 +-- DeliveryError           a digest or alert could not be sent

Third-party errors are wrapped at the boundary with ``raise X(...) from exc`` so the
cause is kept.
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base class. ``hint`` tells the user what to do about it."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class ConfigError(MonitorError):
    hint = "check the configuration file and MONITOR_* variables (`monitor config`)"


class FeedError(MonitorError):
    hint = "the feed will be retried later with backoff"


class FetchError(FeedError):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = retry_after


class PageDeferred(FetchError):
    """A page not fetched this poll (the poll's time or its host's failure budget is spent);
    it is tried again on the next poll."""


class FeedParseError(FeedError):
    pass


class ExtractError(MonitorError):
    pass


class WatchlistError(MonitorError):
    hint = "fix the file and run `monitor watchlist check`"


class StorageError(MonitorError):
    hint = "check that the data directory exists, is writable and has free space"


class DeliveryError(MonitorError):
    hint = "the digest stays pending and is sent on the next run; check the smtp_* settings"

    def __init__(self, message: str, *, permanent: bool = False, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        # A 5xx answer about this message (too big, recipient unknown): other messages may
        # still go through, and sending this one again unchanged will likely fail again.
        self.permanent = permanent


class BusyError(MonitorError):
    """Another process holds the lock this job needs (a backfill already running)."""

    hint = "wait for the other run to finish; a killed run leaves no lock behind"
