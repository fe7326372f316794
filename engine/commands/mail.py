"""The worker sends the e-mail outbox: each row once, after the change that wrote it committed, with retries."""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

from sqlalchemy import select

from engine import notices
from engine.queries.texts import step_texts_in
from engine.kernel import Kernel
from engine.settings import Settings
from engine.store.models import Notification, Outbox
from engine.views import MailRun

log = logging.getLogger("creditflow.mail")
LAST_ERROR_CHARS = 500


def send_pending(kernel: Kernel, limit: int = 100) -> MailRun:
    """Send up to `limit` due e-mails; e-mail off (no SMTP host) sends nothing and leaves the rows waiting."""
    if not kernel.settings.smtp_host:
        return MailRun()
    counts = {"sent": 0, "retrying": 0, "failed": 0}
    for _ in range(limit):
        outcome = _send_next(kernel)
        if outcome is None:
            break
        counts[outcome] += 1
    return MailRun(**counts)


def _due(now):
    return (select(Outbox, Notification).join(Notification, Notification.id == Outbox.notification_id)
            .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id).limit(1))


def _send_next(kernel: Kernel) -> str | None:
    """One due e-mail. On PostgreSQL its row stays locked while it is sent (`FOR UPDATE SKIP LOCKED`: another
    worker takes the next one, never this one); on SQLite, one writer, the row is read, sent, then marked, so the
    database is not locked while the SMTP server answers."""
    now = kernel.clock.now()
    if kernel.db.is_postgres:
        with kernel.db.transaction() as session:
            row = session.execute(_due(now).with_for_update(of=Outbox, skip_locked=True)).first()
            if row is None:
                return None
            return _record(kernel, row.Outbox, _attempt(kernel, row.Outbox, row.Notification))
    with kernel.db.reading() as session:
        row = session.execute(_due(now)).first()
        if row is None:
            return None
        session.expunge_all()  # plain values from here on; no transaction stays open while the mail goes out
    outbox_id, attempts = row.Outbox.id, row.Outbox.attempts
    error = _attempt(kernel, row.Outbox, row.Notification)
    with kernel.db.transaction() as session:
        outbox = session.get(Outbox, outbox_id)
        if outbox.status != "pending" or outbox.attempts != attempts:
            return "sent" if outbox.status == "sent" else "retrying"  # someone else dealt with it meanwhile
        return _record(kernel, outbox, error)


def _attempt(kernel: Kernel, outbox: Outbox, note: Notification) -> str | None:
    """Send the e-mail in the recipient's language; returns the error, or None when the server took it."""
    settings = kernel.settings
    with kernel.db.reading() as session:
        names = step_texts_in(session, kernel.texts, outbox.locale)
        subject, body = notices.email(note.kind, note.loan_ref, note.item_id, note.params or {}, outbox.locale,
                                      settings.public_base_url, names.step)
    try:
        deliver(settings, outbox.recipient, subject, body, f"<notification-{note.id}.{outbox.id}@creditflow>")
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return (f"{type(exc).__name__}: {exc}")[:LAST_ERROR_CHARS]
    return None


def _record(kernel: Kernel, outbox: Outbox, error: str | None) -> str:
    """Sent; or wait (doubling) and try again; or, after the last attempt, failed."""
    settings, now = kernel.settings, kernel.clock.now()
    outbox.attempts += 1
    if error is None:
        outbox.status, outbox.sent_at, outbox.next_attempt_at, outbox.last_error = "sent", now, None, None
        return "sent"
    outbox.last_error = error
    if outbox.attempts >= settings.mail_max_attempts:
        outbox.status, outbox.next_attempt_at = "failed", None
        log.warning("e-mail %s to %s failed for good: %s", outbox.id, outbox.recipient, error,
                    extra={"outcome": "failed"})
        return "failed"
    wait = settings.mail_backoff_seconds * 2 ** (outbox.attempts - 1)
    outbox.next_attempt_at = now + timedelta(seconds=wait)
    log.info("e-mail %s to %s failed, retrying in %s s: %s", outbox.id, outbox.recipient, int(wait), error,
             extra={"outcome": "retry"})
    return "retrying"


def deliver(settings: Settings, recipient: str, subject: str, body: str, message_id: str) -> None:
    """One plain-text e-mail through the configured SMTP server (STARTTLS and sign-in as the settings say)."""
    message = EmailMessage()
    message["From"] = settings.smtp_from or f"creditflow@{settings.smtp_host}"
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)
