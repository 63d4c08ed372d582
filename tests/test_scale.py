"""The scale-out path end to end: real feeds served on loopback, the scheduler's tick
enqueueing jobs, two `monitor worker` processes running them against PostgreSQL and Redis
started by the tests, and a digest sent to a loopback SMTP server; then the same feeds
through the single SQLite process, which must give the same articles, follow-ups and
digest."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import conftest
from psycopg.rows import tuple_row
from scale_support import NOW, REPO, RSS, rss, scale_env, story_page, wait_until_idle, workers

from monitor import pipeline, worker
from monitor.config import Settings
from monitor.match import Matcher
from storage import open_db
from storage.postgres import PostgresStorage
from storage.postgres.jobs import JobLedger

FEEDS = conftest.DATA / "feeds"
NEXT_DAY = NOW + dt.timedelta(days=1)


def serve_feeds(server: conftest.TestHTTPServer, tmp_path: Path) -> Path:
    """Three real feeds (their links go off this machine, so their pages are not fetched)
    and two feeds whose pages are served here, one story shared by both."""
    lines = ["feeds:"]
    for path, name, kind in (
        ("ft-home.xml", "FT", RSS),
        ("36kr-ai.xml", "36氪", RSS),
        ("scmp-china.json", "SCMP", "application/feed+json"),
    ):
        url = server.add(f"/{path}", (FEEDS / path).read_bytes(), headers={"Content-Type": kind})
        lines += [f"  - url: {url}", f"    name: {name}", "    fetch_pages: false"]
    for name, numbers in (("alpha", range(12)), ("beta", range(10, 20))):
        for n in numbers:
            server.add(f"/{name}/{n}.html", story_page(n), headers={"Content-Type": "text/html"})
        url = server.add(f"/{name}.xml", rss(server, name, numbers), headers={"Content-Type": RSS})
        lines += [f"  - url: {url}", f"    name: {name}"]
    path = tmp_path / "feeds.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mails(server: conftest.SMTPServer) -> list[tuple[str, str]]:
    """(subject, plain-text body) of every message the server took."""
    found = []
    for message in server.messages:
        plain = next(p for p in message.walk() if p.get_content_type() == "text/plain")
        body = plain.get_payload(decode=True)
        assert isinstance(body, bytes)
        found.append((str(message["Subject"]), body.decode(plain.get_content_charset() or "utf-8")))
    return found


def digest_content(mail: list[tuple[str, str]]) -> list[tuple[str, dict[str, set[str]]]]:
    """Each digest as its subject (which counts its stories) and, per baseline section,
    every link it gives. Article ids follow the order in which articles were stored, which
    across workers is the order they finished, and the digest orders stories of equal score
    (and picks the lead of a group of copies) by id; so the order may differ, not the
    content."""
    content = []
    for subject, body in mail:
        sections: dict[str, set[str]] = {}
        section = ""
        for line in body.splitlines():
            if line.startswith("## "):
                section = line
            sections.setdefault(section, set()).update(re.findall(r"https?://[^\s<>,]+", line))
        content.append((subject, sections))
    return content


Story = frozenset[str]
# Each story as the set of URLs it was seen under (its article's and every source's): which
# copy of a syndicated story is stored as "the" article depends on which finished first.
STORIES = """
    SELECT a.id, a.url, s.url FROM articles a JOIN article_sources s ON s.article_id = a.id
"""
FOLLOW_UPS = "SELECT article_id, baseline_id, score FROM matches"


def snapshot(
    stories: list[tuple[int, str, str]], matches: list[tuple[int, str, float]]
) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    urls: dict[int, set[str]] = {}
    for article_id, url, source in stories:
        urls.setdefault(article_id, {url}).add(source)
    by_id = {article_id: frozenset(found) for article_id, found in urls.items()}
    follow_ups = {(by_id[a], baseline, round(score, 6)) for a, baseline, score in matches}
    return set(by_id.values()), follow_ups


def snapshot_sqlite(path: Path) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    db = open_db(path)
    try:
        return snapshot(db.execute(STORIES).fetchall(), db.execute(FOLLOW_UPS).fetchall())
    finally:
        db.close()


def snapshot_postgres(url: str) -> tuple[set[Story], set[tuple[Story, str, float]]]:
    storage = PostgresStorage(url)
    try:
        with storage.conn.cursor(row_factory=tuple_row) as cursor:
            stories = cursor.execute(STORIES).fetchall()
            matches = cursor.execute(FOLLOW_UPS).fetchall()
        return snapshot(stories, matches)
    finally:
        storage.close()


def test_two_workers_on_postgresql_store_what_the_single_sqlite_process_stores(
    http_server: conftest.TestHTTPServer,
    smtp_server: conftest.SMTPServer,
    settings: Settings,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    feeds_file = serve_feeds(http_server, tmp_path)
    base = dataclasses.replace(
        settings,
        watchlists_dir=str(REPO / "watchlists"),
        feeds_file=str(feeds_file),
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        smtp_security="none",
        mail_to=("ana@example.org",),
        per_host_delay=0.02,
    )

    # The single process on SQLite: one poll cycle and its digests, then a day later.
    single = dataclasses.replace(base, data_dir=str(tmp_path / "single"))
    db = open_db(single.database)
    try:
        matcher: Matcher = pipeline.build_matcher(single)
        for now in (NOW, NEXT_DAY):
            pipeline.poll_due_feeds(db, single, now, matcher=matcher)
            pipeline.send_pending_digests(db, single, now)
    finally:
        db.close()
    single_mail = mails(smtp_server)
    smtp_server.collector.messages.clear()
    expected_stories, expected_follow_ups = snapshot_sqlite(single.database)

    # The distributed run: the scheduler's tick, two worker processes, PostgreSQL, Redis.
    scaled = dataclasses.replace(
        base, data_dir=str(tmp_path / "scaled"), database_url=postgres_url, queue_url=redis_url
    )
    env = scale_env(scaled, feeds_file, postgres_url, redis_url)
    storage = PostgresStorage(postgres_url)
    broker = worker.make_broker(redis_url)
    ledger = JobLedger(storage.conn)
    dispatcher = worker.Dispatcher(ledger, broker)
    try:
        with workers(2, env, tmp_path) as processes:
            for now in (NOW, NEXT_DAY):
                with worker.sole_scheduler(storage):
                    report = worker.dispatch_tick(storage, dispatcher, scaled, now)
                assert report.due == 5
                wait_until_idle(ledger, processes, tmp_path)
        runners = {
            row["worker"].rsplit(":", 1)[0]
            for row in storage.conn.execute("SELECT worker FROM jobs").fetchall()
        }
    finally:
        broker.close()
        storage.close()
    scaled_mail = mails(smtp_server)

    stories, follow_ups = snapshot_postgres(postgres_url)
    assert len(expected_stories) > 40
    assert any(len(story) > 1 for story in expected_stories), "a story seen twice"
    assert len(expected_follow_ups) >= 5, "the feeds must give follow-ups to compare"
    assert stories == expected_stories
    assert follow_ups == expected_follow_ups
    assert len(runners) == 2, "both workers ran jobs"
    assert [subject for subject, _ in scaled_mail] == [subject for subject, _ in single_mail]
    assert digest_content(scaled_mail) == digest_content(single_mail)
