from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text as sa_text

from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire
from survey_app.extensions import db
from survey_app.models import Response, aware
from survey_app.storage import (
    MISSING,
    AnswerError,
    decode,
    encode,
    encode_frame,
    responses_frame,
)
from survey_app.surveys.services import record_response, store_questionnaire

SERVQUAL = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")


def test_encode_decode_round_trip():
    answers = {"E_TA1": 7, "P_TA1": 1, "NPS": 0, "tier": "C", "COMPLAINED": "no"}
    blob = encode(SERVQUAL, answers)
    assert len(blob) == 2 * len(SERVQUAL.numeric_columns)
    codes = np.frombuffer(blob, dtype="<i2")
    assert codes[0] == 7 and codes[1] == 1
    assert (codes == MISSING).sum() == len(SERVQUAL.numeric_columns) - len(answers)
    decoded = decode(SERVQUAL, blob, {"COMPLAINT": "late"})
    assert {k: decoded[k] for k in answers} == answers
    assert decoded["COMPLAINT"] == "late" and decoded["P_TA2"] is None


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"E_TA1": 8}, "E_TA1: 8: Please choose one of the points from 1 to 7"),
        ({"NPS": -1}, "NPS: -1: Please choose one of the points from 0 to 10"),
        ({"E_TA1": "5"}, "E_TA1: '5': Please choose"),
        ({"E_TA1": True}, "E_TA1: True: Please choose"),
        ({"tier": "Z"}, "tier: 'Z': Not a valid choice"),
    ],
)
def test_encode_refuses_answers_the_questionnaire_does_not_allow(answers, words):
    with pytest.raises(AnswerError, match=words):
        encode(SERVQUAL, answers)


@pytest.mark.parametrize("name", ["servqual-22", "airport", "genetic-lab"])
def test_vectorised_encoding_agrees_with_per_response_encoding(name):
    q = load_questionnaire(SHIPPED_DIR / f"{name}.yaml")
    frame = simulate_responses(q, 200, seed=5)
    matrix = encode_frame(q, frame)
    for i, record in enumerate(frame.to_dict("records")):
        answers = {
            k: (None if pd.isna(v) else int(v) if isinstance(v, float) else v)
            for k, v in record.items()
        }
        assert matrix[i].tobytes() == encode(q, answers)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("P_TA1", 8, "P_TA1: 8 in row 2"),
        ("P_TA1", 2.5, "P_TA1: 2.5 in row 2"),
        ("tier", "Z", "tier: 'Z' in row 2"),
    ],
)
def test_vectorised_encoding_names_the_bad_cell(column, value, words):
    frame = simulate_responses(SERVQUAL, 3, seed=1).astype({column: object})
    frame.loc[1, column] = value
    with pytest.raises(AnswerError, match=words):
        encode_frame(SERVQUAL, frame)


V1 = """\
id: evolving
title: {en: Evolving, zh: 演变}
scale: {min: 1, max: 5}
dimensions:
  - id: d
    title: {en: D, zh: 维度}
    items:
      - {id: A, text: {en: A, zh: 甲}}
      - {id: B, text: {en: B, zh: 乙}}
segments:
  - {id: region, title: {en: Region, zh: 地区}, choices: [north, south]}
"""
# version 2 drops B, adds C, and lists the choices in another order
V2 = V1.replace(
    "      - {id: B, text: {en: B, zh: 乙}}\n", "      - {id: C, text: {en: C, zh: 丙}}\n"
)
V2 = V2.replace("[north, south]", "[south, east, north]")


def answer(survey, q, answers):
    record_response(survey, answers)
    db.session.commit()


