"""Exports from the command line: formats, layouts, options, labels, names, masking.

Expected values come from the responses the tests store (tests/survey_app/exports_data.py),
never from the export code.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from sqlalchemy import select

from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire
from survey_app.extensions import db
from survey_app.models import AuditEntry
from survey_app.surveys.services import record_response

from .exports_data import DAY, NAMING, add_servqual_responses

FORMATS = ("csv", "xlsx", "sav", "dta", "parquet", "jsonl")
METADATA = ["response_id", "version", "started_at", "submitted_at", "lang", "complete"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def export(app, tmp_path: Path, survey_id: str, fmt: str, *options, name: str | None = None):
    ext = {"codebook-json": "json", "codebook-md": "md", "codebook-html": "html"}.get(fmt, fmt)
    out = tmp_path / (name or f"out.{ext}")
    result = run(app, "export", survey_id, "--format", fmt, "--out", out, *options)
    assert result.exit_code == 0, result.output
    return out


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture
def servqual(app, make_survey):
    survey, q = make_survey("servqual-22")
    responses = add_servqual_responses(survey)
    return survey, q, responses


@pytest.fixture
def naming(app, make_survey, tmp_path):
    path = tmp_path / "naming-check.yaml"
    path.write_text(NAMING, encoding="utf-8")
    survey, q = make_survey(path=path)
    record_response(
        survey,
        {
            "with": 1,
            "in": 2,
            "Quality_of_the_service_at_the_front_desk_in_the_morning": 3,
            "Quality_of_the_service_at_the_front_desk_in_the_evening": 4,
            "q1": 5,
            "Q1": 1,
            "R1": 2,
            "USED_food-court": 1,
            "USED_v2.0": 0,
            "PHONE": "555 0100",
            "NOTE": "fine",
            "branch": "south",
        },
    )
    record_response(survey, {"with": 5, "R1": 5})
    db.session.commit()
    return survey, q


# -- the wide layout -------------------------------------------------------------------------
def test_csv_has_the_questionnaire_columns_then_the_metadata(app, servqual, tmp_path):
    survey, q, responses = servqual
    frame = read_csv(export(app, tmp_path, survey.id, "csv"))
    dimension = [c.name for c in q.columns if c.section.kind == "dimension"]
    assert list(frame.columns[: len(dimension)]) == dimension  # E_TA1, P_TA1, E_TA2...
    assert list(frame.columns[:3]) == ["E_TA1", "P_TA1", "E_TA2"]
    assert list(frame.columns[-6:]) == METADATA
    expected_order = (
        dimension
        + ["SAT1", "SAT2", "SAT3", "LOY1", "LOY2", "LOY3", "NPS", "COMPLAINED"]
        + ["COMPLAINT_RESOLVED", "tier", "region", "wave", "COMPLAINT", "SUGGESTION"]
        + METADATA
    )
    assert list(frame.columns) == expected_order
    # complete responses only, in response order; the preview and the unfinished left out
    assert frame["response_id"].tolist() == [str(r.id) for r in responses]
    first = frame.iloc[0]
    assert (first["E_TA1"], first["P_TA1"], first["NPS"], first["tier"]) == ("7", "6", "10", "A")
    assert first["complete"] == "true" and first["version"] == "1" and first["lang"] == "en"
    assert first["started_at"] == "2026-01-01T09:30:00.000000Z"
    assert first["submitted_at"] == "2026-01-01T09:38:00.000000Z"
    second = frame.iloc[1]
    assert second["COMPLAINT"] == 'Slow, "very" slow\nreally'  # quoted, kept whole
    third = frame.iloc[2]
    # unanswered is a blank cell, never 0
    assert (third["P_TA1"], third["E_RE2"], third["NPS"], third["COMPLAINED"]) == ("", "", "", "")
    assert third["COMPLAINT_RESOLVED"] == "" and third["COMPLAINT"] == ""


def test_segments_set_by_invitations_are_exported(app, client, make_survey, tmp_path):
    from .test_invitations import take_all

    survey, q = make_survey("servqual-22")
    invited = run(app, "invite", survey.id, "--set", "tier=B", "--set", "region=west")
    assert invited.exit_code == 0, invited.output
    path = invited.output.split()[0].removeprefix("http://survey.test")
    take_all(client, path, q, frozenset({"tier", "region", "wave"}))  # never asked
    frame = read_csv(export(app, tmp_path, survey.id, "csv"))
    assert frame[["tier", "region", "wave"]].values.tolist() == [["B", "west", "2026H2"]]
    assert frame["complete"].tolist() == ["true"]
    labels, meta = pyreadstat.read_sav(str(export(app, tmp_path, survey.id, "sav")))
    assert meta.variable_value_labels["tier"][labels["tier"][0]] == "B (regular)"


def test_every_export_is_audited(app, servqual, tmp_path):
    survey, _q, _ = servqual
    export(app, tmp_path, survey.id, "sav", "--where", "tier=A")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    details = json.loads(entry.details)
    assert entry.target == survey.id and entry.actor.startswith("os:")
    assert details["format"] == "sav" and details["segments"] == {"tier": ["A"]}
    assert details["responses"] == 6


def canonical(fmt: str, path: Path, codebook: dict) -> pd.DataFrame:
    """Any format's file as the CSV's strings, columns under their CSV names (choice
    codes of SPSS/Stata mapped back to their ids through the codebook's labels)."""
    entries = {e["name"]: e for e in codebook["columns"]}
    if fmt == "csv":
        frame = read_csv(path).replace("", None)
    elif fmt in ("sav", "dta"):
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, _meta = reader(str(path))
        back = {e["names"].get(fmt, e["name"]): e["name"] for e in entries.values()}
        frame = frame.rename(columns=back)
    elif fmt == "xlsx":
        frame = pd.read_excel(path, sheet_name="data", dtype=object)
    elif fmt == "parquet":
        frame = pq.read_table(path).to_pandas()
    else:
        frame = pd.read_json(path, lines=True, dtype=False)
    result = {}
    for name in frame.columns:
        entry = entries[name]
        values = []
        for value in frame[name].tolist():
            if (
                value is None
                or (isinstance(value, float) and math.isnan(value))
                or value is pd.NaT
                or (hasattr(value, "isoformat") and pd.isna(value))
            ):
                values.append("")
            elif entry["type"] == "datetime":
                stamp = pd.Timestamp(value)
                stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
                values.append(stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S"))
            elif entry["type"] == "boolean":
                values.append("true" if value in (True, 1, 1.0, "true") else "false")
            elif entry["type"] == "nominal" and fmt in ("sav", "dta"):
                codes = {label["code"]: label["value"] for label in entry["labels"]}
                values.append(codes[int(value)])
            elif isinstance(value, float) and value.is_integer() and entry["type"] != "number":
                values.append(str(int(value)))
            else:
                values.append(str(value))
        result[name] = values
    return pd.DataFrame(result)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_has_the_rows_and_columns_of_the_csv(app, servqual, tmp_path, fmt):
    survey, _q, _ = servqual
    book = json.loads(export(app, tmp_path, survey.id, "codebook-json").read_text())
    csv = canonical("csv", export(app, tmp_path, survey.id, "csv"), book)
    other = canonical(fmt, export(app, tmp_path, survey.id, fmt), book)
    assert list(other.columns) == list(csv.columns)
    pd.testing.assert_frame_equal(other, csv)


@pytest.mark.parametrize("fmt", FORMATS)
def test_unanswered_is_missing_in_every_format(app, servqual, tmp_path, fmt):
    survey, _q, _ = servqual
    path = export(app, tmp_path, survey.id, fmt)
    if fmt in ("sav", "dta"):
        reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
        frame, _ = reader(str(path))
    elif fmt == "xlsx":
        frame = pd.read_excel(path, sheet_name="data")
    elif fmt == "parquet":
        frame = pd.read_parquet(path)
    elif fmt == "jsonl":
        frame = pd.read_json(path, lines=True)
    else:
        frame = pd.read_csv(path)
    third = frame.iloc[2]
    for name in ("P_TA1", "E_RE2", "NPS", "COMPLAINED", "COMPLAINT_RESOLVED"):
        assert pd.isna(third[name]), (fmt, name, third[name])
    assert third["P_TA2"] == 4  # an answered neighbour is a number
    if fmt in ("csv", "xlsx", "parquet", "jsonl"):
        assert pd.isna(third["COMPLAINT"])
    else:  # SPSS and Stata strings cannot be missing: empty
        assert third["COMPLAINT"] == ""


def test_incomplete_responses_only_with_all(app, servqual, tmp_path):
    survey, _q, responses = servqual
    default = read_csv(export(app, tmp_path, survey.id, "csv"))
    everything = read_csv(export(app, tmp_path, survey.id, "csv", "--all", name="all.csv"))
    assert len(default) == 6 and len(everything) == 7
    unfinished = everything[everything["complete"] == "false"].iloc[0]
    assert unfinished["submitted_at"] == "" and unfinished["tier"] == "C"


def test_dates_and_segments_filter_as_the_reports_do(app, servqual, tmp_path):
    survey, _q, responses = servqual
    ids = [str(r.id) for r in responses]
    dated = read_csv(
        export(app, tmp_path, survey.id, "csv", "--from", "2026-01-02", "--to", "2026-01-04")
    )
    assert dated["response_id"].tolist() == ids[1:4]
    tiers = read_csv(
        export(
            app,
            tmp_path,
            survey.id,
            "csv",
            "--where",
            "tier=A",
            "--where",
            "tier=B",
            "--where",
            "region=north",
            name="w.csv",
        )
    )
    assert tiers["response_id"].tolist() == [ids[0], ids[4], ids[5]]  # (A or B) and north


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--where", "tier=Z"], "tier='Z': not one of the choices (A, B, C)"),
        (["--where", "colour=red"], "'colour' is not a segment of servqual-22"),
        (["--from", "2026-13-01"], "from='2026-13-01': not a date (YYYY-MM-DD)"),
        (["--version", "7"], "survey servqual-22 has no version 7 (versions: 1)"),
        (["--lang", "fr"], "--lang fr: the questionnaire has the languages en, zh"),
        (["--bom"], "--bom is for CSV files"),
        (["--missing-code", "3"], "--missing-code 3: it is a valid answer to E_TA1"),
    ],
)
def test_bad_options_are_refused_with_a_reason(app, servqual, tmp_path, options, words):
    survey, _q, _ = servqual
    out = tmp_path / "out.sav"
    result = run(app, "export", survey.id, "--format", "sav", "--out", out, *options)
    assert result.exit_code == 1 and words in result.output, result.output
    assert not out.exists()


