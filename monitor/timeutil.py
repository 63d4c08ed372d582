"""Pure date arithmetic for the schedule and for backfill: local days in the configured time
zone, their UTC bounds, and the moment a day's digest is due. No clock is read here; every
function takes the moment it reasons about."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_hhmm(text: str) -> tuple[int, int]:
    hours, _, minutes = text.partition(":")
    return int(hours), int(minutes)


def local_day(moment: dt.datetime, timezone: str) -> dt.date:
    """The calendar day ``moment`` falls on in ``timezone``."""
    return utc(moment).astimezone(ZoneInfo(timezone)).date()


def day_bounds(day: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a local day, in UTC. Days around a DST change are 23 or 25 hours."""
    zone = ZoneInfo(timezone)
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def window(since: dt.date, until: dt.date, timezone: str) -> tuple[dt.datetime, dt.datetime]:
    """[start of ``since``, end of ``until``) in UTC; both days are local and included."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    return day_bounds(since, timezone)[0], day_bounds(until, timezone)[1]


def days(since: dt.date, until: dt.date) -> list[dt.date]:
    """Every day from ``since`` to ``until``, both included."""
    return [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]


def digest_due(day: dt.date, timezone: str, digest_time: str) -> dt.datetime:
    """When the live monitor sends the digest of ``day``: the digest time of the next local
    day, in UTC."""
    hours, minutes = parse_hhmm(digest_time)
    moment = dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(hours, minutes), tzinfo=ZoneInfo(timezone)
    )
    return moment.astimezone(UTC)


def clamp(moment: dt.datetime, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """``moment`` moved inside [start, end); ``end`` itself maps to just before it."""
    latest = end - dt.timedelta(microseconds=1)
    return min(max(utc(moment), start), latest)


def local_time(moment: dt.datetime | None, timezone: str) -> str:
    """'2026-03-30 08:05' in ``timezone``, or '' for None (for CLI lines)."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
