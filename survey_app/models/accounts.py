"""Staff accounts and the business units that own surveys."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import Column, DateTime, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

ROLES = ("admin", "executive", "unit_admin", "researcher", "manager", "agent")
DEFAULT_UNIT = "default"


def utcnow() -> datetime:
    return datetime.now(UTC)


user_unit = Table(
    "user_unit",
    db.metadata,
    Column("user_id", ForeignKey("staff_user.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id"), primary_key=True),
)


class Unit(db.Model):
    """A business unit (a subsidiary or region): it owns surveys and sees only its own."""

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(UserMixin, db.Model):
    """A staff account: one role, the units it works in, and the personal-data grant."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    personal: Mapped[bool] = mapped_column(default=False)  # may see personal data
    active: Mapped[bool] = mapped_column(default=True)  # False: disabled, no session works
    # Bumped on a password change or reset: sessions made before it stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    units: Mapped[list[Unit]] = relationship(secondary=user_unit, order_by=Unit.id)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def unit_ids(self) -> frozenset[str]:
        return frozenset(u.id for u in self.units)
