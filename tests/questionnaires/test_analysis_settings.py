"""The ``analysis:`` key and the segment ``role:`` of a questionnaire file."""

from __future__ import annotations

import pytest

from questionnaires import SHIPPED_DIR, QuestionnaireError, load_questionnaire, parse_questionnaire
from questionnaires.settings import AnalysisSettings

BASE = """\
id: index
title: {en: Index, zh: 指数}
scale: {min: 1, max: 10}
measures:
  - {id: E, role: expectation, title: {en: Expected, zh: 期望}}
  - {id: P, role: perception, title: {en: Perceived, zh: 感知}}
dimensions:
  - id: quality
    title: {en: Quality, zh: 质量}
    items:
      - {id: QU1, text: {en: Good, zh: 好}}
      - {id: QU2, text: {en: Fine, zh: 行}}
outcomes:
  - id: satisfaction
    role: satisfaction
    title: {en: Satisfaction, zh: 满意度}
    items:
      - {id: SAT1, text: {en: Satisfied, zh: 满意}}
  - id: loyalty
    role: loyalty
    title: {en: Loyalty, zh: 忠诚}
    items:
      - {id: LOY1, text: {en: Again, zh: 再次}}
segments:
  - {id: tier, title: {en: Tier, zh: 等级}, choices: [A, B]}
  - {id: period, title: {en: Period, zh: 时期}, choices: [Q1, Q2], role: wave}
"""

ANALYSIS = """\
analysis:
  missing: available
  paths:
    - [E_quality, satisfaction]
    - [quality, satisfaction]
    - [satisfaction, loyalty]
"""


def error_of(text: str) -> QuestionnaireError:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, source="index.yaml")
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_analysis_settings_are_read():
    q = parse_questionnaire(BASE + ANALYSIS)
    assert q.analysis.missing == "available"
    assert q.analysis.paths == (
        ("E_quality", "satisfaction"),
        ("quality", "satisfaction"),
        ("satisfaction", "loyalty"),
    )
    assert q.analysis.constructs == ("E_quality", "satisfaction", "quality", "loyalty")


def test_without_analysis_key_the_defaults_hold():
    q = parse_questionnaire(BASE)
    assert q.analysis == AnalysisSettings()
    assert q.analysis.missing == "listwise" and q.analysis.paths == ()


def test_segment_role_wave_is_read():
    q = parse_questionnaire(BASE)
    roles = {i.id: i.role for i in q.segments[0].items}
    assert roles == {"tier": None, "period": "wave"}


@pytest.mark.parametrize(
    ("old", "new", "marker", "words"),
    [
        ("missing: available", "missing: pairwise", "missing: pairwise", ["listwise, available"]),
        (
            "[quality, satisfaction]",
            "[qualty, satisfaction]",
            "[qualty",
            ["unknown construct 'qualty'", "did you mean 'quality'"],
        ),
        ("[quality, satisfaction]", "[quality, tier]", "[quality, tier]", ["unknown construct"]),
        ("[quality, satisfaction]", "[quality]", "[quality]", ["a pair [from, to]"]),
        (
            "[quality, satisfaction]",
            "[quality, quality]",
            "[quality, quality]",
            ["cannot lead to itself"],
        ),
        (
            "[satisfaction, loyalty]",
            "[E_quality, satisfaction]",
            "    - [E_quality, satisfaction]\n",
            ["given twice", "first on line"],
        ),
        (
            "[satisfaction, loyalty]",
            "[satisfaction, quality]",
            "[satisfaction, quality]",
            ["closes a loop"],
        ),
        ("  missing: available", "  method: available", "method", ["unknown key 'method'"]),
    ],
    ids=["missing", "typo", "segment", "not-a-pair", "self", "twice", "loop", "unknown-key"],
)
def test_bad_analysis_settings_name_the_line(old, new, marker, words):
    text = BASE + ANALYSIS.replace(old, new, 1)
    error = error_of(text)
    if marker.endswith("\n"):  # the second occurrence
        first = line_of(text, marker.strip())
        marker_line = next(
            n for n, line in enumerate(text.splitlines(), 1) if marker.strip() in line and n > first
        )
    else:
        marker_line = line_of(text, marker)
    assert error.line == marker_line, str(error)
    for word in words:
        assert word in str(error)


def test_two_wave_segments_are_refused():
    text = BASE.replace("choices: [A, B]}", "choices: [A, B], role: wave}")
    error = error_of(text)
    assert error.line == line_of(text, "id: period")
    assert "only one segment can have the role 'wave'" in str(error)


def test_unknown_segment_role_is_refused():
    text = BASE.replace("role: wave", "role: period")
    assert "must be one of wave" in str(error_of(text))


def test_shipped_wave_segment_declares_its_role():
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    assert [i.id for i in q.segments[0].items if i.role == "wave"] == ["wave"]
