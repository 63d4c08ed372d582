"""PostgresStorage's follow-ups and the readers' feedback on them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from monitor.models import Match
from storage.interface import (
    Feedback,
    FollowUp,
    Source,
)
from storage.postgres.base import Connected, source_of

_FOLLOW_UP_SELECT = """
    SELECT m.article_id, m.baseline_id, m.score, m.entities, m.paragraph, m.passage,
           m.reason, m.thread, m.matched_at, a.url, a.title, a.text, a.language, a.published,
           a.author, a.feed_url, a.source_name, a.stored_at
    FROM matches AS m JOIN articles AS a ON a.id = m.article_id
"""


class FollowUpTable(Connected):
    """Matches of articles to baselines, and feedback verdicts."""

    def save_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> None:
        if not found:
            return
        with self.conn.transaction(), self.conn.cursor() as cursor:
            cursor.executemany(
                """
                INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                     passage, reason, thread, matched_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                    score = excluded.score, entities = excluded.entities,
                    paragraph = excluded.paragraph, passage = excluded.passage,
                    reason = excluded.reason, thread = excluded.thread,
                    matched_at = excluded.matched_at
                """,
                [
                    (
                        article_id,
                        m.baseline_id,
                        float(m.score),
                        json.dumps(list(m.entities), ensure_ascii=False),
                        int(m.paragraph),
                        m.passage,
                        m.reason,
                        m.thread,
                        now,
                    )
                    for m in found
                ],
            )

    def add_new_matches(self, article_id: int, found: Sequence[Match], now: dt.datetime) -> int:
        added = 0
        with self.conn.transaction(), self.conn.cursor() as cursor:
            for m in found:
                cursor.execute(
                    """
                    INSERT INTO matches (article_id, baseline_id, score, entities, paragraph,
                                         passage, reason, matched_at)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                    ON CONFLICT (article_id, baseline_id) DO NOTHING
                    """,
                    (
                        article_id,
                        m.baseline_id,
                        float(m.score),
                        json.dumps(list(m.entities), ensure_ascii=False),
                        int(m.paragraph),
                        m.passage,
                        m.reason,
                        now,
                    ),
                )
                added += max(0, cursor.rowcount)
        return added

    def _follow_ups(self, sql: str, params: Sequence[Any]) -> list[FollowUp]:
        rows = self._all(_FOLLOW_UP_SELECT + sql, params)
        ids = sorted({int(row["article_id"]) for row in rows})
        sources: dict[int, list[Source]] = {}
        if ids:
            for source in self._all(
                "SELECT * FROM article_sources WHERE article_id = ANY(%s) ORDER BY seen_at, url",
                [ids],
            ):
                sources.setdefault(int(source["article_id"]), []).append(source_of(source))
        return [
            FollowUp(
                article_id=int(row["article_id"]),
                baseline_id=row["baseline_id"],
                score=float(row["score"]),
                entities=tuple(json.loads(row["entities"] or "[]")),
                paragraph=int(row["paragraph"]),
                passage=row["passage"],
                reason=row["reason"],
                thread=row["thread"],
                matched_at=row["matched_at"],
                url=row["url"],
                title=row["title"],
                text=row["text"],
                language=row["language"],
                published=row["published"],
                author=row["author"],
                feed_url=row["feed_url"],
                source_name=row["source_name"],
                stored_at=row["stored_at"],
                sources=tuple(sources.get(int(row["article_id"]), ())),
            )
            for row in rows
        ]

    def matches_between(self, start: dt.datetime, end: dt.datetime) -> list[FollowUp]:
        return self._follow_ups(
            " WHERE a.stored_at >= %s AND a.stored_at < %s "
            "ORDER BY m.score DESC, a.stored_at, m.article_id, m.baseline_id",
            [start, end],
        )

    # feedback
    def save_feedback(self, feedback: Feedback) -> bool:
        with self.conn.transaction():
            if self._one("SELECT 1 FROM articles WHERE id = %s", [feedback.article_id]) is None:
                return False
            self.conn.execute(
                """
                INSERT INTO feedback (article_id, baseline_id, verdict, given_at)
                VALUES (%s, %s, %s, %s)
                ON CONFLICT (article_id, baseline_id) DO UPDATE SET
                    verdict = excluded.verdict, given_at = excluded.given_at
                """,
                [
                    feedback.article_id,
                    feedback.baseline_id,
                    "right" if feedback.right else "wrong",
                    feedback.given_at,
                ],
            )
        return True

    def all_feedback(self) -> list[Feedback]:
        return [
            Feedback(int(r["article_id"]), r["baseline_id"], r["verdict"] == "right", r["given_at"])
            for r in self._all(
                "SELECT article_id, baseline_id, verdict, given_at FROM feedback "
                "ORDER BY given_at, article_id, baseline_id"
            )
        ]
