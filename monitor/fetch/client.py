"""The client: one httpx.AsyncClient per fetch_all call, redirects followed by hand, quick
retries for connection errors and 5xx answers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import functools
import random
import ssl
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from monitor.config import Settings
from monitor.errors import FetchError, PageDeferred
from monitor.fetch.addresses import _check_target, _parse_url, _scheme
from monitor.fetch.bodies import ACCEPT_ENCODING, _Answer, _drain, _fetched, _read_body
from monitor.fetch.files import _read_file
from monitor.fetch.politeness import PageBudget, _Gate
from monitor.models import Fetched

# Seconds before the first quick retry; doubles per attempt, with jitter.
RETRY_BASE_SECONDS = 0.25

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})


ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
    " text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)


T = TypeVar("T")


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    trusted: bool = False  # a feed URL the user configured: may be a local file


def fetch_all(
    requests: Sequence[FetchRequest],
    settings: Settings,
    *,
    retry_base: float = RETRY_BASE_SECONDS,
    budget: PageBudget | None = None,
) -> list[Fetched | FetchError]:
    """Fetch every request; results in the same order. A failure is returned, not raised;
    with ``budget``, a request it refuses is a PageDeferred."""
    if not requests:
        return []
    return _run(_fetch_all(list(requests), settings, retry_base, budget))


def fetch_one(
    request: FetchRequest, settings: Settings, *, retry_base: float = RETRY_BASE_SECONDS
) -> Fetched:
    """Fetch one request; raises FetchError."""
    result = fetch_all([request], settings, retry_base=retry_base)[0]
    if isinstance(result, FetchError):
        raise result
    return result


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also when the caller already runs a loop in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


class _ConnectionProblem(Exception):
    """A failure worth a quick retry (refused, reset, closed early)."""


async def _fetch_all(
    requests: list[FetchRequest],
    settings: Settings,
    retry_base: float,
    budget: PageBudget | None = None,
) -> list[Fetched | FetchError]:
    gate = _Gate(settings, budget)
    limits = httpx.Limits(
        max_connections=max(1, settings.max_concurrency),
        max_keepalive_connections=max(1, settings.max_concurrency),
    )
    async with httpx.AsyncClient(
        verify=_ssl_context(),
        follow_redirects=False,  # redirects are followed by hand, checking each hop
        timeout=httpx.Timeout(settings.http_timeout),
        limits=limits,
        headers={"User-Agent": settings.user_agent, "Accept": ACCEPT},
        # No proxies or netrc from the environment: a proxy would resolve names for us and
        # defeat the address check.
        trust_env=False,
    ) as client:
        tasks = [_fetch_or_error(client, gate, r, settings, retry_base) for r in requests]
        return list(await asyncio.gather(*tasks))


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs ~35 ms, and every fetch_all makes a client."""
    return httpx.create_ssl_context()


async def _fetch_or_error(
    client: httpx.AsyncClient,
    gate: _Gate,
    request: FetchRequest,
    settings: Settings,
    retry_base: float,
) -> Fetched | FetchError:
    try:
        return await _fetch(client, gate, request, settings, retry_base)
    except FetchError as exc:
        return exc
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        # Links come from strangers: a URL the libraries choke on is that link's failure.
        error = FetchError(f"bad URL {request.url!r}: {exc}")
        error.__cause__ = exc
        return error


async def _fetch(
    client: httpx.AsyncClient,
    gate: _Gate,
    request: FetchRequest,
    settings: Settings,
    retry_base: float,
) -> Fetched:
    scheme = _scheme(request.url)
    if scheme in {"", "file"}:
        if not request.trusted:
            raise FetchError(f"refusing {request.url!r}: only http(s) links are fetched")
        return await asyncio.to_thread(_read_file, request, settings)
    url = _parse_url(request.url)
    pin = None if request.trusted else await _check_target(url, settings)

    seen = {str(url): 1}
    hops: list[int] = []
    while True:
        answer = await _exchange_with_retries(client, gate, url, pin, request, settings, retry_base)
        if answer.status in REDIRECT_STATUSES:
            url = _next_hop(url, answer, len(hops), seen, settings)
            pin = await _check_target(url, settings)  # a redirect is untrusted, whoever asked
            hops.append(answer.status)
            continue
        moved = str(url) if hops and all(s in PERMANENT_STATUSES for s in hops) else None
        if answer.status == 304:
            return Fetched(
                str(url),
                304,
                _keep_validators(answer.headers, request),
                b"",
                permanent_redirect=moved,
            )
        if 200 <= answer.status < 300:
            return _fetched(answer, moved)
        raise _status_error(answer)


def _keep_validators(headers: dict[str, str], request: FetchRequest) -> dict[str, str]:
    """A 304 often omits the validators; the ones sent are still current, so keep them."""
    kept = {
        "etag": request.etag,
        "last-modified": request.last_modified,
    }
    return {**{k: v for k, v in kept.items() if v}, **headers}