def test_frame_maps_responses_of_older_versions_by_column_name(app):
    q1 = parse_questionnaire(V1, "evolving.yaml")
    survey, _ = store_questionnaire(q1, V1, "evolving.yaml")
    db.session.commit()
    answer(survey, q1, {"A": 1, "B": 2, "region": "south"})
    q2 = parse_questionnaire(V2, "evolving.yaml")
    _, added = store_questionnaire(q2, V2, "evolving.yaml")
    db.session.commit()
    assert added and survey.current.number == 2
    answer(survey, q2, {"A": 5, "C": 4, "region": "north"})

    frame = responses_frame(survey.id, q2)
    assert list(frame.columns) == ["response_id", "submitted_at", "lang", "A", "C", "region"]
    assert frame["A"].tolist() == [1.0, 5.0]
    assert np.isnan(frame["C"][0]) and frame["C"][1] == 4.0
    assert frame["region"].tolist() == ["south", "north"]  # not confused by the new codes
    assert list(frame["region"].cat.categories) == ["south", "east", "north"]
    # the old version's data is kept in full
    old = db.session.get(Response, int(frame["response_id"][0]))
    assert old.version.layout == ["A", "B", "region"]


def test_reloading_the_same_text_adds_no_version(app):
    q1 = parse_questionnaire(V1, "evolving.yaml")
    store_questionnaire(q1, V1, "evolving.yaml")
    db.session.commit()
    survey, added = store_questionnaire(q1, V1, "evolving.yaml")
    assert not added and survey.current.number == 1


def test_empty_survey_gives_an_empty_frame_with_all_columns(app, make_survey):
    survey, q = make_survey("airport")
    frame = responses_frame(survey.id, q)
    assert len(frame) == 0
    assert list(frame.columns[3:]) == [c.name for c in q.columns]


def test_incomplete_responses_are_left_out_unless_asked(app, make_survey):
    survey, q = make_survey("servperf-short")
    record_response(survey, {"T1": 3}, lang="zh", complete=False)
    db.session.commit()
    assert len(responses_frame(survey.id, q)) == 0
    frame = responses_frame(survey.id, q, include_incomplete=True)
    assert frame["T1"].tolist() == [3.0] and frame["lang"].tolist() == ["zh"]
    assert pd.isna(frame["submitted_at"][0])


def test_frame_reads_in_chunks_in_response_order(app, make_survey, monkeypatch):
    from survey_app import storage
    from survey_app.demo import add_demo_responses

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 23, seed=2)
    whole = responses_frame(survey.id, q)
    monkeypatch.setattr(storage, "CHUNK", 5)  # 23 responses in five round trips
    chunked = responses_frame(survey.id, q)
    pd.testing.assert_frame_equal(whole, chunked)
    assert chunked["response_id"].is_monotonic_increasing and len(chunked) == 23
    expected = encode_frame(q, simulate_responses(q, 23, seed=2))
    assert (encode_frame(q, chunked) == expected).all()


def test_batches_out_of_id_order_are_put_back_in_order():
    from survey_app.storage import _Batch, _in_id_order

    rows = np.array([[3, 30], [1, 10], [2, 20]], dtype="<i2")
    batch = _Batch(
        7,
        np.array([3, 1, 2]),
        np.array([3.0, 1.0, np.nan]),
        ["c", "a", "b"],
        rows,
        ["{}", "{}", '{"X": "b"}'],
        np.array([30.0, 10.0, 20.0]),
    )
    ordered = _in_id_order(batch)
    assert ordered.ids.tolist() == [1, 2, 3] and ordered.langs == ["a", "b", "c"]
    assert ordered.answers.tolist() == [[1, 10], [2, 20], [3, 30]]
    assert ordered.texts[1] == '{"X": "b"}' and np.isnan(ordered.epochs[1])
    assert ordered.started.tolist() == [10.0, 20.0, 30.0]


def test_chunks_stay_disjoint_when_the_server_scrambles_row_order(app, make_survey, monkeypatch):
    """Regression: on PostgreSQL a chunk's rows reach the aggregate out of id order when
    the planner re-sorts them by version in an external (disk) sort; the next chunk
    must still start after the largest id, or responses are loaded twice."""
    from survey_app import storage
    from survey_app.demo import add_demo_responses

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 3000, seed=4)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa_text("SET work_mem = '64kB'"))  # force the disk sort
    monkeypatch.setattr(storage, "CHUNK", 1000)
    frame = responses_frame(survey.id, q)
    assert len(frame) == 3000
    assert frame["response_id"].is_unique and frame["response_id"].is_monotonic_increasing
    assert (encode_frame(q, frame) == encode_frame(q, simulate_responses(q, 3000, seed=4))).all()


