"""The analysis engine's notes in the page's language (``survey_app/reports/notes.py``).

The engine writes its notes in English; the pages translate each one they know. This
reads the engine's source for every note it can write (the message of an
``AnalysisError``, a ``"note"`` value, a ``*_note`` text) and checks that the list knows
it, so a note added to the engine without its translation fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from survey_app import create_app
from survey_app.reports import notes

from ..conftest import TestConfig

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "analysis").glob("*.py")),
    ROOT / "survey_app" / "reports" / "services.py",
]
NOT_ON_PAGES = {  # files whose messages never reach a report page, and why
    "__main__.py": "the command line's own options",
    "data.py": "reading a CSV file (the command line)",
    "options.py": "options are checked by the page's parameters first",
    "pls.py": "the path model is not on the report pages",
    "simulate.py": "demo data",
    "value.py": "customer tiers (issue 14), not the report",
    "keywords.py": "open-text keywords have no notes",
    "summary.py": "prints notes, writes none",
}
CHECKED_FIRST = (  # refused by the pages' parameters before the engine sees them
    "unknown rotation",
    "unknown extraction",
    "unknown missing-data method",
)


def sample(node: ast.expr) -> str | None:
    """A text as the engine would write it, each ``{value}`` as ``7``; None if ``node``
    is not a literal text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "7" for part in node.values
        )
    return None


def engine_notes() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        if path.name in NOT_ON_PAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            texts: list[ast.expr] = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AnalysisError":
                texts = node.args[:1]
            elif isinstance(node, ast.Dict):
                texts = [
                    v
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and k.value == "note"
                ]
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(getattr(t, "id", "").endswith("note") for t in targets) and node.value:
                    value = node.value
                    texts = [value.body] if isinstance(value, ast.IfExp) else [value]
            elif isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
                texts = node.value.elts[-1:]  # quality.py: (flags, median, note)
            for text in texts:
                written = sample(text)
                if written is not None and not written.startswith(CHECKED_FIRST):
                    found.append((f"{path.name}:{node.lineno}", written))
    return found


@pytest.fixture(scope="module")
def babel_app():
    """The app for its translations only (no database is opened)."""
    return create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_the_engine_writes_notes_that_this_test_can_see():
    found = dict(engine_notes())
    assert len(found) > 30  # the reading works: it finds the engine's notes
    assert "fewer than 3 perception items" in found.values()


@pytest.mark.parametrize("where, note", engine_notes())
def test_every_note_of_the_engine_is_translated(babel_app, where, note):
    with babel_app.app_context(), force_locale("zh"):
        chinese = notes.translate(note)
    assert chinese != note, f"{where}: no translation for {note!r} in survey_app/reports/notes.py"
    assert re.search(r"[\u4e00-\u9fff]", chinese), (where, chinese)
    with babel_app.app_context(), force_locale("en"):
        assert notes.translate(note) == note  # English pages keep the engine's own words


def test_a_note_inside_a_note_is_translated_and_values_are_kept(babel_app):
    note = (
        "omega not computed: the items' correlation matrix is singular "
        "(an item repeats or combines others)"
    )
    with babel_app.app_context(), force_locale("zh"):
        assert (
            notes.translate(note)
            == "未计算 omega：题目的相关矩阵奇异（有题目重复或可由其他题目组合而得）"
        )
        assert notes.translate("item P_TA1 has the same answer in every response") == (
            "题目 P_TA1 在所有答卷中的回答都相同"
        )
        assert notes.translate("a note nobody listed") == "a note nobody listed"
        assert notes.translate(None) is None
