"""Pure: follow-ups in a time window -> Digest (monitor/digest_render.py turns it into HTML
and plain text).

No I/O, no clock: the window and ``now`` come in as arguments, so a backfill produces what
the live monitor would have produced.

Two views of the same follow-ups. ``stories`` (what the email, the page and the feeds show):
one entry per development, with every baseline it follows up under it (monitor/stories.py
says when two reports are one development). ``sections``: one per baseline, one item per
story within it, for code that wants the follow-ups of one baseline.

Everything that came from a feed is untrusted: control characters are dropped and only
http(s) links are kept (digest_render.py renders HTML with autoescape on).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from monitor.models import Digest, DigestItem, DigestSection, DigestSource, FeedHealth
from monitor.stories import group_stories, same_story

EXTRACT_CHARS = 280
# Longest title shown: rows stored before feed fields were capped may hold a 1 MB title.
TITLE_CHARS = 500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def day_window(day: dt.date, tz: str | ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The local day ``day`` in ``tz`` as a half-open UTC window [start, end).

    Computed from the two local midnights, so a DST change day is 23 or 25 hours long."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def due_at(day: dt.date, tz: str | ZoneInfo, digest_time: str) -> dt.datetime:
    """When the digest of ``day`` is due: ``digest_time`` on the next local day, in UTC."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    hours, _, minutes = digest_time.partition(":")
    moment = dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(int(hours), int(minutes)), tzinfo=zone
    )
    return moment.astimezone(dt.UTC)


def days_due(
    now: dt.datetime,
    tz: str | ZoneInfo,
    digest_time: str,
    last_recorded: dt.date | None,
    catchup_days: int,
) -> list[dt.date]:
    """Days whose digest is due by ``now`` and not yet recorded, oldest first.

    Starts the day after the last recorded digest (a first run starts with the latest due
    day), and reaches back at most ``catchup_days`` days, so a monitor that was off for a
    month sends a week of digests, not thirty."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    latest = now.astimezone(zone).date()
    while due_at(latest, zone, digest_time) > now:
        latest -= dt.timedelta(days=1)
    earliest = latest - dt.timedelta(days=catchup_days - 1)
    if last_recorded is None:
        earliest = latest
    elif last_recorded + dt.timedelta(days=1) > earliest:
        earliest = last_recorded + dt.timedelta(days=1)
    count = (latest - earliest).days + 1
    return [earliest + dt.timedelta(days=n) for n in range(max(count, 0))]


def clean(text: str | None, limit: int | None = None) -> str:
    """Untrusted text as one clean line: no control or bidi characters, spaces collapsed;
    with ``limit``, cut to that many characters (an ellipsis marks the cut)."""
    if not text:
        return ""
    if limit is not None and len(text) > limit * 4:
        text = text[: limit * 4]  # bound the work on a huge field before normalising it
    line = " ".join(_CONTROL.sub("", unicodedata.normalize("NFC", text)).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def safe_url(url: str | None) -> str:
    """The URL if it is http(s) with a host, else "" (no javascript:, data: or file: links)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return ""
    if any(ch in url for ch in "\"'<> \n\r\t"):
        return ""
    return url


def extract_of(text: str | None, limit: int = EXTRACT_CHARS) -> str:
    """The first ``limit`` characters of the text, cut at a word boundary where there is one."""
    flat = clean(text)
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space > limit * 0.6:  # Latin text: end on a word; CJK text has no spaces to find
        cut = cut[:space]
    return cut.rstrip(" ,.;:，。；：、") + "…"


def baseline_page_url(base_url: str, baseline_id: str, paragraph: int | None = None) -> str:
    """Where `monitor serve` shows the baseline text, one anchor (#p<n>) per paragraph."""
    url = f"{base_url.rstrip('/')}/baselines/{quote(baseline_id, safe='')}.html"
    return f"{url}#p{paragraph}" if paragraph else url


def _parse_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _source_name(name: str | None, url: str) -> str:
    name = clean(name)
    if name:
        return name
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _item(row: Mapping[str, Any], base_url: str) -> DigestItem:
    url = safe_url(row.get("url"))
    stored_at = _parse_time(row.get("stored_at")) or dt.datetime.min.replace(tzinfo=dt.UTC)
    lead_source = _source_name(row.get("source_name"), url)
    others: list[DigestSource] = []
    for source in row.get("sources") or ():
        source_url = safe_url(source.get("url"))
        name = _source_name(source.get("source_name"), source_url)
        if not name and not source_url:
            continue  # nothing to show or link to
        if (source_url and source_url == url) or name.casefold() == lead_source.casefold():
            continue  # the lead outlet itself (its feed URL, or the same outlet again)
        if any(o.name.casefold() == name.casefold() for o in others):
            continue  # one link per outlet
        others.append(
            DigestSource(name=name, url=source_url, title=clean(source.get("title"), TITLE_CHARS))
        )
    return DigestItem(
        article_id=int(row["article_id"]),
        baseline_id=str(row["baseline_id"]),
        title=clean(row.get("title"), TITLE_CHARS) or url or "(untitled)",
        url=url,
        source=lead_source,
        published=_parse_time(row.get("published")),
        language=clean(row.get("language")),
        extract=extract_of(row.get("text")),
        reason=clean(row.get("reason")),
        score=float(row["score"]),
        entities=tuple(clean(e) for e in row.get("entities") or ()),
        paragraph=int(row.get("paragraph") or 0),
        passage=clean(row.get("passage")),
        passage_url=baseline_page_url(base_url, str(row["baseline_id"]), row.get("paragraph")),
        stored_at=stored_at,
        matched_at=_parse_time(row.get("matched_at")) or stored_at,
        other_sources=tuple(dict.fromkeys(others)),
    )


