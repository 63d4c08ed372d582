"""Shared set-up for the digest, mail, feed and serve tests: stored articles and follow-ups
written straight into the database (no ingest), and a small watchlists directory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.utils
import json
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from monitor import config
from monitor.models import Baseline, Match, Watchlist
from monitor.watchlist import write_watchlist
from storage import open_db
from storage.matches import save_matches

DATA = Path(__file__).parent / "data" / "digest"
REPO = Path(__file__).resolve().parents[1]
UTC = dt.UTC

BASELINES = {
    "goujon-real-stakes": (
        "人工智慧競賽的真正風險",
        "goujon-real-stakes-of-the-ai-race.zh-Hant.txt",
    ),
    "decoupling-wastes-leverage": (
        "脱钩浪费了美国对中国的筹码",
        "decoupling-wastes-us-leverage.zh-Hans.txt",
    ),
}
SCRIPT_TITLE = "<script>alert('x')</script> Nvidia chips <b>bold</b> & more"


def sample_items() -> list[dict[str, Any]]:
    return json.loads((DATA / "followups.json").read_text(encoding="utf-8"))["items"]


def iso(value: str) -> str:
    """The sample's published value (ISO, RFC 822 or a bare date) as ISO 8601 UTC."""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = email.utils.parsedate_to_datetime(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def make_watchlists(directory: Path) -> Path:
    """Two watchlists (no entities needed here) whose baseline texts are the shipped ones."""
    (directory / "baselines").mkdir(parents=True, exist_ok=True)
    for baseline_id, (title, file) in BASELINES.items():
        shutil.copy(REPO / "watchlists" / "baselines" / file, directory / "baselines" / file)
        baseline = Baseline(baseline_id, title, "zh", dt.date(2025, 1, 1), f"baselines/{file}")
        write_watchlist(directory / f"{baseline_id}.yaml", Watchlist(baseline, ()))
    return directory


def digest_settings(
    settings: config.Settings, tmp_path: Path, smtp: Any = None, **changes: Any
) -> config.Settings:
    """The test settings, with our watchlists, a time zone and (optionally) the SMTP server."""
    values: dict[str, Any] = {
        "watchlists_dir": str(make_watchlists(tmp_path / "watchlists")),
        "timezone": "Europe/Paris",
        "digest_time": "07:00",
        "base_url": "http://monitor.example",
        "mail_to": ("ana@example.org", "bo@example.org"),
        "mail_from": "monitor@example.org",
        "list_unsubscribe": "mailto:unsubscribe@example.org",
        "smtp_timeout": 5.0,
    }
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none")
    values.update(changes)
    return dataclasses.replace(settings, **values)


def store_article(
    db: Any,
    *,
    url: str,
    title: str,
    stored_at: dt.datetime,
    text: str = "",
    language: str = "en",
    published: str | None = None,
    source_name: str = "",
    sources: tuple[tuple[str, str], ...] = (),
) -> int:
    """An article row plus its article_sources rows ((url, source_name) each)."""
    with db.atomic():
        cursor = db.conn.execute(
            "INSERT INTO articles (url, title, text, language, published, source_name, stored_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [url, title, text, language, published, source_name, stored_at.isoformat()],
        )
        article_id = int(cursor.lastrowid or 0)
        for source_url, name in ((url, source_name), *sources):
            db.conn.execute(
                "INSERT INTO article_sources (article_id, url, source_name, title, seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [article_id, source_url, name, title, stored_at.isoformat()],
            )
    return article_id


def follow_up(
    db: Any,
    article_id: int,
    baseline_id: str,
    score: float,
    now: dt.datetime,
    reason: str = "",
    paragraph: int = 2,
    thread: str = "",
) -> None:
    reason = reason or f"names Nvidia and export controls (score {score:.2f})"
    match = Match(
        baseline_id,
        score,
        ("Nvidia", "export controls"),
        paragraph,
        "美國晶片出口管制",
        reason,
        thread,
    )
    save_matches(db, article_id, [match], now)


def seed_day(db: Any, day_start: dt.datetime) -> dict[str, int]:
    """The sample items stored during the local day starting at ``day_start`` (UTC), each
    following up the baselines it is labelled with that we have; returns title -> id."""
    ids: dict[str, int] = {}
    for index, item in enumerate(sample_items()):
        stored = day_start + dt.timedelta(hours=1 + index)
        article_id = store_article(
            db,
            url=item["url"]
            if item["url"].startswith("http")
            else f"https://{item['source']}.example/{item['url'].strip('/')}",
            title=item["title"],
            text=item["text"],
            language=item["language"],
            published=iso(item["published"]),
            source_name=item["source"],
            stored_at=stored,
        )
        ids[item["title"]] = article_id
        for rank, baseline_id in enumerate(b for b in item["labels"] if b in BASELINES):
            follow_up(db, article_id, baseline_id, 0.9 - 0.05 * index - 0.1 * rank, stored)
    return ids


def new_db(settings: config.Settings) -> Any:
    return open_db(settings.database)


def parsed(message: Any) -> EmailMessage:
    """A collected message re-read with the modern email API (get_body, decoded headers)."""
    return cast(EmailMessage, email.message_from_bytes(message.as_bytes(), policy=policy.default))


def body(message: Any, kind: str) -> str:
    """The decoded text of the 'plain' or 'html' part."""
    part = parsed(message).get_body((kind,))
    assert part is not None, f"no text/{kind} part"
    return str(part.get_content())
