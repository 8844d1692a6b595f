"""Whether a new text of a questionnaire reads the answers of an old one the same way.

Answers are stored as codes in the column order of the version they were given under.
A new version may change wordings, translations, labels and page sizes, add items and
choices and reorder choices (codes are mapped by choice id): the old answers still mean
what they meant. It must not change what a stored code means: a column's kind, its
scale, its reverse keying, the measure it belongs to, or drop a choice or an item that
has answers. :func:`incompatibilities` lists those changes; the caller counts the
stored answers each affects.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Column, Questionnaire


@dataclass(frozen=True)
class Incompatibility:
    """An old column whose stored answers would be read differently (or lost)."""

    column: str
    item: str
    reason: str
    codes: frozenset[int] | None = None  # only answers with these codes are affected


def incompatibilities(old: Questionnaire, new: Questionnaire) -> list[Incompatibility]:
    """The columns of ``old`` that ``new`` would read differently, in ``old``'s order."""
    found = []
    for column in old.columns:
        target = new.column_index.get(column.name)
        reason, codes = _difference(column, target)
        if reason:
            found.append(Incompatibility(column.name, column.item.id, reason, codes))
    return found


def _difference(old: Column, new: Column | None) -> tuple[str | None, frozenset[int] | None]:
    if new is None:
        return "the question (or this choice of it) was removed", None
    reason = old.type.compatible(old, new)
    if reason:
        removed = getattr(old.type, "removed_codes", None)
        if removed is not None and old.kind == new.kind:
            return reason, frozenset(removed(old, new))
        return reason, None
    old_role = old.measure.role if old.measure else None
    new_role = new.measure.role if new.measure else None
    if old_role != new_role:
        return f"it moved from measure {old_role} to {new_role}", None
    return None, None
