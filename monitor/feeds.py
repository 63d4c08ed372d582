"""Feed parsing: fetched bytes -> [Entry]. (The feed list is monitor.feed_list.)

feedparser only ever sees bytes we fetched (``io.BytesIO``), never a URL or a path, so it
does no I/O of its own. It reads RSS 0.9x/1.0/2.0 and Atom; JSON Feed is read here with
``json``. A feed that is ill-formed ("bozo") but still yields entries is used and the
problem is returned as a warning; one that yields none is a FeedParseError.
"""

from __future__ import annotations

import calendar
import datetime as dt
import email.utils
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import charset_normalizer
import feedparser
import lxml.etree
import lxml.html

from monitor.errors import FeedParseError
from monitor.feed_list import is_remote
from monitor.models import Entry

# What a feed may put in one field. A title is shown in subjects, digests and terminals; one
# of 1 MB made a 12 MB message that SMTP servers refuse. Real titles are under 300 characters.
TITLE_CHARS = 500
AUTHOR_CHARS = 200
SUMMARY_CHARS = 100_000  # a full article in content:encoded fits; more is not a summary


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]
    warning: str = ""  # why the feed was bozo, when it still gave entries


# --- parsing -------------------------------------------------------------------------------


def parse_feed(
    body: bytes, headers: Mapping[str, str], feed_url: str, language: str = ""
) -> ParsedFeed:
    """Entries of a fetched feed. ``language`` is the configured one, used when the feed
    does not say. Raises FeedParseError when the body yields no entries."""
    if _looks_like_json(body, headers):
        return _parse_json_feed(body, feed_url, language)
    response_headers = {k.lower(): v for k, v in headers.items()}
    if is_remote(feed_url):  # relative links in the feed resolve against it
        response_headers.setdefault("content-location", feed_url)
    result = _feedparser(body, response_headers)
    recoded = ""
    if isinstance(result.get("bozo_exception"), feedparser.CharacterEncodingOverride):
        # The declared charset did not decode the bytes and feedparser fell back to a
        # single-byte codec, which turns GBK or Big5 titles into mojibake without an error.
        # Detect the real charset and parse the text again as UTF-8.
        redecoded = _redecode(body)
        if redecoded is not None:
            text, codec = redecoded
            response_headers["content-type"] = _with_utf8(response_headers.get("content-type"))
            result = _feedparser(
                _XML_ENCODING.sub(r'\1"utf-8"', text, count=1).encode(), response_headers
            )
            recoded = f"the declared charset is wrong; decoded as {codec}"
    feed_language = language or str(result.feed.get("language", "") or "")
    entries = []
    for raw in result.entries:
        entry = _entry_from_feedparser(raw, feed_url, feed_language)
        if entry is not None:
            entries.append(entry)
    warning = recoded
    if result.get("bozo"):
        warning = (
            f"ill-formed feed: {type(result.bozo_exception).__name__}: {result.bozo_exception}"
        )
        warning = f"{recoded}; {warning}" if recoded else warning
    if not entries:
        if warning:
            raise FeedParseError(f"no entries; {warning}")
        if not result.get("version") and not result.feed:
            raise FeedParseError("not a feed (no RSS, Atom or JSON Feed found)")
        if not result.get("version"):
            raise FeedParseError("the feed has no entries")
        # A well-formed feed with no items (a quiet section) is a working feed.
    return ParsedFeed(
        title=str(result.feed.get("title", "") or ""), entries=entries, warning=warning
    )


def cap(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _feedparser(body: bytes, headers: dict[str, str]) -> Any:
    try:
        return feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser is meant never to raise; be sure one feed stays one feed
        raise FeedParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from exc


_XML_ENCODING = re.compile(r"""(<\?xml[^>]*?\bencoding\s*=\s*)["'][^"']*["']""")
_SINGLE_BYTE = re.compile(r"^(?:cp125\d|windows_125\d|latin_1|iso8859_\d+|ascii)$")


def _redecode(body: bytes) -> tuple[str, str] | None:
    """(text, codec) when charset detection finds a multi-byte charset that decodes the
    whole body; None when it finds nothing better than what feedparser fell back to."""
    best = charset_normalizer.from_bytes(body).best()
    if best is None or _SINGLE_BYTE.match(best.encoding):
        return None
    try:
        return body.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError):
        return None


