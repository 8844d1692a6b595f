"""Staff pages of surveys: the home list, a survey's overview, state, preview,
invitations and deletions, and the questionnaire upload."""

from __future__ import annotations

from flask import Response as HttpResponse
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from questionnaires import QuestionnaireError
from questionnaires.loader import MAX_FILE_BYTES

from .. import audit
from ..auth.policy import (
    may,
    requires,
    sees_personal,
    survey_requires,
    visible_units,
    within_units,
)
from ..extensions import db
from ..guards import UPLOAD_ENDPOINTS
from ..models import Invitation, QuestionnaireVersion, Response, Survey, Unit, aware
from ..surveys.loading import LoadRefused, apply_load, plan_load
from ..surveys.services import check_segments, create_invitations
from . import bp
from .forms import (
    ButtonForm,
    ConfirmUploadForm,
    DeleteResponseForm,
    InviteFileForm,
    InviteForm,
    StateForm,
    UploadForm,
)
from .services import csv_text, delete_response, invitation_rows, set_state, start_preview


def visible_surveys() -> list[Survey]:
    query = within_units(select(Survey).order_by(Survey.id), current_user, Survey.unit_id)
    return list(db.session.scalars(query))


def survey_counts(surveys: list[Survey]) -> dict[str, dict[str, object]]:
    """Complete and in-progress responses and last activity of each survey, in one query."""
    rows = db.session.execute(
        select(
            Response.survey_id,
            Response.status,
            func.count(),
            func.max(Response.updated_at),
        )
        .where(Response.survey_id.in_([s.id for s in surveys]), Response.test.is_(False))
        .group_by(Response.survey_id, Response.status)
    ).all()
    counts: dict[str, dict[str, object]] = {
        s.id: {"complete": 0, "in_progress": 0, "last": None} for s in surveys
    }
    for survey_id, status, n, last in rows:
        entry = counts[survey_id]
        entry[status] = n
        last = aware(last)
        if last and (entry["last"] is None or last > entry["last"]):
            entry["last"] = last
    return counts


@bp.get("/")
@requires("account")
def home():
    """The surveys this account may see, with responses, state and last activity."""
    surveys = visible_surveys() if may(current_user, "view_surveys") else []
    return render_template(
        "admin/home.html", surveys=surveys, counts=survey_counts(surveys) if surveys else {}
    )


@bp.get("/surveys/<sid:survey_id>")
@survey_requires("view_surveys")
def survey(survey_id: str):
    """A survey's overview: responses, versions, state, and what can be done with it."""
    s = g.survey
    versions = db.session.execute(
        select(
            QuestionnaireVersion.number,
            QuestionnaireVersion.series,
            QuestionnaireVersion.source_name,
            QuestionnaireVersion.created_at,
        )
        .where(QuestionnaireVersion.survey_id == s.id)
        .order_by(QuestionnaireVersion.number.desc())
    ).all()
    state_form = StateForm(state=s.state, opens_at=s.opens_at, closes_at=s.closes_at, formdata=None)
    return render_template(
        "admin/survey.html",
        survey=s,
        q=s.questionnaire,
        counts=survey_counts([s])[s.id],
        versions=versions,
        state_form=state_form,
        delete_form=DeleteResponseForm(formdata=None),
        button=ButtonForm(formdata=None),
        invitations=db.session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.survey_id == s.id)
        ),
    )


@bp.post("/surveys/<sid:survey_id>/state")
@survey_requires("change_state")
def change_state(survey_id: str):
    """Open, close or schedule the survey."""
    form = StateForm()
    if not form.validate():
        abort(400, description=_("The state form was not valid: %(errors)s", errors=form.errors))
    try:
        set_state(g.survey, form.state.data, form.opens_at.data, form.closes_at.data)
    except ValueError as exc:
        abort(400, description=str(exc))
    db.session.commit()
    flash(_("The survey's state was saved."))
    return redirect(url_for(".survey", survey_id=survey_id))


@bp.post("/surveys/<sid:survey_id>/preview")
@survey_requires("preview")
def preview(survey_id: str):
    """Take the survey as a customer would; the answers are marked as a test."""
    ButtonForm().validate() or abort(400)
    response = start_preview(g.survey)
    db.session.commit()
    return redirect(url_for("surveys.take", survey_id=survey_id, r=response.key))


@bp.post("/surveys/<sid:survey_id>/responses/delete")
@survey_requires("delete_response")
def delete(survey_id: str):
    """Delete a respondent's answers on request (audited)."""
    form = DeleteResponseForm()
    if not form.validate():
        abort(400)
    deleted = delete_response(g.survey, form.reference.data)
    if deleted is None:
        abort(404, description=_("No response of this survey has that token or id."))
    db.session.commit()
    flash(_("The response was deleted."))
    return redirect(url_for(".survey", survey_id=survey_id))


# -- invitations ----------------------------------------------------------------------------
def segment_items():
    return [item for section in g.survey.questionnaire.segments for item in section.items]


