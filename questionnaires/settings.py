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


def has_cycle(paths: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> bool:
    """Whether the directed paths lead from some construct back to itself."""
    successors: dict[str, list[str]] = {}
    for a, b in paths:
        successors.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str) -> bool:
        state[node] = 1
        for nxt in successors.get(node, ()):
            if state.get(nxt) == 1 or (nxt not in state and visit(nxt)):
                return True
        state[node] = 2
        return False

    return any(node not in state and visit(node) for node in list(successors))