def _with_utf8(content_type: str | None) -> str:
    media = (content_type or "application/xml").split(";")[0].strip()
    return f"{media}; charset=utf-8"


def _entry_from_feedparser(raw: Any, feed_url: str, language: str) -> Entry | None:
    title = html_to_text(str(raw.get("title", "") or ""))
    link = str(raw.get("link", "") or "").strip()
    # Full text in content:encoded beats a teaser in description; take the longer.
    texts = [str(c.get("value", "") or "") for c in raw.get("content", []) or []]
    texts.append(str(raw.get("summary", "") or ""))
    summary = max((html_to_text(t) for t in texts), key=len, default="")
    published = _struct_to_datetime(raw.get("published_parsed") or raw.get("updated_parsed"))
    if not (title or summary or link):
        return None
    guid = str(raw.get("id", "") or "").strip()
    if not link and is_remote(guid):
        link = guid  # RSS 1.0 items name their page in rdf:about only
    return Entry(
        feed_url=feed_url,
        guid=guid or fallback_guid(link, title, published),
        link=link,
        title=cap(title, TITLE_CHARS),
        summary=cap(summary, SUMMARY_CHARS),
        published=published,
        language=cap(str(raw.get("language", "") or "") or language, 35),
        author=cap(html_to_text(str(raw.get("author", "") or "")), AUTHOR_CHARS),
    )


def fallback_guid(link: str, title: str, published: dt.datetime | None) -> str:
    """An entry without an id is known by its link, else by its title and date."""
    if link:
        return link
    stamp = published.isoformat() if published else ""
    return "sha1:" + hashlib.sha1(f"{title}\n{stamp}".encode()).hexdigest()


def _struct_to_datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _looks_like_json(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(body: bytes, feed_url: str, language: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedParseError(f"not a JSON Feed: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedParseError("not a JSON Feed: no `items` list")
    warning = ""
    if "jsonfeed.org" not in str(data.get("version", "")):
        warning = "JSON document without a jsonfeed.org version; read as JSON Feed anyway"
    feed_language = language or _text(data.get("language"))
    entries = []
    for item in data["items"]:
        if isinstance(item, dict):
            entry = _entry_from_json(item, feed_url, feed_language)
            if entry is not None:
                entries.append(entry)
    if not entries and data["items"]:
        raise FeedParseError("the JSON Feed has no usable items")
    return ParsedFeed(title=_text(data.get("title")), entries=entries, warning=warning)


def _entry_from_json(item: dict[str, Any], feed_url: str, language: str) -> Entry | None:
    link = _text(item.get("url")) or _text(item.get("external_url"))
    title = html_to_text(_text(item.get("title")))
    candidates = [_text(item.get("content_text")), html_to_text(_text(item.get("content_html")))]
    candidates.append(html_to_text(_text(item.get("summary"))))
    summary = max(candidates, key=len)
    published = parse_date(_text(item.get("date_published")) or _text(item.get("date_modified")))
    if not (title or summary or link):
        return None
    authors = item.get("authors") or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    author = ", ".join(
        _text(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")
    )
    guid = _text(item.get("id"))
    return Entry(
        feed_url=feed_url,
        guid=guid or fallback_guid(link, title, published),
        link=link,
        title=cap(title, TITLE_CHARS),
        summary=cap(summary, SUMMARY_CHARS),
        published=published,
        language=cap(_text(item.get("language")) or language, 35),
        author=cap(author, AUTHOR_CHARS),
    )


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value).strip()


def parse_date(text: str) -> dt.datetime | None:
    """ISO 8601 or RFC 822, as aware UTC; None when it is neither."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_LINES = re.compile(r"\s*\n\s*")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment; block ends become line breaks."""
    if "<" not in markup and "&" not in markup:
        return _tidy(markup)
    marked = _BLOCK.sub(lambda m: m.group(0) + "\n", markup)
    try:
        text = lxml.html.fragment_fromstring(marked, create_parent="div").text_content()
    except (lxml.etree.ParserError, ValueError):
        text = re.sub(r"<[^>]*>", " ", markup)
    return _tidy(str(text))


def _tidy(text: str) -> str:
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()