def threads_of(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], str]:
    """(article id, baseline id) -> the baseline thread that follow-up moves, where known."""
    return {
        (int(row["article_id"]), str(row["baseline_id"])): clean(str(row["thread"]))
        for row in rows
        if row.get("thread")
    }


def items_from_rows(rows: Iterable[Mapping[str, Any]], base_url: str) -> list[DigestItem]:
    """One item per follow-up, unfolded (the feed gives each follow-up its own entry)."""
    return [_item(row, base_url) for row in rows]


def _stories(items: Sequence[DigestItem]) -> list[DigestItem]:
    """Fold near-duplicate titles into the best-scoring item of their story."""
    leads: list[DigestItem] = []
    extra: dict[int, list[DigestSource]] = {}
    for item in sorted(items, key=lambda i: (-i.score, i.stored_at, i.article_id)):
        for index, lead in enumerate(leads):
            if same_story(lead.title, item.title):
                name = item.source or "another outlet"
                extra.setdefault(index, []).append(DigestSource(name, item.url, item.title))
                extra[index].extend(item.other_sources)
                break
        else:
            leads.append(item)
    folded = []
    for index, lead in enumerate(leads):
        more = [s for s in extra.get(index, []) if not (s.url and s.url == lead.url)]
        sources = tuple(dict.fromkeys((*lead.other_sources, *more)))
        folded.append(
            lead
            if sources == lead.other_sources
            else dataclasses.replace(lead, other_sources=sources)
        )
    return folded


def build_digest(
    rows: Iterable[Mapping[str, Any]],
    *,
    kind: str,
    key: str,
    title: str,
    start: dt.datetime,
    end: dt.datetime,
    timezone: str,
    base_url: str,
    baseline_titles: Mapping[str, str] | None = None,
    paragraphs: Mapping[str, Sequence[str]] | None = None,
    attention: Sequence[FeedHealth] = (),
    so_far: bool = False,
) -> Digest:
    """Rows shaped like ``storage.matches.matches_between`` -> a Digest: its stories (one
    per development, most important first) and its per-baseline sections.

    A row may carry more than the Match fields (a ``thread`` name, say): ``thread`` is shown
    as the why when present, anything else is ignored."""
    titles = baseline_titles or {}
    by_baseline: dict[str, list[DigestItem]] = {}
    rows = list(rows)
    threads = threads_of(rows)
    for row in rows:
        item = _item(row, base_url)
        by_baseline.setdefault(item.baseline_id, []).append(item)
    sections = [
        DigestSection(
            baseline_id=baseline_id,
            baseline_title=clean(titles.get(baseline_id)) or baseline_id,
            baseline_url=baseline_page_url(base_url, baseline_id),
            items=tuple(_stories(items)),
        )
        for baseline_id, items in by_baseline.items()
    ]
    sections.sort(key=lambda s: (-max(i.score for i in s.items), s.baseline_id))
    stories = group_stories(
        [item for items in by_baseline.values() for item in items],
        {s.baseline_id: s.baseline_title for s in sections},
        {s.baseline_id: s.baseline_url for s in sections},
        {k: [clean(p) for p in v] for k, v in (paragraphs or {}).items()},
        threads,
    )
    return Digest(
        kind=kind,
        key=key,
        title=title,
        start=start,
        end=end,
        timezone=timezone,
        sections=tuple(sections),
        stories=tuple(stories),
        attention=tuple(attention),
        so_far=so_far,
    )


def daily_digest(
    rows: Iterable[Mapping[str, Any]],
    day: dt.date,
    *,
    timezone: str,
    base_url: str,
    baseline_titles: Mapping[str, str] | None = None,
    paragraphs: Mapping[str, Sequence[str]] | None = None,
    attention: Sequence[FeedHealth] = (),
    so_far: bool = False,
) -> Digest:
    start, end = day_window(day, timezone)
    return build_digest(
        rows,
        kind="daily",
        key=day.isoformat(),
        title=f"Follow-ups for {day.isoformat()}" + (" (so far)" if so_far else ""),
        start=start,
        end=end,
        timezone=timezone,
        base_url=base_url,
        baseline_titles=baseline_titles,
        paragraphs=paragraphs,
        attention=attention,
        so_far=so_far,
    )


def alert_digest(
    rows: Sequence[Mapping[str, Any]],
    key: str,
    now: dt.datetime,
    *,
    timezone: str,
    base_url: str,
    baseline_titles: Mapping[str, str] | None = None,
    paragraphs: Mapping[str, Sequence[str]] | None = None,
) -> Digest:
    built = build_digest(
        rows,
        kind="alert",
        key=key,
        title="Alert",
        start=now,
        end=now,
        timezone=timezone,
        base_url=base_url,
        baseline_titles=baseline_titles,
        paragraphs=paragraphs,
    )
    count = len(built.stories)
    noun = "development" if count == 1 else "developments"
    return dataclasses.replace(built, title=f"Alert: {count} strong {noun}")


SUBJECT_TITLE_CHARS = 90


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def counts(digest: Digest) -> str:
    """'5 developments on 3 baselines': distinct stories, and the baselines they follow."""
    return (
        f"{_plural(len(digest.stories), 'development')} on "
        f"{_plural(digest.baseline_count, 'baseline')}"
    )


def subject(digest: Digest) -> str:
    if digest.kind == "daily":
        if digest.empty:
            return f"{digest.title}: nothing moved"
        return f"{digest.title}: {counts(digest)}"
    if not digest.stories:
        return digest.title
    lead = digest.stories[0].lead.title
    if len(lead) > SUBJECT_TITLE_CHARS:
        lead = lead[: SUBJECT_TITLE_CHARS - 1].rstrip() + "…"
    more = len(digest.stories) - 1
    return f"Alert: {lead}" + (f" (+{more} more)" if more else "")
