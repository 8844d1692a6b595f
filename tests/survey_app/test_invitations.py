"""What the organisation already knows is not asked: segments set by invitations,
signed open links and hidden segments."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from questionnaires import QuestionnaireError, parse_questionnaire
from survey_app.extensions import db
from survey_app.models import Invitation, Response
from survey_app.storage import responses_frame

from ..conftest import SurveyTaker, page_answers


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def invitations() -> int:
    return db.session.scalar(select(func.count()).select_from(Invitation))


def take_all(client, path: str, q, preset=frozenset(), **override) -> SurveyTaker:
    taker = SurveyTaker(client, "", "")
    taker.url = path
    taker.open()
    pages = q.pages_for(preset)
    for number in range(1, len(pages) + 1):
        assert f"Page {number} of {len(pages)}" in taker.page_html
        response = taker.submit(page_answers(q, number, preset=preset, **override), follow=True)
        assert response.status_code == 302, taker.page_html
    return taker


def test_invitation_segments_are_stored_and_not_asked(app, client, make_survey):
    survey, q = make_survey("servqual-22")
    result = run(
        app, "invite", "servqual-22", "--count", "2", "--set", "tier=A", "--set", "region=north"
    )
    assert result.exit_code == 0, result.output
    links = result.output.split()
    assert len(links) == 2 and all(
        link.startswith("http://survey.test/s/servqual-22?t=") for link in links
    )
    path = links[0].removeprefix("http://survey.test")
    first = client.get(path).text
    assert "Customer tier" not in first
    # every segment is known (the wave is hidden): the "About you" page is not shown
    taker = take_all(client, path, q, frozenset({"tier", "region", "wave"}), tier="C")
    assert "Your answers to" in taker.page_html
    row = responses_frame(survey.id).iloc[0]
    assert (row["tier"], row["region"], row["wave"]) == ("A", "north", "2026H2")


def test_a_segment_value_outside_the_choices_is_refused(app, make_survey):
    make_survey("servqual-22")
    result = run(app, "invite", "servqual-22", "--set", "tier=Z")
    assert result.exit_code == 1
    assert "segment 'tier': 'Z' is not one of its choices (A, B, C)" in result.output
    result = run(app, "invite", "servqual-22", "--set", "colour=red")
    assert result.exit_code == 1 and "'colour' is not a segment of servqual-22" in result.output
    assert invitations() == 0


def test_invitations_from_a_csv_file(app, client, make_survey, tmp_path):
    survey, q = make_survey("servqual-22")
    path = tmp_path / "people.csv"
    path.write_text(
        "email,name,tier,region\n"
        "li@example.com,Li Wei,A,east\n"
        "ann@example.com,Ann,B,\n"  # region left blank: asked in the survey
        "bo@example.com,Bo,C,west\n",
        encoding="utf-8",
    )
    result = run(app, "invite", "servqual-22", "--from", str(path))
    assert result.exit_code == 0, result.output
    links = result.output.split()
    assert len(links) == 3
    stored = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert [(i.email, i.name, i.segments) for i in stored] == [
        ("li@example.com", "Li Wei", {"tier": "A", "region": "east"}),
        ("ann@example.com", "Ann", {"tier": "B"}),
        ("bo@example.com", "Bo", {"tier": "C", "region": "west"}),
    ]
    token = stored[1].token
    assert stored[1].token in links[1]
    # the second person is still asked the region, but not the tier
    pages = q.pages_for(frozenset({"tier", "wave"}))
    assert [s.name for s in pages[-1].slots][-1] == "region"
    assert "tier" not in {s.name for p in pages for s in p.slots}
    html = client.get(f"/s/{survey.id}?t={token}").text
    assert f"Page 1 of {len(pages)}" in html


@pytest.mark.parametrize(
    ("csv", "message"),
    [
        ("tier,region\nA,east\nQ,west\n", "people.csv, line 3: segment 'tier': 'Q' is not one"),
        ("tier,colour\nA,red\n", "people.csv, line 1: unknown column(s) colour"),
        ("tier\n", "people.csv: no rows"),
        ("tier\nA,extra\n", "people.csv, line 2: more cells than columns"),
    ],
)
def test_a_bad_invitation_file_creates_nothing(app, make_survey, tmp_path, csv, message):
    make_survey("servqual-22")
    path = tmp_path / "people.csv"
    path.write_text(csv)
    result = run(app, "invite", "servqual-22", "--from", str(path))
    assert result.exit_code == 1 and message in result.output
    assert invitations() == 0


def test_a_forged_post_cannot_change_a_preset_segment(app, client, make_survey):
    survey, q = make_survey("servqual-22")
    link = run(app, "invite", "servqual-22", "--set", "tier=A").output.strip()
    preset = frozenset({"tier", "wave"})
    take_all(client, link.removeprefix("http://survey.test"), q, preset, tier="C")
    assert responses_frame(survey.id).iloc[0]["tier"] == "A"


def test_a_signed_open_link_sets_segments_and_a_tampered_one_is_ignored(app, make_survey):
    survey, q = make_survey("servqual-22")
    result = run(app, "link", "servqual-22", "--set", "region=south")
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert re.fullmatch(r"http://survey\.test/s/servqual-22\?s=[\w.-]+", link)
    path = link.removeprefix("http://survey.test")
    take_all(app.test_client(), path, q, frozenset({"region", "wave"}))
    # a value changed by hand breaks the signature: the region is asked again
    token = path.split("s=")[1]
    forged = path.replace(token, token.replace(token[3], "A" if token[3] != "A" else "B", 1))
    take_all(app.test_client(), forged, q, frozenset({"wave"}))
    frame = responses_frame(survey.id)
    assert frame["region"].tolist() == ["south", "north"]  # the second asked, answered 1st


def test_link_refuses_values_outside_the_choices(app, make_survey):
    make_survey("servqual-22")
    result = run(app, "link", "servqual-22", "--set", "region=mars")
    assert result.exit_code == 1 and "'mars' is not one of its choices" in result.output


HIDDEN = """\
id: hidden-seg
title: {en: H, zh: 隐}
scale: {min: 1, max: 5}
dimensions:
  - id: d
    title: {en: D, zh: 维}
    items: [{id: A, text: {en: A, zh: 甲}}]
