"""The views of ``/api/v1``. Thin: the access policy has checked the token, the
survey's unit and the role before any of them runs; each parses its parameters, calls
the service the pages use, and answers JSON (errors too: :mod:`survey_app.errors`)."""

from __future__ import annotations

import json
import time
from typing import Any

import yaml
from flask import abort, current_app, g, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import jobs
from ..auth.policy import public, requires, sees_personal, survey_requires, within_units
from ..exports.options import ExportError, make_options
from ..exports.routes import job_status, own_job, send_job_file
from ..exports.services import start_export_job
from ..extensions import db, limiter
from ..models import Invitation, Response, Survey
from ..reports.routes import PAGE_WAIT
from ..reports.services import ParameterError, json_answer, parse_parameters, report_json
from ..selection import Selection, SelectionError
from ..storage import version_numbers
from ..surveys.services import (
    find_response,
    initial_preset,
    load_survey,
    new_key,
    pages_of,
    sign_key,
    submit_page,
    unsign_key,
)
from . import bp
from .bodies import BodyError, export_arguments, json_object, submission
from .listing import (
    ListingError,
    check_version,
    listing_plan,
    make_cursor,
    read_cursor,
    read_limit,
    responses_page,
)
from .openapi import document

LISTING_PARAMETERS = ("cursor", "limit")


def _survey_summary(survey: Survey) -> dict[str, Any]:
    q = survey.questionnaire
    return {
        "id": survey.id,
        "title": dict(q.title),
        "unit": survey.unit_id,
        "state": survey.effective_state(),
        "version": survey.current.number,
        "url": url_for(".survey", survey_id=survey.id, _external=True),
    }


@bp.get("/surveys")
@requires("view_surveys", api=True)
def surveys():
    """The surveys in the token's units."""
    query = within_units(select(Survey).order_by(Survey.id), current_user, Survey.unit_id)
    return jsonify(items=[_survey_summary(s) for s in db.session.scalars(query)])


@bp.get("/surveys/<sid:survey_id>")
@survey_requires("view_surveys", api=True)
def survey(survey_id: str):
    """One survey: its state, versions, languages and response counts."""
    survey = g.survey
    q = survey.questionnaire
    counts = dict(
        db.session.execute(
            select(Response.status, func.count())
            .where(Response.survey_id == survey.id, Response.test.is_(False))
            .group_by(Response.status)
        ).all()
    )
    return jsonify(
        {
            **_survey_summary(survey),
            "languages": list(q.languages),
            "access": q.access,
            "opens_at": _time(survey.opens_at),
            "closes_at": _time(survey.closes_at),
            "versions": version_numbers(survey.id),
            "responses": {
                "complete": counts.get("complete", 0),
                "in_progress": counts.get("in_progress", 0),
            },
            "links": {
                "questionnaire": url_for(".questionnaire", survey_id=survey.id, _external=True),
                "responses": url_for(".responses", survey_id=survey.id, _external=True),
                "analysis": url_for(".analysis", survey_id=survey.id, _external=True),
                "exports": url_for(".create_export", survey_id=survey.id, _external=True),
            },
        }
    )


def _time(moment) -> str | None:
    from ..models import aware

    return aware(moment).isoformat() if moment is not None else None


@bp.get("/surveys/<sid:survey_id>/questionnaire")
@survey_requires("view_surveys", api=True)
def questionnaire(survey_id: str):
    """The questionnaire file of the current version (or ``?version=N``) as JSON."""
    survey = g.survey
    wanted = request.args.get("version")
    unknown = sorted(set(request.args) - {"version", "lang"})
    if unknown:
        abort(400, description=f"unknown query parameter(s): {', '.join(unknown)}")
    if wanted in (None, ""):
        version = survey.current
    else:
        if not wanted.isdigit() or len(wanted) > 9:
            abort(400, description=f"query parameter 'version': {wanted!r} is not a number")
        version = survey.version(int(wanted))
        if version is None:
            numbers = ", ".join(map(str, version_numbers(survey.id)))
            abort(404, description=f"survey {survey.id} has no version {wanted} ({numbers})")
    # The text was checked by the guarded loader when it was stored.
    content = yaml.safe_load(version.source_text)
    return jsonify(
        survey_id=survey.id,
        version=version.number,
        series=version.series,
        sha256=version.sha256,
        source_name=version.source_name,
        questionnaire=content,
    )


@bp.get("/surveys/<sid:survey_id>/responses")
@survey_requires("view_responses", api=True)
def responses(survey_id: str):
    """The responses, a page at a time, with the export's filters; personal answers are
    masked without the personal-data grant."""
    survey = g.survey
    try:
        selection = Selection.from_args(
            survey.questionnaire, request.args, reserved=LISTING_PARAMETERS
        )
        limit = read_limit(request.args.get("limit"))
        after = read_cursor(survey.id, request.args.get("cursor"), selection)
        plan = listing_plan(survey, selection, personal=sees_personal(current_user))
    except (SelectionError, ListingError) as exc:
        abort(400, description=str(exc))
    page = responses_page(plan, after, limit)
    following = None
    if page.last is not None:
        args = request.args.to_dict(flat=False)
        args["cursor"] = make_cursor(survey.id, page.last, selection)
        following = url_for(".responses", survey_id=survey.id, _external=True, **args)
    # Keys in the order of the export's columns (jsonify would sort them).
    body = {"items": page.items, "next": following, "version": plan.version}
    body["masked"] = plan.masked
    return current_app.response_class(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n",
        mimetype="application/json",
    )


