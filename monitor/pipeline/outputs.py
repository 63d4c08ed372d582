"""The served outputs: the main RSS/Atom feeds, digest.html, every baseline's timeline page
and Atom feed, and the index page, all written atomically into settings.outputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor import atom, digest, digest_render, pages
from monitor.config import Settings
from monitor.models import DeliveryReport, Digest, Watchlist
from monitor.pipeline.deliver import (
    _baselines,
    _paragraphs,
    _titles,
    build_daily_digest,
    digest_for_day,
)
from monitor.pipeline.ingest import open_database
from monitor.stories import group_stories
from storage import storage_errors
from storage.matches import (
    follow_up_counts,
    latest_follow_up_at,
    matches_for_baseline,
    recent_matches,
)

FEED_ENTRIES = 200  # follow-up rows read for the main feed
TIMELINE_ENTRIES = 500  # follow-ups shown on one baseline's page and feed


def latest_digest(
    db: Database, settings: Settings, now: dt.datetime, watchlists: Sequence[Watchlist]
) -> Digest:
    """What digest.html shows: the latest day with follow-ups (today's so far, labelled as
    such), or yesterday's when nothing was ever found."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    newest = latest_follow_up_at(db, now + dt.timedelta(seconds=1))
    day = newest.astimezone(zone).date() if newest else today - dt.timedelta(days=1)
    return build_daily_digest(db, settings, day, watchlists, now=now, so_far=day >= today)


def _baseline_outputs(
    db: Database, settings: Settings, now: dt.datetime, watchlist: Watchlist
) -> dict[Path, bytes | str]:
    """One baseline's timeline page and Atom feed."""
    baseline = watchlist.baseline
    out = settings.outputs / "baselines"
    rows = matches_for_baseline(db, baseline.id, TIMELINE_ENTRIES)
    items = digest.items_from_rows(rows, settings.base_url)
    title = baseline.title or baseline.id
    url = digest.baseline_page_url(settings.base_url, baseline.id)
    stories = group_stories(
        items,
        {baseline.id: title},
        {baseline.id: url},
        {baseline.id: watchlist.paragraphs},
        digest.threads_of(rows),
    )
    feed = atom.build_feed(
        items,
        base_url=settings.base_url,
        now=now,
        baseline_id=baseline.id,
        baseline_title=title,
    )
    page = pages.render_timeline(
        baseline, watchlist.paragraphs, stories, timezone=settings.timezone, now=now
    )
    return {out / f"{baseline.id}.html": page, out / f"{baseline.id}.atom": atom.render_atom(feed)}


def _index(
    settings: Settings,
    latest: Digest,
    watchlists: Sequence[Watchlist],
    counts: Mapping[str, int],
    now: dt.datetime,
    pending: Sequence[Path] = (),
) -> str:
    """The index page; ``pending`` are pages this run writes (listed as if written)."""
    links = [
        pages.BaselineLink(
            id=w.baseline.id,
            title=digest.clean(w.baseline.title) or w.baseline.id,
            page=f"baselines/{w.baseline.id}.html",
            feed=f"baselines/{w.baseline.id}.atom",
            follow_ups=counts.get(w.baseline.id, 0),
        )
        for w in watchlists
    ]
    folder = settings.outputs / "digests"
    names = {p.name for p in folder.glob("daily-*.html")}
    names |= {p.name for p in pending if p.parent == folder and p.name.startswith("daily-")}
    past = sorted(names, reverse=True)[:30]
    return pages.render_index(
        digest_title=digest.subject(latest),
        baselines=links,
        past_digests=past,
        now=now,
        timezone=settings.timezone,
    )


@storage_errors
def write_outputs(db: Database, settings: Settings, now: dt.datetime) -> list[Path]:
    """The main RSS and Atom feeds (one entry per story), digest.html (the latest day with
    follow-ups), each baseline's timeline page and Atom feed, and index.html, written
    atomically into settings.outputs. Returns the files whose content changed."""
    out = settings.outputs
    watchlists = _baselines(settings)
    titles = _titles(watchlists)
    rows = recent_matches(db, FEED_ENTRIES)
    items = digest.items_from_rows(rows, settings.base_url)
    urls = {
        w.baseline.id: digest.baseline_page_url(settings.base_url, w.baseline.id)
        for w in watchlists
    }
    stories = group_stories(items, titles, urls, _paragraphs(watchlists), digest.threads_of(rows))
    files: dict[Path, bytes | str] = {
        out / "feed.xml": atom.render_rss(
            atom.build_story_feed(
                stories, base_url=settings.base_url, now=now, self_name="feed.xml"
            )
        ),
        out / "atom.xml": atom.render_atom(
            atom.build_story_feed(
                stories, base_url=settings.base_url, now=now, self_name="atom.xml"
            )
        ),
    }
    latest = latest_digest(db, settings, now, watchlists)
    page = digest_render.render_html(latest, feedback=True)
    files[out / "digest.html"] = page
    yesterday = now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    if not latest.so_far and latest.key == yesterday.isoformat():
        files[out / "digests" / f"daily-{latest.key}.html"] = page
    for watchlist in watchlists:
        files.update(_baseline_outputs(db, settings, now, watchlist))
    files[out / "index.html"] = _index(
        settings, latest, watchlists, follow_up_counts(db), now, list(files)
    )
    return [path for path, data in files.items() if atom.write_atomic(path, data)]


def run_digest(
    settings: Settings,
    now: dt.datetime,
    day: dt.date | None = None,
    *,
    send: bool = False,
    out: str | Path | None = None,
) -> tuple[dt.date, Path, DeliveryReport]:
    """`monitor digest`: one day's digest (default: yesterday, local time), written and
    optionally sent; the feeds and pages in the outputs directory are refreshed too."""
    if day is None:
        day = now.astimezone(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)
    db = open_database(settings)
    try:
        directory = Path(out) if out else None
        page, report = digest_for_day(db, settings, day, now, send=send, out=directory)
        write_outputs(db, settings, now)
    finally:
        db.close()
    return day, page, report
