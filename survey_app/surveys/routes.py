"""Customer-facing views: the survey list, a survey's pages, the thank-you page."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from questionnaires import Questionnaire

from ..extensions import db
from ..models import Invitation, Response, Survey
from .forms import field_name, initial_data, make_page_form
from .services import find_response, new_key, save_page, start_response, stored_answers

bp = Blueprint("surveys", __name__)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass
class Visit:
    """Who is answering: the survey, their invitation if any, their response so far."""

    survey: Survey
    invitation: Invitation | None
    response: Response | None

    @property
    def questionnaire(self) -> Questionnaire:
        # A response keeps the version it was started under, even if the file is reloaded.
        return self.response.version.questionnaire if self.response else self.survey.questionnaire

    def url_args(self) -> dict[str, str]:
        if self.invitation is not None:
            return {"t": self.invitation.token}
        if self.response is not None:
            return {"r": self.response.key}
        return {}


def lang() -> str:
    return str(get_locale())


def get_survey_or_404(survey_id: str) -> Survey:
    return db.get_or_404(Survey, survey_id, description=_("There is no survey with this address."))


def open_visit(survey: Survey) -> Visit:
    """Find the invitation and response of this request, or abort with a clear page."""
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
    response = None
    if invitation is not None:
        response = find_response(survey, invitation=invitation)
    else:
        for key in (request.args.get("r"), session.get(f"r:{survey.id}"), request.form.get("rk")):
            if key and KEY_PATTERN.match(key):
                response = find_response(survey, key=key)
                if response is not None:
                    break
    return Visit(survey, invitation, response)


@bp.get("/")
def index():
    """List the surveys that can be taken with an open link."""
    surveys = db.session.scalars(select(Survey).order_by(Survey.id)).all()
    return render_template("surveys/index.html", surveys=surveys)


@bp.route("/s/<survey_id>", methods=["GET", "POST"])
def take(survey_id: str):
    """Show a page of the survey; on POST validate it, save it and move on."""
    survey = get_survey_or_404(survey_id)
    visit = open_visit(survey)
    if visit.response is not None and visit.response.complete:
        return redirect(url_for(".thanks", survey_id=survey.id))
    q = visit.questionnaire
    furthest = visit.response.page if visit.response else 1
    prior = stored_answers(visit.response) if visit.response else {}

    if request.method == "GET":
        number = min(max(request.args.get("page", furthest, type=int), 1), furthest)
    else:
        number = request.form.get("page", type=int) or 0
        if not 1 <= number <= furthest:
            # A forged or stale page number: show the page the customer is really on.
            return redirect(url_for(".take", survey_id=survey.id, **visit.url_args()))
    page = q.pages[number - 1]
    # Stored answers fill a page shown again; a POST is read from the posted form alone.
    shown = initial_data(q, page, prior) if request.method == "GET" else {}
    key = visit.response.key if visit.response else new_key()
    form = make_page_form(q, page, lang(), prior)(data={"rk": key, "page": number, **shown})
    if request.method == "GET":
        return _render(visit, q, page, form)

    going_back = request.form.get("nav") == "back" and number > 1
    if form.validate():
        answers = form.answers()
    elif going_back:
        answers = form.valid_answers()  # keep what is valid, then go back
    else:
        return _render(visit, q, page, form), 422

    finish = number == len(q.pages) and not going_back
    if visit.response is None:
        key = form.rk.data if KEY_PATTERN.match(form.rk.data or "") else new_key()
        visit.response = start_response(survey, key=key, lang=lang(), invitation=visit.invitation)
        if visit.response.complete:  # a replay of the final page of a finished response
            return redirect(url_for(".thanks", survey_id=survey.id))
    save_page(visit.response, number, answers, lang=lang(), finish=finish)
    db.session.commit()
    if visit.invitation is None:
        # Remember an unfinished response for this browser; forget it once complete, so
        # a shared device (a kiosk) can take the survey again. A replayed final page
        # still finds the finished response through the key in its form.
        session.permanent = True
        if finish:
            session.pop(f"r:{survey.id}", None)
        else:
            session[f"r:{survey.id}"] = visit.response.key
    if finish:
        return redirect(url_for(".thanks", survey_id=survey.id))
    target = number - 1 if going_back else number + 1
    return redirect(url_for(".take", survey_id=survey.id, page=target, **visit.url_args()))


@bp.get("/s/<survey_id>/thanks")
def thanks(survey_id: str):
    """Thank the customer once their response is complete."""
    survey = get_survey_or_404(survey_id)
    return render_template("surveys/thanks.html", survey=survey, q=survey.questionnaire)


def _render(visit: Visit, q: Questionnaire, page, form):
    page_columns = {c.name for item in page.items for c in q.columns_of(item)}
    resume_url = None
    if visit.response is not None:
        resume_url = url_for(".take", survey_id=visit.survey.id, _external=True, **visit.url_args())
    return render_template(
        "surveys/page.html",
        survey=visit.survey,
        q=q,
        page=page,
        form=form,
        total=len(q.pages),
        resume_url=resume_url,
        url_args=visit.url_args(),
        field_name=field_name,
        same_page=lambda item: item.show_if.column in page_columns,
    )
