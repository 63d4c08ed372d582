"""The task queue's ledger in PostgreSQL: one row per job, keyed by its idempotency key.

Redis carries the messages; this table is the truth about each job, so

- a key already queued or running is not enqueued again (the scheduler may tick often);
- a job is claimed by one worker with a conditional UPDATE, and a claim older than the
  lease (its worker died) can be taken over;
- a message lost with Redis can be sent again from here (``unsent``);
- ``monitor status`` counts queued, running and failed jobs and the oldest waiting one.

    enqueue ──► queued ──claim()──► running ──finish()──► done ──enqueue──► queued ...
                  ▲                    │
                  └──── claim() ◄── failed (fail(): the error is kept; a retry claims it)
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass(frozen=True)
class Job:
    """One unit of work: what to run (``kind``), its arguments and its idempotency key."""

    kind: str
    key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class QueueStatus:
    queued: int
    running: int
    failed: int
    done: int
    oldest_queued_at: dt.datetime | None
    by_kind: dict[str, dict[str, int]]
    recent_errors: tuple[tuple[str, str], ...]  # (job key, error) of failed jobs
    unconfirmed: tuple[str, ...] = ()  # outbox keys claimed for sending, answer not recorded


class JobLedger:
    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self.conn = conn

    def enqueue(self, job: Job, now: dt.datetime) -> bool:
        """Record ``job`` as queued; False when the same key is already queued or running
        (then nothing is to be sent). A done or failed key is queued again."""
        row = self.conn.execute(
            """
            INSERT INTO jobs (key, kind, payload, status, enqueued_at)
            VALUES (%s, %s, %s, 'queued', %s)
            ON CONFLICT (key) DO UPDATE SET
                kind = excluded.kind, payload = excluded.payload, status = 'queued',
                enqueued_at = excluded.enqueued_at, started_at = NULL, finished_at = NULL,
                worker = NULL, attempts = 0, last_error = NULL
            WHERE jobs.status IN ('done', 'failed')
            RETURNING key
            """,
            [job.key, job.kind, json.dumps(job.payload, ensure_ascii=False), now],
        ).fetchone()
        return row is not None

    def claim(self, key: str, worker: str, now: dt.datetime, lease: dt.timedelta) -> Job | None:
        """Take the job for running; None when it is done, or another worker holds a live
        claim on it (a second delivery of the same message does nothing)."""
        row = self.conn.execute(
            """
            UPDATE jobs SET status = 'running', started_at = %s, worker = %s,
                attempts = attempts + 1
            WHERE key = %s AND (status IN ('queued', 'failed')
                                OR (status = 'running' AND started_at < %s))
            RETURNING kind, key, payload
            """,
            [now, worker, key, now - lease],
        ).fetchone()
        if row is None:
            return None
        return Job(row["kind"], row["key"], json.loads(row["payload"]))

    def finish(self, key: str, worker: str, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE jobs SET status = 'done', finished_at = %s, last_error = NULL "
            "WHERE key = %s AND status = 'running' AND worker = %s",
            [now, key, worker],
        )

    def fail(self, key: str, worker: str, error: str, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE jobs SET status = 'failed', finished_at = %s, last_error = %s "
            "WHERE key = %s AND status = 'running' AND worker = %s",
            [now, error[:2000], key, worker],
        )

    def unsent(
        self,
        before: dt.datetime,
        stale: dt.datetime,
        retry_before: dt.datetime | None = None,
        runs: int = 0,
    ) -> list[Job]:
        """Jobs whose message may be lost: queued before ``before`` and never started,
        claimed before ``stale`` by a worker that never finished them (it died, and its
        message was acknowledged by a worker that found the claim still live), or failed
        before ``retry_before`` after fewer than ``runs`` runs (the broker's retry is overdue:
        its delayed message was lost with Redis)."""
        rows = self.conn.execute(
            "SELECT kind, key, payload FROM jobs "
            "WHERE (status = 'queued' AND enqueued_at < %s) "
            "OR (status = 'running' AND started_at < %s) "
            "OR (status = 'failed' AND attempts < %s AND finished_at < %s) ORDER BY enqueued_at",
            [before, stale, runs, retry_before or before],
        ).fetchall()
        return [Job(r["kind"], r["key"], json.loads(r["payload"])) for r in rows]

    def status(self) -> QueueStatus:
        counts: dict[str, dict[str, int]] = {}
        for row in self.conn.execute(
            "SELECT kind, status, count(*) AS n FROM jobs GROUP BY kind, status"
        ).fetchall():
            counts.setdefault(row["kind"], {})[row["status"]] = int(row["n"])

        def total(status: str) -> int:
            return sum(by_status.get(status, 0) for by_status in counts.values())

        oldest = self.conn.execute(
            "SELECT min(enqueued_at) AS t FROM jobs WHERE status = 'queued'"
        ).fetchone()
        errors = self.conn.execute(
            "SELECT key, last_error FROM jobs WHERE status = 'failed' "
            "ORDER BY finished_at DESC LIMIT 5"
        ).fetchall()
        return QueueStatus(
            queued=total(QUEUED),
            running=total(RUNNING),
            failed=total(FAILED),
            done=total(DONE),
            oldest_queued_at=oldest["t"] if oldest else None,
            by_kind=counts,
            recent_errors=tuple((r["key"], r["last_error"] or "") for r in errors),
        )
