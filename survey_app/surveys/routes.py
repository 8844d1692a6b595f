"""Customer-facing views: the survey list, a survey's pages, the thank-you page.

Thin views: find the visit (survey, invitation, response), hand the posted page to
:func:`~survey_app.surveys.services.submit_page`, and show what it decided.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from flask import Blueprint, abort, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from questionnaires import Page, Questionnaire
from questionnaires.answers import form_values, missing_required, resume_page

from ..auth.policy import public
from ..extensions import db, limiter
from ..links import external_url, query_args
from ..models import Invitation, QuestionnaireVersion, Response, Survey
from ..storage import decode, encode
from .forms import field_name, message, page_form_class
from .rendering import questions_html
from .services import (
    find_response,
    initial_preset,
    load_survey,
    load_survey_and_response,
    new_key,
    sign_key,
    stored_answers,
    submit_page,
    unsign_key,
    unsign_segments,
)

bp = Blueprint("surveys", __name__)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class Visit:
    """Who is answering: the survey, their invitation if any, their response so far."""

    survey: Survey
    invitation: Invitation | None
    response: Response | None
    key: str  # the response key this visit posts under (server-made)
    link: dict[str, str] = field(default_factory=dict)  # segments of a signed open link
    link_token: str | None = None
    token: str | None = None  # the invitation's token, as its link gives it

    @property
    def version(self) -> QuestionnaireVersion:
        # A response keeps the version it was started under, even if the file is reloaded.
        return self.response.version if self.response else self.survey.current

    @property
    def questionnaire(self) -> Questionnaire:
        return self.version.questionnaire

    @property
    def preset(self) -> dict[str, str]:
        """Segment answers known in advance (not asked): stored, or about to be."""
        if self.response is not None:
            return self.response.preset
        return initial_preset(self.questionnaire, self.invitation, self.link)

    @property
    def pages(self) -> tuple[Page, ...]:
        return self.questionnaire.pages_for(frozenset(self.preset))

    def url_args(self) -> dict[str, str]:
        # Only strings the visit holds: after a commit, no expired row is reloaded for a link.
        if self.invitation is not None:
            return {"t": self.token or self.invitation.token}
        if self.response is not None:
            return {"r": self.key}  # an open-link response is the one of this key
        return {"s": self.link_token} if self.link_token and self.link else {}


def preset_answers(visit: Visit) -> dict:
    """The answers known before a new customer's first page (segments set in advance)."""
    q = visit.questionnaire
    return decode(q, encode(q, visit.preset))


def lang() -> str:
    return str(get_locale())


def get_survey_or_404(survey_id: str, key: str | None = None, *, lock: bool = False) -> Survey:
    """The survey; with ``key``, the key's response is read in the same query and kept
    for :func:`open_visit` (``g.prefetched``)."""
    if key is None:
        survey = load_survey(survey_id)
    else:
        survey, response = load_survey_and_response(survey_id, key, lock=lock)
        g.prefetched = (key, response)
    if survey is None:
        abort(404, description=_("There is no survey with this address."))
    return survey


def visit_key(survey_id: str, posted_key: str | None = None) -> str | None:
    """The open-link response key :func:`open_visit` will look up first, if any."""
    if request.args.get("t"):
        return None
    if posted_key is not None:
        return unsign_key(survey_id, posted_key)
    return next(iter(resume_keys(survey_id)), None)


def resume_keys(survey_id: str) -> list[str]:
    """The keys a page view may resume, in order: the resume link's, this browser's."""
    keys = (request.args.get("r"), session.get(f"r:{survey_id}"))
    return [key for key in keys if key and KEY_PATTERN.match(key)]


def _response_of_key(survey: Survey, key: str, *, lock: bool = False) -> Response | None:
    prefetched = g.pop("prefetched", None)
    if prefetched is not None and prefetched[0] == key:
        return prefetched[1]
    return find_response(survey, key=key, lock=lock)


