"""Charset decoding of fetched pages: BOM, HTTP header, <meta>, then detection."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

# Media types whose bodies are decoded to text here; feeds are left to the feed parser,
# which knows the XML rules for encodings.
PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})


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
