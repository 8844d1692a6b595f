"""Accounts and units: creating, changing, disabling; signing in.

Each function takes plain validated data, records what it changed in the audit log and
never commits (the view or command does).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import audit
from ..extensions import db
from ..models import ROLES, Unit, User, utcnow

log = logging.getLogger(__name__)
UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}$")
MIN_PASSWORD = 10
# Checked when no account has the email, so that a wrong email takes as long as a
# wrong password (one scrypt either way).
_DUMMY_HASH = generate_password_hash("no account has this password")


class AccountError(ValueError):
    """Account data that cannot be accepted; the message says why."""


def normal_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == normal_email(email))).first()


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise AccountError("the password is too long")


def get_units(unit_ids: Iterable[str]) -> list[Unit]:
    unit_ids = sorted(set(unit_ids))
    units = db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids))).all()
    missing = sorted(set(unit_ids) - {u.id for u in units})
    if missing:
        raise AccountError(f"no unit {', '.join(missing)}")
    return list(units)


def create_unit(unit_id: str, name: str) -> Unit:
    unit_id = (unit_id or "").strip()
    if not UNIT_ID.match(unit_id):
        raise AccountError(
            f"{unit_id!r} is not a valid unit id (lower-case letters, digits, '-' and '_')"
        )
    if not (name or "").strip() or len(name) > 200:
        raise AccountError("a unit needs a name of at most 200 characters")
    if db.session.get(Unit, unit_id) is not None:
        raise AccountError(f"the unit {unit_id} exists already")
    unit = Unit(id=unit_id, name=name.strip())
    db.session.add(unit)
    audit.record("unit.create", unit_id, {"name": unit.name})
    return unit


def create_user(
    email: str, password: str, role: str, unit_ids: Iterable[str] = (), personal: bool = False
) -> User:
    email = normal_email(email)
    if not EMAIL.match(email) or len(email) > 254:
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if find_user(email) is not None:
        raise AccountError(f"an account for {email} exists already")
    check_password(password)
    units = get_units(unit_ids)
    if not units and role not in ("admin", "executive"):
        raise AccountError(f"a {role} works in at least one unit (give --unit)")
    user = User(
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        personal=personal,
        units=units,
    )
    db.session.add(user)
    audit.record(
        "user.create",
        email,
        {"role": role, "units": [u.id for u in units], "personal": personal},
    )
    return user


def update_user(user: User, role: str, unit_ids: Iterable[str], personal: bool) -> dict:
    """Change an account's role, units and grant; return what changed (and audit it)."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}")
    units = get_units(unit_ids)
    if not units and role not in ("admin", "executive"):
        raise AccountError(f"a {role} works in at least one unit")
    before = {"role": user.role, "units": sorted(user.unit_ids), "personal": user.personal}
    after = {"role": role, "units": sorted(u.id for u in units), "personal": personal}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changes:
        user.role, user.units, user.personal = role, units, personal
        audit.record("user.change", user.email, changes)
    return changes


def set_password(user: User, password: str, *, reset: bool = False) -> None:
    """A new password; every session made before it ends."""
    check_password(password)
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    audit.record("user.password_reset" if reset else "user.password_change", user.email)


def disable_user(user: User) -> None:
    """Freeze an account at once: its sessions stop working on their next request."""
    if user.active:
        user.active = False
        user.session_version += 1
        audit.record("user.disable", user.email)


def enable_user(user: User) -> None:
    if not user.active:
        user.active = True
        audit.record("user.enable", user.email)


def authenticate(email: str, password: str) -> User | None:
    """The active account with these credentials, else None, in the same time either way."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: checked on every request, so a disabled account or a changed
    password ends its sessions at once."""
    user_id, _, version = (session_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def count_admins() -> int:
    return db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active)
    )


def note_login(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("login", user.email)


# -- password reset by an e-mailed link ----------------------------------------------------
def _reset_serializer():
    from flask import current_app
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt="password-reset")


def _fingerprint(user: User) -> str:
    import hashlib

    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(user: User) -> str:
    """A signed link token for ``user``: it stops working when it expires, when the
    password changes (so after one use) and when the account's sessions are ended."""
    return _reset_serializer().dumps(
        {"u": user.id, "v": user.session_version, "h": _fingerprint(user)}
    )


def user_for_reset(token: str, max_age: int) -> User | None:
    """The active account a reset token is for, or None (forged, expired, used)."""
    from itsdangerous import BadSignature

    try:
        data = _reset_serializer().loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or user.session_version != data.get("v"):
        return None
    if data.get("h") != _fingerprint(user):
        return None
    return user


def request_reset(email: str) -> bool:
    """Queue a reset link for the account with ``email``, if there is an active one; the
    request is audited either way. Returns whether a mail was queued (never shown)."""
    from flask import current_app
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from .. import mail
    from ..links import external_url

    email = normal_email(email)
    user = find_user(email)
    audit.record("user.password_reset_request", email, actor=email or "anonymous")
    if user is None or not user.active:
        return False
    link = external_url("auth.reset_password", token=reset_token(user))
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    parts = []
    for lang in ("zh", "en"):
        with force_locale(lang):
            parts.append(
                (
                    _("Reset your password"),
                    "\n".join(
                        [
                            _("Someone asked to reset the password of this staff account."),
                            _(
                                "To choose a new password, open this link within %(n)s minutes:",
                                n=minutes,
                            ),
                            link,
                            _(
                                "The link works once. If you did not ask for it, ignore this "
                                "mail: your password stays as it is."
                            ),
                        ]
                    ),
                )
            )
    mail.queue(
        user.email,
        " / ".join(p[0] for p in parts),
        "\n\n----\n\n".join(p[1] for p in parts),
        kind="password_reset",
    )
    return True