segments:
  - {id: channel, title: {en: Channel, zh: 渠道}, hidden: true, choices: [web, shop]}
  - {id: wave, title: {en: Wave, zh: 批次}, hidden: true, default: w2, choices: [w1, w2]}
  - {id: age, title: {en: Age, zh: 年龄}, choices: [young, old]}
"""


def test_hidden_segments_are_never_asked(app, client, make_survey, tmp_path):
    path = tmp_path / "hidden.yaml"
    path.write_text(HIDDEN)
    survey, q = make_survey(path=path)
    assert [s.name for p in q.pages for s in p.slots] == ["A", "age"]
    take_all(client, f"/s/{survey.id}", q)
    row = responses_frame(survey.id).iloc[0]
    assert row["wave"] == "w2" and row["age"] == "young"
    assert row["channel"] != row["channel"]  # missing: nothing set it
    token = run(app, "invite", survey.id, "--set", "channel=shop", "--set", "wave=w1")
    assert token.exit_code == 0
    take_all(
        app.test_client(),
        token.output.strip().removeprefix("http://survey.test"),
        q,
        frozenset({"channel", "wave"}),
    )
    row = responses_frame(survey.id).iloc[1]
    assert (row["channel"], row["wave"]) == ("shop", "w1")
    assert db.session.scalar(select(func.count()).select_from(Response)) == 2


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (
            "{id: c, title: {en: C, zh: 丙}, hidden: true, required: true, choices: [a]}",
            "a hidden segment is never asked, so not required",
        ),
        (
            "{id: c, title: {en: C, zh: 丙}, default: b, choices: [a]}",
            "default 'b' is not one of the choices (a)",
        ),
        ("{id: page, title: {en: C, zh: 丙}, choices: [a]}", "'page' is a reserved name"),
        ("{id: from, title: {en: C, zh: 丙}, choices: [a]}", "'from' is a reserved name"),
    ],
)
def test_segment_declarations_are_checked(segment, message):
    text = HIDDEN.split("segments:")[0] + "segments:\n  - " + segment + "\n"
    with pytest.raises(QuestionnaireError, match=re.escape(message)):
        parse_questionnaire(text, "x.yaml")