def test_reverse_coded_recodes_only_reverse_keyed_items(app, make_survey, tmp_path):
    survey, q = make_survey("genetic-lab")
    reverse = [c.name for c in q.columns if c.item.reverse]
    plain = next(c.name for c in q.columns if c.kind == "scale" and not c.item.reverse)
    low, high = q.scale.min, q.scale.max
    record_response(survey, {reverse[0]: low, plain: low})
    db.session.commit()
    raw = read_csv(export(app, tmp_path, survey.id, "csv"))
    recoded = read_csv(export(app, tmp_path, survey.id, "csv", "--reverse-coded", name="r.csv"))
    assert raw[reverse[0]][0] == str(low) and recoded[reverse[0]][0] == str(high)
    assert raw[plain][0] == recoded[plain][0] == str(low)
    book = json.loads(
        export(app, tmp_path, survey.id, "codebook-json", "--reverse-coded").read_text()
    )
    assert book["reverse_coded"] is True
    assert next(e for e in book["columns"] if e["name"] == reverse[0])["reverse"] is True


def test_scores_are_item_means_and_gaps(app, servqual, tmp_path):
    survey, q, _ = servqual
    frame = read_csv(export(app, tmp_path, survey.id, "csv", "--scores"))
    first, third, sixth = frame.iloc[0], frame.iloc[2], frame.iloc[5]
    # response 1: every E item 7, every P item 6, outcomes 7
    assert float(first["score_E_tangibles"]) == 7.0 and float(first["score_P_tangibles"]) == 6.0
    assert float(first["gap_tangibles"]) == -1.0 and float(first["score_satisfaction"]) == 7.0
    # response 3 has P_TA1 unanswered: listwise, its tangibles perception score is missing
    assert third["score_P_tangibles"] == "" and third["gap_tangibles"] == ""
    assert float(third["score_P_reliability"]) == 4.0
    assert third["score_E_reliability"] == ""  # E_RE2 unanswered
    assert sixth["score_satisfaction"] == ""  # SAT1 unanswered
    names = [c for c in frame.columns if c.startswith(("score_", "gap_"))]
    assert len(names) == 2 * 5 + 2 + 5  # E and P per dimension, two outcomes, five gaps
    assert list(frame.columns[-6:]) == METADATA


