"""The feed list: watchlists/feeds.yaml read with a line number for every error, feeds added,
OPML in and out, which URLs can be polled, and feeds spread across hosts for polite polling."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

import lxml.etree
import yaml

from monitor.errors import ConfigError
from monitor.models import Feed

FEED_KEYS = {"url", "name", "language", "interval", "fetch_pages"}
MIN_INTERVAL = 5  # minutes; polling a news feed more often than this is impolite
DEFAULT_INTERVAL = 60


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
