"""The scale-out path: Dramatiq over Redis carries the jobs of monitor/tasks.py from exactly
one scheduler (``monitor dispatch``) to any number of ``monitor worker`` processes that share
one PostgreSQL database.

- A job is recorded in the ledger (storage/postgres/jobs.py) before its message is sent;
  the message carries only the job's key.
- A worker claims the key with a conditional UPDATE, runs the job, and marks it done; the
  Dramatiq message is acknowledged only after the actor returns, i.e. after the result and
  the ledger are stored. A failure is kept in the ledger and retried by Dramatiq.
- One scheduler: ``monitor dispatch`` holds a PostgreSQL advisory lock for its lifetime; a
  second one exits with one line.
- Per-host politeness is shared: each fetch books its host's next start in Redis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from monitor import tasks
from monitor.config import Settings
from monitor.errors import ConfigError, MonitorError
from monitor.feed_list import load_feeds, spread_by_host
from monitor.models import DeliveryReport
from monitor.pipeline.ingest import build_matcher
from storage.postgres import PostgresStorage
from storage.postgres.jobs import Job, JobLedger, QueueStatus

log = logging.getLogger(__name__)

QUEUE = "monitor"
ACTOR = "run_job"
NAMESPACE = "monitor"
RESEND_AFTER = dt.timedelta(minutes=10)  # a job queued this long unstarted is sent again
QUEUE_GRACE = dt.timedelta(seconds=5)  # a job recorded but not yet sent, not yet lost
SCHEDULER_LOCK = 7_301_014  # the advisory lock `monitor dispatch` holds
MAX_RETRIES = 5  # Dramatiq's retries of a failed job, MIN_BACKOFF_MS..MAX_BACKOFF_MS apart
MIN_BACKOFF_MS, MAX_BACKOFF_MS = 1_000, 60_000
RUNS = MAX_RETRIES + 1  # a job that failed this often has been given up
# A failed job not retried this long after its failure lost its retry (held in Redis).
RETRY_OVERDUE = dt.timedelta(milliseconds=2 * MAX_BACKOFF_MS)
UNCONFIRMED = (
    "a send was started and its answer not recorded (a worker was stopped mid-send); "
    "it is tried again once its claim expires"
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=max(1, settings.job_lease_seconds))


def require_scale_settings(settings: Settings) -> None:
    if not settings.database_url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "the task queue needs PostgreSQL: database_url is not a postgresql:// URL",
            hint="set database_url (MONITOR_DATABASE_URL) and queue_url (MONITOR_QUEUE_URL)",
        )
    if not settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            "the task queue needs Redis: queue_url is not a redis:// URL",
            hint="set queue_url, e.g. MONITOR_QUEUE_URL=redis://127.0.0.1:6379/0",
        )


def make_broker(queue_url: str) -> Any:
    from dramatiq.brokers.redis import RedisBroker

    # A dead worker's unacknowledged messages go back to the queue after the heartbeat
    # timeout; 30 s instead of Dramatiq's 60 s default.
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=queue_url, namespace=NAMESPACE, heartbeat_timeout=30_000
    )


class RedisHostLimiter:
    """``per_host_delay`` between the starts of two requests to one host, across every
    worker: each caller books the host's next free start in Redis (one atomic script, as
    monitor.fetch's in-process clock does) and sleeps until it."""

    _BOOK = """
    local now = tonumber(ARGV[1])
    local delay = tonumber(ARGV[2])
    local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
    local start = math.max(now, nxt)
    redis.call('SET', KEYS[1], tostring(start + delay), 'PX', math.ceil(delay) + 60000)
    return tostring(start - now)
    """

    def __init__(self, client: Any, delay_seconds: float) -> None:
        self.client = client
        self.delay_ms = delay_seconds * 1000.0
        self.book = client.register_script(self._BOOK)

    def wait(self, url: str) -> None:
        if self.delay_ms <= 0:
            return
        host = urlsplit(url).netloc.lower()
        seconds, micros = self.client.time()
        now_ms = seconds * 1000.0 + micros / 1000.0
        wait_ms = float(self.book(keys=[f"{NAMESPACE}:host:{host}"], args=[now_ms, self.delay_ms]))
        if wait_ms > 0:
            threading.Event().wait(wait_ms / 1000.0)


