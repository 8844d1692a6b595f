"""Reloading a questionnaire never changes what stored answers mean (regression: a
narrowed scale, a changed kind, dropped choices, a moved or re-keyed item re-read old
answers under the new definition)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from questionnaires import parse_questionnaire
from survey_app.extensions import db
from survey_app.models import QuestionnaireVersion, Survey
from survey_app.storage import responses_frame
from survey_app.surveys.services import record_response, store_questionnaire

BASE = """\
id: evolving
title: {en: Evolving, zh: 演变}
scale: {min: 1, max: 7}
measures:
  - {id: E, role: expectation, title: {en: Expected, zh: 期望}}
  - {id: P, role: perception, title: {en: Perceived, zh: 感知}}
dimensions:
  - id: d
    title: {en: D, zh: 维度}
    items:
      - {id: A, text: {en: A, zh: 甲}}
      - {id: B, text: {en: B, zh: 乙}}
questions:
  - id: more
    items:
      - id: CH
        type: single
        text: {en: "Which?", zh: 哪个？}
        choices:
          - {id: x, title: {en: X, zh: 叉}}
          - {id: y, title: {en: Y, zh: 歪}}
          - {id: z, title: {en: Z, zh: 兹}}
      - {id: NOTE, type: text, text: {en: Note, zh: 备注}}
"""
ANSWERS = [
    {"E_A": 7, "P_A": 6, "E_B": 5, "P_B": 4, "CH": "y", "NOTE": "first"},
    {"E_A": 6, "P_A": 5, "E_B": 4, "P_B": 3, "CH": "x"},
    {"E_A": 2, "P_A": 1, "E_B": 7, "P_B": 7, "CH": "y"},
]


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def loaded(app, tmp_path):
    """The base file loaded, three complete responses and one in progress stored."""
    path = tmp_path / "evolving.yaml"
    path.write_text(BASE)
    assert run(app, "load-questionnaire", str(path)).exit_code == 0
    survey, _ = store_questionnaire(parse_questionnaire(BASE), BASE, path.name)
    for answers in ANSWERS:
        record_response(survey, answers)
    record_response(survey, {"E_A": 3}, complete=False)
    db.session.commit()
    return path


def versions() -> int:
    return db.session.scalar(select(func.count()).select_from(QuestionnaireVersion))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "scale: {min: 1, max: 7}",
            "scale: {min: 1, max: 5}",
            [
                "E_A (item A): its scale changed from 1..7 to 1..5; 4 stored answers",
                "P_A (item A): its scale changed from 1..7 to 1..5; 3 stored answers",
                "E_B (item B): its scale changed from 1..7 to 1..5; 3 stored answers",
            ],
        ),
        (
            "        type: single\n",
            "        type: multiple\n",
            ["CH (item CH): the question (or this choice of it) was removed; 3 stored answers"],
        ),
        (
            "          - {id: y, title: {en: Y, zh: 歪}}\n",
            "",
            ["CH (item CH): choices removed or renamed: y; 2 stored answers"],
        ),
        (
            "{id: y, title",
            "{id: why, title",
            ["CH (item CH): choices removed or renamed: y; 2 stored answers"],
        ),
        (
            "  - {id: E, role: expectation, title: {en: Expected, zh: 期望}}\n"
            "  - {id: P, role: perception, title: {en: Perceived, zh: 感知}}\n",
            "  - {id: E, role: perception, title: {en: Expected, zh: 期望}}\n"
            "  - {id: P, role: expectation, title: {en: Perceived, zh: 感知}}\n",
            [
                "E_A (item A): it moved from measure expectation to perception; 4 stored answers",
                "P_B (item B): it moved from measure perception to expectation; 3 stored answers",
            ],
        ),
        (
            "{id: A, text: {en: A, zh: 甲}}",
            "{id: A, text: {en: A, zh: 甲}, reverse: true}",
            [
                "E_A (item A): its reverse keying changed; 4 stored answers",
                "P_A (item A): its reverse keying changed; 3 stored answers",
            ],
        ),
        (
            "      - {id: NOTE, type: text, text: {en: Note, zh: 备注}}\n",
            "",
            ["NOTE (item NOTE): the question (or this choice of it) was removed; 1 stored answers"],
        ),
    ],
    ids=[
        "narrowed-scale",
        "changed-kind",
        "dropped-choice",
        "renamed-choice",
        "moved",
        "keying",
        "dropped-item",
    ],
)
def test_an_incompatible_reload_is_refused_with_what_it_affects(app, loaded, old, new, expected):
    assert old in BASE
    loaded.write_text(BASE.replace(old, new))
    result = run(app, "load-questionnaire", str(loaded))
    assert result.exit_code == 1
    for line in expected:
        assert line in result.output
    assert "refused: nothing was loaded" in result.output
    assert versions() == 1


def test_an_accepted_incompatible_reload_keeps_old_answers_apart(app, loaded):
    loaded.write_text(BASE.replace("scale: {min: 1, max: 7}", "scale: {min: 1, max: 5}"))
    result = run(app, "load-questionnaire", "--allow-incompatible", str(loaded))
    assert result.exit_code == 0, result.output
    assert "E_A (item A): its scale changed from 1..7 to 1..5; 4 stored answers" in result.output
    assert "evolving: version 2 (a new series" in result.output
    assert "--version 1" in result.output
    # the new version's data holds none of the old answers (no 7 read on a 1..5 scale)...
    assert len(responses_frame("evolving")) == 0
    # ... which stay readable with their own definitions
    old = responses_frame("evolving", version=1)
    assert old["E_A"].tolist() == [7.0, 6.0, 2.0]
    assert old["CH"].tolist() == ["y", "x", "y"]
    record_response(db.session.get(Survey, "evolving"), {"E_A": 5})
    db.session.commit()
    assert responses_frame("evolving")["E_A"].tolist() == [5.0]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("{en: A, zh: 甲}}", "{en: A new wording, zh: 新措辞}}"),
        ("          - {id: x", "          - {id: w, title: {en: W, zh: 万}}\n          - {id: x"),
        (  # reordered choices: codes are read through the old version's choices
            "          - {id: x, title: {en: X, zh: 叉}}\n"
            "          - {id: y, title: {en: Y, zh: 歪}}\n",
            "          - {id: y, title: {en: Y, zh: 歪}}\n"
            "          - {id: x, title: {en: X, zh: 叉}}\n",
        ),
        (
            "      - {id: B, text: {en: B, zh: 乙}}\n",
            "      - {id: B, text: {en: B, zh: 乙}}\n      - {id: C, text: {en: C, zh: 丙}}\n",
        ),
    ],
    ids=["wording", "added-choice", "reordered-choices", "added-item"],
)
def test_a_compatible_reload_reads_old_answers_with_the_new_version(app, loaded, old, new):
    assert old in BASE
    loaded.write_text(BASE.replace(old, new))
    result = run(app, "load-questionnaire", str(loaded))
    assert result.exit_code == 0, result.output
    assert "evolving: version 2 (evolving.yaml)" in result.output
    frame = responses_frame("evolving")
    assert frame["E_A"].tolist() == [7.0, 6.0, 2.0]
    assert frame["CH"].tolist() == ["y", "x", "y"]


def test_a_compatible_change_to_unanswered_questions_is_allowed(app, loaded):
    text = BASE.replace("          - {id: z, title: {en: Z, zh: 兹}}\n", "")  # nobody chose z
    loaded.write_text(text)
    result = run(app, "load-questionnaire", str(loaded))
    assert result.exit_code == 0, result.output
    assert versions() == 2
