"""Background jobs of the staff pages and the API: exports and response imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .accounts import utcnow

JOB_KINDS = ("export", "import")
JOB_STATES = ("queued", "running", "done", "failed")


class Job(db.Model):
    """One export or import: what was asked, how far it is, and where its file is.

    The id is random (it names the job in URLs); ``done``/``total`` count rows.
    """

    __table_args__ = (
        CheckConstraint(f"kind IN {JOB_KINDS}", name="job_kind"),
        CheckConstraint(f"status IN {JOB_STATES}", name="job_status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    survey_id: Mapped[str] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(8), default="queued")
    options: Mapped[dict] = mapped_column(JSON, default=dict)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    file_name: Mapped[str] = mapped_column(String(255), default="")  # what the user downloads
    path: Mapped[str] = mapped_column(Text, default="")  # where the file is on this server
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")
