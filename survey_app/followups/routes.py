"""Staff pages of follow-ups: the list (overdue first) and a case with its steps."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from ..auth.policy import follow_up_scope, may_handle, requires, sees_contacts, sees_follow_up
from ..extensions import db
from ..links import query_args
from ..models import FOLLOW_UP_STATES, TIERS, FollowUp, Response, Unit, aware, utcnow
from .forms import FilterForm, StepForm
from .services import (
    FollowUpError,
    act,
    complaint_text,
    is_overdue,
    listing,
    next_response,
    owner_choices,
    resolved_in_time,
)

bp = Blueprint("followups", __name__)

STATE_LABELS = {
    "new": _l("new"),
    "assigned": _l("assigned"),
    "in_progress": _l("in progress"),
    "resolved": _l("resolved"),
}
STEP_LABELS = {
    "assign": _l("Assign (confirm the owner)"),
    "start": _l("Start work"),
    "resolve": _l("Resolve"),
    "reassign": _l("Reassign"),
    "note": _l("Add a note"),
}
ACTION_LABELS = {
    **STEP_LABELS,
    "open": _l("Opened by the response"),
    "notify": _l("Owner reminded of the overdue case"),
}


def get_case_or_404(follow_up_id: int) -> FollowUp:
    """A case this user sees, or 404 (as if it did not exist)."""
    case = db.session.get(FollowUp, follow_up_id)
    if case is None or not sees_follow_up(current_user, case):
        abort(404)
    return case


def local_time(case: FollowUp, moment):
    from ..customers.services import calendar_of

    if moment is None:
        return None
    return aware(moment).astimezone(calendar_of(case.unit_id).tz)


def filter_form() -> FilterForm:
    form = FilterForm(request.args)
    form.state.choices = [SelectChoice("", _("any"))] + [
        SelectChoice(s, str(STATE_LABELS[s])) for s in FOLLOW_UP_STATES
    ]
    form.tier.choices = [SelectChoice("", _("any"))] + [SelectChoice(t, t) for t in TIERS]
    scope = follow_up_scope(current_user)
    units = db.session.scalars(db.select(Unit).order_by(Unit.id)).all()
    form.unit.choices = [SelectChoice("", _("any"))] + [
        SelectChoice(u.id, u.name) for u in units if scope.units is None or u.id in scope.units
    ]
    return form


@bp.get("/followups")
@requires("follow_up")
@query_args("state", "owner", "tier", "unit")
def index():
    """The follow-ups this account sees: overdue first, then by due time."""
    form = filter_form()
    valid = form.validate()
    now = utcnow()
    cases = listing(
        current_user,
        unit_id=form.unit.data or None if valid else None,
        state=form.state.data or None if valid else None,
        owner_email=(form.owner.data or "").strip().lower() or None if valid else None,
        tier=form.tier.data or None if valid else None,
        now=now,
    )
    return render_template(
        "followups/index.html",
        form=form,
        cases=cases[:500],
        total=len(cases),
        overdue={c.id for c in cases if is_overdue(c, now)},
        states=STATE_LABELS,
        local_time=local_time,
    ), (200 if valid else 400)


@bp.get("/followups/<int:follow_up_id>")
@requires("follow_up")
def case(follow_up_id: int):
    """A case: its customer, the response and scores, the complaint, history, steps."""
    return _render_case(get_case_or_404(follow_up_id), StepForm(formdata=None))


def _render_case(case: FollowUp, form: StepForm, error: str | None = None, status: int = 200):
    from ..surveys.services import stored_answers

    response = db.session.get(Response, case.response_id) if case.response_id else None
    later = next_response(case)
    q = response.version.questionnaire if response is not None else None
    show_contacts = sees_contacts(current_user, case.customer, case)
    form.owner.choices = [SelectChoice(str(u.id), u.email) for u in owner_choices(case)]
    later_scores = {}
    if later is not None:
        answers = stored_answers(later)
        later_scores = {k: answers.get(k) for k in case.scores}
    rule = q.follow_up if q is not None else None
    return render_template(
        "followups/case.html",
        case=case,
        q=q,
        response=response,
        complaint=complaint_text(case) if show_contacts else None,
        has_complaint=bool(complaint_text(case)),
        show_contacts=show_contacts,
        later=later,
        later_scores=later_scores,
        still_low=bool(later is not None and rule and rule.reasons(stored_answers(later))),
        overdue=is_overdue(case),
        in_time=resolved_in_time(case),
        handle=may_handle(current_user, case),
        form=form,
        error=error,
        states=STATE_LABELS,
        steps=STEP_LABELS,
        actions=ACTION_LABELS,
        local_time=local_time,
    ), status


@bp.post("/followups/<int:follow_up_id>/step")
@requires("follow_up")
def step(follow_up_id: int):
    """Take a step on the case (its owner, or a manager of its unit)."""
    case = get_case_or_404(follow_up_id)
    if not may_handle(current_user, case):
        abort(403)
    form = StepForm()
    form.owner.choices = [SelectChoice(str(u.id), u.email) for u in owner_choices(case)]
    if not form.validate():
        return _render_case(case, form, _("The form was not valid."), 400)
    owner = None
    if form.action.data == "reassign":
        from ..models import User

        owner_id = form.owner.data
        owner = db.session.get(User, int(owner_id)) if (owner_id or "").isdigit() else None
    try:
        act(case, form.action.data, current_user.email, note=form.note.data, owner=owner)
    except FollowUpError as exc:
        db.session.rollback()
        return _render_case(get_case_or_404(follow_up_id), form, str(exc), 422)
    db.session.commit()
    from .. import mail

    mail.flush_if_queued()
    flash(_("Follow-up %(id)s: %(state)s.", id=case.id, state=STATE_LABELS[case.state]))
    return redirect(url_for(".case", follow_up_id=case.id))
