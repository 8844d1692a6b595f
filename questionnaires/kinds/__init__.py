"""Question kinds: one class per kind, found through one registry.

Adding a kind is a module with its :class:`Kind` subclass, a template under
``templates/surveys/kinds/`` and an entry in :data:`KINDS`.
"""

from __future__ import annotations

from .base import MISSING, Kind, Problem
from .multiple import MultipleKind
from .scale import NpsKind, ScaleKind
from .single import SingleKind
from .text import MAX_TEXT_LENGTH, TextKind

KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (ScaleKind(), NpsKind(), SingleKind(), MultipleKind(), TextKind())
}
"""Every kind by the name a questionnaire file gives as an item's ``type``."""

__all__ = ["KINDS", "MAX_TEXT_LENGTH", "MISSING", "Kind", "Problem"]
