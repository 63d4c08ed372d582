"""The feed list (watchlists/feeds.yaml, OPML in and out) and feed parsing: fetched bytes ->
[Entry].

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

import charset_normalizer
import feedparser
import lxml.etree
import lxml.html
import yaml

from monitor.errors import ConfigError, FeedParseError
from monitor.models import Entry, Feed

FEED_KEYS = {"url", "name", "language", "interval", "fetch_pages"}
# What a feed may put in one field. A title is shown in subjects, digests and terminals; one
# of 1 MB made a 12 MB message that SMTP servers refuse. Real titles are under 300 characters.
TITLE_CHARS = 500
AUTHOR_CHARS = 200
SUMMARY_CHARS = 100_000  # a full article in content:encoded fits; more is not a summary
MIN_INTERVAL = 5  # minutes; polling a news feed more often than this is impolite
DEFAULT_INTERVAL = 60


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    entries: list[Entry]
    warning: str = ""  # why the feed was bozo, when it still gave entries


# --- the feed list -------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line each mapping starts on, for error messages."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def is_remote(url: str) -> bool:
    """An http(s) URL (the only links ever fetched or kept as addresses)."""
    return url[:8].lower().startswith(("http://", "https://"))


def url_problem(url: str) -> str | None:
    """Why an http(s) URL cannot be used as an address (no host, a broken IPv6 bracket, a
    port out of range), or None. urlsplit raises on these, and one such link from a
    stranger's feed must not end a poll."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        return f"bad URL: {exc}"
    if not parts.hostname:
        return "bad URL: no host"
    return None


def is_usable_link(url: str) -> bool:
    """An http(s) URL that parses: safe to key, fetch and show."""
    return is_remote(url) and url_problem(url) is None


