"""Shared by the scale-out tests: loopback feeds with pages, `monitor worker` processes
started as subprocesses, their environment, and waiting for the job ledger to go idle."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import conftest
import pytest
import services

from monitor.config import Settings
from storage.postgres import PostgresStorage
from storage.postgres.jobs import JobLedger

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2026, 2, 20, 8, 0, tzinfo=dt.UTC)
RSS = "application/rss+xml; charset=utf-8"


def story_page(n: int) -> bytes:
    """A page of its own per story; the even ones are about Nvidia's China chips."""
    topic = (
        "Nvidia said China approved purchases of its H200 chips despite US export controls"
        if n % 2 == 0
        else "The city council approved a new bus timetable for the winter months"
    )
    paragraphs = "".join(
        f"<p>Paragraph {k} of story {n}: {topic}, officials said on Thursday, adding that "
        f"figure {n * 13 + k} in the report was revised after the review.</p>"
        for k in range(1, 6)
    )
    return (
        f"<html><head><title>Story {n}</title></head><body><article><h1>Story {n}: {topic}"
        f"</h1>{paragraphs}</article></body></html>"
    ).encode()


def rss(server: conftest.TestHTTPServer, name: str, numbers: range) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink='false'>{name}-{n}</guid><title>Story {n}</title>"
        f"<link>{server.url(f'/{name}/{n}.html')}</link><description>Entry {n}</description>"
        "<pubDate>Thu, 19 Feb 2026 10:00:00 GMT</pubDate></item>"
        for n in numbers
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}'
        f"</title>{items}</channel></rss>"
    ).encode()


@contextlib.contextmanager
def workers(
    count: int, env: dict[str, str], log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    for n in range(count):
        # The worker writes to its own copy of the descriptor; ours is closed at once.
        with (log_dir / f"worker{n}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "monitor", "worker"],
                    env=env,
                    cwd=REPO,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_idle(
    ledger: JobLedger, processes: list[subprocess.Popen[bytes]], log_dir: Path
) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = ledger.status()
        if status.queued == 0 and status.running == 0:
            assert status.failed == 0, status.recent_errors
            return
        for process in processes:
            if process.poll() is not None:
                logs = "".join(p.read_text() for p in log_dir.glob("worker*.log"))
                pytest.fail(f"a worker exited with {process.returncode}:\n{logs[-3000:]}")
        time.sleep(0.2)
    logs = "".join(p.read_text(errors="replace") for p in log_dir.glob("worker*.log"))
    running = ledger.conn.execute("SELECT * FROM jobs WHERE status <> 'done'").fetchall()
    pytest.fail(f"jobs still pending after 180 s: {running}\n{logs[-4000:]}")


def scale_env(
    settings: Settings, feeds_file: Path, database_url: str, queue_url: str
) -> dict[str, str]:
    return {
        **os.environ,
        "MONITOR_DATA_DIR": settings.data_dir,
        "MONITOR_WATCHLISTS_DIR": settings.watchlists_dir,
        "MONITOR_FEEDS_FILE": str(feeds_file),
        "MONITOR_DATABASE_URL": database_url,
        "MONITOR_QUEUE_URL": queue_url,
        "MONITOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "MONITOR_PER_HOST_DELAY": str(settings.per_host_delay),
        "MONITOR_HTTP_TIMEOUT": str(settings.http_timeout),
        "MONITOR_SMTP_HOST": settings.smtp_host,
        "MONITOR_SMTP_PORT": str(settings.smtp_port),
        "MONITOR_SMTP_SECURITY": settings.smtp_security,
        "MONITOR_MAIL_TO": ",".join(settings.mail_to),
        "MONITOR_JOB_LEASE_SECONDS": str(settings.job_lease_seconds),
    }


def wait_for_claim(
    storage: PostgresStorage, key: str, server: conftest.TestHTTPServer, path: str
) -> int:
    """The pid of the worker running ``key``, once its page request is in flight."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = storage.conn.execute(
            "SELECT worker FROM jobs WHERE key = %s AND status = 'running'", [key]
        ).fetchone()
        if row and server.requests_for(path):
            return int(row["worker"].split(":")[1])
        time.sleep(0.05)
    pytest.fail(f"{key} was not claimed within 60 s")


@contextlib.contextmanager
def smtp_on_loopback(handler: Any) -> Iterator[int]:
    """An aiosmtpd server with ``handler`` on 127.0.0.1; yields its port."""
    from aiosmtpd.controller import Controller

    port = services.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
