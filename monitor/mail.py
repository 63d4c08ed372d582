"""Rendered digest -> MIME message (multipart/alternative: plain text, then HTML) -> SMTP.

The Message-ID is derived from the digest's kind and key and the list id, so a digest that is
resent after a crash carries the same id and mail clients show it once. Every SMTP or network
failure becomes a DeliveryError; the caller leaves the digest pending.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from monitor.config import Settings
from monitor.errors import DeliveryError


def _domain(list_id: str) -> str:
    domain = "".join(ch for ch in list_id.lower() if ch.isalnum() or ch in ".-")
    return domain.strip(".-") or "localhost"


def message_id_for(kind: str, key: str, list_id: str) -> str:
    """A Message-ID that is the same every time the same digest is built or resent."""
    # Short enough that the header is never folded.
    digest = hashlib.sha256(f"{kind}\0{key}\0{list_id}".encode()).hexdigest()[:20]
    return f"<{kind[:8]}.{digest}@{_domain(list_id)[:40]}>"


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    sender: str,
    recipients: Sequence[str],
    message_id: str,
    date: dt.datetime,
    list_id: str,
    list_unsubscribe: str = "",
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(date.astimezone(dt.UTC))
    message["Message-ID"] = message_id
    message["List-Id"] = f"Follow-up monitor <{_domain(list_id)}>"
    if list_unsubscribe:
        message["List-Unsubscribe"] = f"<{list_unsubscribe}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def send(message: EmailMessage, settings: Settings) -> None:
    """Hand ``message`` to the configured SMTP server; DeliveryError on any failure."""
    recipients = [a.strip() for a in str(message["To"] or "").split(",") if a.strip()]
    if not settings.smtp_host:
        raise DeliveryError("no SMTP server configured (smtp_host is empty)")
    if not recipients:
        raise DeliveryError("no recipients", hint="set mail_to to one or more addresses")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    if _password_in_clear(settings):
        raise DeliveryError(
            f"refusing to send the SMTP password in clear text to {where} (smtp_security none)",
            hint="use smtp_security = starttls or tls, or set smtp_allow_plaintext_auth = true",
        )
    try:
        with _connect(settings) as smtp:
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message, from_addr=settings.mail_from, to_addrs=recipients)
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error
        if isinstance(reply, bytes):
            reply = reply.decode("utf-8", "replace")
        raise DeliveryError(
            f"SMTP server {where} answered {exc.smtp_code}: {reply}",
            permanent=500 <= exc.smtp_code < 600,
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise DeliveryError(
            f"SMTP server {where} refused every recipient ({', '.join(map(str, codes))})",
            permanent=all(500 <= code < 600 for code in codes),
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError is an OSError
        raise DeliveryError(f"cannot send through {where}: {type(exc).__name__}: {exc}") from exc


def _password_in_clear(settings: Settings) -> bool:
    """A login over a plain connection to a server off this machine, not explicitly allowed."""
    if not settings.smtp_user or settings.smtp_security != "none":
        return False
    return not (settings.smtp_allow_plaintext_auth or _is_loopback(settings.smtp_host))


def _is_loopback(host: str) -> bool:
    if host.strip().lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name is not resolved here: another answer could come at connect time


def _connect(settings: Settings) -> smtplib.SMTP:
    timeout = settings.smtp_timeout
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(
            settings.smtp_host,
            settings.smtp_port,
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    try:
        if settings.smtp_security == "starttls":
            smtp.ehlo()
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp
