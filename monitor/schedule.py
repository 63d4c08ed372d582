"""When to poll a feed next: pure functions of ``now``, the feed's history and the server's
hints. No clock is read and nothing is stored here.

After a success the feed's own interval is the floor; Cache-Control max-age, Expires and
Retry-After may push the next poll later (a server asking us to come back less often), within
a ceiling. After a failure the wait doubles per consecutive error, with jitter so that feeds
failing together do not come back together, up to ``backoff_max_minutes``; a Retry-After
longer than that is honoured up to the same ceiling.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import re
from collections.abc import Mapping

from monitor.config import Settings

# A server's caching hints never postpone a poll beyond this (a typo of max-age=31536000
# must not silence a feed for a year).
MAX_HINTED_WAIT = dt.timedelta(days=1)
# Jitter scales each backoff wait by a factor in [1 - JITTER, 1].
JITTER = 0.25

_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*\"?(\d+)", re.I)


def next_poll_after_success(
    now: dt.datetime,
    interval_minutes: float,
    headers: Mapping[str, str] | None = None,
) -> dt.datetime:
    """The feed answered (200 or 304): its interval, or later if the server asks for it."""
    interval = dt.timedelta(minutes=max(1.0, interval_minutes))
    hinted = server_hint(now, headers or {})
    wait = interval
    if hinted is not None and hinted > interval:
        wait = min(hinted, max(interval, MAX_HINTED_WAIT))
    return now + wait


def next_poll_after_failure(
    error_count: int,
    now: dt.datetime,
    settings: Settings,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> dt.datetime:
    """The feed failed ``error_count`` times in a row (this one included): back off.

    The wait is backoff_base_minutes * 2**(error_count - 1), capped at backoff_max_minutes,
    then scaled by a random factor in [1 - JITTER, 1]; never shorter than Retry-After (seconds)
    when the server sent one, but never longer than the cap.
    """
    rng = rng or random.Random()
    cap = dt.timedelta(minutes=max(0.0, settings.backoff_max_minutes))
    exponent = min(max(error_count, 1) - 1, 32)  # 2**32 * minutes is past any sane cap
    base = dt.timedelta(minutes=max(0.0, settings.backoff_base_minutes) * 2**exponent)
    wait = min(base, cap) * rng.uniform(1.0 - JITTER, 1.0)
    if retry_after is not None and retry_after > 0:
        wait = max(wait, dt.timedelta(seconds=retry_after))
    return now + min(wait, cap)


def server_hint(now: dt.datetime, headers: Mapping[str, str]) -> dt.timedelta | None:
    """The longest wait the server's headers ask for (keys lower-case), or None."""
    lowered = {k.lower(): v for k, v in headers.items()}
    waits: list[dt.timedelta] = []
    cache_control = lowered.get("cache-control", "")
    if not re.search(r"no-cache|no-store", cache_control, re.I):
        match = _MAX_AGE.search(cache_control)
        if match:
            waits.append(dt.timedelta(seconds=int(match.group(1))))
        elif lowered.get("expires"):
            expires = _http_date(lowered["expires"])
            if expires is not None:
                waits.append(expires - now)
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after.isdigit():
        waits.append(dt.timedelta(seconds=int(retry_after)))
    elif retry_after:
        when = _http_date(retry_after)
        if when is not None:
            waits.append(when - now)
    positive = [w for w in waits if w > dt.timedelta(0)]
    return max(positive) if positive else None


def _http_date(value: str) -> dt.datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None
