"""The daily digest: its window, grouping and ordering, and the outbox that sends it once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from digest_support import (
    BASELINES,
    body,
    digest_settings,
    follow_up,
    new_db,
    seed_day,
    store_article,
)

from monitor import digest, digest_render, pipeline
from storage import digests as outbox
from storage.matches import matches_between

UTC = dt.UTC
DAY = dt.date(2026, 3, 29)  # Europe/Paris springs forward: 23 hours
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)  # local midnight
AFTER = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)  # 08:00 local on the next day: digest due


def test_paris_day_is_23_hours_when_clocks_go_forward() -> None:
    start, end = digest.day_window(DAY, "Europe/Paris")
    assert start == DAY_START
    assert end - start == dt.timedelta(hours=23)


def test_paris_day_is_25_hours_when_clocks_go_back() -> None:
    start, end = digest.day_window(dt.date(2026, 10, 25), "Europe/Paris")
    assert start == dt.datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert end - start == dt.timedelta(hours=25)


def test_day_window_in_utc_and_taipei() -> None:
    assert digest.day_window(DAY, "UTC") == (
        dt.datetime(2026, 3, 29, tzinfo=UTC),
        dt.datetime(2026, 3, 30, tzinfo=UTC),
    )
    start, _ = digest.day_window(DAY, "Asia/Taipei")
    assert start == dt.datetime(2026, 3, 28, 16, tzinfo=UTC)


def test_a_day_is_due_only_after_the_digest_time_of_the_next_day() -> None:
    before = dt.datetime(2026, 3, 30, 4, 59, tzinfo=UTC)  # 06:59 local
    assert digest.days_due(before, "Europe/Paris", "07:00", None, 7) == [DAY - dt.timedelta(1)]
    assert digest.days_due(AFTER, "Europe/Paris", "07:00", None, 7) == [DAY]


def test_a_digest_time_in_the_spring_gap_is_due_an_hour_later_not_skipped() -> None:
    # 02:30 does not exist in Paris on 2026-03-29; it is taken as 03:30 summer time.
    due = digest.due_at(dt.date(2026, 3, 28), "Europe/Paris", "02:30")
    assert due == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert digest.days_due(due, "Europe/Paris", "02:30", None, 7) == [dt.date(2026, 3, 28)]


def test_missed_days_are_caught_up_from_the_last_recorded_digest_at_most_a_week() -> None:
    days = digest.days_due(AFTER, "Europe/Paris", "07:00", dt.date(2026, 3, 26), 7)
    assert days == [dt.date(2026, 3, 27), dt.date(2026, 3, 28), DAY]
    assert len(digest.days_due(AFTER, "Europe/Paris", "07:00", dt.date(2025, 1, 1), 7)) == 7
    assert digest.days_due(AFTER, "Europe/Paris", "07:00", DAY, 7) == []


def test_window_is_half_open_on_the_time_the_article_was_stored(settings, tmp_path) -> None:
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    start, end = digest.day_window(DAY, s.timezone)
    inside = store_article(db, url="https://a.example/1", title="first", stored_at=start)
    edge = store_article(db, url="https://a.example/2", title="next day", stored_at=end)
    before = store_article(
        db, url="https://a.example/3", title="before", stored_at=start - dt.timedelta(seconds=1)
    )
    for article_id in (inside, edge, before):
        follow_up(db, article_id, "goujon-real-stakes", 0.7, start)
    assert [row["article_id"] for row in matches_between(db, start, end)] == [inside]


def test_digest_has_one_section_per_baseline_ordered_by_score(settings, tmp_path) -> None:
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    seed_day(db, DAY_START)
    built = pipeline.build_daily_digest(db, s, DAY)
    assert [sec.baseline_id for sec in built.sections] == [
        "decoupling-wastes-leverage",
        "goujon-real-stakes",
    ]
    assert built.sections[1].baseline_title == BASELINES["goujon-real-stakes"][0]
    for section in built.sections:
        scores = [item.score for item in section.items]
        assert scores == sorted(scores, reverse=True)
        for item in section.items:
            assert item.reason
            assert item.passage_url == (
                f"http://monitor.example/baselines/{section.baseline_id}.html#p2"
            )


def test_one_story_from_several_outlets_is_shown_once_with_its_other_sources(
    settings, tmp_path
) -> None:
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    at = DAY_START + dt.timedelta(hours=3)
    lead = store_article(
        db,
        url="https://www.reuters.com/nvidia-h20",
        title="US adds Nvidia H20 chips to China export licence list",
        source_name="Reuters",
        stored_at=at,
        sources=(
            ("https://www.reuters.com/nvidia-h20?utm_source=rss", "Reuters"),  # same outlet
            ("https://news.yahoo.com/nvidia-h20", "Yahoo News"),
        ),
    )
    copy = store_article(
        db,
        url="https://www.ft.com/nvidia-h20",
        title="US adds Nvidia H20 chips to China export licence list - FT",
        source_name="Financial Times",
        stored_at=at,
    )
    other = store_article(
        db, url="https://example.com/x", title="Huawei unveils Ascend 950", stored_at=at
    )
    follow_up(db, lead, "goujon-real-stakes", 0.9, at)
    follow_up(db, copy, "goujon-real-stakes", 0.8, at)
    follow_up(db, other, "goujon-real-stakes", 0.6, at)

    (section,) = pipeline.build_daily_digest(db, s, DAY).sections
    assert [item.article_id for item in section.items] == [lead, other]
    names = [source.name for source in section.items[0].other_sources]
    assert names == ["Yahoo News", "Financial Times"]
    text = digest_render.render_text(pipeline.build_daily_digest(db, s, DAY))
    assert text.count("US adds Nvidia H20 chips") == 1  # the FT title is only a source link


def test_empty_day_says_nothing_moved(settings, tmp_path) -> None:
    s = digest_settings(settings, tmp_path)
    built = pipeline.build_daily_digest(new_db(s), s, DAY)
    assert built.empty
    assert "Nothing moved" in digest_render.render_text(built)
    assert "Nothing moved" in digest_render.render_html(built)
    assert digest.subject(built).endswith("nothing moved")


def test_empty_day_is_not_sent_when_skipping_is_configured(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, digest_skip_empty=True)
    db = new_db(s)
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.skipped == (DAY.isoformat(),)
    assert smtp_server.messages == []
    assert pipeline.send_pending_digests(db, s, AFTER).skipped == ()  # recorded, not rebuilt


def test_digest_is_recorded_before_sending_and_marked_sent(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    db = new_db(s)
    seed_day(db, DAY_START)
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.sent == (DAY.isoformat(),)
    row = outbox.get(db, "daily", DAY.isoformat())
    assert row is not None
    assert row["status"] == "sent"
    assert row["attempts"] == 1
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["Message-ID"] == row["message_id"]


def test_refused_digest_stays_pending_and_is_sent_once_on_the_next_run(
    settings, tmp_path, smtp_server
) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    db = new_db(s)
    seed_day(db, DAY_START)
    smtp_server.collector.refuse = True
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.sent == ()
    assert report.failed[0][0] == DAY.isoformat()
    assert "451" in report.failed[0][1]
    row = outbox.get(db, "daily", DAY.isoformat())
    assert row is not None
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "451" in row["last_error"]

    smtp_server.collector.refuse = False
    later = AFTER + dt.timedelta(hours=1)
    assert pipeline.send_pending_digests(db, s, later).sent == (DAY.isoformat(),)
    assert pipeline.send_pending_digests(db, s, later).sent == ()
    assert len(smtp_server.messages) == 1


def test_unreachable_server_leaves_digest_pending(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, smtp_port=1)  # nothing listens there
    db = new_db(s)
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.failed
    assert [row["key"] for row in outbox.unsent(db)] == [DAY.isoformat()]


def test_running_the_digest_twice_for_a_day_sends_it_once(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    db = new_db(s)
    seed_day(db, DAY_START)
    pipeline.send_pending_digests(db, s, AFTER)
    pipeline.send_pending_digests(db, s, AFTER + dt.timedelta(minutes=5))
    _, report = pipeline.digest_for_day(db, s, DAY, AFTER, send=True)
    assert report.sent == ()
    assert len(smtp_server.messages) == 1


def test_a_live_claim_is_not_sent_by_a_second_run_but_a_stale_one_is(
    settings, tmp_path, smtp_server
) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    db = new_db(s)
    built = pipeline.build_daily_digest(db, s, DAY)
    digest_id = pipeline.record_digest(db, s, built, AFTER)
    assert digest_id is not None
    assert outbox.claim(db, digest_id, AFTER)  # a run that then crashed mid-send
    assert not outbox.claim(db, digest_id, AFTER + dt.timedelta(minutes=1))
    assert pipeline.deliver_pending(db, s, AFTER + dt.timedelta(minutes=1)) == ([], [])
    stale = AFTER + outbox.CLAIM_LEASE + dt.timedelta(minutes=1)
    assert pipeline.deliver_pending(db, s, stale)[0] == [DAY.isoformat()]
    assert len(smtp_server.messages) == 1


def test_without_smtp_host_the_page_is_written_and_nothing_is_recorded(settings, tmp_path) -> None:
    s = digest_settings(settings, tmp_path)
    db = new_db(s)
    seed_day(db, DAY_START)
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.sent == report.built == ()
    assert [Path(p).name for p in report.written] == [f"daily-{DAY.isoformat()}.html"]
    assert outbox.unsent(db) == []


def test_strong_follow_ups_are_alerted_once_in_one_message(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, alert_threshold=0.8)
    db = new_db(s)
    seed_day(db, DAY_START)
    now = DAY_START + dt.timedelta(hours=12)
    report = pipeline.send_alerts(db, s, now)
    assert len(report.sent) == 1
    (message,) = smtp_server.messages
    # 4 follow-ups of 3 articles: the subject names the lead story and counts the others.
    lead = "Nvidia AI Chips to Undergo Unusual U.S. Security Review Before Export to China"
    assert " ".join(message["Subject"].split()) == f"Alert: {lead} (+2 more)"
    assert pipeline.send_alerts(db, s, now + dt.timedelta(minutes=1)).sent == ()

    fresh = store_article(db, url="https://b.example/new", title="New chip rules", stored_at=now)
    follow_up(db, fresh, "goujon-real-stakes", 0.95, now)
    assert len(pipeline.send_alerts(db, s, now + dt.timedelta(minutes=2)).sent) == 1
    assert "New chip rules" in body(smtp_server.messages[-1], "plain")
    assert smtp_server.messages[-1]["Subject"] == "Alert: New chip rules"
    assert len(smtp_server.messages) == 2


def test_refused_alert_is_sent_on_the_next_cycle(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, alert_threshold=0.8)
    db = new_db(s)
    seed_day(db, DAY_START)
    now = DAY_START + dt.timedelta(hours=12)
    smtp_server.collector.refuse = True
    assert pipeline.send_alerts(db, s, now).failed
    smtp_server.collector.refuse = False
    assert len(pipeline.send_alerts(db, s, now + dt.timedelta(minutes=1)).sent) == 1
    assert len(smtp_server.messages) == 1
