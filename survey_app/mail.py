"""Mail over SMTP: an outbox written in the transaction that decides a message, delivery
after the commit, the unsubscribe link and the per-unit suppression list.

Configuration (environment): ``MAIL_SERVER``, ``MAIL_PORT`` (25), ``MAIL_FROM``; plain
SMTP without login or TLS unless ``MAIL_USERNAME``/``MAIL_PASSWORD``, ``MAIL_STARTTLS``
or ``MAIL_SSL`` are set. Without ``MAIL_SERVER`` nothing is sent and messages wait in the
outbox (``flask send-mail`` sends them once a server is configured).

A message is claimed before it is sent (its ``sent_at`` set in a committed update that
only one sender can win), so two senders never send it twice; a failure puts it back
with the error, for the next ``send-mail``.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from . import audit
from .auth.services import normal_email
from .extensions import db
from .models import OutboxMail, Suppression, utcnow

log = logging.getLogger(__name__)
CUSTOMER_KINDS = frozenset({"invitation", "reminder"})  # carry an unsubscribe link
_threads: list[threading.Thread] = []


class MailError(RuntimeError):
    """Mail cannot be sent as asked (no server configured, the server refused)."""


def configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def sender() -> str:
    configured_from = current_app.config.get("MAIL_FROM")
    if configured_from:
        return configured_from
    host = urlsplit(current_app.config["SURVEY_BASE_URL"]).hostname or "localhost"
    return f"noreply@{host}"


# -- suppression and unsubscribing ------------------------------------------------------
def _unsubscribe_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="unsubscribe")


def unsubscribe_token(unit_id: str, email: str) -> str:
    return _unsubscribe_signer().dumps([unit_id, normal_email(email)])


def read_unsubscribe_token(token: str) -> tuple[str, str] | None:
    """(unit, email) of a signed unsubscribe token, or None when forged."""
    try:
        value = _unsubscribe_signer().loads(token)
    except BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        return None
    return value[0], value[1]


def unsubscribe_url(unit_id: str, email: str) -> str:
    from .links import external_url

    return external_url("customers.unsubscribe", token=unsubscribe_token(unit_id, email))


def suppressed(unit_id: str | None, email: str) -> bool:
    if unit_id is None:
        return False
    return db.session.get(Suppression, (unit_id, normal_email(email))) is not None


def suppress(unit_id: str, email: str, source: str = "unsubscribe") -> bool:
    """Never mail ``email`` for ``unit_id`` again; False if it was already suppressed."""
    email = normal_email(email)
    if suppressed(unit_id, email):
        return False
    db.session.add(Suppression(unit_id=unit_id, email=email, source=source))
    # the address is personal data: the log names the unit and where the request came from
    audit.record("mail.unsubscribe", unit_id, {"source": source})
    return True


# -- the outbox ----------------------------------------------------------------------------
def queue(
    to: str,
    subject: str,
    body: str,
    *,
    kind: str,
    unit_id: str | None = None,
) -> OutboxMail | None:
    """Add a message to the outbox (in the current transaction; the caller commits).
    Customer mail gets the unsubscribe link and header; a suppressed address gets
    nothing (None), and so does everyone while no mail server is configured."""
    if not configured():
        # nothing would send it; a later configuration must not send stale notices
        log.info("mail is not configured: a %s message was not queued", kind)
        return None
    to = normal_email(to)
    headers: dict[str, str] = {}
    if kind in CUSTOMER_KINDS:
        if unit_id is None:
            raise ValueError("customer mail needs its unit (for the suppression list)")
        if suppressed(unit_id, to):
            log.info("not mailing a suppressed address of unit %s", unit_id)
            return None
        link = unsubscribe_url(unit_id, to)
        body = f"{body.rstrip()}\n\n-- \n{unsubscribe_footer(link)}\n"
        headers["List-Unsubscribe"] = f"<{link}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = OutboxMail(
        unit_id=unit_id, kind=kind, to=to, subject=subject[:300], body=body, headers=headers
    )
    db.session.add(message)
    db.session.info["mail_queued"] = True
    return message


def unsubscribe_footer(link: str) -> str:
    """The unsubscribe line in both languages (a customer's mail may be read by others)."""
    return f"退订 / Unsubscribe: {link}"


def _build(message: OutboxMail) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender()
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=sender().rpartition("@")[2] or None)
    for name, value in (message.headers or {}).items():
        email[name] = value
    email.set_content(message.body)
    return email


def _connect() -> smtplib.SMTP:
    config = current_app.config
    host, port, timeout = config["MAIL_SERVER"], int(config["MAIL_PORT"]), config["MAIL_TIMEOUT"]
    if config.get("MAIL_SSL"):
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
        if config.get("MAIL_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
    if config.get("MAIL_USERNAME"):
        smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    return smtp


def deliver_pending(limit: int | None = None) -> tuple[int, int]:
    """Send the messages waiting in the outbox; return (sent, failed). Commits."""
    if not configured():
        return 0, 0
    ids = list(
        db.session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.sent_at.is_(None))
            .order_by(OutboxMail.id)
            .limit(limit)
        )
    )
    db.session.commit()
    sent = failed = 0
    smtp = None
    try:
        for message_id in ids:
            claimed = db.session.execute(
                update(OutboxMail)
                .where(OutboxMail.id == message_id, OutboxMail.sent_at.is_(None))
                .values(sent_at=utcnow(), attempts=OutboxMail.attempts + 1)
            )
            db.session.commit()
            if claimed.rowcount != 1:
                continue  # another sender has it
            message = db.session.get(OutboxMail, message_id)
            if message.kind in CUSTOMER_KINDS and suppressed(message.unit_id, message.to):
                message.last_error = "suppressed before sending"  # unsubscribed meanwhile
                db.session.commit()
                continue
            try:
                smtp = smtp or _connect()
                smtp.send_message(_build(message))
            except (OSError, smtplib.SMTPException) as exc:
                message.sent_at = None
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                db.session.commit()
                failed += 1
                log.warning("mail %s to the outbox's address not sent: %s", message.id, exc)
                smtp = None
                continue
            message.last_error = None
            db.session.commit()
            sent += 1
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
    if sent or failed:
        log.info("mail: %s sent, %s failed", sent, failed)
    return sent, failed


def deliver_soon(app: Flask | None = None) -> None:
    """Send what the committed transaction queued, in a background thread, so that a
    customer's page or a sign-in page never waits for the mail server."""
    if not configured():
        return
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                deliver_pending()
            except Exception:  # noqa: BLE001 - a background sender must not die silently
                log.exception("mail delivery failed")
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="mail", daemon=True)
    _threads.append(thread)
    thread.start()


def wait_for_background(timeout: float = 30) -> None:
    """Wait for background deliveries (tests, and a command that must not exit first)."""
    while _threads:
        _threads.pop().join(timeout)


def flush_if_queued(app: Flask | None = None) -> None:
    """After a commit: deliver in the background if the transaction queued mail."""
    if db.session.info.pop("mail_queued", False):
        deliver_soon(app)
