"""Write operations on surveys and responses.

They take plain validated data and never commit: the request handler or CLI command
commits, so a failure anywhere leaves nothing half-written.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from questionnaires import Questionnaire

from ..extensions import db
from ..models import Invitation, QuestionnaireVersion, Response, Survey, utcnow
from ..storage import decode, encode, layout_of

log = logging.getLogger(__name__)


def new_key() -> str:
    return secrets.token_urlsafe(24)


def store_questionnaire(q: Questionnaire, text: str, source_name: str) -> tuple[Survey, bool]:
    """Add ``q`` as a new version of its survey unless the same text is already current.

    Returns the survey and whether a version was added.
    """
    survey = db.session.get(Survey, q.id)
    if survey is None:
        survey = Survey(id=q.id)
        db.session.add(survey)
    digest = QuestionnaireVersion.digest(text)
    if survey.versions and survey.current.sha256 == digest:
        return survey, False
    number = survey.versions[-1].number + 1 if survey.versions else 1
    version = QuestionnaireVersion(
        survey=survey,
        number=number,
        sha256=digest,
        source_text=text,
        source_name=source_name,
        layout=layout_of(q),
    )
    db.session.add(version)
    log.info("questionnaire %s: version %s loaded from %s", q.id, number, source_name)
    return survey, True


def create_invitations(survey: Survey, count: int) -> list[Invitation]:
    """Create ``count`` invitation tokens for ``survey``."""
    invitations = [Invitation(survey_id=survey.id, token=new_key()) for _ in range(count)]
    db.session.add_all(invitations)
    log.info("survey %s: %s invitations created", survey.id, count)
    return invitations


def find_response(
    survey: Survey, *, key: str | None = None, invitation: Invitation | None = None
) -> Response | None:
    """The response of an invitation, or of an open-link key, if it exists."""
    if invitation is not None:
        query = select(Response).where(Response.invitation_id == invitation.id)
    elif key:
        query = select(Response).where(Response.key == key, Response.survey_id == survey.id)
    else:
        return None
    return db.session.scalars(query).first()


def start_response(
    survey: Survey, *, key: str, lang: str, invitation: Invitation | None = None
) -> Response:
    """Get or create the response for ``key`` (or ``invitation``).

    A replayed or concurrent first submission finds the row the other one created, so
    one key or token never makes two responses.
    """
    existing = find_response(survey, key=key, invitation=invitation)
    if existing is not None:
        return existing
    version = survey.current
    response = Response(
        survey_id=survey.id,
        version_id=version.id,
        invitation_id=invitation.id if invitation else None,
        key=key,
        status="in_progress",
        page=1,
        lang=lang,
        answers=encode(version.questionnaire, {}),
        texts={},
    )
    try:
        with db.session.begin_nested():
            db.session.add(response)
    except IntegrityError:
        # Lost a race with an identical submission: use the row it created.
        existing = find_response(survey, key=key, invitation=invitation)
        if existing is None:
            raise
        return existing
    log.info("survey %s: response %s started", survey.id, response.id)
    return response


def stored_answers(response: Response) -> dict[str, Any]:
    q = response.version.questionnaire
    return decode(q, response.answers, response.texts)


def visible_answers(q: Questionnaire, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the answers to items whose show-if condition does not hold (in item order)."""
    result = dict(answers)
    for item in q.items:
        if item.show_if is not None and not item.show_if.holds(result):
            for column in q.columns_of(item):
                result[column.name] = None
    return result


def save_page(
    response: Response,
    page_number: int,
    answers: Mapping[str, Any],
    *,
    lang: str,
    finish: bool,
) -> None:
    """Store one page's validated answers; ``finish`` marks the response complete.

    ``answers`` holds every column of the page (``None`` for unanswered or hidden items),
    so answering a page again replaces what it stored before.
    """
    q = response.version.questionnaire
    merged = stored_answers(response)
    merged.update(answers)
    if finish:
        merged = visible_answers(q, merged)
    response.answers = encode(q, merged)
    response.texts = {c.name: merged[c.name] for c in q.text_columns if merged.get(c.name)}
    response.page = max(response.page, min(page_number + 1, len(q.pages)))
    response.lang = lang
    response.updated_at = utcnow()
    if finish:
        response.status = "complete"
        response.completed_at = response.updated_at
        log.info("survey %s: response %s completed", response.survey_id, response.id)