def test_bom_for_excel_and_formulas_defused(app, servqual, tmp_path):
    survey, _q, _ = servqual
    plain = export(app, tmp_path, survey.id, "csv").read_bytes()
    excel = export(app, tmp_path, survey.id, "csv", "--bom", name="excel.csv").read_bytes()
    assert not plain.startswith(b"\xef\xbb\xbf") and excel.startswith(b"\xef\xbb\xbf")
    assert "=cmd|' /C calc'!A0" in plain.decode()
    assert "'=cmd|' /C calc'!A0" in excel.decode()


def test_long_layout_has_one_row_per_answer(app, servqual, tmp_path):
    survey, _q, responses = servqual
    wide = read_csv(export(app, tmp_path, survey.id, "csv"))
    long = read_csv(export(app, tmp_path, survey.id, "csv", "--layout", "long", name="l.csv"))
    assert list(long.columns) == ["response_id", "column", "value", "answer", *METADATA[1:]]
    answers = wide.drop(columns=METADATA)
    assert len(long) == int((answers != "").to_numpy().sum())
    for _, row in long.iterrows():
        source = wide[wide["response_id"] == row["response_id"]].iloc[0]
        assert source[row["column"]] == row["answer"]
        assert source["submitted_at"] == row["submitted_at"]
    tier = long[(long["column"] == "tier") & (long["response_id"] == str(responses[1].id))]
    assert tier[["value", "answer"]].values.tolist() == [["2", "B"]]  # code and choice id
    text = long[long["column"] == "SUGGESTION"]
    assert text["value"].tolist() == ["", ""] and "更快一点" in text["answer"].tolist()


