"""Politeness and budgets: concurrency per host and overall, the delay between two requests
to one host, and what one poll may spend on pages."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from monitor.config import Settings


class PageBudget:
    """What one poll cycle may spend on pages: a deadline, and a number of timeouts or
    connection failures per host. A host that accepts connections and never answers would
    otherwise cost links / per_host_concurrency x http_timeout (100 links: 17 minutes).
    A request is refused with PageDeferred once either is spent; one in flight at the
    deadline is cut there. Shared by every fetch_all call of the cycle."""

    def __init__(
        self, seconds: float, host_failures: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.deadline = clock() + seconds
        self.host_failures = max(1, host_failures)
        self._failures: dict[str, int] = {}
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - self._clock()

    def refusal(self, host: str) -> str | None:
        """Why a request to ``host`` may not start now, or None."""
        if self.remaining() <= 0:
            return "the poll's time budget is spent"
        with self._lock:
            failures = self._failures.get(host, 0)
        if failures >= self.host_failures:
            return f"{host} failed {failures} times this poll"
        return None

    def failed(self, host: str) -> None:
        with self._lock:
            self._failures[host] = self._failures.get(host, 0) + 1


# --- politeness -----------------------------------------------------------------------------


class _HostClock:
    """When each host may next be asked; shared by all calls so back-to-back polls stay polite."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, host: str, delay: float) -> float:
        """Book the next start for ``host``; returns how many seconds to wait for it."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + delay
            return start - now


_CLOCK = _HostClock()


class _Gate:
    """Concurrency limits for one fetch_all call."""

    def __init__(self, settings: Settings, budget: PageBudget | None = None) -> None:
        self._settings = settings
        self.budget = budget
        self._global = asyncio.Semaphore(max(1, settings.max_concurrency))
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        per_host = self._hosts.setdefault(
            host, asyncio.Semaphore(max(1, self._settings.per_host_concurrency))
        )
        # Host slot first, then the delay, then a global slot: a request waiting for its host
        # must not hold a global slot that another host could use.
        async with per_host:
            wait = _CLOCK.reserve(host, self._settings.per_host_delay)
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._global:
                yield
