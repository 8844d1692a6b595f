"""Figures of follow-ups and tiers for the report pages.

Each public function takes a survey and a :class:`~survey_app.selection.Selection` (the
report's filters) and returns JSON-ready data; the cases counted are those opened by the
selected responses. The report pages call :func:`report_section` with the report's own
cached frame (the selected rows) instead, and key its cache by :func:`data_stamp`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from ..extensions import db
from ..models import TIERS, Customer, FollowUp, FollowUpEvent, Invitation, Survey, aware, utcnow
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
        select(FollowUp)
        .where(FollowUp.survey_id == survey.id)
        .order_by(FollowUp.opened_at, FollowUp.id)
    )
    return [c for c in cases if c.response_id in ids]


def _first_cases(cases: Iterable[FollowUp]) -> dict[int, FollowUp]:
    """Each followed-up customer's first case (the next wave is counted after it)."""
    first: dict[int, FollowUp] = {}
    for case in cases:
        if case.customer_pk is not None:
            first.setdefault(case.customer_pk, case)
    return first


def _outcome(case: FollowUp) -> bool | None:
    """Whether the customer's next response no longer meets the follow-up condition
    (None: no next response yet)."""
    later = next_response(case)
    if later is None:
        return None
    return not any("column" in r for r in stored_reasons(later))


def _recovery(outcomes: Iterable[bool | None]) -> dict[str, Any]:
    outcomes = list(outcomes)
    answered = [o for o in outcomes if o is not None]
    recovered = sum(1 for o in answered if o)
    return {
        "followed_up": len(outcomes),
        "with_next_response": len(answered),
        "recovered": recovered,
        "rate": recovered / len(answered) if answered else None,
    }


def _in_time(cases: Iterable[FollowUp], now: datetime) -> dict[str, Any]:
    cases = list(cases)
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


def recovery_rate(survey: Survey, selection: Selection) -> dict[str, Any]:
    """Followed-up customers whose next response to the survey no longer meets the
    follow-up condition (``when``: satisfaction rose above the threshold).

    Returns ``followed_up`` (customers with a case opened by a selected response; their
    first such case counts), ``with_next_response``, ``recovered`` and ``rate``
    (recovered / with a next response; None when no one answered again).
    """
    ids, _ = _selected_ids(survey, selection)
    first = _first_cases(_cases(survey, ids))
    return _recovery(_outcome(case) for case in first.values())


def resolved_in_time_share(survey: Survey, selection: Selection) -> dict[str, Any]:
    """Of the cases opened by the selected responses: how many were resolved, how many
    of those by their due time (``share``), and how many are open and overdue now."""
    ids, _ = _selected_ids(survey, selection)
    return _in_time(_cases(survey, ids), utcnow())


def _pyramid(
    survey: Survey, chosen: pd.DataFrame, selection: Selection | None = None
) -> list[dict[str, Any]]:
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
        segments = segments or {}
        if selection is not None and not all(
            segments.get(name) in values for name, values in selection.segments.items()
        ):
            continue  # the response rate compares like with like: the same segments
        tier = segments.get("tier")
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


def tier_pyramid(survey: Survey, selection: Selection) -> list[dict[str, Any]]:
    """The customer pyramid: per tier A, B, C the register's customers and revenue (of
    the survey's unit), the invitations, the selected responses (by the ``tier``
    segment) and the response rate."""
    _, chosen = _selected_ids(survey, selection)
    return _pyramid(survey, chosen, selection)


# -- the report pages -----------------------------------------------------------------------
def wilson_interval(successes: int, trials: int) -> list[float] | None:
    """The 95% Wilson score interval of a proportion (R's ``prop.test(x, n, correct =
    FALSE)``); None without trials. Unlike the normal approximation it stays inside
    [0, 1] and is usable with the few cases of one tier."""
    if not trials:
        return None
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(successes, trials, alpha=0.05, method="wilson")
    return [float(low), float(high)]


def _with_intervals(recovery: dict[str, Any], in_time: dict[str, Any]) -> dict[str, Any]:
    return {
        "recovery": {
            **recovery,
            "ci": wilson_interval(recovery["recovered"], recovery["with_next_response"]),
        },
        "resolved_in_time": {
            **in_time,
            "ci": wilson_interval(in_time["in_time"], in_time["resolved"]),
        },
    }


