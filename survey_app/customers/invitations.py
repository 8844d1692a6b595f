"""Invitations per customer of the register, their mail, and reminders.

Segments the questionnaire declares as ``tier`` and ``region`` are set from the
register: a register value is matched to a choice by its id (ignoring case) or by its
title in any language, and refused, listing the choices, when it matches none. For a
questionnaire with ``anonymous: true`` the invitation keeps the customer's segments but
not the customer, so no response can be traced back to them.
"""

from __future__ import annotations

import logging
import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from questionnaires import Item, Questionnaire, translate

from .. import audit, mail
from ..extensions import db
from ..links import external_url
from ..models import Customer, Invitation, Response, Survey, Unit, aware, utcnow
from ..surveys.services import check_segments, new_key
from .services import CustomerError, settings_of

log = logging.getLogger(__name__)
REGISTER_SEGMENTS = ("tier", "region")  # segment id -> the customer's attribute of that name
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dhw])\s*$")


def parse_duration(text: str) -> timedelta:
    """``3d``, ``12h`` or ``1w``."""
    match = _DURATION.match(text or "")
    if not match:
        raise CustomerError(f"{text!r}: write a duration as a number and d, h or w (3d, 12h)")
    value, unit = float(match.group(1)), match.group(2)
    return {"d": timedelta(days=value), "h": timedelta(hours=value), "w": timedelta(weeks=value)}[
        unit
    ]


def map_choice(item: Item, value: str) -> str:
    """The id of ``item``'s choice that ``value`` names (its id, any case, or a title)."""
    text = value.strip()
    for choice in item.choices:
        if choice.id == text:
            return choice.id
    folded = text.casefold()
    for choice in item.choices:
        names = [choice.id, *choice.title.values()]
        if any(folded == name.casefold() for name in names):
            return choice.id
    listed = ", ".join(f"{c.id} ({translate(c.title, 'en')})" for c in item.choices)
    raise CustomerError(f"segment '{item.id}': {value!r} is not one of its choices ({listed})")


def register_segments(q: Questionnaire, customer: Customer) -> dict[str, str]:
    """The segment values the register knows for ``customer`` (tier, region)."""
    items = {item.id: item for section in q.segments for item in section.items}
    values = {}
    for name in REGISTER_SEGMENTS:
        value = getattr(customer, name)
        if name in items and value:
            try:
                values[name] = map_choice(items[name], value)
            except CustomerError as exc:
                raise CustomerError(f"customer {customer.customer_id}: {exc}") from None
    return check_segments(q, values)


def language(customer: Customer) -> str:
    return customer.lang or settings_of(customer.unit_id).default_lang


@dataclass
class Invited:
    invitation: Invitation
    customer: Customer  # whom to mail (not stored on anonymous invitations)


def invite_customers(survey: Survey, unit_id: str, tier: str | None = None) -> list[Invited]:
    """One invitation per customer of the unit's register (of ``tier``), with its
    segments from the register. Customers with an unanswered invitation to this survey
    are skipped (remind them instead), unless the survey is anonymous. Checks every
    customer before adding anything."""
    q = survey.questionnaire
    query = select(Customer).where(Customer.unit_id == unit_id).order_by(Customer.customer_id)
    if tier:
        query = query.where(Customer.tier == tier)
    customers = list(db.session.scalars(query))
    if not customers:
        raise CustomerError(
            f"unit {unit_id} has no customers" + (f" of tier {tier}" if tier else "")
        )
    if not q.anonymous:
        waiting = set(
            db.session.scalars(
                select(Invitation.customer_pk)
                .outerjoin(Response, Response.invitation_id == Invitation.id)
                .where(
                    Invitation.survey_id == survey.id,
                    Invitation.customer_pk.is_not(None),
                    (Response.id.is_(None)) | (Response.status != "complete"),
                )
            )
        )
        customers = [c for c in customers if c.id not in waiting]
    else:
        random.SystemRandom().shuffle(customers)  # no order to match links to customers by
    segments = [register_segments(q, c) for c in customers]
    invited = [
        Invited(
            Invitation(
                survey_id=survey.id,
                token=new_key(),
                segments=values,
                customer_pk=None if q.anonymous else customer.id,
                lang=language(customer),
            ),
            customer,
        )
        for customer, values in zip(customers, segments, strict=True)
    ]
    db.session.add_all([i.invitation for i in invited])
    audit.record(
        "invitations.create",
        survey.id,
        {"count": len(invited), "customers": unit_id, "tier": tier, "anonymous": q.anonymous},
    )
    log.info("survey %s: %s customer invitations (unit %s)", survey.id, len(invited), unit_id)
    return invited


