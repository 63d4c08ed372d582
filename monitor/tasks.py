"""The queue's jobs: poll one feed, ingest one entry (fetch and extract its page, match the
article, store it), deliver the outbox. Each runs the single process's own steps (the same
fetch, parse, extract, dedupe, match and digest code, and the same decisions from
monitor.entries) on one unit of work, against any Storage, and each is idempotent:

- poll_feed claims the feed with a conditional UPDATE first; a second delivery finds it
  not due and does nothing;
- ingest_entry stores the entry, its article, sources and follow-ups in one transaction
  that does nothing when the entry is already stored;
- deliver claims each outbox row before sending it (storage/digests.py's order of steps).

A job takes the ``now`` the scheduler gave it, so a distributed run stores the same
``stored_at`` (and so fills the same digest days) as the single process would at that tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from monitor import digest, digest_render, mail, schedule
from monitor import entries as decide
from monitor.config import Settings
from monitor.dedupe import fingerprint
from monitor.errors import DeliveryError, FeedParseError, FetchError
from monitor.extract import Extractor
from monitor.feeds import parse_feed
from monitor.fetch import FetchRequest, fetch_all
from monitor.match import Matcher
from monitor.models import DeliveryReport, Entry, Feed, FeedOutcome, FeedState, Fetched
from monitor.pipeline.deliver import (
    DIGEST_CATCHUP_DAYS,
    _baselines,
    _titles,
    write_digest_page,
)
from monitor.pipeline.ingest import read_page
from storage.digests import MAX_ATTEMPTS
from storage.interface import EntryResult, NewDigest, Source, Storage
from storage.postgres.jobs import Job

POLL_LEASE = dt.timedelta(minutes=10)  # a poller that dies frees its feed after this


class HostLimiter(Protocol):
    """Per-host politeness shared by every worker: blocks until ``url``'s host may be asked."""

    def wait(self, url: str) -> None: ...


class NoLimit:
    def wait(self, url: str) -> None:
        return None


@dataclass
class JobContext:
    """What a worker process holds for its jobs (built once per process)."""

    settings: Settings
    storage: Storage
    matcher: Matcher
    feeds: Mapping[str, Feed]  # by the URL the feeds file lists
    limiter: HostLimiter = field(default_factory=NoLimit)
    enqueue: Callable[[Job], object] = lambda job: None
    extractor: Extractor | None = None

    def extract(self) -> Extractor:
        if self.extractor is None:
            self.extractor = Extractor(self.settings)
        return self.extractor


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def poll_job(state: FeedState, now: dt.datetime) -> Job:
    return Job("poll_feed", f"poll:{state.url}", {"url": state.url, "now": iso(now)})


def entry_job(entry: Entry, now: dt.datetime) -> Job:
    payload = asdict(entry)
    payload["published"] = iso(entry.published) if entry.published else None
    return Job(
        "ingest_entry", f"entry:{entry.feed_url}\n{entry.guid}", {**payload, "now": iso(now)}
    )


def deliver_job(now: dt.datetime) -> Job:
    return Job("deliver", "deliver", {"now": iso(now)})


def run(ctx: JobContext, job: Job) -> Any:
    """Run one job; what it did (for logs and tests)."""
    now = dt.datetime.fromisoformat(job.payload["now"])
    if job.kind == "poll_feed":
        return poll_feed(ctx, job.payload["url"], now)
    if job.kind == "ingest_entry":
        fields = {k: v for k, v in job.payload.items() if k != "now"}
        published = fields.pop("published")
        entry = Entry(
            **fields, published=dt.datetime.fromisoformat(published) if published else None
        )
        return ingest_entry(ctx, entry, now)
    if job.kind == "deliver":
        return deliver(ctx, now)
    raise ValueError(f"unknown job kind {job.kind!r}")


# --- poll one feed ----------------------------------------------------------------------------


