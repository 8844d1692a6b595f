"""Questionnaire definitions (YAML files in this folder) and their typed model."""

from pathlib import Path

from .loader import QuestionnaireError, load_questionnaire, parse_questionnaire
from .model import (
    Choice,
    Column,
    Condition,
    FollowUpRule,
    Item,
    Measure,
    Page,
    Questionnaire,
    Scale,
    Section,
    translate,
)

SHIPPED_DIR = Path(__file__).resolve().parent


def shipped_files() -> list[Path]:
    """The questionnaire files shipped with the project, in a stable order."""
    return sorted(SHIPPED_DIR.glob("*.yaml"))


__all__ = [
    "SHIPPED_DIR",
    "Choice",
    "Column",
    "Condition",
    "FollowUpRule",
    "Item",
    "Measure",
    "Page",
    "Questionnaire",
    "QuestionnaireError",
    "Scale",
    "Section",
    "load_questionnaire",
    "parse_questionnaire",
    "shipped_files",
    "translate",
]
