"""Bounded fuzzing (hypothesis) of the two paths that take outside input in bulk: answer
submission and questionnaire loading. No input may give a 500 or an unexpected
exception, and nothing may be stored when the input is refused."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from questionnaires import SHIPPED_DIR, QuestionnaireError, parse_questionnaire
from survey_app.extensions import db
from survey_app.models import QuestionnaireVersion, Response, Survey
from survey_app.surveys.services import stored_answers

from ..conftest import csrf_token, hidden

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI stays reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SOURCE = (SHIPPED_DIR / "genetic-lab.yaml").read_text(encoding="utf-8")

text_values = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "5",
            "0",
            "7",
            "-1",
            "99999999999999999999",
            "1e3",
            "yes",
            "none",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\u202e",
            "５",
            "💥",
        ]
    ),
)


@FUZZ
@given(data=st.data())
def test_no_posted_page_gives_a_500_or_stores_a_refused_answer(app, make_survey, data):
    survey = db.session.get(Survey, "genetic-lab") or make_survey("genetic-lab")[0]
    q = survey.questionnaire
    client = app.test_client()
    html = client.get(f"/s/{survey.id}").text
    page = data.draw(st.integers(1, len(q.pages)), label="page")
    names = [f"q_{s.name}" for s in q.pages[page - 1].slots] + ["q_NOPE", "rk", "page", "nav"]
    form = data.draw(
        st.dictionaries(
            st.sampled_from(names),
            st.one_of(text_values, st.lists(text_values, max_size=3)),
            max_size=12,
        ),
        label="form",
    )
    form = {"csrf_token": csrf_token(html), "rk": hidden(html, "rk"), "page": "1", **form}
    before = {
        r.id: (r.answers, dict(r.texts), r.status) for r in db.session.scalars(select(Response))
    }
    response = client.post(f"/s/{survey.id}", data=form)
    assert response.status_code in (302, 400, 413, 422), response.status_code
    db.session.expire_all()
    after = {
        r.id: (r.answers, dict(r.texts), r.status) for r in db.session.scalars(select(Response))
    }
    if response.status_code != 302:
        assert after == before
    for row in db.session.scalars(select(Response)):
        answers = stored_answers(row)  # whatever was stored reads back within its scale
        for column in q.numeric_columns:
            value = answers[column.name]
            if value is not None and column.item.scale is not None:
                assert column.item.scale.min <= value <= column.item.scale.max


def mutations(text: str):
    lines = text.splitlines(keepends=True)
    return st.one_of(
        # drop, duplicate or swap lines
        st.integers(0, len(lines) - 1).map(lambda i: "".join(lines[:i] + lines[i + 1 :])),
        st.integers(0, len(lines) - 1).map(lambda i: "".join(lines[: i + 1] + lines[i:])),
        # insert random text somewhere
        st.tuples(st.integers(0, len(text)), st.text(max_size=20)).map(
            lambda p: text[: p[0]] + p[1] + text[p[0] :]
        ),
        # replace a value with something of another shape
        st.tuples(
            st.sampled_from(["min: 1", "max: 5", "type: single", "reverse: true", "id: "]),
            st.sampled_from(["min: [1]", "max: {a: 1}", "type: 7", "reverse: 'yes'", "id: ~ "]),
        ).map(lambda p: text.replace(p[0], p[1], 1)),
    )


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=20,
)


@FUZZ
@given(text=st.one_of(mutations(SOURCE), yaml_values.map(yaml.safe_dump), st.text()))
def test_any_file_is_a_questionnaire_or_a_clear_error(text):
    try:
        q = parse_questionnaire(text, "fuzz.yaml")
    except QuestionnaireError as error:
        assert str(error).startswith("fuzz.yaml")
        assert error.message
    else:
        assert q.id and q.columns


@FUZZ
@given(text=mutations(SOURCE))
def test_a_refused_file_stores_nothing(app, tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "genetic-lab.yaml"
    path.write_text(text, encoding="utf-8")
    before = db.session.scalar(select(func.count()).select_from(QuestionnaireVersion))
    result = app.test_cli_runner().invoke(args=["load-questionnaire", str(path)])
    assert result.exit_code in (0, 1), result.output
    after = db.session.scalar(select(func.count()).select_from(QuestionnaireVersion))
    if result.exit_code == 1:
        assert after == before and result.output.startswith("error: ")
    else:
        assert after in (before, before + 1)