def _next_hop(
    url: httpx.URL, answer: _Answer, hops_so_far: int, seen: dict[str, int], settings: Settings
) -> httpx.URL:
    location = answer.headers.get("location", "").strip()
    if not location:
        raise FetchError(
            f"HTTP {answer.status} without a Location from {url}", status=answer.status
        )
    if hops_so_far + 1 > settings.max_redirects:
        raise FetchError(f"more than {settings.max_redirects} redirects from {url}")
    try:
        joined = str(url.join(location))
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"bad redirect Location {location!r} from {url}") from exc
    target = _parse_url(joined)  # refuses other schemes, bad hosts and ports
    # A page that sets a cookie and redirects to itself is a cookie wall, not yet a loop.
    visits = seen.get(str(target), 0)
    if visits >= (2 if "set-cookie" in answer.headers else 1):
        raise FetchError(f"redirect loop: {url} leads back to {target}")
    seen[str(target)] = visits + 1
    return target


def _status_error(answer: _Answer) -> FetchError:
    retry_after = retry_after_seconds(answer.headers.get("retry-after"))
    reason = httpx.codes.get_reason_phrase(answer.status)
    message = f"HTTP {answer.status} {reason} from {answer.url}".replace("  ", " ")
    if retry_after is not None:
        message += f" (retry after {retry_after:.0f}s)"
    return FetchError(message, status=answer.status, retry_after=retry_after)


async def _exchange_with_retries(
    client: httpx.AsyncClient,
    gate: _Gate,
    url: httpx.URL,
    pin: str | None,
    request: FetchRequest,
    settings: Settings,
    retry_base: float,
) -> _Answer:
    """One hop, retried quickly for connection errors and 5xx answers (not timeouts: a slow
    server will not be faster a second later, and each try costs a whole timeout)."""
    attempts = max(0, settings.retries) + 1
    problem = ""
    status: int | None = None
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(_retry_delay(attempt, retry_base))
        try:
            answer = await _exchange(client, gate, url, pin, request, settings)
        except _ConnectionProblem as exc:
            problem, status = str(exc), None
            continue
        # A 503 with Retry-After says when to come back: that is the caller's schedule.
        told_when = answer.status == 503 and "retry-after" in answer.headers
        if answer.status < 500 or told_when:
            return answer
        problem, status = str(_status_error(answer)), answer.status
    raise FetchError(f"{problem} (after {attempts} attempts)", status=status)


def _retry_delay(attempt: int, base: float) -> float:
    """Exponential backoff with jitter: base, 2*base, 4*base... each scaled by 0.5..1."""
    return float(base * 2 ** (attempt - 1) * random.uniform(0.5, 1.0))


async def _exchange(
    client: httpx.AsyncClient,
    gate: _Gate,
    url: httpx.URL,
    pin: str | None,
    request: FetchRequest,
    settings: Settings,
) -> _Answer:
    """One request and its body. With ``pin``, connect to that (checked) address and name
    the host in the Host header, so a second DNS answer cannot point us elsewhere."""
    headers = {"Accept-Encoding": ACCEPT_ENCODING}
    target = url
    if pin is not None:
        target = url.copy_with(host=pin)
        headers["Host"] = url.netloc.decode("ascii")
    if request.etag:
        headers["If-None-Match"] = request.etag
    if request.last_modified:
        headers["If-Modified-Since"] = request.last_modified
    host = url.raw_host.decode("ascii")
    async with gate.slot(host):
        budget = gate.budget
        timeout = settings.http_timeout
        if budget is not None:
            refusal = budget.refusal(host)
            if refusal:
                raise PageDeferred(f"deferred to the next poll: {refusal}: {url}")
            timeout = min(timeout, budget.remaining())
        try:
            return await _exchange_in_time(client, url, target, headers, settings, timeout)
        except _TimedOut as exc:
            if budget is not None and timeout < settings.http_timeout:
                # Cut by the poll's deadline, not the host's fault: try it next poll.
                raise PageDeferred(f"deferred to the next poll: time budget spent: {url}") from exc
            if budget is not None:
                budget.failed(host)
            raise
        except _ConnectionProblem:
            if budget is not None:
                budget.failed(host)
            raise


class _TimedOut(FetchError):
    """No (complete) answer in time."""


async def _exchange_in_time(
    client: httpx.AsyncClient,
    url: httpx.URL,
    target: httpx.URL,
    headers: dict[str, str],
    settings: Settings,
    timeout: float,
) -> _Answer:
    """The exchange itself, cut after ``timeout`` seconds (a server dripping bytes fails)."""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", target, headers=headers) as response:
                answer_headers = {k.lower(): v for k, v in response.headers.items()}
                body = b""
                if 200 <= response.status_code < 300:
                    body = await _read_body(response, answer_headers, settings)
                else:
                    await _drain(response)
                return _Answer(str(url), response.status_code, answer_headers, body)
    except httpx.TimeoutException as exc:
        raise _TimedOut(f"timed out after {settings.http_timeout:g}s: {url}") from exc
    except TimeoutError as exc:
        raise _TimedOut(f"no complete answer within {settings.http_timeout:g}s: {url}") from exc
    except (httpx.ConnectError, httpx.ReadError, httpx.WriteError) as exc:
        raise _ConnectionProblem(f"{type(exc).__name__}: {exc} ({url})") from exc
    except httpx.RemoteProtocolError as exc:
        raise _ConnectionProblem(f"protocol error: {exc} ({url})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc} ({url})") from exc


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None when unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
