"""The survey engine: starting, saving and completing responses.

The web form, the JSON API and the response import all go through
:func:`submit_page`, which checks the answers against the questionnaire, locks the
response so that two posts at once (two tabs, two devices) never lose each other's
answers, stores the page and decides whether the response is complete. It owns its
transaction: it commits what it accepted, and stores nothing of what it refused.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, Update, bindparam, select, update
from sqlalchemy.exc import IntegrityError, NoResultFound

from questionnaires import Questionnaire
from questionnaires.answers import check_slots, missing_required
from questionnaires.kinds import Problem
from questionnaires.model import Page

from ..extensions import db
from ..models import Invitation, QuestionnaireVersion, Response, Survey, utcnow
from ..storage import decode, encode

log = logging.getLogger(__name__)


def new_key() -> str:
    return secrets.token_urlsafe(24)


# -- keys and links made by the server ---------------------------------------------------
def _signer(purpose: str, survey_id: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"{purpose}:{survey_id}")


def sign_key(survey_id: str, key: str) -> str:
    """The response key as carried in the form: signed for this survey by the server."""
    return _signer("response-key", survey_id).dumps(key)


def unsign_key(survey_id: str, value: str | None) -> str | None:
    """The key of a signed form value, or None when forged, foreign or absent."""
    if not value:
        return None
    try:
        key = _signer("response-key", survey_id).loads(value)
    except BadSignature:
        return None
    return key if isinstance(key, str) else None


def sign_segments(survey_id: str, values: Mapping[str, str]) -> str:
    """Segment values for an open link (a branch, a QR code), signed by the server."""
    return _signer("link-segments", survey_id).dumps(dict(values))


def unsign_segments(q: Questionnaire, value: str | None) -> dict[str, str]:
    """The segment values of a signed link; nothing when tampered with or stale."""
    if not value:
        return {}
    try:
        values = _signer("link-segments", q.id).loads(value)
    except BadSignature:
        return {}
    if not isinstance(values, dict):
        return {}
    try:
        return check_segments(q, values)
    except ValueError:
        return {}


def check_segments(q: Questionnaire, values: Mapping[str, Any]) -> dict[str, str]:
    """Validate segment values given in advance (``--set tier=A``, a CSV row).

    Raises :class:`ValueError` naming the segment and listing its choices.
    """
    segments = {item.id: item for section in q.segments for item in section.items}
    result = {}
    for sid, value in values.items():
        item = segments.get(sid)
        if item is None:
            known = ", ".join(segments) or "none"
            raise ValueError(f"'{sid}' is not a segment of {q.id} (segments: {known})")
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        if item.choice(text) is None:
            choices = ", ".join(c.id for c in item.choices)
            raise ValueError(f"segment '{sid}': {text!r} is not one of its choices ({choices})")
        result[sid] = text
    return result


# -- questionnaires and invitations ----------------------------------------------------
def create_invitations(
    survey: Survey,
    count: int = 1,
    *,
    segments: Mapping[str, str] | None = None,
    rows: list[dict[str, Any]] | None = None,
) -> list[Invitation]:
    """Create invitations: ``count`` alike (with ``segments``), or one per row of
    ``rows`` (each with ``segments`` and optional ``email``/``name``). Values are
    validated before anything is added."""
    q = survey.questionnaire
    if rows is None:
        rows = [{"segments": segments or {}} for _ in range(count)]
    invitations = [
        Invitation(
            survey_id=survey.id,
            token=new_key(),
            segments=check_segments(q, row.get("segments") or {}),
            email=row.get("email") or None,
            name=row.get("name") or None,
        )
        for row in rows
    ]
    db.session.add_all(invitations)
    log.info("survey %s: %s invitations created", survey.id, len(invitations))
    return invitations


# -- surveys and responses ---------------------------------------------------------------
# The lookups of every page view are built once, with bind parameters: building a
# statement and its cache key per request cost more CPU than running it.
_SURVEY_AND_CURRENT = (
    select(Survey, QuestionnaireVersion)
    .outerjoin(QuestionnaireVersion, QuestionnaireVersion.survey_id == Survey.id)
    .where(Survey.id == bindparam("survey_id"))
    .order_by(QuestionnaireVersion.number.desc())
    .limit(1)
)


@dataclass(frozen=True)
class _ResponseLookup:
    """The responses meeting some conditions: read as they are, read fresh (the stored
    row, not the session's copy), read locked (PostgreSQL's ``FOR UPDATE``), and the
    no-op UPDATE that takes SQLite's write lock instead."""

    plain: Select
    fresh: Select
    locked: Select
    touch: Update

    @classmethod
    def where(cls, *conditions: Any) -> _ResponseLookup:
        plain = select(Response).where(*conditions)
        fresh = plain.execution_options(populate_existing=True)
        touch = (
            update(Response)
            .where(*conditions)
            .values(id=Response.id)
            .execution_options(synchronize_session=False)
        )
        return cls(plain, fresh, fresh.with_for_update(), touch)

    def sqlite_lock(self, params: dict[str, Any]) -> bool:
        """On SQLite, take the write lock that stands in for ``FOR UPDATE`` (the no-op
        UPDATE); whether it did (False on PostgreSQL, whose reads lock themselves)."""
        if db.session.get_bind().dialect.name != "sqlite":
            return False
        db.session.execute(self.touch, params)
        return True

    def one_or_none(self, params: dict[str, Any], *, lock: bool = False) -> Response | None:
        if not lock:
            return db.session.scalars(self.plain, params).first()
        if self.sqlite_lock(params):
            return db.session.scalars(self.fresh, params).first()
        return db.session.scalars(self.locked, params).first()