def test_long_layout_in_spss(app, servqual, tmp_path):
    survey, _q, _ = servqual
    frame, meta = pyreadstat.read_sav(
        str(export(app, tmp_path, survey.id, "sav", "--layout", "long"))
    )
    assert list(frame.columns) == ["response_id", "column", "value", "answer", *METADATA[1:]]
    texts = frame["column"].isin(["COMPLAINT", "SUGGESTION"])
    assert frame["value"].notna().sum() == (~texts).sum()


# -- SPSS and Stata ---------------------------------------------------------------------------
def test_spss_labels_missing_values_and_measures(app, servqual, tmp_path):
    survey, q, _ = servqual
    frame, meta = pyreadstat.read_sav(str(export(app, tmp_path, survey.id, "sav")))
    labels = meta.column_names_to_labels
    assert labels["E_TA1"] == "An excellent company: Its equipment is up to date."
    assert labels["P_TA1"] == "Our company: Its equipment is up to date."
    assert labels["NPS"] == "How likely are you to recommend us to a friend or colleague?"
    anchors = {1.0: "Strongly disagree", 4.0: "Neutral", 7.0: "Strongly agree"}
    scale_items = [c.name for c in q.columns if c.kind == "scale"]
    for name in scale_items:  # the anchors on every scale item
        assert meta.variable_value_labels[name] == anchors, name
    assert meta.variable_value_labels["tier"] == {
        1.0: "A (key account)",
        2.0: "B (regular)",
        3.0: "C (occasional)",
    }
    assert meta.variable_value_labels["complete"] == {0.0: "No", 1.0: "Yes"}
    assert (
        meta.variable_measure["E_TA1"] == "ordinal" and meta.variable_measure["tier"] == "nominal"
    )
    assert meta.missing_ranges == {}  # system-missing by default
    assert math.isnan(frame["P_TA1"][2])


def test_spss_and_stata_in_chinese(app, servqual, tmp_path):
    survey, _q, _ = servqual
    _frame, sav = pyreadstat.read_sav(str(export(app, tmp_path, survey.id, "sav", "--lang", "zh")))
    assert sav.column_names_to_labels["E_TA1"] == "优秀的公司: 设备先进、与时俱进。"
    assert sav.variable_value_labels["E_TA1"][1.0] == "非常不同意"
    assert sav.column_names_to_labels["complete"] == "已完成"
    _frame, dta = pyreadstat.read_dta(str(export(app, tmp_path, survey.id, "dta", "--lang", "zh")))
    assert dta.column_names_to_labels["tier"] == "客户等级"
    labelset = dta.variable_to_label["tier"]
    assert dta.value_labels[labelset] == {
        1: "A（重点客户）",
        2: "B（普通客户）",
        3: "C（偶尔合作）",
    }


def test_user_missing_code_declared_in_spss(app, servqual, tmp_path):
    survey, _q, _ = servqual
    path = export(app, tmp_path, survey.id, "sav", "--missing-code", "-9")
    frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert frame["P_TA1"][2] == -9 and frame["COMPLAINED"][2] == -9
    assert meta.missing_ranges["P_TA1"] == [{"lo": -9.0, "hi": -9.0}]
    assert meta.variable_value_labels["P_TA1"][-9.0] == "No answer"
    plain, _ = pyreadstat.read_sav(str(path))  # without user_missing: read as missing
    assert math.isnan(plain["P_TA1"][2]) and plain["P_TA1"][0] == 6


