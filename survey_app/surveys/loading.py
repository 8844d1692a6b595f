"""Loading a questionnaire file: one path for the command line and the upload page.

:func:`plan_load` checks the file and what it would do (a new survey, a compatible new
version, an incompatible one with the questions and answers it affects, or a refusal);
:func:`apply_load` carries the plan out.
"""

from __future__ import annotations

from dataclasses import dataclass

from questionnaires import Questionnaire, parse_questionnaire

from .. import audit
from ..extensions import db
from ..models import Survey, Unit
from ..versions import ReloadCheck, check_reload
from .services import store_questionnaire


class LoadRefused(ValueError):
    """The file is valid but cannot be loaded here; the message says why."""


@dataclass
class LoadPlan:
    q: Questionnaire
    text: str
    name: str
    unit_id: str
    survey: Survey | None  # the survey it reloads, or None for a new one
    check: ReloadCheck

    @property
    def unchanged(self) -> bool:
        from ..models import QuestionnaireVersion

        return self.survey is not None and self.survey.current.sha256 == (
            QuestionnaireVersion.digest(self.text)
        )


def plan_load(text: str, name: str, unit_id: str | None, source: str | None = None) -> LoadPlan:
    """Check ``text`` (raises :class:`~questionnaires.QuestionnaireError`, naming
    ``source`` or ``name``) and where it goes. ``unit_id`` None keeps a reloaded survey's
    unit (or puts a new one in the default unit)."""
    q = parse_questionnaire(text, source=source or name)
    survey = db.session.get(Survey, q.id)
    if survey is not None and unit_id is not None and survey.unit_id != unit_id:
        # Ids are unique across units; say nothing about whose it is.
        raise LoadRefused(
            f"the survey id '{q.id}' is already in use; give the questionnaire another id"
        )
    unit_id = survey.unit_id if survey is not None else (unit_id or "default")
    if db.session.get(Unit, unit_id) is None:
        raise LoadRefused(f"no unit '{unit_id}'")
    return LoadPlan(q, text, name, unit_id, survey, check_reload(survey, q))


def apply_load(plan: LoadPlan, *, allow_incompatible: bool = False, open_now: bool = True):
    """Store the plan's version; returns (survey, version added, new series started).

    An incompatible version is refused unless ``allow_incompatible``; it then starts a
    new series. A new survey is open at once unless ``open_now`` is false (a draft).
    """
    series = None
    if not plan.check.compatible:
        if not allow_incompatible:
            raise LoadRefused("it would read stored answers differently")
        series = plan.survey.current.number + 1
    is_new = plan.survey is None
    survey, added = store_questionnaire(plan.q, plan.text, plan.name, series=series)
    if is_new:
        survey.unit_id = plan.unit_id
        survey.state = "open" if open_now else "draft"
    if added:
        db.session.flush()
        audit.record(
            "questionnaire.load",
            survey.id,
            {
                "version": survey.current.number,
                "file": plan.name,
                "unit": survey.unit_id,
                "new_series": series is not None,
                "affected": [a.describe() for a in plan.check.affected],
            },
        )
    return survey, added, series is not None
