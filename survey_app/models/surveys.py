"""Surveys, questionnaire versions, invitations and responses.

Answers are stored one row per response (see :mod:`survey_app.storage` for why): the
numeric answers packed as little-endian 16-bit integers in the column order of the
questionnaire version the response was given under, open-text answers as JSON.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from questionnaires import Questionnaire, parse_questionnaire

from ..extensions import db
from .accounts import Unit, utcnow

STATUSES = ("in_progress", "complete")
SURVEY_STATES = ("draft", "open", "closed")
# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


class Survey(db.Model):
    __table_args__ = (CheckConstraint(f"state IN {SURVEY_STATES}", name="survey_state"),)

    # Survey ids are unique across units: URLs name a survey by its id alone.
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("unit.id"), index=True, default="default")
    # draft (not yet open), open or closed; optional dates open and close it by themselves
    state: Mapped[str] = mapped_column(String(8), default="open")
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Bumped by a trigger (migration 0006) whenever a complete response is deleted or
    # changed: report caches, which otherwise append new responses, then read everything
    # again (see survey_app.reports.cache).
    data_revision: Mapped[int] = mapped_column(default=0, server_default="0")

    unit: Mapped[Unit] = relationship()

    def effective_state(self, now: datetime | None = None) -> str:
        """``draft``, ``open`` or ``closed``, the dates taken into account."""
        now = now or utcnow()
        if self.state == "closed" or (self.closes_at and aware(self.closes_at) <= now):
            return "closed"
        if self.state == "draft" or (self.opens_at and aware(self.opens_at) > now):
            return "draft"
        return "open"

    @property
    def current(self) -> QuestionnaireVersion:
        """The newest version, loaded alone (not every version's text)."""
        cached = self.__dict__.get("_current")
        if cached is None:
            cached = db.session.scalars(
                select(QuestionnaireVersion)
                .where(QuestionnaireVersion.survey_id == self.id)
                .order_by(QuestionnaireVersion.number.desc())
                .limit(1)
            ).one()
            self.__dict__["_current"] = cached
        return cached

    def forget_current(self) -> None:
        self.__dict__.pop("_current", None)

    def version(self, number: int) -> QuestionnaireVersion | None:
        return db.session.scalars(
            select(QuestionnaireVersion).where(
                QuestionnaireVersion.survey_id == self.id, QuestionnaireVersion.number == number
            )
        ).first()

    @property
    def questionnaire(self) -> Questionnaire:
        return self.current.questionnaire

    def response_count(self, status: str = "complete") -> int:
        query = select(db.func.count()).where(
            Response.survey_id == self.id, Response.status == status, Response.test.is_(False)
        )
        return db.session.scalar(query) or 0


@event.listens_for(Survey, "expire")
@event.listens_for(Survey, "refresh")
def _forget_current(target: Survey, *args) -> None:
    """An expired survey (after a commit) looks its current version up again."""
    if target is not None:
        target.forget_current()


class QuestionnaireVersion(db.Model):
    """One loaded text of a questionnaire; reloading a changed file adds a version."""

    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("survey.id"), index=True)
    number: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    source_text: Mapped[str] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(255))
    # The numeric columns in the order they are packed in Response.answers.
    layout: Mapped[list[str]] = mapped_column(JSON)
    # The first version of the run of compatible versions this one belongs to: answers
    # of versions in one series are read together under the newest one's definitions;
    # an incompatible change starts a new series and is never mixed with the old one.
    series: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    survey: Mapped[Survey] = relationship()

    @property
    def questionnaire(self) -> Questionnaire:
        return _parse_cached(self.sha256, self.source_text, self.source_name)

    @staticmethod
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=256)
def _parse_cached(sha256: str, text: str, source: str) -> Questionnaire:
    return parse_questionnaire(text, source=source)


class Invitation(db.Model):
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("survey.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    # What the organisation already knows: segment id -> choice id, stored with the
    # response and not asked; and whom the invitation is for.
    segments: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The customer of the register it was made for (None for anonymous questionnaires),
    # its language, and when it was mailed and last reminded.
    customer_pk: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    lang: Mapped[str | None] = mapped_column(String(8))
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Response(db.Model):
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="response_status"),
        CheckConstraint("page >= 1", name="response_page"),
        Index("ix_response_survey_status", "survey_id", "status", "id"),
        # the reports' stamp: the latest completion of a survey without reading its rows
        Index("ix_response_survey_completed", "survey_id", "status", "completed_at"),
        UniqueConstraint("survey_id", "import_ref", name="uq_response_import_ref"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[str] = mapped_column(ForeignKey("survey.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    # One response per invitation; the key identifies an open-link response (resume link).
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    page: Mapped[int] = mapped_column(default=1)  # the furthest page reached
    lang: Mapped[str] = mapped_column(String(8))
    answers: Mapped[bytes] = mapped_column(LargeBinary)
    texts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Segment answers set by the invitation or a signed link (not asked): id -> choice id
    preset: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # A staff preview: answered like a customer, kept out of data, exports and reports
    test: Mapped[bool] = mapped_column(default=False)
    # An imported row: ``id:<response id in the file>`` or ``fp:<fingerprint of the row>``,
    # so that importing the same file again adds nothing (see survey_app.imports).
    import_ref: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    version: Mapped[QuestionnaireVersion] = relationship()

    @property
    def complete(self) -> bool:
        return self.status == "complete"