def open_visit(survey: Survey, *, posted: bool = False, key: str | None = None) -> Visit:
    """Find the invitation and response of this request, or abort with a clear page.

    The response is the one of the invitation (``?t=``), else of the signed key the
    posted form carries (``key``: unsigned by :func:`visit_key`, None when forged,
    foreign or absent, which starts a fresh response), else of the resume link
    (``?r=``), else the one this browser started. A posted page reads the response
    locked, for :func:`submit_page`.
    """
    lock = posted
    invitation = None
    token = request.args.get("t")
    if token:
        invitation = db.session.scalars(
            select(Invitation).where(Invitation.token == token, Invitation.survey_id == survey.id)
        ).first()
        if invitation is None:
            abort(404, description=_("This invitation link is not valid. Please check the link."))
    elif survey.questionnaire.access == "invitation":
        abort(403)
    if invitation is not None:
        response = find_response(survey, invitation=invitation, lock=lock)
        key = response.key if response else new_key()
        return Visit(survey, invitation, response, key, token=token)
    link_token = request.args.get("s")
    link = unsign_segments(survey.questionnaire, link_token)
    if posted:
        if key is None:
            return Visit(survey, None, None, new_key(), link, link_token)
        response = _response_of_key(survey, key, lock=True)
        return Visit(survey, None, response, key, link, link_token)
    for key in resume_keys(survey.id):
        response = _response_of_key(survey, key)
        if response is not None:
            return Visit(survey, None, response, response.key, link, link_token)
    return Visit(survey, None, None, new_key(), link, link_token)


def response_key() -> str:
    """What submission rate limits count by: the response (its form key or invitation),
    so that customers behind one address do not share a limit."""
    key = request.form.get("rk") or request.args.get("t") or request.remote_addr or ""
    return "answers:" + key[:200]


def closed_page(survey: Survey):
    """A survey that is not open: say so politely (nothing is stored)."""
    state = survey.effective_state()
    message = (
        _("This survey is closed. Thank you for your interest.")
        if state == "closed"
        else _("This survey is not open yet. Please come back later.")
    )
    return render_template("error.html", title=t_title(survey), message=message), 403


def t_title(survey: Survey) -> str:
    from questionnaires import translate

    return translate(survey.questionnaire.title, lang())


@bp.get("/")
@public
@query_args()
def index():
    """List the surveys that can be taken with an open link."""
    surveys = db.session.scalars(select(Survey).order_by(Survey.id)).all()
    surveys = [s for s in surveys if s.effective_state() == "open"]
    return render_template("surveys/index.html", surveys=surveys)


@bp.route("/s/<sid:survey_id>", methods=["GET", "POST"])
@public
@query_args("t", "r", "s", "page", "missing")
@limiter.limit("120 per minute", methods=["POST"], key_func=response_key)
def take(survey_id: str):
    """Show a page of the survey; on POST check it, save it and move on."""
    posted = request.method == "POST"
    key = visit_key(survey_id, request.form.get("rk", "") if posted else None)
    survey = get_survey_or_404(survey_id, key, lock=posted)
    if posted:
        return _post(survey, key)
    visit = open_visit(survey)
    if survey.effective_state() != "open" and not (visit.response and visit.response.test):
        return closed_page(survey)
    if visit.response is not None and visit.response.complete:
        return redirect(url_for(".thanks", survey_id=survey.id, **visit.url_args()))
    pages = visit.pages
    answers = stored_answers(visit.response) if visit.response else preset_answers(visit)
    furthest = min(visit.response.page, len(pages)) if visit.response else 1
    number = request.args.get("page", type=int)  # None when absent or not a number
    if number is None:  # where the customer left off (checked only when asked)
        number = resume_page(pages, furthest, answers) if visit.response else 1
    number = min(max(number, 1), furthest)
    page = pages[number - 1]
    problems = {}
    if request.args.get("missing") and visit.response is not None:
        gap = missing_required([page], answers)
        problems = gap[1] if gap else {}
    return _render(visit, pages, number, form_values(page.slots, answers), problems, answers)


