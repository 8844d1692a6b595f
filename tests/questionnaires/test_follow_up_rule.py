"""The questionnaire's follow_up declaration and anonymous flag."""

from __future__ import annotations

import pytest

from questionnaires import QuestionnaireError, parse_questionnaire

BASE = """\
id: fu
title: {en: F, zh: 跟}
scale: {min: 1, max: 7}
dimensions:
  - id: d
    title: {en: D, zh: 维}
    items: [{id: A, text: {en: A, zh: 甲}}]
outcomes:
  - id: satisfaction
    role: satisfaction
    title: {en: S, zh: 满}
    items: [{id: SAT1, text: {en: S, zh: 满}}]
questions:
  - id: more
    items:
      - {id: NPS, type: nps, text: {en: N, zh: 推}}
      - {id: TOPIC, type: single, required: false, text: {en: T, zh: 题}, choices: [x, y]}
      - {id: NOTE, type: text, text: {en: C, zh: 诉}}
"""


def parse(extra: str):
    return parse_questionnaire(BASE + extra, source="fu.yaml")


def test_one_condition_a_list_a_complaint_and_a_category():
    q = parse("follow_up: {when: {item: SAT1, max: 3}, complaint: NOTE, category: TOPIC}\n")
    rule = q.follow_up
    assert rule.complaint == "NOTE" and rule.category == "TOPIC"
    assert rule.reasons({"SAT1": 3}) == [{"column": "SAT1", "value": 3, "max": 3}]
    assert rule.reasons({"SAT1": 4}) == []
    assert rule.reasons({"SAT1": 7, "NOTE": "slow"}) == [{"complaint": "NOTE"}]
    assert rule.reasons({"SAT1": 7, "NOTE": "  "}) == []
    assert rule.reasons({"SAT1": None}) == []  # unanswered never meets a condition
    q = parse("follow_up:\n  when:\n    - {item: SAT1, max: 2}\n    - {item: NPS, max: 6}\n")
    assert [r["column"] for r in q.follow_up.reasons({"SAT1": 6, "NPS": 3})] == ["NPS"]
    assert len(q.follow_up.reasons({"SAT1": 1, "NPS": 0})) == 2
    assert q.follow_up.complaint is None and not q.anonymous


def test_anonymous():
    assert parse("anonymous: true\n").anonymous
    with pytest.raises(QuestionnaireError, match="anonymous must be true or false"):
        parse("anonymous: maybe\n")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("follow_up: {}\n", "follow_up needs 'when'"),
        (
            "follow_up: {when: {item: NOPE, max: 3}}\n",
            "when refers to 'NOPE', which is not an answer",
        ),
        ("follow_up: {when: {item: SAT1}}\n", "when needs one of equals, in, min or max"),
        ("follow_up: {when: {item: NOTE, max: 3}}\n", "when cannot depend on a text item"),
        ("follow_up: {complaint: SAT1}\n", "'SAT1' is not an open-text question"),
        ("follow_up: {complaint: NOTE, category: NOTE}\n", "'NOTE' is not a choice question"),
        ("follow_up: {complaint: NOTE, whom: x}\n", "unknown key 'whom'"),
    ],
)
def test_bad_declarations_name_the_line(extra, message):
    with pytest.raises(QuestionnaireError, match=message) as error:
        parse(extra)
    assert error.value.line == BASE.count("\n") + 1  # the follow_up line