def poll_feed(ctx: JobContext, url: str, now: dt.datetime) -> FeedOutcome | None:
    """Fetch and parse one due feed and enqueue its new entries; None when the feed was not
    due any more (another delivery of this job polled it). Entries are enqueued before the
    feed's validators are stored, so a kill in between fetches the feed again, loses nothing."""
    state = ctx.storage.claim_feed(url, now, POLL_LEASE)
    if state is None:
        return None
    feed = ctx.feeds.get(state.origin_url) or Feed(state.origin_url)
    ctx.limiter.wait(state.url)
    request = FetchRequest(state.url, state.etag, state.last_modified, trusted=True)
    result = fetch_all([request], ctx.settings)[0]
    if isinstance(result, FetchError):
        return _failed(ctx, now, state, result, result.status)
    if result.permanent_redirect and ctx.storage.update_url(state.url, result.permanent_redirect):
        state = FeedState(**{**state.__dict__, "url": result.permanent_redirect})
    if result.status == 304:
        return _succeeded(ctx, now, state, result, "unchanged")
    try:
        parsed = parse_feed(result.body, result.headers, state.origin_url, feed.language)
    except FeedParseError as exc:
        return _failed(ctx, now, state, exc, result.status)
    keys: set[tuple[str, str]] = set()
    fresh = 0
    for entry in parsed.entries:
        key = (entry.feed_url, entry.guid)
        if key in keys or ctx.storage.is_entry_seen(*key):
            continue
        keys.add(key)
        ctx.enqueue(entry_job(entry, now))
        fresh += 1
    outcome = _succeeded(ctx, now, state, result, "new")
    return FeedOutcome(
        url=outcome.url,
        name=outcome.name,
        status="new",
        new=fresh,
        entries=len(parsed.entries),
        seen=len(parsed.entries) - fresh,
        warning=parsed.warning,
        next_poll_at=outcome.next_poll_at,
    )


def _failed(
    ctx: JobContext, now: dt.datetime, state: FeedState, error: Exception, status: int | None
) -> FeedOutcome:
    retry_after = getattr(error, "retry_after", None)
    next_poll = schedule.next_poll_after_failure(
        state.error_count + 1, now, ctx.settings, retry_after=retry_after
    )
    ctx.storage.record_failure(
        state.url, now, error=str(error), status=status, next_poll_at=next_poll
    )
    return FeedOutcome(state.url, state.name, "failed", error=str(error), next_poll_at=next_poll)


def _succeeded(
    ctx: JobContext, now: dt.datetime, state: FeedState, result: Fetched, status: str
) -> FeedOutcome:
    next_poll = schedule.next_poll_after_success(
        now, interval_minutes=state.interval_minutes, headers=result.headers
    )
    ctx.storage.record_success(
        state.url,
        now,
        status=result.status,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        next_poll_at=next_poll,
    )
    return FeedOutcome(state.url, state.name, status, next_poll_at=next_poll)


# --- ingest one entry -------------------------------------------------------------------------


def _stored_source(entry: Entry, feeds: Mapping[str, Feed]) -> Source:
    return Source(
        url=decide.source_url(entry),
        feed_url=entry.feed_url,
        source_name=decide.source_name(entry, feeds),
        title=entry.title,
    )


def ingest_entry(ctx: JobContext, entry: Entry, now: dt.datetime) -> EntryResult | None:
    """One new entry: another source of a stored article, or its page fetched and
    extracted, the article matched, and all stored in one transaction. The single process's
    decisions (monitor.entries) on one entry: the article from the page or the feed's text,
    and the follow-ups of both texts, as the single process keeps them when a page re-matches
    an article it stored from the feed. None when already handled."""
    storage = ctx.storage
    if storage.is_entry_seen(entry.feed_url, entry.guid):
        return None
    source = _stored_source(entry, ctx.feeds)
    known = storage.add_known_source(
        decide.lookup_urls(entry), source, entry.feed_url, entry.guid, now
    )
    if known is not None:
        return EntryResult(known, False)
    name = decide.source_name(entry, ctx.feeds)
    fetch_pages = ctx.settings.fetch_pages
    if decide.page_wanted(entry, fetch_pages, ctx.feeds.get(entry.feed_url)):
        ctx.limiter.wait(entry.link)
        page = fetch_all([FetchRequest(entry.link)], ctx.settings)[0]
        article = decide.article_from(entry, name, read_page(entry, page, ctx.extract()))
        found = decide.follow_ups_after_page(
            ctx.matcher.match(decide.feed_article(entry, name)), ctx.matcher.match(article)
        )
    else:
        article = decide.feed_article(entry, name, decide.no_page_reason(entry, fetch_pages))
        found = ctx.matcher.match(article)
    return storage.store_entry(
        article,
        fingerprint(article.text),
        source,
        decide.lookup_urls(entry, article),
        entry.feed_url,
        entry.guid,
        found,
        now,
    )