def test_user_missing_code_in_stata_is_an_extended_missing_value(app, servqual, tmp_path):
    survey, _q, _ = servqual
    path = export(app, tmp_path, survey.id, "dta", "--missing-code", "-9")
    frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    assert frame["P_TA1"][2] == "a" and frame["P_TA1"][0] == 6
    labelset = meta.variable_to_label["P_TA1"]
    assert meta.value_labels[labelset]["a"] == "No answer"
    plain, _ = pyreadstat.read_dta(str(path))
    assert math.isnan(plain["P_TA1"][2])


def test_names_made_valid_for_spss_and_stata_and_listed(app, naming, tmp_path):
    survey, _q = naming
    book = json.loads(export(app, tmp_path, survey.id, "codebook-json").read_text())
    names = {e["name"]: e["names"] for e in book["columns"]}
    long_a = "Quality_of_the_service_at_the_front_desk_in_the_morning"
    long_b = "Quality_of_the_service_at_the_front_desk_in_the_evening"
    assert names["with"] == {"sav": "with_", "dta": "with_"}
    assert names["in"] == {"dta": "in_"}
    # Stata: 32 characters, less room for pyreadstat's numbered value-label sets
    assert names[long_a] == {"dta": "Quality_of_the_service_at_the_"}
    assert names[long_b] == {"dta": "Quality_of_the_service_at_th_2"}
    assert names["q1"] == {} and names["Q1"] == {"sav": "Q1_2"}
    assert names["USED_food-court"] == {"sav": "USED_food_court", "dta": "USED_food_court"}
    assert names["USED_v2.0"] == {"dta": "USED_v2_0"}
    assert names["NOTE"] == {} and names["response_id"] == {}
    sav, sav_meta = pyreadstat.read_sav(str(export(app, tmp_path, survey.id, "sav")))
    dta, dta_meta = pyreadstat.read_dta(str(export(app, tmp_path, survey.id, "dta")))
    for fmt, frame in (("sav", sav), ("dta", dta)):
        expected = [names[e["name"]].get(fmt, e["name"]) for e in book["columns"]]
        assert list(frame.columns) == expected
    assert len({n.lower() for n in sav.columns}) == len(sav.columns)
    assert max(len(n) for n in dta.columns) <= 30
    assert sav["with_"].tolist() == [1, 5] and dta["in_"].tolist()[0] == 2
    assert sav_meta.column_names_to_labels["USED_food_court"] == "What did you use?: Food court"
    assert sav_meta.variable_value_labels["USED_food_court"] == {0.0: "Not chosen", 1.0: "Chosen"}


def test_codebook_json_has_the_promised_keys(app, naming, tmp_path):
    survey, q = naming
    book = json.loads(export(app, tmp_path, survey.id, "codebook-json").read_text())
    assert book["version"] == 1 and book["survey"] == "naming-check"
    keys = {"name", "text", "type", "labels", "reverse", "missing", "personal", "names"}
    for entry in book["columns"]:
        assert keys <= set(entry), entry["name"]
        assert set(entry["text"]) == {"en", "zh"}
    by_name = {e["name"]: e for e in book["columns"]}
    assert by_name["R1"]["reverse"] is True and by_name["with"]["reverse"] is False
    assert by_name["with"]["labels"] == [
        {"value": 1, "code": 1, "text": {"en": "Poor", "zh": "差"}},
        {"value": 5, "code": 5, "text": {"en": "Excellent", "zh": "优"}},
    ]
    assert by_name["branch"]["labels"][1] == {
        "value": "south",
        "code": 2,
        "text": {"en": "South", "zh": "南"},
    }
    assert by_name["PHONE"]["personal"] is True and by_name["NOTE"]["personal"] is False
    assert by_name["branch"]["personal"] is True
    assert by_name["with"]["type"] == "ordinal" and by_name["branch"]["type"] == "nominal"
    assert by_name["USED_food-court"]["type"] == "binary" and by_name["NOTE"]["type"] == "text"
    assert by_name["with"]["missing"] == {"value": None}
    assert by_name["NOTE"]["missing"] == {"value": ""}
    assert by_name["with"]["text"] == {"en": "A word SPSS reserves", "zh": "SPSS 保留字"}
    assert [e["name"] for e in book["columns"]][-6:] == METADATA


def test_codebook_markdown_and_html(app, naming, tmp_path):
    survey, _q = naming
    md = export(app, tmp_path, survey.id, "codebook-md").read_text()
    assert "| `with` | A word SPSS reserves | ordinal | 1 = Poor; 5 = Excellent |" in md
    assert "sav: with\\_ / dta: with\\_" in md
    html = export(app, tmp_path, survey.id, "codebook-html", "--lang", "zh").read_text()
    assert "<td>SPSS 保留字</td>" in html and "<code>in_</code>" in html
    assert "<script" not in html


