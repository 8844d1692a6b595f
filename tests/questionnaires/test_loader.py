from __future__ import annotations

import pytest

from questionnaires import (
    QuestionnaireError,
    load_questionnaire,
    parse_questionnaire,
    shipped_files,
)

VALID = """\
id: demo
title: {en: Demo, zh: 演示}
scale:
  min: 1
  max: 5
  labels:
    1: {en: Bad, zh: 差}
    5: {en: Good, zh: 好}
measures:
  - {id: E, role: expectation, title: {en: Expected, zh: 期望}}
  - {id: P, role: perception, title: {en: Perceived, zh: 感知}}
dimensions:
  - id: reliability
    title: {en: Reliability, zh: 可靠性}
    items:
      - {id: RE1, text: {en: On time, zh: 准时}}
      - {id: RE2, text: {en: Right first time, zh: 一次做好}, reverse: true}
outcomes:
  - id: satisfaction
    role: satisfaction
    title: {en: Satisfaction, zh: 满意度}
    items:
      - {id: SAT1, text: {en: Satisfied, zh: 满意}}
questions:
  - id: more
    items:
      - {id: NPS, type: nps, text: {en: Recommend, zh: 推荐}}
      - id: WHY
        type: text
        show_if: {item: NPS, max: 6}
        text: {en: Why, zh: 为什么}
segments:
  - {id: tier, title: {en: Tier, zh: 等级}, choices: [A, B]}
"""


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def broken(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


def error_of(text: str) -> QuestionnaireError:
    with pytest.raises(QuestionnaireError) as info:
        parse_questionnaire(text, source="demo.yaml")
    return info.value


def test_valid_questionnaire_columns_follow_the_naming_rule():
    q = parse_questionnaire(VALID)
    names = [c.name for c in q.columns]
    assert names == ["E_RE1", "P_RE1", "E_RE2", "P_RE2", "SAT1", "NPS", "WHY", "tier"]
    assert q.column("P_RE2").item.reverse is True
    assert q.column("tier").kind == "single"
    assert [c.id for c in q.column("tier").item.choices] == ["A", "B"]


def test_single_measure_uses_bare_item_ids():
    text = broken("  - {id: E, role: expectation, title: {en: Expected, zh: 期望}}\n", "")
    q = parse_questionnaire(text)
    assert [c.name for c in q.columns][:2] == ["RE1", "RE2"]


@pytest.mark.parametrize(
    ("old", "new", "marker", "words"),
    [
        (
            "    items:\n      - {id: RE1",
            "    itmes:\n      - {id: RE1",
            "itmes:",
            ["unknown key 'itmes'", "did you mean 'items'"],
        ),
        (
            "{id: RE2, text",
            "{id: RE1, text",
            "{id: RE1, text: {en: Right",
            ["duplicate id 'RE1'", "already used on line 16"],
        ),
        (
            "{id: SAT1, text: {en: Satisfied, zh: 满意}}",
            "{id: SAT1, text: {en: Satisfied}}",
            "{id: SAT1",
            ["missing translation for language 'zh'"],
        ),
        (
            "  min: 1\n  max: 5",
            "  min: 5\n  max: 1",
            "min: 5",
            ["min (5) must be smaller", "reversed"],
        ),
        (
            "    5: {en: Good, zh: 好}",
            "    6: {en: Good, zh: 好}",
            "6: {en: Good",
            ["6 lies outside the scale 1..5"],
        ),
        ("role: perception", "role: perceptoin", "role: perceptoin", ["must be one of"]),
        (
            "show_if: {item: NPS, max: 6}",
            "show_if: {item: LATER, max: 6}",
            "item: LATER",
            ["not an earlier answer"],
        ),
        (
            "{id: NPS, type: nps,",
            "{id: NPS, type: rating,",
            "type: rating",
            ["type must be one of"],
        ),
        ("title: {en: Demo, zh: 演示}", "title: Demo", "title: Demo", ["a text for each language"]),
        ("id: demo\n", "id: Demo Survey\n", "id: Demo Survey", ["not a valid questionnaire id"]),
        ("    5: {en: Good, zh: 好}", "    1: {en: Good, zh: 好}", "1: {en: Good", ["given twice"]),
        (
            "  - id: reliability\n    title",
            "  - id: reliability\n    id: again\n    title",
            "id: again",
            ["key 'id' is given twice"],
        ),
        ("{id: RE1, text:", "{id: 1RE, text:", "{id: 1RE", ["not a valid id"]),
        ("reverse: true", "reverse: maybe", "reverse: maybe", ["must be true or false"]),
    ],
    ids=[
        "unknown-key",
        "duplicate-id",
        "missing-translation",
        "reversed-scale",
        "label-outside-scale",
        "unknown-role",
        "show-if-forward-reference",
        "unknown-type",
        "text-not-translated",
        "bad-survey-id",
        "duplicate-label",
        "duplicate-yaml-key",
        "bad-item-id",
        "bad-boolean",
    ],
)
def test_malformed_file_names_file_line_and_problem(old, new, marker, words):
    text = broken(old, new)
    error = error_of(text)
    assert error.source == "demo.yaml"
    assert error.line == line_of(text, marker), str(error)
    assert str(error).startswith(f"demo.yaml, line {error.line}: ")
    for word in words:
        assert word in str(error)


def test_column_name_clash_between_measures_and_items_is_a_duplicate():
    text = broken("{id: SAT1, text:", "{id: E_RE1, text:")
    error = error_of(text)
    assert "duplicate id 'E_RE1'" in str(error)
    assert error.line == line_of(text, "{id: E_RE1")


def test_missing_required_key_is_reported_on_the_mapping():
    text = broken("title: {en: Demo, zh: 演示}\n", "")
    error = error_of(text)
    assert "required key 'title' is missing" in str(error)


def test_invalid_yaml_is_reported_with_its_line():
    text = broken("{id: RE1, text: {en: On time, zh: 准时}}", "{id: RE1, text: {en: On time")
    error = error_of(text)
    assert "not valid YAML" in str(error)
    assert error.line is not None and error.line >= line_of(text, "{id: RE1")


def test_empty_file_and_non_mapping_are_rejected():
    assert "empty" in str(error_of(""))
    assert "must be a mapping" in str(error_of("- just\n- a list\n"))


def test_zone_of_tolerance_needs_both_bounds():
    text = broken("role: expectation", "role: adequate")
    assert "needs both an 'adequate' and a 'desired'" in str(error_of(text))


def test_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(QuestionnaireError) as info:
        load_questionnaire(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(info.value)
    assert "cannot read" in str(info.value)


def test_show_if_value_must_be_possible():
    text = broken("show_if: {item: NPS, max: 6}", "show_if: {item: NPS, equals: 11}")
    error = error_of(text)
    assert "11 is not a possible answer" in str(error)


def test_condition_holds_only_on_given_answers():
    q = parse_questionnaire(VALID)
    cond = q.column("WHY").item.show_if
    assert cond.holds({"NPS": 6}) and not cond.holds({"NPS": 7})
    assert not cond.holds({"NPS": None}) and not cond.holds({})


@pytest.mark.parametrize("path", shipped_files(), ids=lambda p: p.stem)
def test_shipped_questionnaires_load_in_both_languages(path):
    q = load_questionnaire(path)
    assert q.languages == ("en", "zh")
    for item in q.items:
        assert set(item.text) == {"en", "zh"}
    assert len(q.pages) >= 2
    # every column appears on exactly one page, but those of hidden segments
    on_pages = [c.name for p in q.pages for s in p.slots for c in s.columns]
    hidden = [c.name for c in q.columns if c.item.hidden]
    assert sorted(on_pages + hidden) == sorted(c.name for c in q.columns)


def test_servqual_22_has_the_published_structure():
    q = load_questionnaire(next(p for p in shipped_files() if p.stem == "servqual-22"))
    assert [len(d.items) for d in q.dimensions] == [4, 5, 4, 4, 5]
    assert [d.id for d in q.dimensions] == [
        "tangibles",
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
    ]
    assert {m.role for m in q.measures} == {"expectation", "perception"}
    assert len([c for c in q.columns if c.section.kind == "dimension"]) == 44
    assert {o.role for o in q.outcomes} == {"satisfaction", "loyalty"}
    kinds = {i.kind for i in q.items}
    assert {"nps", "text", "single"} <= kinds
    assert [i.id for i in q.segments[0].items] == ["tier", "region", "wave"]


def test_zone_of_tolerance_form_has_three_measures():
    q = load_questionnaire(next(p for p in shipped_files() if p.stem == "zone-of-tolerance"))
    assert [m.role for m in q.measures] == ["adequate", "desired", "perception"]
    assert q.column("MIN_TA1").measure.role == "adequate"


# -- files that could crash or exhaust the loader ------------------------------------------
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            VALID + "extra: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
            VALID.count("\n") + 1,
            "the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
        ),
        (VALID.replace("id: demo", "id: !custom demo"), 1, "the tag '!custom' is not allowed"),
        (
            VALID.replace("title: {en: Demo, zh: 演示}", "title: &t {en: Demo, zh: 演示}"),
            2,
            "anchors and aliases (& and *) are not allowed",
        ),
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n",
            1,
            "anchors and aliases (& and *) are not allowed",
        ),
        ("id: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested more than 20 levels deep"),
        (
            VALID.replace(
                "  - id: more\n", "  - id: more\n    deep: " + "{a: " * 30 + "1" + "}" * 30 + "\n"
            ),
            line_of(VALID, "  - id: more") + 1,
            "nested more than 20 levels deep",
        ),
    ],
    ids=["python-tag", "unknown-tag", "anchor", "billion-laughs", "deep-list", "deep-mapping"],
)
def test_hostile_yaml_is_refused_with_file_and_line(text, line, words):
    error = error_of(text)
    assert error.line == line
    assert words in error.message
    assert str(error).startswith(f"demo.yaml, line {line}: ")