@bp.route("/surveys/<sid:survey_id>/invitations", methods=["GET", "POST"])
@survey_requires("invite")
def invitations(survey_id: str):
    """Create invitations (a count with segment values, or a CSV file) and list them."""
    form, file_form = InviteForm(), InviteFileForm()
    segments = segment_items()
    problem = None
    if request.method == "POST":
        created = None
        try:
            if "file" in request.files:
                if not file_form.validate():
                    abort(400)
                created = _invite_from_file(file_form.file.data)
            elif form.validate():
                values = {
                    item.id: request.form.get(f"seg_{item.id}", "")
                    for item in segments
                    if request.form.get(f"seg_{item.id}")
                }
                created = create_invitations(g.survey, form.count.data, segments=values)
            else:
                problem = _("Give a number of invitations from 1 to 10000.")
        except ValueError as exc:
            problem = str(exc)
        if created:
            audit.record("invitations.create", g.survey.id, {"count": len(created)})
            db.session.commit()
            flash(_("%(count)s invitations were created.", count=len(created)))
            return redirect(url_for(".invitations", survey_id=survey_id))
        db.session.rollback()
    header, rows = invitation_rows(g.survey, current_user)
    return render_template(
        "admin/invitations.html",
        survey=g.survey,
        q=g.survey.questionnaire,
        form=form,
        file_form=file_form,
        segments=segments,
        header=header,
        rows=rows[-200:],
        total=len(rows),
        problem=problem,
        masked=not sees_personal(current_user),
    ), (422 if problem else 200)


def _invite_from_file(storage) -> list[Invitation]:
    import csv
    import io

    data = storage.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(_("The file is larger than 1 MB."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(_("The file is not UTF-8 text (%(error)s).", error=exc)) from None
    reader = csv.DictReader(io.StringIO(text))
    segments = {item.id for item in segment_items()}
    unknown = [c for c in reader.fieldnames or [] if c not in segments | {"email", "name"}]
    if unknown:
        raise ValueError(_("Line 1: unknown columns %(columns)s.", columns=", ".join(unknown)))
    rows = []
    for line, record in enumerate(reader, start=2):
        if None in record:
            raise ValueError(_("Line %(line)s: more cells than columns.", line=line))
        try:
            values = check_segments(
                g.survey.questionnaire, {k: v for k, v in record.items() if k in segments}
            )
        except ValueError as exc:
            raise ValueError(_("Line %(line)s: %(error)s", line=line, error=exc)) from None
        rows.append({"segments": values, "email": record.get("email"), "name": record.get("name")})
    if not rows:
        raise ValueError(_("The file has no rows."))
    return create_invitations(g.survey, rows=rows)


UPLOAD_ENDPOINTS.add("admin.invitations")


@bp.get("/surveys/<sid:survey_id>/invitations.csv")
@survey_requires("invite")
def invitations_csv(survey_id: str):
    """The invitation links as CSV: token, link, the segments, then email and name."""
    header, rows = invitation_rows(g.survey, current_user)
    audit.record("invitations.download", survey_id, {"rows": len(rows)})
    db.session.commit()
    return HttpResponse(
        csv_text(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{survey_id}-invitations.csv"'},
    )


# -- loading a questionnaire ----------------------------------------------------------------
def unit_choices() -> list[SelectChoice]:
    units = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    allowed = visible_units(current_user)
    return [
        SelectChoice(u.id, f"{u.name} ({u.id})")
        for u in units
        if allowed is None or u.id in allowed
    ]


@bp.route("/upload", methods=["GET", "POST"])
@requires("edit_questionnaire")
def upload():
    """Load or reload a questionnaire file: checked first, applied after confirmation."""
    form = UploadForm()
    form.unit.choices = unit_choices()
    if request.method == "GET" or not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/upload.html", form=form, error=None), status
    data = form.file.data.read(MAX_FILE_BYTES + 1)
    name = (form.file.data.filename or "upload.yaml").rsplit("/", 1)[-1][:255]
    try:
        if len(data) > MAX_FILE_BYTES:
            raise QuestionnaireError(name, None, "the file is larger than 1024 kB")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QuestionnaireError(name, None, f"not UTF-8 text: {exc}") from None
        plan = _plan(text, name, form.unit.data)
    except (QuestionnaireError, LoadRefused) as exc:
        return render_template("admin/upload.html", form=form, error=str(exc)), 422
    confirm = ConfirmUploadForm(
        formdata=None,
        text=text,
        name=name,
        unit=plan.unit_id,
        open_now="1" if form.open_now.data else "",
    )
    return render_template("admin/upload_check.html", plan=plan, confirm=confirm)


UPLOAD_ENDPOINTS.add("admin.upload")


def _plan(text: str, name: str, unit_id: str):
    plan = plan_load(text, name, unit_id)
    if plan.survey is not None and not (
        visible_units(current_user) is None or plan.survey.unit_id in visible_units(current_user)
    ):
        raise LoadRefused(
            f"the survey id '{plan.q.id}' is already in use; give the questionnaire another id"
        )
    return plan


@bp.post("/upload/confirm")
@requires("edit_questionnaire")
def upload_confirm():
    """Apply a checked upload (everything is checked again)."""
    form = ConfirmUploadForm()
    if not form.validate():
        abort(400)
    if form.unit.data not in {choice.value for choice in unit_choices()}:
        abort(404)
    try:
        plan = _plan(form.text.data, form.name.data, form.unit.data)
        survey, added, new_series = apply_load(
            plan,
            allow_incompatible=form.allow_incompatible.data,
            open_now=bool(form.open_now.data),
        )
    except (QuestionnaireError, LoadRefused) as exc:
        db.session.rollback()
        return render_template(
            "admin/upload.html", form=UploadForm(formdata=None), error=str(exc)
        ), 422
    db.session.commit()
    if added:
        flash(_("%(id)s: version %(number)s loaded.", id=survey.id, number=survey.current.number))
    else:
        flash(_("%(id)s: unchanged.", id=survey.id))
    return redirect(url_for(".survey", survey_id=survey.id))
