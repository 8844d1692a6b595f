"""Staff operations on a survey: state, previews, invitation files, deletions.

They take validated data, audit what they change and never commit.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import datetime

from sqlalchemy import select, update

from .. import audit
from ..auth.policy import sees_personal
from ..extensions import db
from ..links import external_url
from ..models import SURVEY_STATES, Invitation, Response, Survey, aware
from ..surveys.services import new_key

log = logging.getLogger(__name__)
MASK = "***"


def set_state(
    survey: Survey, state: str, opens_at: datetime | None, closes_at: datetime | None
) -> None:
    """Open, close or schedule a survey (a closed survey takes no more answers)."""
    if state not in SURVEY_STATES:
        raise ValueError(f"unknown state {state!r}")
    if opens_at and closes_at and aware(closes_at) <= aware(opens_at):
        raise ValueError("the closing time must come after the opening time")
    before = (survey.state, survey.opens_at, survey.closes_at)
    survey.state, survey.opens_at, survey.closes_at = state, opens_at, closes_at
    if before != (state, opens_at, closes_at):
        audit.record(
            "survey.state",
            survey.id,
            {"state": state, "opens_at": opens_at, "closes_at": closes_at},
        )


def start_preview(survey: Survey) -> Response:
    """A response marked as a test, answered like a customer's: it works whatever the
    survey's state, and is kept out of data, exports and reports."""
    version = survey.current
    from ..storage import encode
    from ..surveys.services import initial_preset

    preset = initial_preset(version.questionnaire, None)
    response = Response(
        survey_id=survey.id,
        version_id=version.id,
        key=new_key(),
        status="in_progress",
        page=1,
        lang="en",
        answers=encode(version.questionnaire, preset),
        texts={},
        preset=preset,
        test=True,
    )
    db.session.add(response)
    return response


def invitation_rows(survey: Survey, user) -> tuple[list[str], list[list[str]]]:
    """The invitation links as a table: ``token``, ``link``, the segments, ``email``,
    ``name`` (masked for users without the personal-data grant), ``status``."""
    segments = [item.id for section in survey.questionnaire.segments for item in section.items]
    header = ["token", "link", *segments, "email", "name", "status"]
    show = sees_personal(user)
    answered = dict(
        db.session.execute(
            select(Response.invitation_id, Response.status).where(
                Response.survey_id == survey.id, Response.invitation_id.is_not(None)
            )
        ).all()
    )
    rows = []
    for invitation in db.session.scalars(
        select(Invitation).where(Invitation.survey_id == survey.id).order_by(Invitation.id)
    ):
        contact = [invitation.email or "", invitation.name or ""]
        if not show:
            contact = [MASK if value else "" for value in contact]
        rows.append(
            [
                invitation.token,
                external_url("surveys.take", survey_id=survey.id, t=invitation.token),
                *[invitation.segments.get(s, "") for s in segments],
                *contact,
                answered.get(invitation.id, "not started"),
            ]
        )
    return header, rows


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    """CSV whose cells cannot start a formula in a spreadsheet (=, +, -, @)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return out.getvalue()


def delete_response(survey: Survey, reference: str) -> Response | None:
    """Delete a respondent's answers on request, found by invitation token or response
    id; the invitation's contact details go too. Returns the deleted response."""
    reference = reference.strip()
    response = None
    invitation = db.session.scalars(
        select(Invitation).where(Invitation.survey_id == survey.id, Invitation.token == reference)
    ).first()
    if invitation is not None:
        response = db.session.scalars(
            select(Response).where(Response.invitation_id == invitation.id)
        ).first()
        invitation.email = invitation.name = None
    elif reference.isdigit() and len(reference) < 19:
        response = db.session.scalars(
            select(Response).where(Response.id == int(reference), Response.survey_id == survey.id)
        ).first()
    if response is None:
        return None
    # the follow-up keeps its history; the customer's texts go with the response
    from ..models import FollowUp

    db.session.execute(
        update(FollowUp).where(FollowUp.response_id == response.id).values(response_id=None)
    )
    audit.record(
        "response.delete",
        survey.id,
        {"response_id": response.id, "by": "invitation" if invitation else "response id"},
    )
    db.session.delete(response)  # (a trigger bumps survey.data_revision for the reports)
    return response