# -- exports -------------------------------------------------------------------------------
@bp.post("/surveys/<sid:survey_id>/exports")
@survey_requires("export", api=True)
def create_export(survey_id: str):
    """Start an export with the options of the export page (audited); 202 and its id."""
    survey = g.survey
    try:
        arguments = export_arguments(json_object(request))
        check_version(survey, arguments["version"])
        options = make_options(survey.questionnaire, **arguments)
        job = start_export_job(survey, options, current_user)
    except (BodyError, ExportError, ListingError) as exc:
        db.session.rollback()
        abort(400, description=str(exc))
    db.session.refresh(job)  # as it is now (it may have run already)
    url = url_for(".export", job_id=job.id, _external=True)
    response = jsonify(id=job.id, status=jobs.state(job), url=url)
    response.status_code = 202
    response.headers["Location"] = url
    return response


def _export_job(job_id: str):
    if len(job_id) > 64 or jobs.find(job_id, "export") is None:
        abort(404, description=f"no export {job_id!r}")
    job = own_job(job_id)  # started by this account, on a survey it still sees
    return job


@bp.get("/exports/<job_id>")
@requires("export", api=True)
def export(job_id: str):
    """An export's progress; the URL of its file once it is done."""
    job = _export_job(job_id)
    return jsonify(job_status(job, url_for(".export_file", job_id=job.id, _external=True)))


@bp.get("/exports/<job_id>/file")
@requires("export", api=True)
def export_file(job_id: str):
    """The export's file (audited), once it is done."""
    job = _export_job(job_id)
    state = jobs.state(job)
    if state != "done":
        abort(404, description=f"export {job.id} has no file: it is {state}")
    return send_job_file(job)


# -- analysis ------------------------------------------------------------------------------
@bp.get("/surveys/<sid:survey_id>/analysis")
@survey_requires("view_reports", api=True)
def analysis(survey_id: str):
    """The report's results (as its data.json): 200, or 202 with Retry-After while they
    are computed."""
    started = time.perf_counter()
    try:
        selection, options = parse_parameters(
            g.survey.questionnaire,
            request.args,
            survey_id=g.survey.id,
            versions=version_numbers(g.survey.id),
        )
    except (SelectionError, ParameterError, ListingError) as exc:
        abort(400, description=str(exc))
    wait = max(0.0, PAGE_WAIT - (time.perf_counter() - started))
    result = report_json(g.survey, selection, options, wait=wait)
    return json_answer(result)


# -- answers from kiosks and apps ----------------------------------------------------------
def submission_key() -> str:
    """What the submission rate limit counts by: the response (key or invitation)."""
    body = request.get_json(silent=True) if request.is_json else None
    body = body if isinstance(body, dict) else {}
    key = body.get("key") or body.get("token") or request.remote_addr or ""
    return "api-answers:" + str(key)[:200]


@bp.post("/surveys/<sid:survey_id>/answers")
@public
@limiter.limit("120 per minute", key_func=submission_key)
def submit(survey_id: str):
    """Submit one page of answers, as the web form does (same checks, required questions
    included), under an invitation's token or a response key the server signed."""
    try:
        asked = submission(json_object(request))
    except BodyError as exc:
        abort(400, description=str(exc))
    survey = load_survey(survey_id)
    if survey is None:
        abort(404, description=f"no survey {survey_id!r}")
    q = survey.questionnaire
    if survey.effective_state() != "open":
        abort(403, description=f"survey {survey.id} is {survey.effective_state()}, not open")
    lang = asked.lang or q.languages[0]
    if lang not in q.languages:
        abort(400, description=f"body field 'lang': one of {', '.join(q.languages)}")
    invitation, response = None, None
    if asked.token:
        invitation = db.session.scalars(
            select(Invitation).where(
                Invitation.token == asked.token, Invitation.survey_id == survey.id
            )
        ).first()
        if invitation is None:
            abort(404, description="body field 'token': no invitation of this survey has it")
        response = find_response(survey, invitation=invitation, lock=True)
        key = response.key if response else new_key()
    elif q.access == "invitation":
        abort(403, description=f"survey {survey.id} takes answers by invitation: send 'token'")
    elif asked.key:
        key = unsign_key(survey.id, asked.key)
        if key is None:
            abort(400, description="body field 'key': not a response key this server made")
        response = find_response(survey, key=key, lock=True)
    else:
        key = new_key()
    outcome = submit_page(
        survey,
        response=response,
        key=key,
        page=asked.page,
        action=asked.action,
        raw=asked.raw,
        lang=lang,
        invitation=invitation,
        locked=response is not None,
    )
    stored = outcome.response or response
    if stored is not None:
        pages = pages_of(stored, stored.version.questionnaire)
    else:
        pages = pages_of(None, q, initial_preset(q, invitation))
    number = min(max(outcome.page, 1), len(pages))
    result = {
        "status": outcome.status,
        "key": sign_key(survey.id, key) if invitation is None else None,
        "page": number,
        "pages": len(pages),
        "slots": [slot.name for slot in pages[number - 1].slots],
        "problems": {name: problem.to_dict() for name, problem in outcome.problems.items()},
    }
    return jsonify(result), (422 if outcome.status == "invalid" else 200)


# -- the description ---------------------------------------------------------------------
@bp.get("/openapi.json")
@public
def openapi():
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


@bp.get("/docs")
@public
def docs():
    """A readable page of the API's operations (rendered on the server, no script)."""
    return render_template("api/docs.html", doc=document())
