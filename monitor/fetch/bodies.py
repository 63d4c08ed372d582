"""Bounded bodies: read to at most max_body_bytes after decompression, so a gzip or brotli
bomb stops at the limit; a page body is decoded to text."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Protocol

import httpx

from monitor.config import Settings
from monitor.errors import FetchError
from monitor.fetch.charset import _is_page, decode_page
from monitor.models import Fetched

try:
    import brotli

    # Only a brotli that can bound its output (1.2+) is safe against a brotli bomb; with an
    # older one, "br" is simply not offered to servers.
    brotli.Decompressor().process(b"", output_buffer_limit=1)
except (ImportError, TypeError, AttributeError):  # pragma: no cover - depends on the install
    brotli = None


HIT_THE_LIMIT_HINT = "the body is larger than max_body_bytes; raise it if the source is trusted"


@dataclass(frozen=True)
class _Answer:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes


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
