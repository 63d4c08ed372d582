"""Digests, alerts and the RSS/Atom feeds: build -> record pending -> claim -> send -> mark sent."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from http.server import ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor import atom, digest, digest_render, health, mail, serve, timeutil
from monitor.config import Settings
from monitor.errors import (
    DeliveryError,
    MonitorError,
)
from monitor.feed_list import load_feeds
from monitor.models import (
    DeliveryReport,
    Digest,
    FeedHealth,
    Watchlist,
)
from monitor.pipeline.ingest import open_database
from monitor.watchlist import check_watchlists
from storage import digests as outbox
from storage import feeds as stored_feeds
from storage import storage_errors
from storage.matches import matches_between

log = logging.getLogger(__name__)

# --- digests, alerts and feeds --------------------------------------------------------
#
# Order of steps (the outbox): build -> record pending -> claim -> send -> mark sent. A failed
# send leaves the row pending for the next run; a sent row is never claimed again.
# Without smtp_host nothing is recorded in the outbox (pages and feeds are still written):
# the outbox holds mail to deliver, and turning SMTP on later then sends from that day on
# instead of a backlog of old digests.

DIGEST_CATCHUP_DAYS = 7  # a monitor that was off sends at most this many missed digests
ALERT_LOOKBACK = dt.timedelta(days=1)  # older follow-ups go to the digest, not an alert
ATTENTION_FRESH = dt.timedelta(days=1)  # a digest ending longer ago says nothing of feeds now


def _baselines(settings: Settings) -> list[Watchlist]:
    """The watchlists, for baseline titles and passage pages; none if they cannot be read
    (the digest then names baselines by id, and delivery goes on)."""
    try:
        return check_watchlists(settings.watchlists_dir)[0]  # a broken one alone is left out
    except (MonitorError, OSError):
        return []


def _titles(watchlists: Sequence[Watchlist]) -> dict[str, str]:
    return {w.baseline.id: w.baseline.title for w in watchlists}


def _paragraphs(watchlists: Sequence[Watchlist]) -> dict[str, tuple[str, ...]]:
    return {w.baseline.id: w.paragraphs for w in watchlists}


def feed_health(db: Database, now: dt.datetime) -> list[FeedHealth]:
    """Every stored feed's health at ``now``, with its articles of the last 7 days."""
    recent = stored_feeds.articles_since(db, now - dt.timedelta(days=7))
    return [
        health.health_of(state, recent.get(state.origin_url, 0) or recent.get(state.url, 0))
        for state in stored_feeds.all_feeds(db)
    ]


@storage_errors
def list_feeds(
    settings: Settings, now: dt.datetime, feeds_file: str | Path | None = None
) -> list[FeedHealth]:
    """`monitor feeds list`: every feed's health; the feeds file's feeds are added first
    (as a poll would), so a feed never polled yet shows as new."""
    path = Path(feeds_file or settings.feeds_file)
    db = open_database(settings)
    try:
        if path.is_file():
            stored_feeds.sync_feeds(db, load_feeds(path), now)
        return feed_health(db, now)
    finally:
        db.close()


def attention_for(db: Database, end: dt.datetime, now: dt.datetime) -> list[FeedHealth]:
    """Feeds failing for more than a day, for a digest whose window ended at most a day
    before ``now`` (an old day's digest, caught up or backfilled, says nothing of feeds now)."""
    if now - end > ATTENTION_FRESH:
        return []
    return health.needing_attention(feed_health(db, now), now)


def build_daily_digest(
    db: Database,
    settings: Settings,
    day: dt.date,
    watchlists: Sequence[Watchlist] | None = None,
    *,
    now: dt.datetime | None = None,
    so_far: bool = False,
) -> Digest:
    """One local day's digest; with ``now``, feeds needing attention are part of it."""
    start, end = digest.day_window(day, settings.timezone)
    known = watchlists if watchlists is not None else _baselines(settings)
    return digest.daily_digest(
        matches_between(db, start, end),
        day,
        timezone=settings.timezone,
        base_url=settings.base_url,
        baseline_titles=_titles(known),
        paragraphs=_paragraphs(known),
        attention=attention_for(db, end, now) if now is not None else (),
        so_far=so_far,
    )


