"""HTTP fetching: the only package that talks to the network (and the only one importing httpx).

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

- with a PageBudget (one per poll), refused once the poll's time or the host's failure
  budget is spent, so a host that never answers cannot stall the poll.

Nothing fetched is ever executed: bodies are bytes, and HTML pages are decoded to text.

One module per noun, behind this package's small API:

    client      FetchRequest, fetch_all, fetch_one: the client, redirects and retries
    politeness  per-host and overall concurrency, per-host delay, PageBudget
    bodies      bounded reads and decompression (gzip, deflate, brotli)
    files       local files, for trusted feeds only
    addresses   URL parsing and the loopback/private address checks
    charset     decoding pages: BOM, header, <meta>, detection
"""

from __future__ import annotations

from monitor.fetch.addresses import is_public_address
from monitor.fetch.charset import codec_for, decode_page
from monitor.fetch.client import (
    ACCEPT,
    RETRY_BASE_SECONDS,
    FetchRequest,
    fetch_all,
    fetch_one,
    retry_after_seconds,
)
from monitor.fetch.politeness import PageBudget

__all__ = [
    "ACCEPT",
    "RETRY_BASE_SECONDS",
    "FetchRequest",
    "PageBudget",
    "codec_for",
    "decode_page",
    "fetch_all",
    "fetch_one",
    "is_public_address",
    "retry_after_seconds",
]
