"""Reloading a questionnaire: which stored answers a new version would read differently.

See :mod:`questionnaires.compat` for what counts as compatible. A compatible version
joins the current series (its answers and the older ones are read together); an
incompatible one is refused unless the operator accepts it, and then starts a new
series, so old answers are only ever read with their own version's definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from questionnaires import Questionnaire
from questionnaires.compat import incompatibilities
from questionnaires.kinds import MISSING

from .models import Survey
from .storage import series_versions, stored_codes


@dataclass(frozen=True)
class AffectedQuestion:
    column: str
    item: str
    reason: str
    answers: int  # stored answers (complete and in-progress responses) it affects

    def describe(self) -> str:
        return f"{self.column} (item {self.item}): {self.reason}; {self.answers} stored answers"


@dataclass
class ReloadCheck:
    affected: list[AffectedQuestion] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.affected


def check_reload(survey: Survey | None, new: Questionnaire) -> ReloadCheck:
    """Compare ``new`` with every version of the survey's current series that has
    answers, and count the stored answers each incompatible change would affect."""
    if survey is None:
        return ReloadCheck()
    versions = series_versions(survey.id)
    data = stored_codes(survey.id, versions)
    counts: dict[tuple[str, str, str], int] = {}
    for version in versions:
        if version.id not in data:
            continue
        codes, texts = data[version.id]
        position = {name: i for i, name in enumerate(version.layout)}
        for change in incompatibilities(version.questionnaire, new):
            if change.column in position:
                stored = codes[:, position[change.column]]
                hit = stored != MISSING
                if change.codes is not None:
                    hit &= np.isin(stored, list(change.codes))
                n = int(hit.sum())
            else:
                n = sum(1 for t in texts if t.get(change.column))
            if n:
                key = (change.column, change.item, change.reason)
                counts[key] = counts.get(key, 0) + n
    return ReloadCheck([AffectedQuestion(c, i, r, n) for (c, i, r), n in counts.items()])