def load_feeds(path: str | Path) -> list[Feed]:
    """Read and validate a feeds file. Relative local paths are taken relative to the file,
    so a sample feed list works from any working directory. Errors name file:line."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read feeds file {path}: {exc.strerror}",
            hint="pass --feeds FILE or set feeds_file",
        ) from exc
    try:
        data = yaml.load(raw, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("feeds"), list):
        raise ConfigError(f"{path}:1: feeds: expected a top-level `feeds:` list")
    feeds: list[Feed] = []
    seen: dict[str, int] = {}
    for item in data["feeds"]:
        line = item.get("__line__", 0) if isinstance(item, dict) else 0
        feed = _feed_from(item, path)
        if feed.url in seen:
            raise ConfigError(
                f"{path}:{line}: url: {feed.url} is already listed on line {seen[feed.url]}"
            )
        seen[feed.url] = line
        feeds.append(feed)
    return feeds


def _feed_from(item: Any, path: Path) -> Feed:
    if not isinstance(item, dict):
        raise ConfigError(f"{path}: feeds: each feed must be a mapping with at least `url`")
    line = item.pop("__line__", 0)
    where = f"{path}:{line}"
    unknown = sorted(set(item) - FEED_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: {unknown[0]}: unknown field (known: {', '.join(sorted(FEED_KEYS))})"
        )
    url = item.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: url: missing or not a string")
    url = url.strip()
    if "://" in url and not is_remote(url) and not url.startswith("file://"):
        raise ConfigError(f"{where}: url: only http(s) URLs and local paths are polled: {url}")
    problem = url_problem(url) if is_remote(url) else None
    if problem:
        raise ConfigError(f"{where}: url: {problem}: {url}")
    if not is_remote(url):
        local = Path(url.removeprefix("file://"))
        url = str(local if local.is_absolute() else (path.parent / local).resolve())
    name = item.get("name", "")
    language = item.get("language", "")
    for field_name, value in (("name", name), ("language", language)):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {field_name}: expected text, got {value!r}")
    interval = item.get("interval", DEFAULT_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < MIN_INTERVAL:
        raise ConfigError(
            f"{where}: interval: expected whole minutes >= {MIN_INTERVAL}, got {interval!r}"
        )
    fetch_pages = item.get("fetch_pages", True)
    if not isinstance(fetch_pages, bool):
        raise ConfigError(f"{where}: fetch_pages: expected true or false, got {fetch_pages!r}")
    return Feed(
        url=url,
        name=name,
        language=language,
        interval_minutes=interval,
        fetch_pages=fetch_pages,
    )


def feeds_yaml(feeds: Sequence[Feed]) -> str:
    """YAML list items for ``feeds`` (to append under `feeds:`)."""
    lines = []
    for feed in feeds:
        lines.append(f"  - url: {json.dumps(feed.url, ensure_ascii=False)}")
        if feed.name:
            lines.append(f"    name: {json.dumps(feed.name, ensure_ascii=False)}")
        if feed.language:
            lines.append(f"    language: {json.dumps(feed.language)}")
        lines.append(f"    interval: {feed.interval_minutes}")
        if not feed.fetch_pages:
            lines.append("    fetch_pages: false")
    return "\n".join(lines) + "\n"


def add_feeds(path: str | Path, new: Sequence[Feed]) -> list[Feed]:
    """Append the feeds of ``new`` not already listed to the feeds file (keeping its comments).
    Returns the feeds added."""
    path = Path(path)
    existing = {f.url for f in load_feeds(path)} if path.exists() else set()
    added = [f for f in dict((f.url, f) for f in new).values() if f.url not in existing]
    if not added:
        return []
    text = path.read_text(encoding="utf-8") if path.exists() else "feeds:\n"
    if not text.endswith("\n"):
        text += "\n"
    candidate = text + feeds_yaml(added)
    path.write_text(candidate, encoding="utf-8")
    try:
        listed = {f.url for f in load_feeds(path)}
    except ConfigError:
        listed = set()
    if not all(f.url in listed for f in added):
        # `feeds:` is not the last block of the file: rewrite it whole, comments are lost.
        path.write_text(text, encoding="utf-8")
        everything = load_feeds(path) + added
        path.write_text("feeds:\n" + feeds_yaml(everything), encoding="utf-8")
    return added


# --- OPML ----------------------------------------------------------------------------------


def read_opml(data: bytes, source: str = "OPML") -> list[Feed]:
    """Feeds listed in an OPML document: every outline with an xmlUrl, at any depth."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError as exc:
        raise ConfigError(f"{source}: not valid OPML: {exc}") from exc
    feeds = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or "").strip()
        if not is_remote(url):
            continue
        problem = url_problem(url)
        if problem:
            raise ConfigError(f"{source}:{outline.sourceline}: xmlUrl: {problem}: {url}")
        name = outline.get("title") or outline.get("text") or ""
        language = outline.get("language") or ""
        feeds.append(Feed(url=url, name=name.strip(), language=language.strip()))
    if not feeds:
        raise ConfigError(f"{source}: no outline with an http(s) xmlUrl")
    return feeds


def write_opml(feeds: Sequence[Feed], title: str = "followup-monitor feeds") -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_escape(title)}</title></head>",
        "  <body>",
    ]
    for feed in feeds:
        attrs = f'type="rss" text={quoteattr(feed.name or feed.url)} xmlUrl={quoteattr(feed.url)}'
        if feed.name:
            attrs += f" title={quoteattr(feed.name)}"
        if feed.language:
            attrs += f" language={quoteattr(feed.language)}"
        lines.append(f"    <outline {attrs}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


_T = TypeVar("_T")


def spread_by_host(items: Sequence[_T], url: Callable[[_T], str]) -> list[_T]:
    """``items`` reordered round-robin across their URLs' hosts (stable within a host), so a
    batch cut from the front holds many hosts and the per-host delay overlaps instead of
    adding up."""
    by_host: dict[str, list[_T]] = {}
    for item in items:
        by_host.setdefault(_netloc(url(item)), []).append(item)
    queues = list(by_host.values())
    spread: list[_T] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        spread.extend(q[rank] for q in queues if rank < len(q))
    return spread


def _netloc(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:  # an unparseable URL is its own host
        return url
