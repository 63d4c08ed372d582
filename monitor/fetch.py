"""HTTP fetching: the only module that talks to the network (and the only one importing httpx).

One call to ``fetch_all`` runs every request concurrently on an asyncio loop with one
``httpx.AsyncClient``, while staying polite: at most ``max_concurrency`` requests in flight,
at most ``per_host_concurrency`` to one host, and ``per_host_delay`` seconds between the starts
of two requests to one host (remembered across calls in this process).

Each request is:
- refused unless it is http(s), or a local file for a trusted request (a feed the user
  configured); links and every redirect hop come from strangers, so they are untrusted;
- refused when an untrusted host resolves to a loopback, private, link-local, reserved or
  multicast address, unless ``allow_private_addresses`` is set (a configured feed may live on
  the local network: that is the user's choice); plain-http names are then connected at the
  address that was checked, so a second DNS answer cannot redirect the connection;
- sent with the validators (If-None-Match, If-Modified-Since) and a clear User-Agent;
- redirected by hand, so each hop is checked, loops fail and permanent moves are recorded;
- bounded in time (``http_timeout`` per read, and the same as a deadline for a whole
  exchange, so a server dripping bytes fails) and in size (``max_body_bytes`` counted after
  decompression, which is done here so a gzip bomb stops at the limit);
- retried a few times within the call for connection errors and 5xx answers only.

Nothing fetched is ever executed: bodies are bytes, and HTML pages are decoded to text.
"""

from __future__ import annotations

import asyncio
import codecs
import concurrent.futures
import email.utils
import functools
import ipaddress
import mimetypes
import random
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import charset_normalizer
import httpx

from monitor.config import Settings
from monitor.errors import FetchError, PageDeferred
from monitor.models import Fetched

try:
    import brotli

    # Only a brotli that can bound its output (1.2+) is safe against a brotli bomb; with an
    # older one, "br" is simply not offered to servers.
    brotli.Decompressor().process(b"", output_buffer_limit=1)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - depends on the install
    brotli = None

# Seconds before the first quick retry; doubles per attempt, with jitter.
RETRY_BASE_SECONDS = 0.25

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
    " text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
HIT_THE_LIMIT_HINT = "the body is larger than max_body_bytes; raise it if the source is trusted"
PRIVATE_HINT = "set allow_private_addresses = true to fetch links to local networks"
# Media types whose bodies are decoded to text here; feeds are left to the feed parser,
# which knows the XML rules for encodings.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})

T = TypeVar("T")


@dataclass(frozen=True)
class FetchRequest:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    trusted: bool = False  # a feed URL the user configured: may be a local file


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


# --- the fetch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


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


def _fetched(answer: _Answer, moved: str | None) -> Fetched:
    text = encoding = None
    content_type = answer.headers.get("content-type", "")
    if _is_page(content_type, answer.body):
        text, encoding = decode_page(answer.body, content_type)
    return Fetched(
        answer.url,
        answer.status,
        answer.headers,
        answer.body,
        text=text,
        encoding=encoding,
        permanent_redirect=moved,
    )


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


# --- bodies and decompression ---------------------------------------------------------------


class _Decoder(Protocol):
    def decode(self, data: bytes, limit: int) -> bytes:
        """Decompress ``data``; returns at most ``limit`` bytes plus one (over the limit)."""


class _ZlibDecoder:
    def __init__(self, wbits: int, raw_fallback: bool = False) -> None:
        self._obj = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is zlib-wrapped or raw, servers differ
        self._started = False

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            out = self._obj.decompress(data, limit + 1)
        except zlib.error:
            if not (self._raw_fallback and not self._started):
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._obj.decompress(data, limit + 1)
        self._started = True
        return out


class _BrotliDecoder:
    def __init__(self) -> None:
        if brotli is None:  # pragma: no cover
            raise FetchError("the server sent brotli, which this installation cannot decode")
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        return bytes(self._obj.process(data, output_buffer_limit=limit + 1))


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data


ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"


def _decoders(content_encoding: str) -> list[_Decoder]:
    """Decoders in the order to apply them (the reverse of the order the server applied)."""
    decoders: list[_Decoder] = []
    for token in reversed([t.strip().lower() for t in content_encoding.split(",") if t.strip()]):
        if token in {"gzip", "x-gzip"}:
            decoders.append(_ZlibDecoder(16 + zlib.MAX_WBITS))
        elif token == "deflate":
            decoders.append(_ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True))
        elif token == "br":
            decoders.append(_BrotliDecoder())
        elif token != "identity":
            raise FetchError(f"unsupported Content-Encoding {token!r}")
    return decoders or [_Identity()]


