"""The digest email: MIME structure, headers, content of both parts, SMTP failures."""

from __future__ import annotations

import datetime as dt
import re
import socket

import pytest
from digest_support import (
    SCRIPT_TITLE,
    body,
    digest_settings,
    follow_up,
    new_db,
    parsed,
    seed_day,
    store_article,
)

from monitor import mail, pipeline
from monitor.errors import DeliveryError

UTC = dt.UTC
DAY = dt.date(2026, 3, 29)
DAY_START = dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
AFTER = dt.datetime(2026, 3, 30, 6, tzinfo=UTC)


@pytest.fixture
def sent(settings, tmp_path, smtp_server):
    """The daily digest of a seeded day, sent through the loopback SMTP server."""
    s = digest_settings(settings, tmp_path, smtp_server)
    db = new_db(s)
    seed_day(db, DAY_START)
    at = DAY_START + dt.timedelta(hours=20)
    evil = store_article(
        db,
        url="https://evil.example/story",
        title=SCRIPT_TITLE,
        text="<img src=x onerror=alert(1)> body",
        stored_at=at,
        source_name="Evil <i>Feed</i>",
    )
    follow_up(db, evil, "goujon-real-stakes", 0.99, at, reason="names <Nvidia> & export")
    report = pipeline.send_pending_digests(db, s, AFTER)
    assert report.sent == (DAY.isoformat(),)
    (message,) = smtp_server.messages
    return message, smtp_server, s


def test_message_is_multipart_alternative_with_text_then_html(sent) -> None:
    message = parsed(sent[0])
    assert message.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


def test_both_parts_carry_titles_reasons_and_baseline_passage_links(sent) -> None:
    text, html = body(sent[0], "plain"), body(sent[0], "html")
    passage_link = "http://monitor.example/baselines/goujon-real-stakes.html#p2"
    for part in (text, html):
        assert "Nvidia’s Huang Calls U.S. Export Controls a Failure" in part
        assert "names Nvidia and export controls (score 0.85)" in part
        assert passage_link in part
        assert "華為昇騰950震撼登場" in part  # Chinese survives the encoding round trip
    assert f'href="{passage_link}"' in html


def test_headers_date_stable_message_id_list_id_unsubscribe_and_recipients(sent) -> None:
    raw, server, s = sent
    message = parsed(raw)
    assert message["Subject"].startswith(f"Follow-ups for {DAY.isoformat()}")
    assert message["Message-ID"] == mail.message_id_for("daily", DAY.isoformat(), s.list_id)
    assert re.fullmatch(r"<daily\.[0-9a-f]{20}@followup-monitor\.localhost>", message["Message-ID"])
    assert message["List-Id"] == "Follow-up monitor <followup-monitor.localhost>"
    assert message["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert message["Date"].datetime == AFTER
    assert server.collector.envelopes == [
        ("monitor@example.org", ["ana@example.org", "bo@example.org"])
    ]


def test_message_id_is_the_same_for_the_same_digest_and_differs_between_digests() -> None:
    one = mail.message_id_for("daily", "2026-03-29", "list.example")
    assert one == mail.message_id_for("daily", "2026-03-29", "list.example")
    assert one != mail.message_id_for("daily", "2026-03-30", "list.example")
    assert one != mail.message_id_for("alert", "2026-03-29", "list.example")


def test_script_in_a_feed_title_arrives_escaped_in_the_email(sent) -> None:
    text, html = body(sent[0], "plain"), body(sent[0], "html")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Nvidia chips" in html
    for tag in ("<img", "<i>", "<b>"):
        assert tag not in html
    assert "&lt;Nvidia&gt; &amp; export" in html
    # Plain text shows the title as the characters it is; nothing there is markup.
    assert SCRIPT_TITLE in text


def test_refusing_server_raises_delivery_error(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server)
    smtp_server.collector.refuse = True
    message = _message(s)
    with pytest.raises(DeliveryError, match="451"):
        mail.send(message, s)


def test_starttls_against_a_server_without_it_raises_delivery_error(
    settings, tmp_path, smtp_server
) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, smtp_security="starttls")
    with pytest.raises(DeliveryError, match="STARTTLS"):
        mail.send(_message(s), s)
    assert smtp_server.messages == []


def test_tls_against_a_plain_server_raises_delivery_error(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, smtp_security="tls", smtp_timeout=3.0)
    with pytest.raises(DeliveryError, match="cannot send"):
        mail.send(_message(s), s)


def test_no_recipients_is_a_delivery_error_with_a_hint(settings, tmp_path, smtp_server) -> None:
    s = digest_settings(settings, tmp_path, smtp_server, mail_to=())
    with pytest.raises(DeliveryError) as caught:
        mail.send(_message(s), s)
    assert "mail_to" in caught.value.hint


def _message(s):
    return mail.build_message(
        subject="test",
        text="text",
        html="<p>html</p>",
        sender=s.mail_from,
        recipients=s.mail_to,
        message_id=mail.message_id_for("daily", "x", s.list_id),
        date=AFTER,
        list_id=s.list_id,
    )


# The loopback server takes AUTH without TLS; aiosmtpd rightly warns about that.
AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class _Login:
    """aiosmtpd authenticator accepting one user and password, recording every attempt."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, str]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        assert isinstance(auth_data, LoginPassword)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        self.attempts.append((user, password))
        ok = (user, password) == ("digest", "s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def login_server():
    from aiosmtpd.controller import Controller
    from conftest import SMTPCollector

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    login, collector = _Login(), SMTPCollector()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=port,
        authenticator=login,
        auth_required=True,
        auth_require_tls=False,  # loopback test only; real servers need STARTTLS or TLS
        auth_exclude_mechanism=["LOGIN"],  # PLAIN is enough to see the credentials
    )
    controller.start()
    try:
        yield port, login, collector
    finally:
        controller.stop()


@AUTH_WITHOUT_TLS
def test_login_uses_smtp_user_and_the_password_setting(settings, tmp_path, login_server) -> None:
    port, login, collector = login_server
    s = digest_settings(
        settings,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_user="digest",
        smtp_password="s3cret",
    )
    mail.send(_message(s), s)
    assert login.attempts == [("digest", "s3cret")]
    assert len(collector.messages) == 1


@AUTH_WITHOUT_TLS
def test_wrong_password_is_a_delivery_error(settings, tmp_path, login_server) -> None:
    port, _, collector = login_server
    s = digest_settings(
        settings,
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security="none",
        smtp_user="digest",
        smtp_password="wrong",
    )
    with pytest.raises(DeliveryError, match="535"):
        mail.send(_message(s), s)
    assert collector.messages == []
