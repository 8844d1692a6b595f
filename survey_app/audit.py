"""Recording and verifying the audit log (see :mod:`survey_app.models.audit`).

``record()`` adds an entry to the current transaction, so an entry exists exactly when
the change it describes was committed; failed logins commit their entry themselves.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select, update

from .extensions import db
from .models import AuditEntry, AuditHead, utcnow

log = logging.getLogger(__name__)


def canonical_time(moment: datetime) -> str:
    """The entry's time as hashed: UTC, microseconds (SQLite returns it naive)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def entry_hash(entry: AuditEntry) -> str:
    """SHA-256 over every stored column of ``entry`` but the hash itself."""
    content = [
        entry.id,
        canonical_time(entry.at),
        entry.actor,
        entry.address,
        entry.action,
        entry.target,
        entry.details,
        entry.prev_hash,
    ]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode("utf-8")).hexdigest()


def current_actor() -> tuple[str, str]:
    """Who acts, and from where: the signed-in account and the client's address in a
    request; on the command line the account of ``--as``, else the operating-system user."""
    actor = getattr(g, "actor", None) if _has_app_g() else None
    if has_request_context():
        from flask_login import current_user

        if actor is None and current_user.is_authenticated:
            actor = current_user.email
        return actor or "anonymous", request.remote_addr or ""
    return actor or f"os:{_os_user()}", "cli"


def _has_app_g() -> bool:
    from flask import has_app_context

    return has_app_context()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container
        return "unknown"


def record(
    action: str,
    target: str = "",
    details: Mapping[str, Any] | None = None,
    *,
    actor: str | None = None,
) -> AuditEntry:
    """Append an entry (in the current transaction; the caller commits)."""
    who, address = current_actor()
    head = _lock_head()
    entry = AuditEntry(
        id=head.count + 1,
        at=utcnow(),
        actor=(actor or who)[:300],
        address=address[:64],
        action=action,
        target=target[:300],
        details=json.dumps(dict(details or {}), ensure_ascii=False, sort_keys=True, default=str),
        prev_hash=head.hash,
    )
    entry.hash = entry_hash(entry)
    db.session.add(entry)
    head.count, head.hash = entry.id, entry.hash
    log.info("audit %s %s %s by %s", entry.id, action, target, entry.actor)
    return entry


def _lock_head() -> AuditHead:
    # The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite): appends queue.
    db.session.execute(update(AuditHead).where(AuditHead.id == 1).values(count=AuditHead.count))
    return db.session.scalars(
        select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    ).one()


@dataclass(frozen=True)
class Verification:
    entries: int
    first_bad: int | None  # the id of the first entry that does not match
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad is None


def verify(batch: int = 5000) -> Verification:
    """Recompute the chain; report the first entry whose hash, link or number is wrong."""
    previous, expected_id, count = "0" * 64, 1, 0
    after = 0
    while True:
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
        ).all()
        for entry in entries:
            count += 1
            if entry.id != expected_id:
                return Verification(count, expected_id, f"entry {expected_id} is missing")
            if entry.prev_hash != previous:
                return Verification(count, entry.id, "it does not follow the previous entry")
            if entry_hash(entry) != entry.hash:
                return Verification(count, entry.id, "its content does not match its hash")
            previous, expected_id, after = entry.hash, entry.id + 1, entry.id
        if len(entries) < batch:
            break
    head = db.session.get(AuditHead, 1)
    if head is not None and (head.count, head.hash) != (count, previous):
        return Verification(count, count + 1, "entries after this one were removed")
    return Verification(count, None)
