"""Is this the same article? Two pure answers: the same URL in other clothes, and the same text
under other boilerplate.

canonical_url(): courlan's normalisation (lower-case scheme and host, default port dropped,
tracking parameters such as utm_* and fbclid removed, query keys sorted, fragment dropped),
plus unwrapping of archive links that carry the original URL in their path.

fingerprint(): the text's three longest sentences, normalised (the one normal form of
monitor.text, letters and digits only), hashed. Syndicated copies differ in their
datelines, bylines, "read more" links and footers, which are short; the long body sentences
are what the outlets copy verbatim (in either Chinese script).
The first and last sentences of longer texts are left out, because a dateline
("BEIJING (Reuters) -") or a credit glues itself to them. Exact hashing keeps the lookup a
plain indexed equality. It misses copies edited or truncated inside those sentences, and
texts shorter than a few sentences (feed teasers) get none; that is the price of simplicity.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

import courlan

from monitor.text import alphanumeric

# Archive services that put the original URL in their path (orx365 snapshots use archive.is).
_ARCHIVE_PREFIX = re.compile(
    r"^https?://(?:www\.)?(?:archive\.(?:is|ph|today|li|md|vn)/(?:newest/|\d{14}/)?"
    r"|web\.archive\.org/web/\d+(?:[a-z_]+)?/)(?P<url>https?://.+)$",
    re.IGNORECASE,
)

MIN_TEXT = 200  # normalised characters; shorter texts (feed teasers) get no fingerprint
MIN_SENTENCE = 20
SENTENCES = 3
_SENTENCE_END = re.compile(r"[.!?。！？；;\n]+")


def canonical_url(url: str) -> str:
    """The URL this link stands for, so two spellings of one page compare equal."""
    url = url.strip()
    unwrapped = _ARCHIVE_PREFIX.match(url)
    if unwrapped:
        url = unwrapped.group("url")
    if not url.lower().startswith(("http://", "https://")):
        return url  # a guid or a local path: nothing to normalise
    try:
        normal = courlan.normalize_url(url)
    except (ValueError, AttributeError):
        normal = url
    try:
        parts = urlsplit(normal)
    except ValueError:  # "http://a]b/": nothing to normalise; the caller keys it as given
        return url
    # courlan keeps a bare trailing "?" and "/" differences; settle them so equal pages match.
    path = parts.path or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def normalise(text: str) -> str:
    """The one normal form (monitor.text.fold: NFKC, case, simplified Chinese), letters and
    digits only: what survives re-typesetting, and a copy in the other Chinese script."""
    return alphanumeric(text)


def fingerprint(text: str) -> str | None:
    """A hash of the text's longest sentences; None when the text is too short to tell."""
    ordered = [normalise(s) for s in _SENTENCE_END.split(text)]
    ordered = [s for s in ordered if len(s) >= MIN_SENTENCE]
    if len(ordered) < 2 or sum(map(len, ordered)) < MIN_TEXT:
        return None
    if len(ordered) > 4:
        # Datelines and credits stick to the first and last sentences; leave those out.
        ordered = ordered[1:-1]
    sentences = set(ordered)
    longest = sorted(sentences, key=lambda s: (-len(s), s))[:SENTENCES]
    digest = hashlib.sha256("\n".join(sorted(longest)).encode("utf-8")).hexdigest()
    return digest[:32]


ENTRY_MIN_TEXT = 40  # normalised characters of title and summary for an entry content key


def entry_key(title: str, summary: str) -> str | None:
    """A hash of an entry's title and summary, to know a re-published item within its feed.
    None when there is too little text to tell items apart (a bare "Morning briefing"
    title would make every day's briefing one item)."""
    title_part, summary_part = normalise(title), normalise(summary)
    if len(title_part) + len(summary_part) < ENTRY_MIN_TEXT:
        return None
    digest = hashlib.sha256(f"{title_part}\n{summary_part}".encode()).hexdigest()
    return digest[:32]


# Hosts whose links only redirect to the publisher's page.
REDIRECTORS = frozenset(
    {
        "news.google.com",
        "feedproxy.google.com",
        "feeds.feedburner.com",
        "t.co",
        "bit.ly",
        "ow.ly",
        "dlvr.it",
        "trib.al",
        "apple.news",
    }
)


def article_url(link: str, final_url: str | None) -> str:
    """The canonical URL to key an article by, given the feed's link and where fetching it
    ended. The final URL wins after a redirector or a move within the same site; a redirect
    to another site (a consent page, a paywall, a home page) is not the article's address,
    and keying by it would merge unrelated stories."""
    link_key = canonical_url(link)
    if not final_url:
        return link_key
    final_key = canonical_url(final_url)
    link_host = _host(link_key)
    if link_host in REDIRECTORS or link_host == _host(final_key):
        return final_key
    return link_key


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")
