"""At-risk customers: low or falling satisfaction, or silence after answering before,
ranked by the value at risk (revenue x a risk score from 0 to 1).

For each survey a customer was invited to, the *score* of a response is the mean of the
columns of the questionnaire's follow-up conditions (``follow_up.when``), else of its
satisfaction and loyalty outcome items. A customer is at risk when

- ``low``: the latest response is at or below the threshold: by default it meets the
  follow-up condition; with ``threshold`` its score is at or below it;
  risk ``0.6 + 0.4 x depth``, depth = (threshold - score) / (threshold - scale minimum);
- ``drop``: the score fell by at least ``drop`` points since the previous response to
  the same survey; risk ``0.3 + 0.7 x min(1, fall / scale range)``;
- ``silent``: the latest invitation (older than ``silent_after``) has no response,
  although an earlier one was answered; risk 0.5.

Several reasons combine as independent risks: ``1 - (1 - r1)(1 - r2)...``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from questionnaires import Questionnaire

from ..extensions import db
from ..models import Customer, Invitation, Response, Survey, aware, utcnow
from ..storage import responses_frame

CSV_COLUMNS = ("customer_id", "name", "tier", "revenue", "risk", "value_at_risk", "reason")
SILENT_RISK = 0.5


@dataclass
class AtRisk:
    customer: Customer
    risk: float
    reasons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def revenue(self) -> float:
        return float(self.customer.revenue or 0.0)

    @property
    def value_at_risk(self) -> float:
        return round(self.revenue * self.risk, 2)


def score_columns(q: Questionnaire) -> tuple[list[str], Any]:
    """The columns a response's score is the mean of, and the default low-test
    (a frame -> boolean mask), from the follow-up rule or the outcomes."""
    rule = q.follow_up
    numeric = [c for c in (rule.when if rule else ()) if c.min is not None or c.max is not None]
    if numeric:

        def low(frame: pd.DataFrame) -> np.ndarray:
            mask = np.zeros(len(frame), dtype=bool)
            for condition in rule.when:
                mask |= condition.mask(frame)
            return mask

        return list(dict.fromkeys(c.column for c in numeric)), low
    columns = [
        item.id
        for section in q.outcomes
        if section.role in ("satisfaction", "loyalty")
        for item in section.items
    ]
    midpoint = (q.scale.min + q.scale.max) / 2

    def low_mid(frame: pd.DataFrame) -> np.ndarray:
        return (frame[columns].mean(axis=1) < midpoint).fillna(False).to_numpy()

    return columns, low_mid


def _default_threshold(q: Questionnaire) -> float:
    rule = q.follow_up
    bounds = [c.max for c in (rule.when if rule else ()) if c.max is not None]
    return float(max(bounds)) if bounds else (q.scale.min + q.scale.max) / 2


def at_risk(
    unit_id: str,
    *,
    customers: list[Customer] | None = None,
    threshold: float | None = None,
    drop: float = 1.0,
    silent_after: timedelta = timedelta(days=14),
    now: datetime | None = None,
) -> list[AtRisk]:
    """The unit's customers at risk (or those of ``customers``), by value at risk."""
    now = now or utcnow()
    if customers is None:
        customers = list(db.session.scalars(select(Customer).where(Customer.unit_id == unit_id)))
    by_pk = {c.id: c for c in customers}
    if not by_pk:
        return []
    rows = db.session.execute(
        select(
            Invitation.customer_pk,
            Invitation.survey_id,
            Invitation.created_at,
            Response.id,
            Response.status,
            Response.completed_at,
        )
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.customer_pk.in_(list(by_pk)))
    ).all()
    risks: dict[int, list[tuple[float, dict]]] = {}
    for survey_id in sorted({r.survey_id for r in rows}):
        survey = db.session.get(Survey, survey_id)
        q = survey.questionnaire
        columns, low_test = score_columns(q)
        if not columns:
            continue
        mine = [r for r in rows if r.survey_id == survey_id]
        frame = responses_frame(survey_id, include_text=False)
        answered_ids = {r.id for r in mine if r.status == "complete"}
        frame = frame[frame["response_id"].isin(answered_ids)]
        score = frame[columns].mean(axis=1)
        if threshold is None:
            low = pd.Series(low_test(frame), index=frame.index)
            limit = _default_threshold(q)
        else:
            low = (score <= threshold).fillna(False)
            limit = threshold
        by_response = {
            int(rid): (float(s), bool(lo))
            for rid, s, lo in zip(frame["response_id"], score, low, strict=True)
            if not math.isnan(s)
        }
        span = q.scale.max - q.scale.min
        for pk in sorted({r.customer_pk for r in mine}):
            history = sorted(
                (r for r in mine if r.customer_pk == pk),
                key=lambda r: aware(r.completed_at or r.created_at),
            )
            answered = [r for r in history if r.status == "complete" and r.id in by_response]
            if answered:
                latest = answered[-1]
                value, is_low = by_response[latest.id]
                when = aware(latest.completed_at).date().isoformat()
                if is_low:
                    depth = (limit - value) / (limit - q.scale.min) if limit > q.scale.min else 1
                    risk = 0.6 + 0.4 * min(1.0, max(0.0, depth))
                    reason = {"code": "low", "survey": survey_id, "score": round(value, 2)}
                    risks.setdefault(pk, []).append(
                        (risk, {**reason, "threshold": limit, "date": when})
                    )
                if len(answered) > 1:
                    before = by_response[answered[-2].id][0]
                    fall = before - value
                    if fall >= drop:
                        risk = 0.3 + 0.7 * min(1.0, fall / span)
                        reason = {
                            "code": "drop",
                            "survey": survey_id,
                            "before": round(before, 2),
                            "score": round(value, 2),
                            "fall": round(fall, 2),
                        }
                        risks.setdefault(pk, []).append((risk, reason))
            newest = history[-1]
            invited = aware(newest.created_at)
            if newest.status != "complete" and answered and invited <= now - silent_after:
                reason = {
                    "code": "silent",
                    "survey": survey_id,
                    "invited": invited.date().isoformat(),
                }
                risks.setdefault(pk, []).append((SILENT_RISK, reason))
    result = []
    for pk, found in risks.items():
        keep = 1.0
        for risk, _reason in found:
            keep *= 1 - risk
        result.append(AtRisk(by_pk[pk], round(1 - keep, 3), [r for _, r in found]))
    result.sort(key=lambda a: (-a.value_at_risk, -a.risk, a.customer.customer_id))
    return result