@dataclass
class Dispatcher:
    """Sends jobs: into the ledger first, then (if not already queued) onto Redis."""

    ledger: JobLedger
    broker: Any
    lease: dt.timedelta = dt.timedelta(minutes=5)  # settings.job_lease_seconds

    def send(self, job: Job, now: dt.datetime | None = None) -> bool:
        if not self.ledger.enqueue(job, now or utcnow()):
            return False
        self._message(job.key)
        return True

    def resend_lost(self, now: dt.datetime) -> int:
        """Send again the jobs whose message is lost: queued long ago and never started, or
        claimed by a worker that died. When Redis holds fewer messages than the ledger has
        jobs waiting, Redis lost some (a restart without persistence): every waiting job
        is sent again at once. A job sent twice still runs once (the claim)."""
        stale, overdue = now - self.lease, now - RETRY_OVERDUE
        waiting = self.ledger.unsent(now - QUEUE_GRACE, stale, overdue, RUNS)
        if self.broker.client.hlen(f"{NAMESPACE}:{QUEUE}.msgs") >= len(waiting):
            # Redis may hold them all: only those waiting suspiciously long go again.
            waiting = self.ledger.unsent(now - RESEND_AFTER, stale, overdue, RUNS)
        for job in waiting:
            self._message(job.key)
        return len(waiting)

    def _message(self, key: str) -> None:
        from dramatiq import Message

        self.broker.enqueue(
            Message(queue_name=QUEUE, actor_name=ACTOR, args=(key,), kwargs={}, options={})
        )


# --- the scheduler ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickReport:
    due: int
    enqueued: int
    resent: int


def dispatch_tick(
    storage: PostgresStorage, dispatcher: Dispatcher, settings: Settings, now: dt.datetime
) -> TickReport:
    """One scheduler tick: sync the feeds file, enqueue a poll job per due feed (spread
    across hosts) and one deliver job. Jobs already queued are not queued twice."""
    feeds = load_feeds(settings.feeds_file)
    storage.sync_feeds(feeds, now)
    origins = {feed.url for feed in feeds}
    due = spread_by_host(storage.due_feeds(now, origins=origins), lambda s: s.url)
    # Lost messages are looked for before this tick's own are sent, which would hide them.
    resent = dispatcher.resend_lost(utcnow())
    enqueued = sum(dispatcher.send(tasks.poll_job(state, now)) for state in due)
    enqueued += dispatcher.send(tasks.deliver_job(now))
    return TickReport(due=len(due), enqueued=enqueued, resent=resent)


@contextlib.contextmanager
def sole_scheduler(storage: PostgresStorage) -> Iterator[None]:
    """Hold the scheduler's advisory lock for the block; MonitorError if another holds it."""
    row = storage.conn.execute("SELECT pg_try_advisory_lock(%s) AS won", [SCHEDULER_LOCK])
    won = row.fetchone()
    if not won or not won["won"]:
        raise MonitorError(
            "another `monitor dispatch` is running against this database",
            hint="run exactly one scheduler; start more `monitor worker` processes instead",
        )
    try:
        yield
    finally:
        storage.conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEDULER_LOCK])


def run_dispatch(
    settings: Settings, *, once: bool = False, stop: threading.Event | None = None
) -> TickReport | None:
    """`monitor dispatch`: the one scheduler. ``once`` runs one tick; otherwise APScheduler
    ticks every ``poll_tick_seconds`` until SIGTERM/SIGINT."""
    require_scale_settings(settings)
    storage = PostgresStorage(settings.database_url)
    broker = make_broker(settings.queue_url)
    dispatcher = Dispatcher(JobLedger(storage.conn), broker, lease(settings))
    try:
        with sole_scheduler(storage):
            if once:
                return dispatch_tick(storage, dispatcher, settings, utcnow())
            _tick_forever(storage, dispatcher, settings, stop or threading.Event())
            return None
    finally:
        broker.close()
        storage.close()


def _tick_forever(
    storage: PostgresStorage, dispatcher: Dispatcher, settings: Settings, stop: threading.Event
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    from monitor.scheduler import stop_on_signals

    lock = threading.Lock()

    def tick() -> None:
        with lock:  # one connection: ticks never overlap
            try:
                report = dispatch_tick(storage, dispatcher, settings, utcnow())
                log.info("tick: %d due, %d enqueued, %d resent", *_fields(report))
            except MonitorError as exc:
                log.error("tick failed: %s", exc)

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        IntervalTrigger(seconds=max(1, settings.poll_tick_seconds)),
        id="dispatch",
        coalesce=True,
        max_instances=1,
        next_run_time=utcnow(),
    )
    with stop_on_signals(stop):
        scheduler.start()
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)


