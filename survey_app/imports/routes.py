"""The upload page of response files: the import runs as a background job whose page
shows its progress, then what was imported and every bad row."""

from __future__ import annotations

import csv
from pathlib import Path

from flask import g, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import update
from wtforms import BooleanField

from .. import jobs
from ..auth.policy import survey_requires
from ..exports.routes import recent_jobs
from ..extensions import db
from ..guards import ROUTE_LIMITS, UPLOAD_ENDPOINTS
from ..models import Job, Survey, utcnow
from . import bp
from .services import ImportFileError, count_rows, import_responses

UPLOAD_LIMIT = 200 * 1024 * 1024  # a file of responses, not a survey page
SHOWN_PROBLEMS = 200  # on the page; the downloadable list has them all
SUFFIXES = (".csv", ".xlsx")


class ImportForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file with the columns of an export"), [FileRequired()])
    allow_partial = BooleanField(_l("Import the good rows even if some rows are bad"))


@bp.route("/surveys/<sid:survey_id>/import", methods=["GET", "POST"])
@survey_requires("edit_questionnaire")
def upload(survey_id: str):
    """Upload a response file; it is checked and imported in the background."""
    survey = g.survey
    form = ImportForm()
    problem = None
    if form.validate_on_submit():
        name = Path(form.file.data.filename or "responses.csv").name[:200]
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            problem = _l("Give a .csv or .xlsx file.")
        else:
            job = jobs.new_job(
                "import",
                survey,
                current_user,
                {
                    "file": name,
                    "allow_partial": bool(form.allow_partial.data),
                    "lang": str(get_locale()),
                },
            )
            db.session.flush()
            path = jobs.folder("import") / f"{job.id}{suffix}"
            form.file.data.save(path)
            job.options = {**job.options, "upload": str(path)}
            db.session.commit()
            jobs.start(job.id, run_import_job)
            return redirect(url_for("exports.job", job_id=job.id))
    elif request.method == "POST":
        problem = _l("Choose a file to import.")
    return render_template(
        "imports/upload.html",
        survey=survey,
        q=survey.questionnaire,
        form=form,
        problem=problem,
        limit=UPLOAD_LIMIT // (1024 * 1024),
        recent=recent_jobs(survey.id, "import"),
        state=jobs.state,
    ), (422 if problem else 200)


ROUTE_LIMITS["imports.upload"] = UPLOAD_LIMIT
UPLOAD_ENDPOINTS.add("imports.upload")


def run_import_job(job: Job, progress) -> jobs.Outcome:
    """The work of an import job: count the rows, import them, list the bad ones in a
    CSV file beside the job; the uploaded file is deleted."""
    upload = Path(job.options["upload"])
    name = job.options["file"]
    try:
        survey = db.session.get(Survey, job.survey_id)
        try:
            with force_locale(job.options.get("lang", "en")):
                rows = count_rows(upload, name)
            db.session.execute(
                update(Job).where(Job.id == job.id).values(total=2 * rows, updated_at=utcnow())
            )
            db.session.commit()
            result = import_responses(
                survey,
                upload,
                name=name,
                allow_partial=job.options["allow_partial"],
                progress=progress,
                lang=job.options.get("lang", "en"),
            )
        except ImportFileError:
            db.session.rollback()
            raise
        summary = result.summary()
        summary["shown"] = [p.to_dict() for p in result.problems[:SHOWN_PROBLEMS]]
        if not result.problems:
            return jobs.Outcome(summary)
        report = jobs.folder("import") / f"{job.id}-problems.csv"
        with report.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["line", "column", "reason"])
            for found in result.problems:
                writer.writerow([found.line, found.column, found.reason])
        return jobs.Outcome(summary, str(report), f"{survey.id}-import-problems.csv")
    finally:
        upload.unlink(missing_ok=True)
