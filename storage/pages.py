"""Pages still to fetch: an article stored from its feed's own text keeps a row here until its
page is fetched (or given up), so a page a poll deferred (its time or host budget spent, or
the process killed) is fetched by a later poll. The row is written in the transaction that
stores the article and deleted in the one that stores the page's text."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from monitor.models import Entry
from storage.articles import iso


@dataclass(frozen=True)
class PendingPage:
    article_id: int
    entry: Entry  # the entry whose link is the page
    queued_at: dt.datetime
    deferrals: int  # polls that deferred it so far


def _entry_json(entry: Entry) -> str:
    fields = dataclasses.asdict(entry)
    fields["published"] = iso(entry.published) if entry.published else None
    return json.dumps(fields, ensure_ascii=False)


def _entry(text: str) -> Entry:
    fields = json.loads(text)
    published = fields.pop("published")
    return Entry(**fields, published=dt.datetime.fromisoformat(published) if published else None)


def add(db: Database, article_id: int, entry: Entry, now: dt.datetime) -> None:
    """Remember that ``article_id`` waits for the page of ``entry`` (in the caller's
    transaction)."""
    db.execute(
        "INSERT INTO pending_pages (article_id, entry, queued_at) VALUES (?, ?, ?) "
        "ON CONFLICT (article_id) DO NOTHING",
        [article_id, _entry_json(entry), iso(now)],
    )


def waiting(db: Database, article_ids: Sequence[int] | None = None) -> list[PendingPage]:
    """The pages still to fetch, oldest first (all, or those of ``article_ids``), so a page
    deferred by one poll is at the front of the next."""
    query = "SELECT article_id, entry, queued_at, deferrals FROM pending_pages"
    if article_ids is None:
        rows = list(db.execute(query).fetchall())
    else:
        rows = []
        ids = list(dict.fromkeys(article_ids))
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += db.execute(f"{query} WHERE article_id IN ({marks})", chunk).fetchall()
    rows.sort(key=lambda row: (row[2], row[0]))
    return [
        PendingPage(int(row[0]), _entry(row[1]), dt.datetime.fromisoformat(row[2]), int(row[3]))
        for row in rows
    ]


def defer(db: Database, article_id: int, reason: str) -> None:
    db.execute(
        "UPDATE pending_pages SET deferrals = deferrals + 1, last_reason = ? WHERE article_id = ?",
        [reason, article_id],
    )


def done(db: Database, article_id: int) -> None:
    db.execute("DELETE FROM pending_pages WHERE article_id = ?", [article_id])


def count(db: Database) -> int:
    return int(db.execute("SELECT count(*) FROM pending_pages").fetchone()[0])