# (bind parameters named unlike the columns: an UPDATE reserves the column names)
_BY_KEY = _ResponseLookup.where(
    Response.key == bindparam("by_key"), Response.survey_id == bindparam("by_survey")
)
_BY_INVITATION = _ResponseLookup.where(Response.invitation_id == bindparam("by_invitation"))
_BY_ID = _ResponseLookup.where(Response.id == bindparam("by_id"))


def load_survey(survey_id: str) -> Survey | None:
    """The survey with its current version, read in one query (every page view needs
    both, and ``Survey.current`` then has nothing left to look up)."""
    row = db.session.execute(_SURVEY_AND_CURRENT, {"survey_id": survey_id}).first()
    return None if row is None else _with_current(*row)


def _with_current(survey: Survey, version: QuestionnaireVersion | None) -> Survey:
    if version is not None:
        survey.__dict__["_current"] = version  # where Survey.current keeps what it found
    return survey


# A page view or a posted page of a customer who has a key: the survey, its current
# version and the key's response in one round trip instead of two. A locked read joins
# the response (PostgreSQL locks no row on the nullable side of an outer join), so it
# finds nothing when the key has no response yet; the caller then reads the survey alone.
_SURVEY_AND_KEY = _SURVEY_AND_CURRENT.add_columns(Response).outerjoin(
    Response,
    (Response.survey_id == Survey.id) & (Response.key == bindparam("by_key")),
)
_SURVEY_AND_KEY_LOCKED = (
    _SURVEY_AND_CURRENT.add_columns(Response)
    .join(Response, (Response.survey_id == Survey.id) & (Response.key == bindparam("by_key")))
    .with_for_update(of=Response)
    .execution_options(populate_existing=True)
)


def load_survey_and_response(
    survey_id: str, key: str, *, lock: bool = False
) -> tuple[Survey | None, Response | None]:
    """The survey with its current version, and the response of ``key`` if there is
    one (with ``lock``: read holding its row lock, as :func:`find_response` does)."""
    params = {"survey_id": survey_id, "by_key": key, "by_survey": survey_id}
    if not lock:
        row = db.session.execute(_SURVEY_AND_KEY, params).first()
        if row is None:
            return None, None
    else:
        _BY_KEY.sqlite_lock(params)
        row = db.session.execute(_SURVEY_AND_KEY_LOCKED, params).first()
        if row is None:  # no response of this key yet (or no survey)
            return load_survey(survey_id), None
    survey, version, response = row
    return _with_current(survey, version), response


def find_response(
    survey: Survey,
    *,
    key: str | None = None,
    invitation: Invitation | None = None,
    lock: bool = False,
) -> Response | None:
    """The response of an invitation, or of an open-link key, if it exists; with
    ``lock``, read holding its row lock until the transaction ends (see
    :func:`lock_response`)."""
    if invitation is not None:
        return _BY_INVITATION.one_or_none({"by_invitation": invitation.id}, lock=lock)
    if key:
        return _BY_KEY.one_or_none({"by_key": key, "by_survey": survey.id}, lock=lock)
    return None