def reason_text(reason: dict[str, Any], lang: str = "en") -> str:
    """One reason in words, in ``lang``."""
    with force_locale(lang):
        if reason["code"] == "low":
            return _(
                "latest score %(score)s at or below %(threshold)s (%(survey)s, %(date)s)",
                score=_num(reason["score"]),
                threshold=_num(reason["threshold"]),
                survey=reason["survey"],
                date=reason["date"],
            )
        if reason["code"] == "drop":
            return _(
                "score fell by %(fall)s since the previous response (%(before)s to %(score)s, "
                "%(survey)s)",
                fall=_num(reason["fall"]),
                before=_num(reason["before"]),
                score=_num(reason["score"]),
                survey=reason["survey"],
            )
        return _(
            "stopped answering: invited on %(invited)s (%(survey)s), no response, answered before",
            invited=reason["invited"],
            survey=reason["survey"],
        )


def _num(value: float) -> str:
    return f"{value:g}"


def csv_rows(found: list[AtRisk], lang: str = "en") -> list[list[str]]:
    return [
        [
            a.customer.customer_id,
            a.customer.name,
            a.customer.tier or "",
            _num(a.revenue),
            f"{a.risk:.3f}",
            f"{a.value_at_risk:.2f}",
            "; ".join(reason_text(r, lang) for r in a.reasons),
        ]
        for a in found
    ]