async def _read_body(
    response: httpx.Response, headers: dict[str, str], settings: Settings
) -> bytes:
    """Read and decompress the body, failing as soon as it passes max_body_bytes."""
    limit = settings.max_body_bytes
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchError(
            f"body of {int(declared):,} bytes is over the {limit:,} byte limit: {response.url}",
            hint=HIT_THE_LIMIT_HINT,
        )
    decoders = _decoders(headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    try:
        async for raw in response.aiter_raw(16_384):
            data = raw
            for decoder in decoders:
                data = decoder.decode(data, limit - size)
            size += len(data)
            if size > limit:
                raise FetchError(
                    f"body over the {limit:,} byte limit (after decompression): {response.url}",
                    hint=HIT_THE_LIMIT_HINT,
                )
            parts.append(data)
    except (zlib.error, _brotli_error()) as exc:
        raise FetchError(f"cannot decompress the body of {response.url}: {exc}") from exc
    return b"".join(parts)


async def _drain(response: httpx.Response, limit: int = 65_536) -> None:
    """Read and drop a small body (304, redirect, error page) so the connection can be
    reused; a larger one is left unread and the connection closed."""
    seen = 0
    async for raw in response.aiter_raw(16_384):
        seen += len(raw)
        if seen > limit:
            break


def _brotli_error() -> type[Exception]:
    return brotli.error if brotli is not None else zlib.error


# --- local files (trusted feeds only) -------------------------------------------------------


def _read_file(request: FetchRequest, settings: Settings) -> Fetched:
    path = _local_path(request.url)
    try:
        stat = path.stat()
        if not path.is_file():
            raise FetchError(f"not a file: {path}")
        if stat.st_size > settings.max_body_bytes:
            raise FetchError(
                f"{path} has {stat.st_size:,} bytes, over the {settings.max_body_bytes:,} limit"
            )
        modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        # The ETag sees changes within the same second, which Last-Modified cannot.
        etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
        headers = {"last-modified": modified, "etag": etag, "content-type": _file_type(path)}
        unchanged = request.etag == etag if request.etag else request.last_modified == modified
        if unchanged:
            return Fetched(request.url, 304, headers, b"")
        with path.open("rb") as handle:
            body = handle.read(settings.max_body_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(body) > settings.max_body_bytes:
        raise FetchError(f"{path} is over the {settings.max_body_bytes:,} byte limit")
    headers["content-length"] = str(len(body))
    return _fetched(_Answer(request.url, 200, headers, body), None)


def _local_path(url: str) -> Path:
    if _scheme(url) == "file":
        parts = urlsplit(url)
        if parts.netloc not in {"", "localhost"}:
            raise FetchError(f"file URL on another host: {url}")
        return Path(unquote(parts.path))
    return Path(url).expanduser()


def _file_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {".rss", ".atom", ".rdf", ".xml"}:
        return "application/xml"
    if suffix == ".json":
        return "application/feed+json"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# --- URL and address checks -----------------------------------------------------------------


def _scheme(url: str) -> str:
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url.strip())
    if not match or len(match.group(1)) == 1:  # "C:\..." is a Windows path, not a scheme
        return ""
    return match.group(1).lower()


def _parse_url(url: str) -> httpx.URL:
    scheme = _scheme(url)
    if scheme not in {"http", "https"}:
        raise FetchError(f"refusing {url!r}: only http(s) URLs are fetched")
    try:
        parsed = httpx.URL(url.strip())
        host = parsed.host  # decodes IDNA, which can fail
        port = parsed.port
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"bad URL {url!r}: {exc}") from exc
    if not host:
        raise FetchError(f"bad URL {url!r}: no host")
    if port is not None and not 0 < port < 65536:
        raise FetchError(f"bad URL {url!r}: port {port} out of range")
    return parsed


async def _check_target(url: httpx.URL, settings: Settings) -> str | None:
    """Refuse non-http(s) schemes, and hosts on loopback or private networks unless allowed.

    Returns the checked address to connect to for a plain-http host name (None otherwise):
    resolving the name again at connect time could give another answer (DNS rebinding).
    HTTPS needs no pin: a rebound address cannot present the name's certificate.
    """
    if url.scheme not in {"http", "https"}:
        raise FetchError(f"refusing {url}: only http(s) URLs are fetched")
    if settings.allow_private_addresses:
        return None
    host = url.raw_host.decode("ascii")  # IDNA-encoded already
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await _resolve(host, port)
    for address in addresses:
        if not is_public_address(address):
            raise FetchError(
                f"refusing {url}: {url.host} is a non-public address ({address})",
                hint=PRIVATE_HINT,
            )
    if literal is not None or url.scheme == "https":
        return None
    return addresses[0]


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"cannot resolve {host}: no addresses")
    return addresses


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_multicast or ip.is_loopback or ip.is_link_local or ip.is_reserved
    )


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