def initial_preset(
    q: Questionnaire, invitation: Invitation | None, link: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Segment answers known before the first page: the invitation's or the signed
    link's values, then the defaults of hidden segments."""
    preset = dict(invitation.segments if invitation is not None else link or {})
    for section in q.segments:
        for item in section.items:
            if item.hidden and item.default is not None:
                preset.setdefault(item.id, item.default)
    return preset


def start_response(
    survey: Survey,
    *,
    key: str,
    lang: str,
    invitation: Invitation | None = None,
    preset: Mapping[str, str] | None = None,
) -> Response:
    """Get or create the response for ``key`` (or ``invitation``).

    A replayed or concurrent first submission finds the row the other one created, so
    one key or token never makes two responses.
    """
    existing = find_response(survey, key=key, invitation=invitation)
    if existing is not None:
        return existing
    version = survey.current
    preset = dict(preset or {})
    response = Response(
        survey_id=survey.id,
        version_id=version.id,
        invitation_id=invitation.id if invitation else None,
        key=key,
        status="in_progress",
        page=1,
        lang=lang,
        answers=encode(version.questionnaire, preset),
        texts={},
        preset=preset,
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


def lock_response(response_id: int) -> Response:
    """Reload a response holding its row lock until the transaction ends.

    PostgreSQL locks the row (``SELECT ... FOR UPDATE``); SQLite has no row locks, so a
    no-op UPDATE first takes the database's write lock. Either way a second save of
    the same response waits, then reads what the first one stored.
    """
    response = _BY_ID.one_or_none({"by_id": response_id}, lock=True)
    if response is None:
        raise NoResultFound(f"response {response_id} does not exist")
    return response


def stored_answers(response: Response) -> dict[str, Any]:
    q = response.version.questionnaire
    return decode(q, response.answers, response.texts)


def pages_of(response: Response | None, q: Questionnaire, preset=None) -> tuple[Page, ...]:
    """The pages this customer sees: segments set in advance are not asked."""
    known = response.preset if response is not None else preset or {}
    return q.pages_for(frozenset(known))


@dataclass
class Outcome:
    """What happened to a submitted page.

    ``status``: ``invalid`` (nothing stored; ``problems`` by slot), ``saved`` (go to
    ``page``), ``incomplete`` (the last page was stored, but ``page`` still has required
    questions unanswered: ``problems``), ``complete``, or ``closed`` (the response was
    complete already: nothing changed).
    """

    status: Literal["invalid", "saved", "incomplete", "complete", "closed"]
    response: Response | None
    page: int
    problems: dict[str, Problem] = field(default_factory=dict)


def submit_page(
    survey: Survey,
    *,
    response: Response | None,
    key: str,
    page: int,
    action: Literal["next", "back"],
    raw: Mapping[str, Any],
    lang: str,
    invitation: Invitation | None = None,
    preset: Mapping[str, str] | None = None,
    locked: bool = False,
) -> Outcome:
    """Check and store one page of answers (``raw``: slot -> posted value(s)).

    ``response`` is the customer's response so far, or None before their first page;
    it is then created under ``key`` (or for ``invitation``) with ``preset`` segment
    answers. *Next* stores the page only if every answer is valid and moves the
    furthest page on; *Back* keeps the valid answers and never moves it. *Next* on the
    last page completes the response if no required, shown question of any page is
    left unanswered. Commits on success; on refusal nothing is written. ``locked``:
    ``response`` was read with its row lock in this transaction
    (``find_response(..., lock=True)``), so it is not read again.
    """
    try:
        outcome = _submit(
            survey, response, key, page, action, raw, lang, invitation, preset, locked
        )
    except BaseException:
        db.session.rollback()
        raise
    if outcome.status in ("invalid", "closed"):
        db.session.rollback()
    else:
        db.session.commit()
        if outcome.status == "complete":
            from .. import mail

            mail.flush_if_queued()  # the follow-up's owner hears of it (in the background)
    return outcome


def _submit(
    survey, response, key, number, action, raw, lang, invitation, preset, locked
) -> Outcome:
    if response is None:
        q = survey.questionnaire
        preset = initial_preset(q, invitation, preset)
        pages = pages_of(None, q, preset)
        if not 1 <= number <= len(pages):
            return Outcome("invalid", None, 1)
        prior = decode(q, encode(q, preset))
        checked = check_slots(pages[number - 1].slots, raw, prior)
        if action == "next" and not checked.ok:
            return Outcome("invalid", None, number, checked.problems)
        response = start_response(survey, key=key, lang=lang, invitation=invitation, preset=preset)
        locked = False  # it may be another submission's row: read it locked
    if not locked:
        response = lock_response(response.id)
    if response.complete:
        return Outcome("closed", response, number)
    q = response.version.questionnaire
    pages = pages_of(response, q)
    if not 1 <= number <= min(response.page, len(pages)):
        return Outcome("invalid", response, min(response.page, len(pages)))
    page = pages[number - 1]
    prior = decode(q, response.answers, response.texts)
    checked = check_slots(page.slots, raw, prior)
    if action == "back":
        _store(response, q, {**prior, **checked.valid_answers(page.slots)}, lang)
        return Outcome("saved", response, max(number - 1, 1))
    if not checked.ok:
        return Outcome("invalid", response, number, checked.problems)
    merged = {**prior, **checked.answers}
    response.page = max(response.page, min(number + 1, len(pages)))
    if number < len(pages):
        _store(response, q, merged, lang)
        return Outcome("saved", response, number + 1)
    merged = q.visible(merged)  # answers to questions that ended up hidden are dropped
    gap = missing_required(pages, merged)
    _store(response, q, merged, lang)
    if gap is not None:
        log.info("survey %s: response %s incomplete at page %s", survey.id, response.id, gap[0])
        return Outcome("incomplete", response, gap[0], gap[1])
    response.status = "complete"
    response.completed_at = response.updated_at
    log.info("survey %s: response %s completed", survey.id, response.id)
    completed(survey, response, q, merged)
    return Outcome("complete", response, number)


def completed(survey: Survey, response: Response, q: Questionnaire, answers) -> None:
    """What a completed response sets off, in its own transaction: a follow-up when the
    questionnaire's ``follow_up`` rule asks for one."""
    from ..followups.services import open_if_needed

    open_if_needed(survey, response, q, answers)


def record_response(
    survey: Survey,
    answers: Mapping[str, Any],
    *,
    lang: str = "en",
    complete: bool = True,
    key: str | None = None,
    invitation: Invitation | None = None,
    follow_up: bool = False,
) -> Response:
    """Add a response with ``answers`` (column -> canonical value) as given, under the
    current version: for answers checked elsewhere (an import, tests). With
    ``follow_up`` a complete one opens a follow-up as a submitted one would. Never
    commits."""
    version = survey.current
    q = version.questionnaire
    preset = dict(invitation.segments) if invitation is not None else {}
    response = Response(
        **response_values(version, {**preset, **answers}, lang=lang, complete=complete, key=key),
    )
    response.invitation_id = invitation.id if invitation is not None else None
    response.preset = preset
    db.session.add(response)
    if complete and follow_up:
        db.session.flush()
        completed(survey, response, q, q.visible({**decode(q, response.answers), **answers}))
    return response


def response_values(
    version: QuestionnaireVersion,
    answers: Mapping[str, Any],
    *,
    lang: str,
    complete: bool = True,
    key: str | None = None,
    started_at: datetime | None = None,
    submitted_at: datetime | None = None,
    import_ref: str | None = None,
) -> dict[str, Any]:
    """The columns of a response row holding checked ``answers`` (column -> canonical
    value) under ``version``: what :func:`record_response` adds, and what the import
    inserts in batches. Times default to now."""
    q = version.questionnaire
    now = utcnow()
    started = started_at or submitted_at or now
    return {
        "survey_id": version.survey_id,
        "version_id": version.id,
        "key": key or new_key(),
        "status": "complete" if complete else "in_progress",
        "page": len(q.pages),
        "lang": lang,
        "answers": encode(q, answers),
        "texts": {c.name: answers[c.name] for c in q.text_columns if answers.get(c.name)},
        "preset": {},
        "created_at": started,
        "updated_at": now,
        "completed_at": (submitted_at or now) if complete else None,
        "import_ref": import_ref,
    }


def _store(response: Response, q: Questionnaire, answers: Mapping[str, Any], lang: str) -> None:
    response.answers = encode(q, answers)
    response.texts = {c.name: answers[c.name] for c in q.text_columns if answers.get(c.name)}
    response.lang = lang
    response.updated_at = utcnow()


# -- loading questionnaires ------------------------------------------------------------
def store_questionnaire(
    q: Questionnaire, text: str, source_name: str, *, series: int | None = None
) -> tuple[Survey, bool]:
    """Add ``q`` as a new version of its survey unless the same text is already current.

    ``series`` is the first version of the compatible run it joins (default: the
    current one's; see :mod:`survey_app.versions` for the check). Returns the survey
    and whether a version was added.
    """
    survey = db.session.get(Survey, q.id)
    current = None
    if survey is None:
        survey = Survey(id=q.id)
        db.session.add(survey)
    else:
        current = survey.current
    digest = QuestionnaireVersion.digest(text)
    if current is not None and current.sha256 == digest:
        return survey, False
    number = current.number + 1 if current is not None else 1
    version = QuestionnaireVersion(
        survey=survey,
        number=number,
        sha256=digest,
        source_text=text,
        source_name=source_name,
        layout=[c.name for c in q.numeric_columns],
        series=series if series is not None else (current.series if current else 1),
    )
    db.session.add(version)
    survey.forget_current()
    log.info("questionnaire %s: version %s loaded from %s", q.id, number, source_name)
    return survey, True
