"""Follow-ups -> RSS 2.0 and Atom feeds (feedgen), and atomic file writes for every output.

Two kinds of feed. The main feed (feed.xml, atom.xml) has one entry per story, GUID
``urn:followup-monitor:<article id>``, with every baseline it follows as a category; each
baseline's own Atom feed (baselines/<id>.atom) has one entry per follow-up of it, GUID
``urn:followup-monitor:<article id>:<baseline id>``. Both keep their GUIDs across
regenerations, so readers never show an entry twice. The RSS channel link is the HTML index.
A feed's own date is that of its newest entry, not the time of writing, so an unchanged feed
is byte-for-byte unchanged (and `monitor serve` answers 304 for it).

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
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from feedgen.feed import FeedGenerator

from monitor.models import DigestItem, DigestSource, DigestStory, FollowedBaseline

FEED_TITLE = "Follow-ups of the baseline articles"


def guid(item: DigestItem) -> str:
    """The GUID of a follow-up in a per-baseline feed: one article for one baseline."""
    return f"urn:followup-monitor:{item.article_id}:{quote(item.baseline_id, safe='')}"


def story_guid(story: DigestStory) -> str:
    """The GUID of a story in the main feed: its lead article, whatever baselines it follows."""
    return f"urn:followup-monitor:{story.lead.article_id}"


def _sources_html(sources: Sequence[DigestSource]) -> str:
    esc = html.escape
    links = [
        f'<a href="{esc(s.url)}">{esc(s.name or s.url)}</a>' if s.url else esc(s.name)
        for s in sources
    ]
    return f"<p>Also reported by: {', '.join(links)}</p>"


def _followed_html(b: FollowedBaseline) -> str:
    esc = html.escape
    why = f" — {esc(b.why)}" if b.why else ""
    passage = (
        f'<blockquote><a href="{esc(b.passage_url)}">¶{b.paragraph}</a> {esc(b.passage)}'
        "</blockquote>"
        if b.paragraph
        else ""
    )
    title = esc(b.baseline_title)
    link = f'<a href="{esc(b.baseline_url)}">{title}</a>' if b.baseline_url else title
    return f"<li>Follows up {link}{why}{passage}</li>"


def story_html(story: DigestStory) -> str:
    """The entry body of a story: extract, every baseline it follows (thread and passage
    once, linked), other sources; all escaped."""
    esc = html.escape
    lead = story.lead
    parts = [f"<p>{esc(lead.extract)}</p>"] if lead.extract else []
    parts.append("<ul>" + "".join(_followed_html(b) for b in story.baselines) + "</ul>")
    if story.other_sources:
        parts.append(_sources_html(story.other_sources))
    parts.append(f"<p>{esc(lead.source)} · {esc(lead.language)} · relevance {story.score:.2f}</p>")
    return "\n".join(parts)


def entry_html(item: DigestItem, baseline_title: str) -> str:
    """A per-baseline entry body: extract, reason, baseline passage link, other sources."""
    esc = html.escape
    parts = []
    if item.extract:
        parts.append(f"<p>{esc(item.extract)}</p>")
    parts.append(f"<p><strong>Why:</strong> {esc(item.reason)}</p>")
    parts.append(
        f'<p>Follows up <a href="{esc(item.passage_url)}">{esc(baseline_title)}'
        f"{f', paragraph {item.paragraph}' if item.paragraph else ''}</a></p>"
    )
    if item.other_sources:
        parts.append(_sources_html(item.other_sources))
    parts.append(f"<p>{esc(item.source)} · {esc(item.language)} · score {item.score:.2f}</p>")
    return "\n".join(parts)


def _generator(
    *, feed_id: str, title: str, subtitle: str, self_url: str, alternate: str, updated: dt.datetime
) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.subtitle(subtitle)
    # feedgen takes the RSS channel <link> from the last link given: the HTML page.
    feed.link(href=self_url, rel="self")
    feed.link(href=alternate, rel="alternate")
    feed.language("en")
    feed.updated(updated)
    feed.lastBuildDate(updated)
    feed.generator("followup-monitor")
    return feed


def build_story_feed(
    stories: Sequence[DigestStory], *, base_url: str, now: dt.datetime, self_name: str
) -> FeedGenerator:
    """The main feed: one entry per story, newest first, its baselines as categories.
    ``self_name`` is the file the feed is written to (feed.xml or atom.xml)."""
    root = base_url.rstrip("/")
    ordered = sorted(stories, key=lambda s: (s.lead.stored_at, s.lead.article_id), reverse=True)
    feed = _generator(
        feed_id=f"{root}/atom.xml",
        title=FEED_TITLE,
        subtitle="News that follows up the baselines, each development once with its baselines.",
        self_url=f"{root}/{self_name}",
        alternate=f"{root}/",
        updated=max((s.lead.matched_at for s in ordered), default=now),
    )
    for story in ordered:  # feedgen prepends by default; append keeps the order given
        lead = story.lead
        entry = feed.add_entry(order="append")
        entry.guid(story_guid(story), permalink=False)
        entry.title(lead.title)
        entry.link(href=lead.url or (story.baselines[0].passage_url if story.baselines else root))
        entry.published(lead.published or lead.stored_at)
        entry.updated(lead.matched_at)
        entry.author(name=lead.source or "unknown")
        follows = "; ".join(b.baseline_title for b in story.baselines)
        entry.summary(f"Follows up: {follows}")
        entry.content(story_html(story), type="html")
        for b in story.baselines:
            entry.category(term=b.baseline_id, label=b.baseline_title)
    return feed


def build_feed(
    items: Sequence[DigestItem],
    *,
    base_url: str,
    now: dt.datetime,
    baseline_id: str,
    baseline_title: str,
) -> FeedGenerator:
    """One baseline's Atom feed: each follow-up of it, newest first; ``now`` only dates an
    empty feed."""
    root = base_url.rstrip("/")
    page = f"{root}/baselines/{quote(baseline_id, safe='')}"
    ordered = sorted(items, key=lambda i: (i.stored_at, i.article_id), reverse=True)
    feed = _generator(
        feed_id=f"{page}.atom",
        title=f"Follow-ups of {baseline_title}",
        subtitle="What happened since this baseline, newest first.",
        self_url=f"{page}.atom",
        alternate=f"{page}.html",
        updated=max((i.matched_at for i in ordered), default=now),
    )
    for item in ordered:
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