def report_section(
    survey: Survey, chosen: pd.DataFrame, selection: Selection | None = None
) -> dict[str, Any]:
    """The customer figures of a report for the selected responses ``chosen`` (a frame
    with ``response_id`` and, where the questionnaire has it, the ``tier`` segment).

    Returns ``tier_pyramid`` (as :func:`tier_pyramid`) and ``follow_ups``: ``recovery``
    (as :func:`recovery_rate`) and ``resolved_in_time`` (as
    :func:`resolved_in_time_share`), each with ``ci`` (95% Wilson interval of its rate),
    the same per tier under ``by_tier``, and ``tier_basis``. A case's tier is the
    ``tier`` segment of the response that opened it, else (questionnaires without that
    segment, or a response without it) its customer's tier in the register; cases with
    neither count in the totals only. The invitations counted are those whose segments
    ``selection``'s segment filters keep (its dates apply to responses only).
    """
    ids = {int(i) for i in chosen["response_id"]} if len(chosen) else set()
    cases = _cases(survey, ids)
    segment_tier: dict[int, str] = {}
    if "tier" in chosen and len(chosen):
        for rid, tier in zip(chosen["response_id"], chosen["tier"], strict=True):
            if isinstance(tier, str):
                segment_tier[int(rid)] = tier
    customer_tier = {}
    pks = {c.customer_pk for c in cases if c.customer_pk is not None}
    if pks:
        found = db.session.execute(select(Customer.id, Customer.tier).where(Customer.id.in_(pks)))
        customer_tier = {pk: tier for pk, tier in found}

    def tier_of(case: FollowUp) -> str | None:
        return segment_tier.get(case.response_id) or customer_tier.get(case.customer_pk)

    now = utcnow()
    first = _first_cases(cases)
    outcomes = {pk: _outcome(case) for pk, case in first.items()}
    by_tier = {}
    for tier in TIERS:
        mine = [c for c in cases if tier_of(c) == tier]
        customers = [pk for pk, case in first.items() if tier_of(case) == tier]
        by_tier[tier] = _with_intervals(
            _recovery(outcomes[pk] for pk in customers), _in_time(mine, now)
        )
    follow_ups = _with_intervals(_recovery(outcomes.values()), _in_time(cases, now))
    follow_ups["by_tier"] = by_tier
    follow_ups["tier_basis"] = "segment" if "tier" in chosen else "register"
    return {"tier_pyramid": _pyramid(survey, chosen, selection), "follow_ups": follow_ups}


def data_stamp(survey: Survey) -> dict[str, Any]:
    """What the customer figures of ``survey`` depend on besides its responses, in one
    query: its follow-ups (count, newest history step: every state change, note and
    reassignment adds one), those overdue now (a case turns overdue as time passes), the
    unit's register (count, latest change) and the survey's invitations."""
    now = utcnow()
    of_survey = FollowUp.survey_id == survey.id
    row = db.session.execute(
        select(
            select(func.count(FollowUp.id)).where(of_survey).scalar_subquery(),
            select(func.max(FollowUpEvent.id))
            .join(FollowUp, FollowUp.id == FollowUpEvent.follow_up_id)
            .where(of_survey)
            .scalar_subquery(),
            select(func.count(FollowUp.id))
            .where(of_survey, FollowUp.resolved_at.is_(None), FollowUp.due_at < now)
            .scalar_subquery(),
            select(func.count(Customer.id))
            .where(Customer.unit_id == survey.unit_id)
            .scalar_subquery(),
            select(func.max(Customer.updated_at))
            .where(Customer.unit_id == survey.unit_id)
            .scalar_subquery(),
            select(func.max(Invitation.id))
            .where(Invitation.survey_id == survey.id)
            .scalar_subquery(),
        )
    ).one()
    cases, last_step, overdue, customers, changed, last_invitation = row
    return {
        "cases": int(cases or 0),
        "last_step": int(last_step or 0),
        "overdue": int(overdue or 0),
        "customers": int(customers or 0),
        "register_changed": str(aware(changed)) if changed is not None else None,
        "last_invitation": int(last_invitation or 0),
    }
