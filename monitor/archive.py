"""Paged and archived feeds (RFC 5005): the links from one feed document to the pages that
hold its older entries. Pure: bytes in, URLs out.

- Archived feeds: ``<link rel="prev-archive">`` points at the next-older archive document.
- Paged feeds: ``<link rel="next">`` points at the next page of older entries.
- JSON Feed: ``next_url`` plays the role of ``rel="next"``.

In RSS the links are ``<atom:link>`` elements; in Atom they are ``<link>`` elements of the
feed (never those inside an entry).
"""

from __future__ import annotations

import json
from urllib.parse import urljoin

import lxml.etree
import lxml.html

ATOM = "http://www.w3.org/2005/Atom"
# The relations that lead to older entries, most specific first.
OLDER = ("prev-archive", "next")


def feed_links(body: bytes, base_url: str = "") -> dict[str, str]:
    """``rel -> absolute URL`` for the feed-level links of a feed document."""
    stripped = body.lstrip()
    if stripped.startswith(b"{"):
        return _json_feed_links(stripped, base_url)
    try:
        parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
        root = lxml.etree.fromstring(stripped, parser=parser)
    except lxml.etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    if lxml.etree.QName(root).localname == "rss":
        channel = root.find("channel")
        parent = channel if channel is not None else root
    else:
        parent = root
    links: dict[str, str] = {}
    for child in parent:
        if not isinstance(child.tag, str) or lxml.etree.QName(child).localname != "link":
            continue
        # RSS's own <link> has text, not rel/href; only Atom links carry a relation.
        rel, href = child.get("rel"), child.get("href")
        if rel and href and rel not in links:
            links[rel] = urljoin(base_url, href.strip()) if base_url else href.strip()
    return links


def _json_feed_links(body: bytes, base_url: str) -> dict[str, str]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    next_url = data.get("next_url") if isinstance(data, dict) else None
    if isinstance(next_url, str) and next_url.strip():
        return {"next": urljoin(base_url, next_url.strip()) if base_url else next_url.strip()}
    return {}


def older_page(body: bytes, base_url: str = "") -> str | None:
    """The URL of the document holding the entries just older than this one, if any."""
    links = feed_links(body, base_url)
    for rel in OLDER:
        if rel in links:
            return links[rel]
    return None


def page_url(body: bytes | str) -> str | None:
    """The URL a saved page says it was published at: its canonical link, else og:url."""
    try:
        root = lxml.html.fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return None
    for xpath in (
        "//link[translate(@rel, 'CANONICAL', 'canonical')='canonical']/@href",
        "//meta[@property='og:url']/@content",
    ):
        for value in root.xpath(xpath):
            url = str(value).strip()
            if url.lower().startswith(("http://", "https://")):
                return url
    return None
