"""Checking answers against a questionnaire: the one place for required, show-if and
the per-kind checks, shared by the web form, the JSON API and the response import.

Answers are handled in two shapes: by *slot* (one per form field: ``P_TA1``, ``USED``)
holding the canonical value the customer gave (an int, a choice id, a set of choice
ids, a text), and by *column* (``USED_food``...) as stored and exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .kinds import Problem
from .model import Page, Slot


@dataclass
class Checked:
    """The outcome of checking some slots' answers."""

    answers: dict[str, Any] = field(default_factory=dict)  # column -> value (None: blank/hidden)
    values: dict[str, Any] = field(default_factory=dict)  # slot -> canonical value
    problems: dict[str, Problem] = field(default_factory=dict)  # slot -> what is wrong

    @property
    def ok(self) -> bool:
        return not self.problems

    def valid_answers(self, slots: Iterable[Slot]) -> dict[str, Any]:
        """The columns of the slots that were answered and had no problem."""
        result: dict[str, Any] = {}
        for slot in slots:
            if slot.name not in self.problems and self.values.get(slot.name) is not None:
                result.update({c.name: self.answers[c.name] for c in slot.columns})
        return result


def check_slots(
    slots: Iterable[Slot],
    raw: Mapping[str, Any],
    prior: Mapping[str, Any],
    *,
    enforce_required: bool = True,
) -> Checked:
    """Check the posted ``raw`` answers (slot -> value or list of form values) of ``slots``.

    ``prior`` holds the stored answers by column, which show-if conditions read along
    with the answers of earlier slots in ``slots``. A slot hidden by its condition gets
    no answer, whatever was posted; a shown, required slot must be answered unless
    ``enforce_required`` is false (an import of paper forms).
    """
    result = Checked()
    so_far = dict(prior)
    for slot in slots:
        item, kind = slot.item, slot.item.type
        if item.show_if is not None and not item.show_if.holds(so_far):
            value = None
        else:
            try:
                value = kind.parse(item, raw.get(slot.name))
            except Problem as problem:
                result.problems[slot.name] = problem
                value = None
            if (
                slot.name not in result.problems
                and enforce_required
                and item.required
                and not kind.answered(value)
            ):
                result.problems[slot.name] = Problem("required")
        result.values[slot.name] = value
        columns = kind.to_columns(item, slot.name, value)
        result.answers.update(columns)
        so_far.update(columns)
    return result


def missing_required(
    pages: Iterable[Page], answers: Mapping[str, Any]
) -> tuple[int, dict[str, Problem]] | None:
    """The first page with a required, shown question left unanswered, and those slots."""
    for page in pages:
        problems = {
            slot.name: Problem("required")
            for slot in page.slots
            if slot.item.required
            and (slot.item.show_if is None or slot.item.show_if.holds(answers))
            and not slot.item.type.answered(
                slot.item.type.from_columns(slot.item, slot.name, answers)
            )
        }
        if problems:
            return page.number, problems
    return None


def resume_page(pages: tuple[Page, ...], furthest: int, answers: Mapping[str, Any]) -> int:
    """Where a customer coming back continues: the furthest page they reached, or an
    earlier one that still has an unanswered required question (pages may have been
    laid out differently when they answered it)."""
    furthest = min(max(furthest, 1), len(pages))
    gap = missing_required(pages[: furthest - 1], answers)
    return gap[0] if gap else furthest


def form_values(slots: Iterable[Slot], answers: Mapping[str, Any]) -> dict[str, list[str]]:
    """Stored answers (by column) as the form values (by slot) that show them checked."""
    return {
        slot.name: slot.item.type.form_values(
            slot.item.type.from_columns(slot.item, slot.name, answers)
        )
        for slot in slots
    }