def _post(survey: Survey, key: str | None):
    survey_id = survey.id  # survey, response and invitation are expired once committed
    visit = open_visit(survey, posted=True, key=key)
    if survey.effective_state() != "open" and not (visit.response and visit.response.test):
        return closed_page(survey)
    q = visit.questionnaire
    pages = visit.pages
    furthest = min(visit.response.page, len(pages)) if visit.response else 1
    number = request.form.get("page", type=int) or 0
    if visit.response is not None and visit.response.complete:
        return redirect(url_for(".thanks", survey_id=survey.id, **visit.url_args()))
    if not 1 <= number <= furthest:
        # A forged or stale page number: show the page the customer is really on.
        return redirect(url_for(".take", survey_id=survey.id, **visit.url_args()))
    form = page_form_class(visit.version.sha256, q, frozenset(visit.preset), number)()
    if not form.validate():  # the CSRF token (answers are checked by the engine)
        abort(400)
    action = "back" if form.nav.data == "back" and number > 1 else "next"
    outcome = submit_page(
        survey,
        response=visit.response,
        key=visit.key,
        page=number,
        action=action,
        raw=form.raw(),
        lang=lang(),
        invitation=visit.invitation,
        preset=visit.link,
        locked=visit.response is not None,
    )
    visit.response = outcome.response or visit.response
    if outcome.status == "invalid" and outcome.problems:
        stored = stored_answers(visit.response) if visit.response else preset_answers(visit)
        values = form.raw()
        return _render(visit, pages, number, values, outcome.problems, stored, keep=False), 422
    if outcome.status == "invalid":
        return redirect(url_for(".take", survey_id=survey_id, **visit.url_args()))
    if visit.invitation is None and outcome.response is not None:
        # Remember an unfinished response for this browser; forget it once complete, so
        # a shared device (a kiosk) can take the survey again. A replayed final page
        # still finds the finished response through the key in its form.
        session.permanent = True
        if outcome.status in ("complete", "closed"):
            session.pop(f"r:{survey_id}", None)
        else:
            session[f"r:{survey_id}"] = visit.key
    if outcome.status in ("complete", "closed"):
        return redirect(url_for(".thanks", survey_id=survey_id, **visit.url_args()))
    args = {"page": outcome.page, **visit.url_args()}
    if outcome.status == "incomplete":
        args["missing"] = "1"
    return redirect(url_for(".take", survey_id=survey_id, **args))


@bp.get("/s/<sid:survey_id>/thanks")
@public
@query_args("t", "r")
def thanks(survey_id: str):
    """Thank the customer, saying their answers were saved only if they were."""
    token, key = request.args.get("t"), request.args.get("r")
    if token or not (key and KEY_PATTERN.match(key)):
        key = None
    survey = get_survey_or_404(survey_id, key)
    response = None
    if token:
        invitation = db.session.scalars(
            select(Invitation).where(Invitation.token == token, Invitation.survey_id == survey.id)
        ).first()
        response = find_response(survey, invitation=invitation) if invitation else None
    elif key:
        response = _response_of_key(survey, key)
    saved = response is not None and response.complete
    return render_template(
        "surveys/thanks.html", survey=survey, q=survey.questionnaire, saved=saved
    )


def _render(visit: Visit, pages, number: int, values, problems, stored, *, keep: bool = True):
    """The page ``number`` with ``values`` (slot -> form values) and ``problems``;
    ``stored`` (column -> answer) decides show-if conditions on earlier pages. ``keep``:
    the values are the stored answers (not a refused post's), so the drawn questions
    may be kept for the next customer in the same state."""
    q = visit.questionnaire
    page = pages[number - 1]
    resume_url = None
    if visit.response is not None:
        resume_url = external_url("surveys.take", survey_id=visit.survey.id, **visit.url_args())
    rk = sign_key(visit.survey.id, visit.response.key if visit.response else visit.key)
    slots = [s for p in pages for s in p.slots]
    messages = {name: message(p) for name, p in problems.items()}
    page_slots = {s.name for s in page.slots}
    questions = questions_html(
        q,
        visit.version.sha256,
        frozenset(visit.preset),
        page,
        lang(),
        values={name: v for name, v in values.items() if name in page_slots},
        problems=messages,
        hidden=frozenset(
            item.id
            for item in page.items
            if item.show_if is not None
            and item.show_if.column not in page_slots
            and not item.show_if.holds(stored)
        ),
        field_name=field_name,
        keep=keep,
    )
    return render_template(
        "surveys/page.html",
        survey=visit.survey,
        q=q,
        page=page,
        rk=rk,
        total=len(pages),
        problems=messages,
        resume_url=resume_url,
        url_args=visit.url_args(),
        field_name=field_name,
        questions_html=questions,
        questions=len(slots),
        minutes=max(1, math.ceil(sum(s.item.type.seconds for s in slots) / 60)),
    )
