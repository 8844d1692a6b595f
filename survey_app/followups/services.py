"""Follow-ups: opened by the survey engine when a completed response needs one, moved on
by their owners, reported on.

States ``new -> assigned -> in_progress -> resolved``; reassignment (to another owner,
state ``assigned``) at any time before ``resolved``; notes at any time before it.
Resolving needs a closing note. Each step is a history event and an audit entry.
Functions take validated data and never commit (the engine, the view or the command does).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from questionnaires import Questionnaire, translate

from .. import audit, mail
from ..auth.policy import follow_up_scope, may
from ..extensions import db
from ..links import external_url
from ..models import (
    Customer,
    FollowUp,
    FollowUpEvent,
    Invitation,
    Response,
    Survey,
    User,
    aware,
    utcnow,
)

log = logging.getLogger(__name__)
SYSTEM = "survey"  # the actor of a follow-up opened by a customer's response
ACTIONS = {
    # action: (states it may start from, the state after)
    "assign": (("new",), "assigned"),
    "start": (("assigned",), "in_progress"),
    "resolve": (("in_progress",), "resolved"),
    "reassign": (("new", "assigned", "in_progress"), "assigned"),
    "note": (("new", "assigned", "in_progress"), None),
}
MAX_NOTE = 5000


class FollowUpError(ValueError):
    """A step a follow-up cannot take; the message says why."""


# -- opening ------------------------------------------------------------------------------
def customer_of(response: Response) -> Customer | None:
    """The register's customer a response was invited as (None: open link, anonymous)."""
    if response.invitation_id is None:
        return None
    invitation = db.session.get(Invitation, response.invitation_id)
    if invitation is None or invitation.customer_pk is None:
        return None
    return db.session.get(Customer, invitation.customer_pk)


def owner_for(customer: Customer | None, unit_id: str) -> User | None:
    """The customer's account manager, else the unit's default agent (active ones)."""
    from ..customers.services import settings_of

    manager = customer.account_manager if customer is not None else None
    if manager is not None and manager.active:
        return manager
    agent = settings_of(unit_id).default_agent
    return agent if agent is not None and agent.active else None


def open_if_needed(
    survey: Survey, response: Response, q: Questionnaire, answers: Mapping[str, Any]
) -> FollowUp | None:
    """Open a follow-up for a response just completed, if the questionnaire's
    ``follow_up`` rule asks for one (in the completing transaction)."""
    rule = q.follow_up
    if rule is None or response.test:
        return None
    reasons = rule.reasons(answers)
    if not reasons:
        return None
    from ..customers.services import calendar_of, settings_of

    customer = customer_of(response)
    unit_id = customer.unit_id if customer is not None else survey.unit_id
    settings = settings_of(unit_id)
    owner = owner_for(customer, unit_id)
    opened = aware(response.completed_at) or utcnow()
    # stored in UTC: SQLite keeps the wall time of an aware value and drops its offset
    due = calendar_of(unit_id).add(opened, settings.due_hours).astimezone(UTC)
    scores = {
        c.name: answers[c.name]
        for c in q.numeric_columns
        if c.type.takes_bounds() and answers.get(c.name) is not None
    }
    follow_up = FollowUp(
        unit_id=unit_id,
        survey_id=survey.id,
        response_id=response.id,
        customer=customer,
        owner=owner,
        state="new",
        opened_at=opened,
        due_at=due,
        reasons=reasons,
        scores=scores,
    )
    db.session.add(follow_up)
    db.session.flush()
    _event(follow_up, SYSTEM, "open", note=None)
    audit.record(
        "follow_up.open",
        f"follow_up:{follow_up.id}",
        {
            "survey": survey.id,
            "response": response.id,
            "owner": owner.email if owner else None,
            "due_at": due.isoformat(),
        },
        actor=SYSTEM,
    )
    if owner is None:
        log.warning(
            "follow-up %s of unit %s has no owner: set a default agent (unit-settings)",
            follow_up.id,
            unit_id,
        )
    else:
        notify_opened(follow_up)
    log.info("follow-up %s opened for response %s, due %s", follow_up.id, response.id, due)
    return follow_up


def _event(follow_up: FollowUp, actor: str, action: str, note: str | None) -> FollowUpEvent:
    event = FollowUpEvent(
        follow_up=follow_up,
        at=utcnow(),
        actor=actor,
        action=action,
        state=follow_up.state,
        owner=follow_up.owner.email if follow_up.owner else None,
        note=note,
    )
    db.session.add(event)
    return event


# -- moving on ------------------------------------------------------------------------------
def eligible_owner(user: User | None, follow_up: FollowUp) -> bool:
    """Whether ``user`` can own a case of this unit (an active account that handles
    follow-ups there)."""
    if user is None or not user.active or not may(user, "follow_up") or user.role == "executive":
        return False
    return user.role == "admin" or follow_up.unit_id in user.unit_ids


