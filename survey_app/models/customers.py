"""Customers of a unit, their orders, value tiers and follow-ups of their feedback.

A customer is identified within its unit by the organisation's own ``customer_id`` (the
CSV column); rows reference it by the surrogate key ``customer.id`` (``customer_pk``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import Unit, User, utcnow
from .surveys import BigId

TIERS = ("A", "B", "C")
TIER_SOURCES = ("abc", "rfm", "manual")
FOLLOW_UP_STATES = ("new", "assigned", "in_progress", "resolved")
DEFAULT_WORK_HOURS = "09:00-12:00,13:00-17:00"
DEFAULT_ZONE = "Asia/Shanghai"


class UnitSettings(db.Model):
    """How a unit works: its time zone, working hours and calendar (for due times), the
    time a follow-up is due in, its default agent and the customers' default language."""

    __tablename__ = "unit_settings"
    __table_args__ = (CheckConstraint("calendar IN ('cn', 'weekdays')", name="unit_calendar"),)

    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), default=DEFAULT_ZONE)
    work_hours: Mapped[str] = mapped_column(String(200), default=DEFAULT_WORK_HOURS)
    # cn: Monday to Friday plus adjusted working days minus public holidays (chinesecalendar)
    calendar: Mapped[str] = mapped_column(String(16), default="cn")
    due_hours: Mapped[float] = mapped_column(Float, default=4.0)
    default_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    default_lang: Mapped[str] = mapped_column(String(8), default="zh")

    unit: Mapped[Unit] = relationship()
    default_agent: Mapped[User | None] = relationship()


class Customer(db.Model):
    __table_args__ = (
        UniqueConstraint("unit_id", "customer_id", name="uq_customer_unit_ref"),
        CheckConstraint("tier IS NULL OR tier IN ('A', 'B', 'C')", name="customer_tier"),
        CheckConstraint("revenue IS NULL OR revenue >= 0", name="customer_revenue"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))  # the organisation's own id
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str | None] = mapped_column(String(100))
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )
    # contact details: personal data
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    revenue: Mapped[float | None] = mapped_column(Float)
    lang: Mapped[str | None] = mapped_column(String(8))
    attributes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # extra columns
    tier: Mapped[str | None] = mapped_column(String(1))
    tier_source: Mapped[str | None] = mapped_column(String(8))  # abc, rfm, manual
    rfm: Mapped[dict | None] = mapped_column(JSON)  # r, f, m scores and the segment
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[Unit] = relationship()
    account_manager: Mapped[User | None] = relationship()


class Order(db.Model):
    __tablename__ = "customer_order"
    __table_args__ = (
        UniqueConstraint("unit_id", "order_id", name="uq_order_unit_ref"),
        CheckConstraint("amount >= 0", name="order_amount"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"))
    order_id: Mapped[str] = mapped_column(String(64))
    customer_pk: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    date: Mapped[date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Float)


class Suppression(db.Model):
    """An address that asked not to be mailed (per unit): never mailed again."""

    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # lower-case
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(32), default="unsubscribe")


class OutboxMail(db.Model):
    """A message to send: written in the transaction that decides it, sent after the
    commit (and retried by ``send-mail`` until it goes)."""

    __tablename__ = "outbox_mail"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[str] = mapped_column(String(32))  # invitation, reminder, follow_up, ...
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class FollowUp(db.Model):
    """A completed response that needs action: its owner, state, due time and history."""

    __tablename__ = "follow_up"
    __table_args__ = (
        CheckConstraint(f"state IN {FOLLOW_UP_STATES}", name="follow_up_state"),
        Index("ix_follow_up_unit_state", "unit_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"))
    survey_id: Mapped[str] = mapped_column(ForeignKey("survey.id"), index=True)
    # SET NULL: a response deleted on the customer's request takes its texts with it
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("response.id", ondelete="SET NULL"), unique=True
    )
    customer_pk: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[str] = mapped_column(String(12), default="new")
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closing_note: Mapped[str | None] = mapped_column(Text)
    # why it opened: [{"column": "SAT1", "value": 2, "max": 3}, {"complaint": "COMPLAINT"}]
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    scores: Mapped[dict] = mapped_column(JSON, default=dict)  # numeric answers at opening
    notified_overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    customer: Mapped[Customer | None] = relationship()
    owner: Mapped[User | None] = relationship()
    events: Mapped[list[FollowUpEvent]] = relationship(
        order_by="FollowUpEvent.id", back_populates="follow_up"
    )


class FollowUpEvent(db.Model):
    """One step of a follow-up's history: opened, assigned, started, reassigned, a note,
    resolved, an owner notified."""

    __tablename__ = "follow_up_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12))  # the state after the step
    owner: Mapped[str | None] = mapped_column(String(254))  # the owner after the step
    note: Mapped[str | None] = mapped_column(Text)

    follow_up: Mapped[FollowUp] = relationship(back_populates="events")