# --- deliver the outbox -----------------------------------------------------------------------


def deliver(ctx: JobContext, now: dt.datetime) -> DeliveryReport:
    """The daily digests that are due, built, written, recorded and sent: the steps of
    monitor.pipeline.deliver.send_pending_digests over the Storage contract."""
    settings, storage = ctx.settings, ctx.storage
    titles = _titles(_baselines(settings))
    recorded = storage.outbox_keys("daily")
    last = max((dt.date.fromisoformat(k) for k in recorded), default=None)
    built: list[str] = []
    skipped: list[str] = []
    written: list[str] = []
    for day in digest.days_due(
        now, settings.timezone, settings.digest_time, last, DIGEST_CATCHUP_DAYS
    ):
        start, end = digest.day_window(day, settings.timezone)
        daily = digest.daily_digest(
            [follow_up.as_row() for follow_up in storage.matches_between(start, end)],
            day,
            timezone=settings.timezone,
            base_url=settings.base_url,
            baseline_titles=titles,
        )
        written.append(str(write_digest_page(settings, daily)))
        if not settings.smtp_host:
            continue
        skip = daily.empty and settings.digest_skip_empty
        recorded_id = storage.create_pending(
            NewDigest(
                kind=daily.kind,
                key=daily.key,
                subject=digest.subject(daily),
                html=digest_render.render_html(daily),
                text=digest_render.render_text(daily),
                recipients=tuple(settings.mail_to),
                message_id=mail.message_id_for(daily.kind, daily.key, settings.list_id),
                status="skipped" if skip else "pending",
            ),
            now,
        )
        if recorded_id is not None:
            (skipped if skip else built).append(daily.key)
    sent, failed = send_outbox(ctx, now, "daily")
    return DeliveryReport(
        built=tuple(built),
        sent=tuple(sent),
        failed=tuple(failed),
        skipped=tuple(skipped),
        written=tuple(written),
        unconfirmed=unconfirmed(storage, "daily"),
    )


def unconfirmed(storage: Storage, kind: str | None = None) -> tuple[str, ...]:
    """Keys of digests claimed for sending whose server answer is not recorded: a sender
    died between DATA and mark_sent (or is sending right now). Whether the server took the
    message cannot be known, so the row waits out its claim lease and is then sent again
    (with the same Message-ID), as in the single process."""
    return tuple(row.key for row in storage.unsent(kind) if row.status == "sending")


def send_outbox(
    ctx: JobContext, now: dt.datetime, kind: str | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Send every unsent outbox row this worker can claim; (sent keys, [(key, error)])."""
    settings, storage = ctx.settings, ctx.storage
    sent: list[str] = []
    failed: list[tuple[str, str]] = []
    if not settings.smtp_host:
        return sent, failed
    for row in storage.unsent(kind):
        if not storage.claim_outbox(row.id, now):
            continue  # another worker holds it, or it was sent meanwhile
        message = mail.build_message(
            subject=row.subject,
            text=row.text,
            html=row.html,
            sender=settings.mail_from,
            recipients=list(row.recipients) or list(settings.mail_to),
            message_id=row.message_id,
            date=now,
            list_id=settings.list_id,
            list_unsubscribe=settings.list_unsubscribe,
        )
        try:
            mail.send(message, settings)
        except DeliveryError as exc:
            # As the single process (monitor.pipeline.deliver.deliver_pending): a message
            # refused with a 5xx answer MAX_ATTEMPTS times is given up, and does not hold up
            # the others; a server that is down or busy holds up the rest until next run.
            give_up = exc.permanent and row.attempts + 1 >= MAX_ATTEMPTS  # claim counted one
            storage.mark_failed(row.id, str(exc), give_up=give_up)
            failed.append((row.key, str(exc)))
            if exc.permanent:
                continue
            break
        storage.mark_sent(row.id, row.message_id, now)
        sent.append(row.key)
    return sent, failed