# --- charset decoding -----------------------------------------------------------------------

# Labels that name a smaller or differently-named codec than what pages really use
# (after the WHATWG Encoding Standard: GB2312 pages are GBK, Big5 pages use HKSCS, ...).
_CODEC_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "cp936": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
}
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def codec_for(label: str | None) -> str | None:
    """The Python codec to use for a charset label, or None when unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup(_CODEC_ALIASES.get(name, name)).name
    except LookupError:
        return None


def decode_page(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Decode an HTML or text page: (text, codec used).

    Order: a byte-order mark; then UTF-8 when the bytes are valid UTF-8, or nearly so
    (declarations are often wrong, and text in another encoding is very rarely valid UTF-8);
    then the charset from the Content-Type, then from <meta>, each only if it decodes without
    errors and the detector finds the result plausible (Big5 bytes are valid GBK too); then
    detection (charset_normalizer over the page's non-ASCII lines).
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace"), codec
    declared = [
        codec_for(_first(_CT_CHARSET, content_type)),
        codec_for(_first_bytes(_META_CHARSET, body[:4096])),
    ]
    if _is_utf8(body):
        # Pure ASCII is valid in every declared encoding worth naming; keep the declaration.
        codec = next((c for c in declared if c), "utf-8") if body.isascii() else "utf-8"
        return body.decode("utf-8"), codec
    if _mostly_utf8(body):
        return body.decode("utf-8", errors="replace"), "utf-8"
    implausible: tuple[str, str] | None = None
    for label in declared:
        if label and label not in {"utf-8", "utf-16", "utf-32"}:
            try:
                text = body.decode(label)
            except (UnicodeDecodeError, LookupError):
                continue
            # Big5 bytes are also valid GBK, Latin-1 accepts anything: a clean decode is not
            # enough, the text must also look like language in that encoding.
            if _plausible(body, label):
                return text, label
            implausible = implausible or (text, label)
    best = charset_normalizer.from_bytes(_sample(body)).best()
    if best is not None and best.encoding:
        codec = codec_for(best.encoding) or best.encoding
        return body.decode(codec, errors="replace"), codec
    if implausible is not None:
        return implausible
    fallback = next((c for c in declared if c), "utf-8")
    return body.decode(fallback, errors="replace"), fallback


def _plausible(body: bytes, codec: str) -> bool:
    try:
        sample = _sample(body)
        return charset_normalizer.from_bytes(sample, cp_isolation=[codec]).best() is not None
    except (LookupError, ValueError):  # a codec the detector does not know: trust the label
        return True


_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _sample(body: bytes, size: int = 16_384) -> bytes:
    """The lines of a page that tell encodings apart: those with non-ASCII bytes. On a long
    page the detector's few sampled chunks would otherwise land in ASCII markup, scripts and
    styles, and call any single-byte encoding plausible."""
    parts: list[bytes] = []
    total = 0
    for line in body.splitlines():
        found = _HIGH_BYTE.search(line)
        if found is None:
            continue
        # Only ASCII precedes the first high byte, so no character is cut here.
        parts.append(line[max(0, found.start() - 80) :])
        total += len(parts[-1]) + 1
        if total >= size:
            break
    return _cut(b"\n".join(parts), size)


def _cut(data: bytes, size: int) -> bytes:
    """``data[:size]``, moved back to just after two ASCII bytes when it can be, so that the
    cut does not fall inside a multi-byte character."""
    if len(data) <= size:
        return data
    for end in range(size, max(2, size - 256), -1):
        if data[end - 1] < 0x80 and data[end - 2] < 0x80:
            return data[:end]
    return data[:size]


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _first_bytes(pattern: re.Pattern[bytes], data: bytes) -> str | None:
    match = pattern.search(data)
    return match.group(1).decode("ascii", errors="replace") if match else None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(body: bytes) -> bool:
    """UTF-8 with a stray bad byte or two (a pasted Latin-1 comment, a truncated character).
    Text in other encodings is rarely valid UTF-8 for more than a few characters at a time."""
    text = body[:262_144].decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore")) - bad
    return non_ascii >= 20 and bad <= non_ascii // 50


def _is_page(content_type: str, body: bytes) -> bool:
    media = content_type.split(";")[0].strip().lower()
    if media in PAGE_TYPES:
        return True
    if media:
        return False
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


__all__ = [
    "FetchRequest",
    "decode_page",
    "fetch_all",
    "fetch_one",
    "is_public_address",
    "retry_after_seconds",
]