def owner_choices(follow_up: FollowUp) -> list[User]:
    users = db.session.scalars(select(User).where(User.active).order_by(User.email))
    return [u for u in users if eligible_owner(u, follow_up) and u.id != follow_up.owner_id]


def act(
    follow_up: FollowUp,
    action: str,
    actor: str,
    *,
    note: str | None = None,
    owner: User | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """Take one step (``assign``, ``start``, ``resolve``, ``reassign``, ``note``)."""
    if action not in ACTIONS:
        raise FollowUpError(f"unknown step {action!r}")
    allowed, after = ACTIONS[action]
    if follow_up.state not in allowed:
        raise FollowUpError(f"a {follow_up.state} follow-up cannot take the step {action!r}")
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise FollowUpError(f"a note has at most {MAX_NOTE} characters")
    if action in ("resolve", "note") and note is None:
        raise FollowUpError(
            "resolving needs a closing note" if action == "resolve" else "the note is empty"
        )
    details: dict[str, Any] = {"from": follow_up.state}
    if action == "reassign":
        if not eligible_owner(owner, follow_up):
            raise FollowUpError("the new owner must be an active account that works in the unit")
        if owner.id == follow_up.owner_id:
            raise FollowUpError("this account owns the case already")
        details["owner"] = [follow_up.owner.email if follow_up.owner else None, owner.email]
        follow_up.owner = owner
    elif action == "assign" and follow_up.owner is None:
        raise FollowUpError("the case has no owner: reassign it to someone")
    now = (now or utcnow()).astimezone(UTC)  # stored in UTC (SQLite drops offsets)
    if after is not None:
        follow_up.state = after
    if action == "resolve":
        follow_up.resolved_at = now
        follow_up.closing_note = note
    if follow_up.first_response_at is None:
        follow_up.first_response_at = now
    event = _event(follow_up, actor, action, note)
    event.at = now
    details["to"] = follow_up.state
    audit.record(f"follow_up.{action}", f"follow_up:{follow_up.id}", details, actor=actor)
    if action == "reassign":
        notify_opened(follow_up, reassigned=True)
    log.info("follow-up %s: %s by %s -> %s", follow_up.id, action, actor, follow_up.state)
    return follow_up


# -- reading ------------------------------------------------------------------------------
def is_overdue(follow_up: FollowUp, now: datetime | None = None) -> bool:
    """Not resolved and past its due time."""
    return follow_up.state != "resolved" and aware(follow_up.due_at) < (now or utcnow())


def resolved_in_time(follow_up: FollowUp) -> bool | None:
    if follow_up.resolved_at is None:
        return None
    return aware(follow_up.resolved_at) <= aware(follow_up.due_at)


def visible_query(user: Any | None):
    """The follow-ups ``user`` sees (None: the operator, every one)."""
    query = select(FollowUp)
    if user is None:
        return query
    scope = follow_up_scope(user)
    if scope is None:
        return query.where(False)
    if scope.units is not None:
        query = query.where(FollowUp.unit_id.in_(sorted(scope.units)))
    if scope.agent_id is not None:
        own_customers = select(Customer.id).where(Customer.account_manager_id == scope.agent_id)
        query = query.where(
            (FollowUp.owner_id == scope.agent_id) | FollowUp.customer_pk.in_(own_customers)
        )
    return query


def listing(
    user: Any | None,
    *,
    unit_id: str | None = None,
    state: str | None = None,
    owner_email: str | None = None,
    tier: str | None = None,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[FollowUp]:
    """Follow-ups, overdue first, then by due time."""
    now = now or utcnow()
    query = visible_query(user)
    if unit_id:
        query = query.where(FollowUp.unit_id == unit_id)
    if state:
        query = query.where(FollowUp.state == state)
    if owner_email:
        query = query.join(User, User.id == FollowUp.owner_id).where(User.email == owner_email)
    if tier:
        query = query.join(Customer, Customer.id == FollowUp.customer_pk).where(
            Customer.tier == tier
        )
    if overdue_only:
        query = query.where(FollowUp.state != "resolved", FollowUp.due_at < now)
    cases = list(db.session.scalars(query.order_by(FollowUp.due_at, FollowUp.id)))
    cases.sort(key=lambda f: (not is_overdue(f, now), f.state == "resolved"))
    return cases


def as_json(follow_up: FollowUp, now: datetime | None = None) -> dict[str, Any]:
    """The case as the command line's ``--json`` gives it; times in the unit's zone."""
    from ..customers.services import calendar_of

    tz = calendar_of(follow_up.unit_id).tz
    return {
        "id": follow_up.id,
        "customer_id": follow_up.customer.customer_id if follow_up.customer else None,
        "state": follow_up.state,
        "owner": follow_up.owner.email if follow_up.owner else None,
        "opened_at": aware(follow_up.opened_at).astimezone(tz).isoformat(),
        "due_at": aware(follow_up.due_at).astimezone(tz).isoformat(),
        "overdue": is_overdue(follow_up, now),
        "unit": follow_up.unit_id,
        "survey": follow_up.survey_id,
        "resolved_at": (
            aware(follow_up.resolved_at).astimezone(tz).isoformat()
            if follow_up.resolved_at
            else None
        ),
    }


def complaint_text(follow_up: FollowUp) -> str | None:
    """The complaint (the rule's text answer) of the case's response, if any."""
    if follow_up.response_id is None:
        return None
    response = db.session.get(Response, follow_up.response_id)
    if response is None:
        return None
    rule = response.version.questionnaire.follow_up
    if rule is None or rule.complaint is None:
        return None
    return (response.texts or {}).get(rule.complaint)


def next_response(follow_up: FollowUp) -> Response | None:
    """Whether it worked: the customer's next completed response to the same survey."""
    if follow_up.customer_pk is None or follow_up.response_id is None:
        return None
    return db.session.scalars(
        select(Response)
        .join(Invitation, Invitation.id == Response.invitation_id)
        .where(
            Invitation.customer_pk == follow_up.customer_pk,
            Response.survey_id == follow_up.survey_id,
            Response.status == "complete",
            Response.completed_at > follow_up.opened_at,
            Response.id != follow_up.response_id,
        )
        .order_by(Response.completed_at, Response.id)
        .limit(1)
    ).first()


def stored_reasons(response: Response) -> list[dict[str, Any]]:
    """Why ``response`` would need a follow-up under its questionnaire's rule."""
    from ..surveys.services import stored_answers

    rule = response.version.questionnaire.follow_up
    return rule.reasons(stored_answers(response)) if rule is not None else []


# -- mail to owners -----------------------------------------------------------------------
def _case_url(follow_up: FollowUp) -> str:
    return external_url("followups.case", follow_up_id=follow_up.id)


def _bilingual(render) -> tuple[str, str]:
    """Staff mail in both languages (accounts have no language of their own)."""
    parts = []
    for lang in ("zh", "en"):
        with force_locale(lang):
            parts.append(render(lang))
    subject = " / ".join(p[0] for p in parts)
    body = "\n\n----\n\n".join(p[1] for p in parts)
    return subject, body


def notify_opened(follow_up: FollowUp, reassigned: bool = False) -> None:
    """Mail the owner that a case is theirs (queued; sent after the commit)."""
    if follow_up.owner is None:
        return
    survey = db.session.get(Survey, follow_up.survey_id)
    from ..customers.services import calendar_of

    tz = calendar_of(follow_up.unit_id).tz
    due = aware(follow_up.due_at).astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    customer = follow_up.customer.name if follow_up.customer else None

    def render(lang: str) -> tuple[str, str]:
        title = translate(survey.questionnaire.title, lang)
        subject = (
            _("Follow-up %(id)s reassigned to you", id=follow_up.id)
            if reassigned
            else _("New follow-up %(id)s: %(title)s", id=follow_up.id, title=title)
        )
        lines = [
            _("A customer's response needs a follow-up, and you own it."),
            _("Customer: %(name)s", name=customer or _("(anonymous)")),
            _("Due: %(due)s", due=due),
            _("Open the case: %(url)s", url=_case_url(follow_up)),
        ]
        return subject, "\n".join(lines)

    subject, body = _bilingual(render)
    mail.queue(follow_up.owner.email, subject, body, kind="follow_up", unit_id=follow_up.unit_id)


def notify_overdue(cases: list[FollowUp], now: datetime | None = None, every: float = 20) -> int:
    """Mail each owner one list of their overdue cases (a case at most every ``every``
    hours); cases without an owner go to the managers of their unit. Returns the number
    of messages queued."""
    now = now or utcnow()
    by_recipient: dict[str, list[FollowUp]] = {}
    for case in cases:
        if not is_overdue(case, now):
            continue
        last = aware(case.notified_overdue_at)
        if last is not None and now - last < timedelta(hours=every):
            continue
        recipients = [case.owner.email] if case.owner else _unit_managers(case.unit_id)
        for email in recipients:
            by_recipient.setdefault(email, []).append(case)
        case.notified_overdue_at = now
        _event(case, "system", "notify", note=None)
    for email, owned in by_recipient.items():

        def render(lang: str, owned=owned) -> tuple[str, str]:
            subject = _("%(n)s overdue follow-ups", n=len(owned))
            lines = [_("These follow-ups are past their due time:")]
            lines += [f"- #{c.id} {_case_url(c)}" for c in owned]
            return subject, "\n".join(lines)

        subject, body = _bilingual(render)
        mail.queue(email, subject, body, kind="follow_up_overdue", unit_id=owned[0].unit_id)
    return len(by_recipient)


def _unit_managers(unit_id: str) -> list[str]:
    users = db.session.scalars(
        select(User).where(User.active, User.role.in_(("manager", "unit_admin")))
    )
    return [u.email for u in users if unit_id in u.unit_ids]
