"""Surveys with known responses for the export, import and API tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from survey_app.extensions import db
from survey_app.surveys.services import record_response

# A questionnaire whose names SPSS or Stata refuse, with personal and reverse-keyed items.
NAMING = """\
id: naming-check
title: {en: Naming check, zh: 命名检查}
scale:
  min: 1
  max: 5
  labels:
    1: {en: Poor, zh: 差}
    5: {en: Excellent, zh: 优}
dimensions:
  - id: service
    title: {en: Service, zh: 服务}
    items:
      - {id: with, text: {en: A word SPSS reserves, zh: SPSS 保留字}}
      - {id: in, text: {en: A word Stata reserves, zh: Stata 保留字}}
      - id: Quality_of_the_service_at_the_front_desk_in_the_morning
        text: {en: Morning desk, zh: 上午前台}
      - id: Quality_of_the_service_at_the_front_desk_in_the_evening
        text: {en: Evening desk, zh: 晚上前台}
      - {id: q1, text: {en: Lower case, zh: 小写}}
      - {id: Q1, text: {en: Upper case, zh: 大写}}
      - {id: R1, text: {en: Reverse-keyed, zh: 反向题}, reverse: true}
questions:
  - id: extra
    items:
      - id: USED
        type: multiple
        text: {en: "What did you use?", zh: 您用了什么？}
        choices:
          - {id: food-court, title: {en: Food court, zh: 美食广场}}
          - {id: v2.0, title: {en: Version two, zh: 第二版}}
      - id: PHONE
        type: text
        text: {en: Your phone number, zh: 您的电话}
      - id: NOTE
        type: text
        personal: false
        text: {en: "Anything else?", zh: 还有什么？}
segments:
  - id: branch
    title: {en: Branch, zh: 分店}
    personal: true
    choices:
      - {id: north, title: {en: North, zh: 北}}
      - {id: south, title: {en: South, zh: 南}}
"""

DAY = datetime(2026, 1, 1, 9, 30, tzinfo=UTC)


def servqual_answers(value: int, **extra) -> dict:
    """Every dimension and outcome item of servqual-22 answered with ``value`` (E) and
    ``value - 1`` (P), then ``extra`` (column -> answer, None for unanswered)."""
    from questionnaires import SHIPPED_DIR, load_questionnaire

    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    answers = {}
    for column in q.columns:
        if column.section.kind == "dimension":
            answers[column.name] = value if column.measure.id == "E" else max(value - 1, 1)
        elif column.section.kind == "outcome":
            answers[column.name] = value
    answers.update(extra)
    return answers


def add_servqual_responses(survey) -> list:
    """Six complete responses over six days (some answers missing), one incomplete and
    one staff preview. Returns the complete ones in order."""
    rows = [
        servqual_answers(7, NPS=10, COMPLAINED="no", tier="A", region="north", wave="2026H1"),
        servqual_answers(
            6,
            NPS=9,
            COMPLAINED="yes",
            COMPLAINT_RESOLVED=2,
            tier="B",
            region="east",
            wave="2026H2",
            COMPLAINT='Slow, "very" slow\nreally',
        ),
        servqual_answers(
            5,
            NPS=None,
            COMPLAINED=None,
            tier="C",
            region="south",
            wave="2026H2",
            SUGGESTION="=cmd|' /C calc'!A0",
            P_TA1=None,
            E_RE2=None,
        ),
        servqual_answers(
            4, NPS=0, COMPLAINED="no", tier="A", region="west", wave="2026H2", SUGGESTION="更快一点"
        ),
        servqual_answers(3, NPS=5, COMPLAINED="no", tier="B", region="north", wave="2026H2"),
        servqual_answers(
            2,
            NPS=7,
            COMPLAINED="yes",
            COMPLAINT_RESOLVED=7,
            tier="A",
            region="north",
            wave="2026H2",
            SAT1=None,
        ),
    ]
    made = []
    for day, answers in enumerate(rows):
        response = record_response(survey, answers, lang="zh" if day % 2 else "en")
        response.created_at = DAY + timedelta(days=day)
        response.completed_at = response.created_at + timedelta(minutes=8, seconds=day)
        made.append(response)
    unfinished = record_response(survey, servqual_answers(4, tier="C"), complete=False)
    unfinished.created_at = DAY + timedelta(days=2)
    preview = record_response(survey, servqual_answers(1, tier="A"))
    preview.test = True
    db.session.commit()
    return made