def write_digest_page(
    settings: Settings, built: Digest, directory: Path | None = None, html: str | None = None
) -> Path:
    """The digest as an HTML page (same content as the email) under <outputs>/digests/.
    ``html``: the digest already rendered, when the caller also records it."""
    path = (directory or settings.outputs / "digests") / f"{built.kind}-{built.key}.html"
    atom.write_atomic(path, digest_render.render_html(built) if html is None else html)
    return path


def record_digest(
    db: Database,
    settings: Settings,
    built: Digest,
    now: dt.datetime,
    alerted: Sequence[tuple[int, str]] = (),
    html: str | None = None,
) -> int | None:
    """Put a built digest in the outbox as pending (skipped: an empty day not to be sent).
    None if this kind and key is already there. ``html``: as for write_digest_page."""
    skip = built.kind == "daily" and built.empty and settings.digest_skip_empty
    return outbox.create_pending(
        db,
        kind=built.kind,
        key=built.key,
        subject=digest.subject(built),
        html=digest_render.render_html(built) if html is None else html,
        text=digest_render.render_text(built),
        recipients=settings.mail_to,
        message_id=mail.message_id_for(built.kind, built.key, settings.list_id),
        now=now,
        alerted=alerted,
        status=outbox.SKIPPED if skip else outbox.PENDING,
    )


