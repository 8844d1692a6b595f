"""Analysis settings a questionnaire file declares under its ``analysis:`` key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MISSING_METHODS: tuple[str, ...] = ("listwise", "available")
SEGMENT_ROLES: tuple[str, ...] = ("wave",)


@dataclass(frozen=True)
class AnalysisSettings:
    """How ``python -m analysis report`` treats this questionnaire's data.

    ``missing``: ``listwise`` (every analysis uses the rows that answer all its items) or
    ``available`` (pairwise moments, FIML CFA, scores of the answered items).
    ``paths``: the structural model of the satisfaction index, as (from, to) construct
    ids: a dimension id (its perception items), ``<measure id>_<dimension id>`` (another
    measure's items) or an outcome id.
    """

    missing: Literal["listwise", "available"] = "listwise"
    paths: tuple[tuple[str, str], ...] = ()

    @property
    def constructs(self) -> tuple[str, ...]:
        """The constructs of the path model, in order of first mention."""
        return tuple(dict.fromkeys(c for path in self.paths for c in path))