def test_personal_columns_masked_without_the_grant(app, naming, tmp_path, make_user):
    survey, _q = naming
    make_user("researcher", ("default",), email="plain@example.com")
    make_user("researcher", ("default",), personal=True, email="trusted@example.com")
    out = tmp_path / "masked.csv"
    result = run(
        app, "export", survey.id, "--format", "csv", "--out", out, "--as", "plain@example.com"
    )
    assert result.exit_code == 0, result.output
    masked = read_csv(out)
    assert masked["PHONE"].tolist() == ["***", ""]  # masked, and blank stays blank
    assert masked["branch"].tolist() == ["", ""]  # a personal choice: left out
    assert masked["NOTE"].tolist() == ["fine", ""]  # declared not personal
    for fmt in ("sav", "dta", "parquet", "xlsx", "jsonl"):  # masked before any writer
        path = tmp_path / f"masked.{fmt}"
        done = run(
            app, "export", survey.id, "--format", fmt, "--out", path, "--as", "plain@example.com"
        )
        assert done.exit_code == 0, done.output
        if fmt in ("sav", "dta"):
            frame = (pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta)(str(path))[0]
        elif fmt == "xlsx":
            frame = pd.read_excel(path, sheet_name="data")
        else:
            frame = pd.read_parquet(path) if fmt == "parquet" else pd.read_json(path, lines=True)
        assert frame["PHONE"].tolist()[0] == "***" and frame["NOTE"].tolist()[0] == "fine"
        assert frame["branch"].isna().all(), fmt
    run(app, "export", survey.id, "--format", "csv", "--out", out, "--as", "trusted@example.com")
    shown = read_csv(out)
    assert shown["PHONE"].tolist() == ["555 0100", ""] and shown["branch"][0] == "south"
    book_out = tmp_path / "book.json"
    run(
        app,
        "export",
        survey.id,
        "--format",
        "codebook-json",
        "--out",
        book_out,
        "--as",
        "plain@example.com",
    )
    book = json.loads(book_out.read_text())
    assert book["masked"] is True
    assert next(e for e in book["columns"] if e["name"] == "PHONE")["masked"] is True


def test_roles_without_export_are_refused(app, servqual, tmp_path, make_user):
    survey, _q, _ = servqual
    make_user("manager", ("default",), email="boss@example.com")
    make_user("researcher", ("elsewhere",), email="other@example.com")
    out = tmp_path / "x.csv"
    refused = run(
        app, "export", survey.id, "--format", "csv", "--out", out, "--as", "boss@example.com"
    )
    assert refused.exit_code == 1 and "may not do this (export)" in refused.output
    hidden = run(
        app, "export", survey.id, "--format", "csv", "--out", out, "--as", "other@example.com"
    )
    assert hidden.exit_code == 1 and "no survey 'servqual-22'" in hidden.output
    assert not out.exists()


# -- versions -----------------------------------------------------------------------------------
def test_incompatible_versions_are_never_mixed(app, make_survey, tmp_path):
    survey, q = make_survey("servperf-short")
    record_response(survey, {"T1": 2})
    db.session.commit()
    text = (SHIPPED_DIR / "servperf-short.yaml").read_text()
    changed = text.replace(
        "zh: 我们使用的设备很先进。}}", "zh: 我们使用的设备很先进。}, reverse: true}"
    )
    assert changed != text
    path = tmp_path / "servperf-short.yaml"
    path.write_text(changed)
    loaded = run(app, "load-questionnaire", path, "--allow-incompatible")
    assert loaded.exit_code == 0, loaded.output
    survey = db.session.merge(survey)
    db.session.refresh(survey)
    record_response(survey, {"T1": 5})
    db.session.commit()
    current = read_csv(export(app, tmp_path, survey.id, "csv"))
    old = read_csv(export(app, tmp_path, survey.id, "csv", "--version", "1", name="v1.csv"))
    assert current["T1"].tolist() == ["5"] and current["version"].tolist() == ["2"]
    assert old["T1"].tolist() == ["2"] and old["version"].tolist() == ["1"]
    book = json.loads(export(app, tmp_path, survey.id, "codebook-json").read_text())
    book1 = json.loads(
        export(
            app, tmp_path, survey.id, "codebook-json", "--version", "1", name="b1.json"
        ).read_text()
    )
    t1 = {b["version"]: next(e for e in b["columns"] if e["name"] == "T1") for b in (book, book1)}
    assert (t1[2]["reverse"], t1[1]["reverse"]) == (True, False)
    assert book["versions"] == [2] and book1["versions"] == [1]