def test_the_export_metadata_columns(app, make_survey):
    survey, q = make_survey("servperf-short")
    done = record_response(survey, {"T1": 3}, lang="zh")
    record_response(survey, {"T1": 4}, complete=False)
    db.session.commit()
    frame = responses_frame(survey.id, include_incomplete=True, metadata=True)
    assert list(frame.columns[:6]) == [
        "response_id",
        "version",
        "started_at",
        "submitted_at",
        "lang",
        "complete",
    ]
    assert frame["complete"].tolist() == [True, False] and frame["version"].tolist() == [1, 1]
    started = pd.Timestamp(aware(done.created_at)).tz_convert("UTC")
    assert abs((frame["started_at"][0] - started).total_seconds()) < 1e-3
    assert pd.isna(frame["submitted_at"][1]) and frame["lang"][0] == "zh"


def test_pieces_of_the_frame_join_up_to_the_whole_frame(app, make_survey):
    from survey_app.demo import add_demo_responses
    from survey_app.storage import count_responses, iter_frames

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 23, seed=2)
    record_response(survey, {"P_TA1": 2}, complete=False)
    db.session.commit()
    whole = responses_frame(survey.id, q, metadata=True, include_incomplete=True)
    pieces = list(iter_frames(survey.id, q, metadata=True, include_incomplete=True, chunk=5))
    assert [len(p) for p in pieces] == [5, 5, 5, 5, 4]
    joined = pd.concat(pieces, ignore_index=True)
    joined["lang"] = joined["lang"].astype(whole["lang"].dtype)
    pd.testing.assert_frame_equal(whole, joined)
    assert count_responses(survey.id, include_incomplete=True) == 24
    assert count_responses(survey.id) == 23
    after = int(whole["response_id"][9])
    rest = pd.concat(list(iter_frames(survey.id, q, after=after, chunk=7)), ignore_index=True)
    assert rest["response_id"].tolist() == whole["response_id"][10:23].tolist()


def test_pieces_come_from_one_snapshot_on_postgresql(app, make_survey):
    """Responses stored while an export reads are not half in it (PostgreSQL keeps one
    snapshot; SQLite reads each piece on its own and sees them)."""
    from survey_app.demo import add_demo_responses
    from survey_app.storage import iter_frames

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 10, seed=2)
    pieces = iter_frames(survey.id, q, chunk=4)
    first = next(pieces)
    add_demo_responses(survey, 5, seed=3)  # committed by another transaction
    rest = list(pieces)
    total = len(first) + sum(len(p) for p in rest)
    assert total == (10 if db.engine.dialect.name == "postgresql" else 15)


def test_open_texts_are_the_texts_of_a_whole_read(app, make_survey):
    """The open texts read alone (taken out of the JSON by the database) are those a
    whole read gives, for every response with any text: quotes, escapes, Chinese, markup
    and a text that is only spaces kept as stored."""
    from survey_app.storage import open_texts

    survey, q = make_survey("servqual-22")
    base = {c.name: 5 for c in q.numeric_columns if c.type.frame_dtype != "category"}
    texts = [
        {"COMPLAINT": 'He said "wait" \\ then left'},
        {"SUGGESTION": "希望能提供线上查询。\n第二行"},
        {"COMPLAINT": "<script>alert(1)</script>", "SUGGESTION": "   "},
        {},
    ]
    for answers in texts:
        record_response(survey, {**base, **answers})
    db.session.commit()
    whole = responses_frame(survey.id, q)
    names = [c.name for c in q.text_columns]
    alone = open_texts(survey.id, names)
    with_text = whole.loc[whole[names].notna().any(axis=1), ["response_id", *names]]
    assert len(alone) == 3
    pd.testing.assert_frame_equal(
        alone.reset_index(drop=True),
        with_text.reset_index(drop=True).astype({n: "string" for n in names}),
        check_dtype=False,
    )
