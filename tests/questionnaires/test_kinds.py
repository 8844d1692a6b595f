"""Question kinds: one class each, found through one registry; nothing else switches on
the type of a question."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from questionnaires import parse_questionnaire
from questionnaires.answers import check_slots
from questionnaires.kinds import KINDS, Problem
from questionnaires.kinds.single import SingleKind
from questionnaires.model import Choice

ROOT = Path(__file__).resolve().parents[2]
KIND_NAMES = "|".join(["scale", "nps", "single", "multiple", "text", "option"])
SWITCH = re.compile(rf"""\.kind\s*(==|!=|in|not in)\s*[(\[]?\s*["']({KIND_NAMES})["']""")


def test_no_code_outside_the_kinds_switches_on_a_question_kind():
    offenders = []
    for folder in ("survey_app", "analysis", "questionnaires", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".html") or "kinds" in path.parts:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if SWITCH.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


class YesNoKind(SingleKind):
    """A toy kind for the test: a yes/no question with its two choices built in."""

    name: ClassVar[str] = "yesno"
    options: ClassVar[tuple[str, ...]] = ()

    def declare(self, reader, fields, where):
        both = {lang: lang for lang in reader.languages}
        return {"choices": (Choice("yes", 1, both), Choice("no", 2, both))}


TEXT = """\
id: kinds
title: {en: K, zh: 类}
scale: {min: 1, max: 5}
dimensions:
  - id: d
    title: {en: D, zh: 维}
    items: [{id: A, text: {en: A, zh: 甲}}]
questions:
  - id: q
    items:
      - {id: OK, type: yesno, text: {en: "Fine?", zh: 好吗}}
      - {id: WHY, type: text, show_if: {item: OK, equals: "no"}, text: {en: Why, zh: 为何}}
"""


def test_a_new_kind_is_one_class_and_a_registry_entry(monkeypatch):
    monkeypatch.setitem(KINDS, "yesno", YesNoKind())
    q = parse_questionnaire(TEXT, "kinds.yaml")
    slot = q.slot_index["OK"]
    assert [c.name for c in slot.columns] == ["OK"]
    checked = check_slots(q.pages[0].slots, {"A": "3", "OK": "no", "WHY": "slow"}, {})
    assert checked.ok and checked.answers["OK"] == "no" and checked.answers["WHY"] == "slow"
    bad = check_slots(q.pages[0].slots, {"A": "3", "OK": "maybe"}, {})
    assert bad.problems["OK"].code == "choice"
    from survey_app.storage import decode, encode

    assert decode(q, encode(q, checked.answers), {"WHY": "slow"})["OK"] == "no"
    values = slot.item.type.simulate(
        slot.item, "OK", np.random.default_rng(1), 20, latent=np.zeros(20), texts=()
    )
    assert set(values["OK"].astype(str)) <= {"yes", "no"}
    with pytest.raises(Problem):
        slot.item.type.to_code(slot.columns[0], "maybe")