def test_reports_read_an_incompatible_version_only_when_asked(
    app, make_survey, make_user, tmp_path
):
    from ..conftest import login_as
    from .test_reports import ready_json

    app.config["REPORTS_CACHE"] = str(tmp_path / "reports-cache")
    app.extensions.pop("reports", None)
    survey, q = make_survey("servperf-short")
    for value in (2, 3):
        record_response(survey, {c.name: value for c in q.columns if c.kind == "scale"})
    db.session.commit()
    text = (SHIPPED_DIR / "servperf-short.yaml").read_text()
    path = tmp_path / "servperf-short.yaml"
    path.write_text(  # T1 reverse-keyed: its stored answers would be read differently
        text.replace("zh: 我们使用的设备很先进。}}", "zh: 我们使用的设备很先进。}, reverse: true}")
    )
    assert run(app, "load-questionnaire", path, "--allow-incompatible").exit_code == 0
    survey = db.session.merge(survey)
    db.session.refresh(survey)
    record_response(survey, {c.name: 5 for c in q.columns if c.kind == "scale"})
    db.session.commit()
    client = app.test_client()
    login_as(client, make_user("manager", ("default",)))
    current = ready_json(client, f"/reports/{survey.id}/data.json").get_json()
    old = ready_json(client, f"/reports/{survey.id}/data.json?version=1").get_json()
    assert (current["n"], old["n"]) == (1, 2)  # never 3: the versions are not mixed


def test_compatible_versions_are_exported_together(app, make_survey, tmp_path):
    survey, q = make_survey("servperf-short")
    record_response(survey, {"T1": 2})
    db.session.commit()
    text = (SHIPPED_DIR / "servperf-short.yaml").read_text()
    path = tmp_path / "servperf-short.yaml"
    path.write_text(text + "\n# a comment changes the text, not the meaning\n")
    assert run(app, "load-questionnaire", path).exit_code == 0
    survey = db.session.merge(survey)
    db.session.refresh(survey)
    record_response(survey, {"T1": 6})
    db.session.commit()
    frame = read_csv(export(app, tmp_path, survey.id, "csv"))
    assert frame["T1"].tolist() == ["2", "6"] and frame["version"].tolist() == ["1", "2"]


def test_export_questionnaire_gives_the_file_back(app, make_survey, tmp_path):
    survey, q = make_survey("genetic-lab")
    out = tmp_path / "back.yaml"
    result = run(app, "export-questionnaire", survey.id, "--out", out)
    assert result.exit_code == 0, result.output
    original = (SHIPPED_DIR / "genetic-lab.yaml").read_bytes()
    assert out.read_bytes() == original
    reloaded = replace(parse_questionnaire(out.read_text(encoding="utf-8")), source="")
    assert reloaded == replace(load_questionnaire(SHIPPED_DIR / "genetic-lab.yaml"), source="")
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "questionnaire.export")
    ).one()
    assert json.loads(entry.details)["version"] == 1
    missing = run(app, "export-questionnaire", survey.id, "--out", out, "--version", "4")
    assert missing.exit_code == 1 and "has no version 4 (versions: 1)" in missing.output


# -- streaming ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "xlsx", "sav"])
def test_pieces_give_the_same_file_as_one_piece(app, make_survey, tmp_path, monkeypatch, fmt):
    from survey_app import storage
    from survey_app.demo import add_demo_responses

    survey, _q = make_survey("servqual-22")
    add_demo_responses(survey, 120, seed=8)
    whole = export(app, tmp_path, survey.id, fmt, name=f"whole.{fmt}")
    monkeypatch.setattr(storage, "EXPORT_CHUNK", 7)
    pieces = export(app, tmp_path, survey.id, fmt, name=f"pieces.{fmt}")
    if fmt in ("csv", "jsonl"):
        assert pieces.read_bytes() == whole.read_bytes()
    elif fmt == "parquet":
        assert pq.ParquetFile(pieces).metadata.num_row_groups == 18
        assert pq.read_table(pieces).equals(pq.read_table(whole))
    elif fmt == "sav":
        pd.testing.assert_frame_equal(
            pyreadstat.read_sav(str(pieces))[0], pyreadstat.read_sav(str(whole))[0]
        )
    else:
        pd.testing.assert_frame_equal(pd.read_excel(pieces), pd.read_excel(whole))


