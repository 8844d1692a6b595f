"""Figures of follow-ups and tiers for the report pages (issue 7's pages wire them in).

Each takes a survey and a :class:`~survey_app.selection.Selection` (the report's
filters) and returns JSON-ready data; the cases counted are those opened by the selected
responses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import TIERS, Customer, FollowUp, Invitation, Survey, aware, utcnow
from ..selection import Selection
from ..storage import responses_frame
from .services import next_response, stored_reasons


def _selected_ids(survey: Survey, selection: Selection) -> tuple[set[int], Any]:
    frame = responses_frame(
        survey.id,
        version=selection.version,
        include_text=False,
        include_incomplete=selection.include_incomplete,
    )
    chosen = selection.apply(frame)
    return {int(i) for i in chosen["response_id"]}, chosen


def _cases(survey: Survey, ids: set[int]) -> list[FollowUp]:
    if not ids:
        return []
    cases = db.session.scalars(
        select(FollowUp).where(FollowUp.survey_id == survey.id).order_by(FollowUp.opened_at)
    )
    return [c for c in cases if c.response_id in ids]


def recovery_rate(survey: Survey, selection: Selection) -> dict[str, Any]:
    """Followed-up customers whose next response to the survey no longer meets the
    follow-up condition (``when``: satisfaction rose above the threshold).

    Returns ``followed_up`` (customers with a case opened by a selected response; their
    first such case counts), ``with_next_response``, ``recovered`` and ``rate``
    (recovered / with a next response; None when no one answered again).
    """
    ids, _ = _selected_ids(survey, selection)
    latest: dict[int, FollowUp] = {}
    for case in _cases(survey, ids):
        if case.customer_pk is not None:
            latest.setdefault(case.customer_pk, case)  # the first case; the next wave after it
    answered = recovered = 0
    for case in latest.values():
        later = next_response(case)
        if later is None:
            continue
        answered += 1
        if not any("column" in r for r in stored_reasons(later)):
            recovered += 1
    return {
        "followed_up": len(latest),
        "with_next_response": answered,
        "recovered": recovered,
        "rate": recovered / answered if answered else None,
    }


def resolved_in_time_share(survey: Survey, selection: Selection) -> dict[str, Any]:
    """Of the cases opened by the selected responses: how many were resolved, how many
    of those by their due time (``share``), and how many are open and overdue now."""
    ids, _ = _selected_ids(survey, selection)
    cases = _cases(survey, ids)
    now = utcnow()
    resolved = [c for c in cases if c.resolved_at is not None]
    in_time = [c for c in resolved if aware(c.resolved_at) <= aware(c.due_at)]
    open_overdue = [c for c in cases if c.resolved_at is None and aware(c.due_at) < now]
    return {
        "cases": len(cases),
        "resolved": len(resolved),
        "in_time": len(in_time),
        "share": len(in_time) / len(resolved) if resolved else None,
        "open_overdue": len(open_overdue),
    }


def tier_pyramid(survey: Survey, selection: Selection) -> list[dict[str, Any]]:
    """The customer pyramid: per tier A, B, C the register's customers and revenue (of
    the survey's unit), the invitations, the selected responses (by the ``tier``
    segment) and the response rate."""
    _, chosen = _selected_ids(survey, selection)
    register = dict(
        (tier, (n, revenue or 0.0))
        for tier, n, revenue in db.session.execute(
            select(Customer.tier, func.count(), func.sum(Customer.revenue))
            .where(Customer.unit_id == survey.unit_id)
            .group_by(Customer.tier)
        ).all()
    )
    total_revenue = sum(r for _, r in register.values()) or 0.0
    invited: dict[str, int] = {t: 0 for t in TIERS}
    for segments in db.session.scalars(
        select(Invitation.segments).where(Invitation.survey_id == survey.id)
    ):
        tier = (segments or {}).get("tier")
        if tier in invited:
            invited[tier] += 1
    answered = (
        chosen["tier"].value_counts().to_dict() if "tier" in chosen else {t: None for t in TIERS}
    )
    rows = []
    for tier in TIERS:
        customers, revenue = register.get(tier, (0, 0.0))
        responses = answered.get(tier, 0)
        rate = None
        if invited[tier] and responses is not None:
            rate = int(responses) / invited[tier]
        rows.append(
            {
                "tier": tier,
                "customers": customers,
                "revenue": revenue,
                "revenue_share": revenue / total_revenue if total_revenue else None,
                "invited": invited[tier],
                "responses": None if responses is None else int(responses),
                "response_rate": rate,
            }
        )
    return rows
