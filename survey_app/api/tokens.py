"""Personal API tokens: made (shown once), found by their SHA-256, listed, revoked.

A token acts with its account's role, units and personal-data grant; it works while
the token is not revoked and the account is active. Every function records what it
changed in the audit log and never commits (the view or command does).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from sqlalchemy import select

from .. import audit
from ..extensions import db
from ..models import ApiToken, User, utcnow

log = logging.getLogger(__name__)
TOKEN_PREFIX = "sv_"  # recognisable in logs and by secret scanners
MAX_NAME = 100


class TokenError(ValueError):
    """A token that cannot be made or changed as asked; the message says why."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token for ``user``: the row (holding its hash) and the token itself, which
    is never stored and cannot be shown again."""
    name = (name or "").strip() or "API token"
    if len(name) > MAX_NAME:
        raise TokenError(f"the token's name has more than {MAX_NAME} characters")
    if not user.active:
        raise TokenError(f"the account {user.email} is disabled")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), prefix=token[:12])
    db.session.add(row)
    db.session.flush()
    audit.record("api_token.create", user.email, {"token": row.id, "name": name})
    log.info("API token %s (%s) made for %s", row.id, row.prefix, user.email)
    return row, token


def find_active(token: str) -> ApiToken | None:
    """The unrevoked token of an active account that ``token`` is, else None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = db.session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token))
    ).first()
    if row is None or not row.active or not row.user.active:
        return None
    return row


def note_use(row: ApiToken, method: str, path: str) -> None:
    """Record a request made with the token (the audit log and its last use)."""
    row.last_used_at = utcnow()
    audit.record(
        "api_token.use",
        row.user.email,
        {"token": row.id, "name": row.name, "method": method, "path": path[:200]},
        actor=row.user.email,
    )


def tokens_for(user: Any) -> list[ApiToken]:
    """The tokens ``user`` may see on the staff page: its own; an admin's: every one."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user.role != "admin":
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def visible_token(user: Any, token_id: int) -> ApiToken | None:
    """The token ``token_id`` if ``user`` may see and revoke it (its own; an admin: any)."""
    row = db.session.get(ApiToken, token_id)
    if row is None or (user.role != "admin" and row.user_id != user.id):
        return None
    return row


def revoke_token(row: ApiToken) -> bool:
    """Stop the token working at once; False when it was revoked already."""
    if not row.active:
        return False
    row.revoked_at = utcnow()
    audit.record("api_token.revoke", row.user.email, {"token": row.id, "name": row.name})
    log.info("API token %s (%s) of %s revoked", row.id, row.prefix, row.user.email)
    return True
