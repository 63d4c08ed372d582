"""Follow-ups -> RSS 2.0 and Atom feeds (feedgen), and atomic file writes for every output.

Each entry's GUID is ``urn:followup-monitor:<article id>:<baseline id>``: the same follow-up
keeps it across regenerations, so readers never show it twice. The feed's own date is that of
its newest entry, not the time of writing, so an unchanged feed is byte-for-byte unchanged
(and `monitor serve` answers 304 for it).

Text from source feeds is untrusted. Titles go in as text (feedgen XML-escapes them); the
entry HTML is built here with every value passed through ``html.escape`` and only http(s)
links kept (the caller's DigestItems already dropped other schemes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from monitor.models import DigestItem

FEED_TITLE = "Follow-ups of the baseline articles"


def guid(item: DigestItem) -> str:
    return f"urn:followup-monitor:{item.article_id}:{quote(item.baseline_id, safe='')}"


def entry_html(item: DigestItem, baseline_title: str) -> str:
    """The entry body: extract, reason, baseline passage link, other sources; all escaped."""
    esc = html.escape
    parts = []
    if item.extract:
        parts.append(f"<p>{esc(item.extract)}</p>")
    parts.append(f"<p><strong>Why:</strong> {esc(item.reason)}</p>")
    parts.append(
        f'<p>Follows up <a href="{esc(item.passage_url)}">{esc(baseline_title)}'
        f"{f', paragraph {item.paragraph}' if item.paragraph else ''}</a>"
        f"{': ' + esc(item.passage) if item.passage else ''}</p>"
    )
    if item.other_sources:
        links = [
            f'<a href="{esc(s.url)}">{esc(s.name or s.url)}</a>' if s.url else esc(s.name)
            for s in item.other_sources
        ]
        parts.append(f"<p>Also reported by: {', '.join(links)}</p>")
    parts.append(f"<p>{esc(item.source)} · {esc(item.language)} · score {item.score:.2f}</p>")
    return "\n".join(parts)


def build_feed(
    items: Sequence[DigestItem],
    *,
    base_url: str,
    now: dt.datetime,
    baseline_titles: Mapping[str, str] | None = None,
) -> FeedGenerator:
    """Newest first; ``now`` only dates an empty feed."""
    titles = baseline_titles or {}
    root = base_url.rstrip("/")
    ordered = sorted(items, key=lambda i: (i.stored_at, i.article_id, i.baseline_id), reverse=True)
    newest = max((i.matched_at for i in ordered), default=now)

    feed = FeedGenerator()
    feed.id(f"{root}/atom.xml")
    feed.title(FEED_TITLE)
    feed.subtitle("News articles that follow up the baselines, with the reason for each.")
    feed.link(href=f"{root}/digest.html", rel="alternate")
    feed.link(href=f"{root}/atom.xml", rel="self")
    feed.language("en")
    feed.updated(newest)
    feed.lastBuildDate(newest)
    feed.generator("followup-monitor")
    # feedgen prepends by default; append keeps the order given.
    for item in ordered:
        baseline_title = titles.get(item.baseline_id) or item.baseline_id
        entry = feed.add_entry(order="append")
        entry.guid(guid(item), permalink=False)
        entry.title(item.title)
        entry.link(href=item.url or item.passage_url)
        entry.published(item.published or item.stored_at)
        entry.updated(item.matched_at)
        entry.author(name=item.source or "unknown")
        entry.summary(f"{item.reason} (follows up: {baseline_title})")
        entry.content(entry_html(item, baseline_title), type="html")
        entry.category(term=item.baseline_id, label=baseline_title)
    return feed


def render_rss(feed: FeedGenerator) -> bytes:
    data: bytes = feed.rss_str(pretty=True)
    return data


def render_atom(feed: FeedGenerator) -> bytes:
    data: bytes = feed.atom_str(pretty=True)
    return data


def write_atomic(path: str | Path, data: bytes | str) -> bool:
    """Write ``data`` to ``path`` via a temp file, fsync and os.replace, so a reader sees the
    old file or the new one, never half. Returns False (and leaves the file, and its mtime,
    alone) when the content is already there."""
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with contextlib.suppress(OSError):
        if target.read_bytes() == payload:
            return False
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it 0600; the feed is public
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return True
