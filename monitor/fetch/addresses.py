"""URL and address checks: only http(s), and no loopback, private, link-local, reserved or
multicast address for an untrusted request unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket

import httpx

from monitor.config import Settings
from monitor.errors import FetchError

PRIVATE_HINT = "set allow_private_addresses = true to fetch links to local networks"


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