def _fields(report: TickReport) -> tuple[int, int, int]:
    return report.due, report.enqueued, report.resent


# --- the worker ---------------------------------------------------------------------------------


class _Local(threading.local):
    ctx: tasks.JobContext | None = None
    ledger: JobLedger | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def declare_actor(broker: Any, settings: Settings) -> None:
    """Register the one actor, ``run_job(key)``, on ``broker``; each worker thread opens its
    own database connection on its first job."""
    import dramatiq
    import redis

    local = _Local()
    client = redis.Redis.from_url(settings.queue_url)
    limiter = RedisHostLimiter(client, settings.per_host_delay)
    feeds = {feed.url: feed for feed in load_feeds(settings.feeds_file)}
    matcher = build_matcher(settings)

    def context() -> tuple[tasks.JobContext, JobLedger]:
        if local.ctx is None or local.ledger is None:
            storage = PostgresStorage(settings.database_url)
            ledger = JobLedger(storage.conn)
            dispatcher = Dispatcher(ledger, broker, lease(settings))
            local.ctx = tasks.JobContext(
                settings=settings,
                storage=storage,
                matcher=matcher,
                feeds=feeds,
                limiter=limiter,
                enqueue=dispatcher.send,
            )
            local.ledger = ledger
        return local.ctx, local.ledger

    def run_job(key: str) -> None:
        ctx, ledger = context()
        me = worker_name()
        job = ledger.claim(key, me, utcnow(), lease(settings))
        if job is None:
            return  # done already, or another worker holds a live claim
        try:
            result = tasks.run(ctx, job)
        except Exception as exc:
            ledger.fail(key, me, f"{type(exc).__name__}: {exc}", utcnow())
            raise  # Dramatiq retries it with backoff
        ledger.finish(key, me, utcnow())
        if isinstance(result, DeliveryReport):
            for digest_key in result.unconfirmed:
                log.warning("digest %s is being sent, unconfirmed (%s)", digest_key, UNCONFIRMED)

    dramatiq.actor(
        broker=broker,
        actor_name=ACTOR,
        queue_name=QUEUE,
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF_MS,
        max_backoff=MAX_BACKOFF_MS,
    )(run_job)


def run_worker(
    settings: Settings, *, threads: int = 1, stop: threading.Event | None = None
) -> None:
    """`monitor worker`: run jobs until SIGTERM/SIGINT, then finish the job in hand."""
    import dramatiq

    from monitor.encoder import one_thread_per_process

    one_thread_per_process()  # workers scale by their number, not by BLAS threads
    require_scale_settings(settings)
    PostgresStorage(settings.database_url).close()  # migrate (and fail early) before consuming
    broker = make_broker(settings.queue_url)
    declare_actor(broker, settings)
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=max(1, threads))
    # Hold no more messages than threads: a killed worker then strands only the jobs it was
    # running (claimed in the ledger, so they are sent again once their lease runs out).
    worker.queue_prefetch = max(1, threads)
    stop = stop or threading.Event()
    from monitor.scheduler import stop_on_signals

    with stop_on_signals(stop):
        worker.start()
        try:
            stop.wait()
        finally:
            worker.stop()
            broker.close()


# --- status -------------------------------------------------------------------------------------


def queue_status(settings: Settings) -> QueueStatus:
    require_scale_settings(settings)
    storage = PostgresStorage(settings.database_url)
    try:
        status = JobLedger(storage.conn).status()
        return dataclasses.replace(status, unconfirmed=tasks.unconfirmed(storage))
    finally:
        storage.close()


def status_lines(status: QueueStatus, now: dt.datetime) -> list[str]:
    """`monitor status` output: one line per figure, then per kind, then recent failures."""
    oldest = (
        f"{(now - status.oldest_queued_at).total_seconds():.0f} s"
        if status.oldest_queued_at
        else "none"
    )
    lines = [
        f"queued (waiting): {status.queued}",
        f"in flight: {status.running}",
        f"failed: {status.failed}",
        f"done: {status.done}",
        f"oldest waiting: {oldest}",
    ]
    for kind, counts in sorted(status.by_kind.items()):
        shown = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        lines.append(f"  {kind}: {shown}")
    for key, error in status.recent_errors:
        lines.append(f"  failed {key.splitlines()[0]}: {error}")
    for key in status.unconfirmed:
        lines.append(f"digest {key} is being sent, unconfirmed: {UNCONFIRMED}")
    return lines