def test_progress_is_reported_piece_by_piece(app, make_survey, tmp_path, monkeypatch):
    from survey_app import storage
    from survey_app.demo import add_demo_responses
    from survey_app.exports.options import make_options
    from survey_app.exports.services import plan_export, write_export

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 50, seed=8)
    monkeypatch.setattr(storage, "EXPORT_CHUNK", 20)
    plan = plan_export(survey, make_options(q, "csv"), personal=True)
    seen = []
    write_export(plan, tmp_path / "p.csv", progress=seen.append)
    assert plan.total == 50 and seen == [20, 40, 50]
    result = run(app, "export", survey.id, "--format", "csv", "--out", tmp_path / "q.csv")
    assert "servqual-22: exporting" in result.stderr
    assert result.stdout.strip().endswith(
        "50 responses written to " + str(tmp_path / "q.csv") + " (csv, version 1)"
    )


def test_a_failed_export_leaves_no_file(app, servqual, tmp_path, monkeypatch):
    from survey_app.exports import writers

    survey, _q, _ = servqual
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 3)
    out = tmp_path / "big.xlsx"
    result = run(app, "export", survey.id, "--format", "xlsx", "--out", out)
    assert result.exit_code == 1 and "an .xlsx sheet holds at most 3 rows" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_empty_survey_gives_a_header(app, make_survey, tmp_path):
    survey, q = make_survey("servperf-short")
    frame = read_csv(export(app, tmp_path, survey.id, "csv"))
    assert len(frame) == 0 and list(frame.columns[-6:]) == METADATA
    for fmt in ("sav", "dta", "parquet", "xlsx", "jsonl"):
        assert export(app, tmp_path, survey.id, fmt).stat().st_size >= 0


def test_xlsx_texts_are_never_formulas(app, servqual, tmp_path):
    from openpyxl import load_workbook

    survey, _q, _ = servqual
    book = load_workbook(export(app, tmp_path, survey.id, "xlsx"))
    sheet = book["data"]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=4, column=header.index("SUGGESTION") + 1)
    assert cell.value == "=cmd|' /C calc'!A0" and cell.data_type == "s"
    assert sheet.cell(row=2, column=header.index("E_TA1") + 1).value == 7
    assert sheet.cell(row=2, column=header.index("started_at") + 1).value.isoformat() == (
        DAY.replace(tzinfo=None).isoformat()
    )
    codebook = book["codebook"]
    assert [c.value for c in codebook[1]][:3] == ["name", "label", "type"]


def test_parquet_keeps_types_and_the_codebook(app, servqual, tmp_path):
    survey, _q, _ = servqual
    table = pq.read_table(export(app, tmp_path, survey.id, "parquet"))
    schema = table.schema
    assert str(schema.field("E_TA1").type) == "int16"
    assert str(schema.field("tier").type).startswith("dictionary<values=string")
    assert str(schema.field("submitted_at").type) == "timestamp[us, tz=UTC]"
    book = json.loads(schema.metadata[b"survey.codebook"])
    assert book["columns"][0]["name"] == "E_TA1"
    frame = table.to_pandas()
    assert list(frame["tier"].cat.categories) == ["A", "B", "C"]
    assert np.isnan(frame["P_TA1"][2])


# -- the CSV in the analysis -------------------------------------------------------------------
def _same(a, b, path=""):
    """Nested report values equal (ids compared as text: a CSV gives them as text)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), path
    elif path.endswith("ids") or "ids[" in path:
        assert str(a) == str(b), path
    else:
        assert a == b, path


@pytest.mark.parametrize("name", ["servqual-22", "genetic-lab"])
def test_the_exported_csv_gives_the_figures_of_the_stored_responses(
    app, make_survey, tmp_path, name
):
    import subprocess
    import sys

    from analysis.data import SurveyData
    from analysis.report import build_report
    from survey_app.demo import add_demo_responses
    from survey_app.storage import responses_frame

    survey, q = make_survey(name)
    add_demo_responses(survey, 300, seed=11)
    record_response(survey, {q.columns[0].name: q.scale.min})  # a mostly empty response
    db.session.commit()
    csv = export(app, tmp_path, survey.id, "csv")
    out = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            str(csv),
            "-q",
            str(SHIPPED_DIR / f"{name}.yaml"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr
    from_csv = json.loads(out.read_text())
    stored = build_report(SurveyData(q, responses_frame(survey.id, q, metadata=True)))
    assert from_csv["n_responses"] == 301
    _same(json.loads(json.dumps(stored, default=str)), from_csv)
