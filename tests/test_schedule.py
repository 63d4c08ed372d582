"""Next-poll decisions: pure functions of now, error counts and server headers."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from monitor import config
from monitor.schedule import (
    MAX_HINTED_WAIT,
    next_poll_after_failure,
    next_poll_after_success,
    server_hint,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def backoff_settings() -> config.Settings:
    return config.load(None, env={}, backoff_base_minutes=15.0, backoff_max_minutes=1440.0)


def minutes_after(moment: dt.datetime) -> float:
    return (moment - NOW).total_seconds() / 60


def test_success_waits_the_feed_interval() -> None:
    assert next_poll_after_success(NOW, 60, {}) == NOW + dt.timedelta(minutes=60)


def test_success_honours_a_longer_max_age() -> None:
    headers = {"cache-control": "public, max-age=7200"}
    assert next_poll_after_success(NOW, 60, headers) == NOW + dt.timedelta(hours=2)


def test_shorter_max_age_does_not_poll_sooner_than_the_interval() -> None:
    headers = {"cache-control": "max-age=60"}
    assert next_poll_after_success(NOW, 30, headers) == NOW + dt.timedelta(minutes=30)


def test_huge_max_age_is_clamped_to_a_day() -> None:
    headers = {"cache-control": "max-age=31536000"}
    assert next_poll_after_success(NOW, 60, headers) == NOW + MAX_HINTED_WAIT


def test_interval_longer_than_the_clamp_is_kept() -> None:
    headers = {"cache-control": "max-age=31536000"}
    assert next_poll_after_success(NOW, 2 * 1440, headers) == NOW + dt.timedelta(days=2)


def test_no_cache_ignores_max_age() -> None:
    headers = {"cache-control": "no-cache, max-age=7200"}
    assert next_poll_after_success(NOW, 60, headers) == NOW + dt.timedelta(minutes=60)


def test_expires_is_used_without_max_age() -> None:
    headers = {"expires": "Sun, 01 Mar 2026 15:00:00 GMT"}
    assert server_hint(NOW, headers) == dt.timedelta(hours=3)


def test_retry_after_date_and_seconds_are_read() -> None:
    assert server_hint(NOW, {"Retry-After": "5400"}) == dt.timedelta(minutes=90)
    date = {"retry-after": "Sun, 01 Mar 2026 14:00:00 GMT"}
    assert server_hint(NOW, date) == dt.timedelta(hours=2)


def test_garbage_and_past_hints_are_ignored() -> None:
    headers = {"expires": "yesterday-ish", "retry-after": "Sat, 01 Mar 2025 00:00:00 GMT"}
    assert server_hint(NOW, headers) is None


def test_failure_backoff_doubles_per_error(backoff_settings: config.Settings) -> None:
    waits = [
        minutes_after(next_poll_after_failure(n, NOW, backoff_settings, rng=random.Random(7)))
        for n in (1, 2, 3, 4)
    ]
    for n, wait in enumerate(waits, start=1):
        full = 15.0 * 2 ** (n - 1)
        assert full * 0.75 <= wait <= full


def test_failure_backoff_is_capped(backoff_settings: config.Settings) -> None:
    for n in (10, 20, 100, 10_000):
        moment = next_poll_after_failure(n, NOW, backoff_settings, rng=random.Random(n))
        assert 1440 * 0.75 <= minutes_after(moment) <= 1440


def test_failure_backoff_has_jitter(backoff_settings: config.Settings) -> None:
    rng = random.Random(1)
    moments = {next_poll_after_failure(3, NOW, backoff_settings, rng=rng) for _ in range(20)}
    assert len(moments) > 10


def test_retry_after_is_a_floor_within_the_cap(backoff_settings: config.Settings) -> None:
    three_hours = next_poll_after_failure(1, NOW, backoff_settings, retry_after=3 * 3600)
    assert three_hours == NOW + dt.timedelta(hours=3)
    week = next_poll_after_failure(1, NOW, backoff_settings, retry_after=7 * 86400)
    assert week == NOW + dt.timedelta(minutes=1440)


def test_zero_errors_is_treated_as_the_first(backoff_settings: config.Settings) -> None:
    moment = next_poll_after_failure(0, NOW, backoff_settings, rng=random.Random(3))
    assert 15 * 0.75 <= minutes_after(moment) <= 15