def deliver_pending(
    db: Database, settings: Settings, now: dt.datetime, kind: str | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Send every unsent digest this run can claim; (sent keys, [(key, error)])."""
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    if not settings.smtp_host:
        return sent, failed
    for row in outbox.unsent(db, kind):
        if not outbox.claim(db, row["id"], now):
            continue  # another run holds it, or it was sent meanwhile
        message = mail.build_message(
            subject=row["subject"],
            text=row["text"],
            html=row["html"],
            sender=settings.mail_from,
            recipients=row["recipients"] or settings.mail_to,
            message_id=row["message_id"],
            date=now,
            list_id=settings.list_id,
            list_unsubscribe=settings.list_unsubscribe,
        )
        try:
            mail.send(message, settings)
        except DeliveryError as exc:
            attempts = int(row["attempts"]) + 1  # claim() counted this one
            give_up = exc.permanent and attempts >= outbox.MAX_ATTEMPTS
            outbox.mark_failed(db, row["id"], str(exc), give_up=give_up)
            fate = (
                f"marked failed after {attempts} attempts"
                if give_up
                else "stays pending; retried on the next run"
            )
            failed.append((row["key"], f"{exc} ({fate})"))
            # The service logs only its ticks otherwise: a failing send must be heard.
            log.warning("%s %s not sent: %s (%s)", row["kind"], row["key"], exc, fate)
            if exc.permanent:
                continue  # this message was refused, not the server down: try the others
            break  # the server is down or refusing: the rest waits for the next run too
        outbox.mark_sent(db, row["id"], row["message_id"], now)
        sent.append(row["key"])
    return sent, failed


@storage_errors
def send_pending_digests(db: Database, settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Build the daily digests that are due (digest_time of the next local day has passed)
    and not yet recorded, write their pages, record them, then send everything unsent."""
    watchlists = _baselines(settings)
    recorded = outbox.keys(db, "daily")
    last = max((dt.date.fromisoformat(k) for k in recorded), default=None)
    built: list[str] = []
    skipped: list[str] = []
    written: list[str] = []
    for day in digest.days_due(
        now, settings.timezone, settings.digest_time, last, DIGEST_CATCHUP_DAYS
    ):
        daily = build_daily_digest(db, settings, day, watchlists, now=now)
        html = digest_render.render_html(daily)  # the page and the email are one rendering
        written.append(str(write_digest_page(settings, daily, html=html)))
        if not settings.smtp_host:
            continue
        if record_digest(db, settings, daily, now, html=html) is not None:
            (skipped if daily.empty and settings.digest_skip_empty else built).append(daily.key)
    sent, failed = deliver_pending(db, settings, now, "daily")
    return DeliveryReport(
        built=tuple(built),
        sent=tuple(sent),
        failed=tuple(failed),
        skipped=tuple(skipped),
        written=tuple(written),
    )


@storage_errors
def send_alerts(db: Database, settings: Settings, now: dt.datetime) -> DeliveryReport:
    """Follow-ups scoring at least alert_threshold and not alerted yet, in one message per
    call (one poll cycle); each follow-up is recorded as alerted with its message, so it is
    in exactly one alert."""
    if not settings.smtp_host:
        return DeliveryReport()
    rows = outbox.unalerted_matches(db, settings.alert_threshold, now - ALERT_LOOKBACK)
    built: list[str] = []
    if rows:
        pairs = [(int(r["article_id"]), str(r["baseline_id"])) for r in rows]
        key = f"{now.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}-{pairs[0][0]}-{len(pairs)}"
        watchlists = _baselines(settings)
        alert = digest.alert_digest(
            rows,
            key,
            now,
            timezone=settings.timezone,
            base_url=settings.base_url,
            baseline_titles=_titles(watchlists),
            paragraphs=_paragraphs(watchlists),
        )
        if record_digest(db, settings, alert, now, alerted=pairs) is not None:
            built.append(key)
    sent, failed = deliver_pending(db, settings, now, "alert")
    return DeliveryReport(built=tuple(built), sent=tuple(sent), failed=tuple(failed))


@storage_errors
def digest_for_day(
    db: Database,
    settings: Settings,
    day: dt.date,
    now: dt.datetime,
    *,
    send: bool = False,
    out: Path | None = None,
) -> tuple[Path, DeliveryReport]:
    """`monitor digest`: build one day's digest and write its page; with ``send``, record it
    in the outbox (once per day) and deliver it unless it was sent already."""
    today = timeutil.local_day(now, settings.timezone)
    built = build_daily_digest(db, settings, day, now=now, so_far=day >= today)
    html = digest_render.render_html(built)
    page = write_digest_page(settings, built, out, html=html)
    if out is not None:
        atom.write_atomic(out / f"{built.kind}-{built.key}.txt", digest_render.render_text(built))
    if not send:
        return page, DeliveryReport(written=(str(page),))
    if not settings.smtp_host:
        raise DeliveryError(
            "cannot send: smtp_host is not set", hint="set smtp_host (and mail_to) to send mail"
        )
    _refuse_unfinished_day(settings, day, now)
    created = record_digest(db, settings, built, now, html=html) is not None
    sent, failed = deliver_pending(db, settings, now, "daily")
    row = outbox.get(db, built.kind, built.key)
    status = row["status"] if row is not None else None
    return page, DeliveryReport(
        built=(built.key,) if created else (),
        sent=tuple(sent),
        failed=tuple(failed),
        skipped=(built.key,) if status == outbox.SKIPPED else (),
        written=(str(page),),
        unconfirmed=(built.key,) if status == outbox.SENDING and not failed else (),
    )


def _refuse_unfinished_day(settings: Settings, day: dt.date, now: dt.datetime) -> None:
    """A day's digest is sent once: sending it before the day is over would keep the rest of
    the day's follow-ups out of email for good."""
    _, end = digest.day_window(day, settings.timezone)
    if now >= end:
        return
    zone = ZoneInfo(settings.timezone)
    due = digest.due_at(day, settings.timezone, settings.digest_time).astimezone(zone)
    raise DeliveryError(
        f"not sending the digest of {day}: the day is not over "
        f"(it is due at {due:%Y-%m-%d %H:%M} {settings.timezone})",
        hint="leave out --send to see the day so far; the service sends it when it is due",
    )


def make_server(settings: Settings, port: int | None = None) -> ThreadingHTTPServer:
    """`monitor serve`: the outputs directory over HTTP with ETag/Last-Modified and 304s,
    and the pages' right/wrong buttons (monitor.feedback)."""

    def record(article_id: int, baseline_id: str, verdict: str) -> None:
        from monitor import feedback  # loads the matcher's modules: only when used

        feedback.give(settings, article_id, baseline_id, verdict, dt.datetime.now(dt.UTC))

    return serve.make_server(
        settings.outputs,
        settings.serve_host,
        settings.serve_port if port is None else port,
        record,
        settings.base_url,
    )
