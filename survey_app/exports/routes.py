"""Staff pages: a survey's export page, and the page of a background job (an export or
an import) with its progress and its file."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from flask import abort, g, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from .. import audit, jobs
from ..auth.policy import may, requires, sees_personal, sees_unit, survey_requires
from ..extensions import db
from ..models import Job, Survey
from ..storage import version_numbers
from . import bp
from .forms import export_form
from .options import MEDIA_TYPES, ExportError, make_options
from .services import start_export_job

# What a job's owner needs to keep seeing it.
JOB_PERMISSION = {"export": "export", "import": "edit_questionnaire"}


def recent_jobs(survey_id: str, kind: str, limit: int = 10) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.survey_id == survey_id, Job.user_id == current_user.id, Job.kind == kind)
            .order_by(Job.created_at.desc())
            .limit(limit)
        )
    )


@bp.route("/surveys/<sid:survey_id>/export", methods=["GET", "POST"])
@survey_requires("export")
def export(survey_id: str):
    """Choose a format and options; the export runs in the background (audited)."""
    survey = g.survey
    q = survey.questionnaire
    lang = str(get_locale())
    versions = version_numbers(survey.id)
    form = export_form(q, versions, lang)
    problem = None
    if form.validate_on_submit():
        try:
            options = make_options(
                q,
                form.fmt.data,
                segments=form.segments(),
                since=form.since.data.isoformat() if form.since.data else None,
                until=form.until.data.isoformat() if form.until.data else None,
                version=form.version.data or None,
                include_incomplete=form.include_incomplete.data,
                layout=form.layout.data,
                reverse_coded=form.reverse_coded.data,
                scores=form.scores.data,
                bom=form.bom.data,
                lang=form.lang.data,
                missing_code=form.missing_code.data,
            )
            job = start_export_job(survey, options, current_user)
        except ExportError as exc:
            db.session.rollback()
            problem = str(exc)
        else:
            return redirect(url_for(".job", job_id=job.id))
    elif request.method == "POST":
        problem = "; ".join(
            f"{form[name].label.text}: {', '.join(errors)}" for name, errors in form.errors.items()
        )
    return render_template(
        "exports/export.html",
        survey=survey,
        q=q,
        form=form,
        problem=problem,
        masked=not sees_personal(current_user),
        recent=recent_jobs(survey.id, "export"),
        state=jobs.state,
    ), (422 if problem else 200)


def own_job(job_id: str) -> Job:
    """A job this account started, on a survey it still sees, or 404; 403 when its role
    no longer allows the job's kind."""
    job = jobs.find(job_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    survey = db.session.get(Survey, job.survey_id)
    if survey is None or not sees_unit(current_user, survey.unit_id):
        abort(404)
    if not may(current_user, JOB_PERMISSION[job.kind]):
        abort(403)
    return job


def job_status(job: Job, file_url: str | None) -> dict:
    """A job's progress as JSON (the page's script, the API)."""
    status = jobs.state(job)
    return {
        "id": job.id,
        "kind": job.kind,
        "survey_id": job.survey_id,
        "status": status,
        "done": job.done,
        "total": job.total,
        "error": jobs.error_of(job) if status == "failed" else None,
        "result": job.result if status == "done" else None,
        "file": file_url if status == "done" and job.path else None,
    }


@bp.get("/jobs/<job_id>")
@requires("account")
def job(job_id: str):
    """A job's progress; its file once it is done."""
    found = own_job(job_id)
    survey = db.session.get(Survey, found.survey_id)
    status = job_status(found, url_for(".job_file", job_id=found.id))
    return render_template(
        "exports/job.html", job=found, survey=survey, q=survey.questionnaire, status=status
    )


@bp.get("/jobs/<job_id>/status")
@requires("account")
def job_progress(job_id: str):
    """The job's progress as JSON, for the page's script."""
    found = own_job(job_id)
    return jsonify(job_status(found, url_for(".job_file", job_id=found.id)))


@bp.get("/jobs/<job_id>/file")
@requires("account")
def job_file(job_id: str):
    """Download the job's file (audited)."""
    found = own_job(job_id)
    return send_job_file(found)


def send_job_file(job: Job):
    """The file of a finished job, or 404 (not finished) / 410 (deleted after a day)."""
    if jobs.state(job) != "done" or not job.file_name:
        abort(404)
    path = Path(job.path) if job.path else None
    if path is None or not path.is_file():
        abort(410)
    audit.record(f"{job.kind}.download", job.survey_id, {"job": job.id, "file": job.file_name})
    db.session.commit()
    fmt = job.options.get("args", {}).get("fmt", "")
    guessed = mimetypes.guess_type(job.file_name)[0]
    return send_file(
        path,
        mimetype=MEDIA_TYPES.get(fmt) or guessed or "application/octet-stream",
        as_attachment=True,
        download_name=job.file_name,
        max_age=0,
    )