def survey_link(
    survey: Survey, invitation: Invitation, base_url: str | None = None, lang: str | None = None
) -> str:
    """The invitation's link; a mailed one opens the survey in the customer's language."""
    args = {"t": invitation.token, **({"lang": lang} if lang else {})}
    return external_url("surveys.take", base_url=base_url, survey_id=survey.id, **args)


def _minutes(q: Questionnaire) -> int:
    return max(1, math.ceil(sum(s.item.type.seconds for s in q.slots) / 60))


def survey_mail(
    survey: Survey, customer: Customer, link: str, lang: str, reminder: bool
) -> tuple[str, str]:
    """Subject and body of an invitation or reminder, in ``lang``."""
    q = survey.questionnaire
    unit = db.session.get(Unit, customer.unit_id)
    with force_locale(lang):
        title = translate(q.title, lang)
        if reminder:
            subject = _("Reminder: %(title)s", title=title)
            lead = _(
                "A few days ago we asked for your opinion of our service. If you have a "
                "moment, the survey is still open (about %(minutes)s minutes):",
                minutes=_minutes(q),
            )
        else:
            subject = _("%(unit)s: %(title)s", unit=unit.name if unit else "", title=title)
            lead = _(
                "We would like to know how satisfied you are with our service. The survey "
                "takes about %(minutes)s minutes:",
                minutes=_minutes(q),
            )
        lines = [
            _("Dear %(name)s,", name=customer.name),
            "",
            lead,
            "",
            link,
            "",
            _("This link is personal: please do not forward it."),
            _("Thank you, %(unit)s", unit=unit.name if unit else ""),
        ]
    return subject, "\n".join(lines)


def mail_invitations(survey: Survey, invited: list[Invited], reminder: bool = False) -> dict:
    """Queue one mail per invitation (customers without an email, or who unsubscribed,
    get none); return counts. The caller commits, then delivers."""
    counts = {"queued": 0, "no_email": 0, "suppressed": 0}
    now = utcnow()
    for item in invited:
        customer = item.customer
        if not customer.email:
            counts["no_email"] += 1
            continue
        lang = item.invitation.lang or language(customer)
        link = survey_link(survey, item.invitation, lang=lang)
        subject, body = survey_mail(survey, customer, link, lang, reminder)
        queued = mail.queue(
            customer.email,
            subject,
            body,
            kind="reminder" if reminder else "invitation",
            unit_id=customer.unit_id,
        )
        if queued is None:
            counts["suppressed"] += 1
            continue
        counts["queued"] += 1
        if reminder:
            item.invitation.reminded_at = now
        else:
            item.invitation.mailed_at = now
    return counts


def due_reminders(survey: Survey, after: timedelta, now: datetime | None = None) -> list[Invited]:
    """Invitations of customers who have not finished, last contacted (mailed, reminded,
    or created) at least ``after`` ago. Anonymous surveys keep no customer: none."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Invitation, Customer)
        .join(Customer, Customer.id == Invitation.customer_pk)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(
            Invitation.survey_id == survey.id,
            (Response.id.is_(None)) | (Response.status != "complete"),
        )
        .order_by(Customer.customer_id, Invitation.id)
    ).all()
    due = []
    for invitation, customer in rows:
        last = aware(invitation.reminded_at or invitation.mailed_at or invitation.created_at)
        if last <= now - after:
            due.append(Invited(invitation, customer))
    return due