def test_nothing_runs_when_a_python_tag_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    text = VALID + f"x: !!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(QuestionnaireError):
        parse_questionnaire(text, "demo.yaml")
    assert not marker.exists()


def test_a_file_over_one_megabyte_is_refused_unread(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:
        handle.write(VALID)
        handle.write("# " + "x" * 1000 + "\n" * 1)
        handle.write(("# padding " + "x" * 90 + "\n") * 500_000)  # 50 MB
    assert big.stat().st_size > 50_000_000
    with pytest.raises(QuestionnaireError, match=r"big\.yaml: the file is larger than 1024 kB"):
        load_questionnaire(big)
    with pytest.raises(QuestionnaireError, match="larger than 1024 kB"):
        parse_questionnaire(VALID + "#" * (1024 * 1024), "demo.yaml")


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes(VALID.encode("utf-8") + b"# caf\xe9\n")
    with pytest.raises(QuestionnaireError, match=r"latin\.yaml: not UTF-8 text"):
        load_questionnaire(path)


# -- pages count answers ------------------------------------------------------------------
def test_page_size_counts_answers_and_is_at_most_fourteen():
    q = parse_questionnaire(VALID.replace("id: demo\n", "id: demo\npage_size: 4\n"), "demo.yaml")
    # each E/P item is two answers: RE1 and RE2 fill the first page
    assert [p.answer_count for p in q.pages] == [4, 4]
    assert [s.name for s in q.pages[0].slots] == ["E_RE1", "P_RE1", "E_RE2", "P_RE2"]
    for size, words in [(15, "between 2 (the answers of one item) and 14"), (1, "between 2")]:
        error = error_of(VALID.replace("id: demo\n", f"id: demo\npage_size: {size}\n"))
        assert words in error.message and error.line == 2


def test_an_option_of_another_kind_is_named():
    error = error_of(VALID.replace("{id: NPS, type: nps,", "{id: NPS, type: nps, max_length: 9,"))
    assert "item 'NPS': 'max_length' is only for text items" in error.message


def test_a_control_character_is_a_clear_error_with_its_line():
    error = error_of(VALID.replace("title: {en: Demo", "title: {en: De\x1fmo"))
    assert error.line == 2 and "character '\\x1f' is not allowed" in error.message
