"""Importing responses: the web form's checks (required aside), every bad row reported,
all or nothing unless partial, no duplicates on a second import, round trips."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.orm import close_all_sessions

from config import TestConfig
from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire
from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import AuditEntry, Response
from survey_app.storage import responses_frame

from ..conftest import POSTGRES_URL, _fresh_postgres_database
from .exports_data import add_servqual_responses
from .test_exports import export, read_csv, run

HEADER = "P_TA1,E_TA1,SAT1,NPS,COMPLAINED,COMPLAINT_RESOLVED,tier,SUGGESTION"


def write(tmp_path: Path, text: str, name: str = "paper.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


@pytest.fixture
def servqual(app, make_survey):
    return make_survey("servqual-22")


def test_paper_forms_with_blank_required_answers_are_complete(app, servqual, tmp_path):
    survey, q = servqual
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "5,6,7,9,yes,4,A,More staff\n"
        ",,,,,,,\n"  # a blank row: skipped
        "3,,,,no,,B,\n",
    )
    result = run(app, "import-responses", survey.id, path)
    assert result.exit_code == 0, result.output
    assert "servqual-22: 2 responses imported, 0 already there" in result.stdout
    frame = responses_frame(survey.id, q)
    assert len(frame) == 2
    first, second = frame.iloc[0], frame.iloc[1]
    assert (first["P_TA1"], first["NPS"], first["COMPLAINED"], first["tier"]) == (5, 9, "yes", "A")
    assert first["COMPLAINT_RESOLVED"] == 4 and first["SUGGESTION"] == "More staff"
    assert second["P_TA1"] == 3 and pd.isna(second["E_TA1"]) and pd.isna(second["NPS"])
    assert pd.isna(second["SUGGESTION"]) and pd.isna(second["P_TA2"])  # not in the file
    assert second["wave"] == "2026H2"  # a hidden segment takes its default, as on the web
    stored = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert [r.status for r in stored] == ["complete", "complete"]
    assert [r.lang for r in stored] == ["en", "en"]
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "responses.import")
    ).one()
    assert json.loads(entry.details)["imported"] == 2


BAD = (
    "P_TA1,E_TA1,NPS,COMPLAINED,COMPLAINT_RESOLVED,tier,SUGGESTION,lang,complete,submitted_at\n"
    "5,6,9,no,,A,fine,en,true,2026-01-02T10:00:00Z\n"  # line 2: good
    "9,6,x,maybe,,Z,,fr,perhaps,yesterday\n"  # line 3: eight problems
    '4,5,10,no,5,A,"two\nlines",zh,,\n'  # lines 4: answered though hidden (COMPLAINED=no)
    "2,2,2,no,,B,,en,false,2026-01-02T10:00:00Z,extra\n"  # line 5: extra cell, time
    "1,1,0,yes,3,C,,zh,false,\n"  # line 6: good (incomplete)
)


def test_every_bad_row_is_reported_and_nothing_is_imported(app, servqual, tmp_path):
    survey, _q = servqual
    path = write(tmp_path, BAD)
    result = run(app, "import-responses", survey.id, path)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    expected = [
        f"{path}, line 3, column lang: 'fr' is not one of en, zh",
        f"{path}, line 3, column complete: 'perhaps' is not true or false",
        f"{path}, line 3, column submitted_at: 'yesterday' is not a date and time "
        "(such as 2026-03-01T10:15:00Z)",
        f"{path}, line 3, column P_TA1: '9': Please choose one of the points from 1 to 7.",
        f"{path}, line 3, column NPS: 'x': Please choose one of the points from 0 to 10.",
        f"{path}, line 3, column COMPLAINED: 'maybe': Not a valid choice.",
        f"{path}, line 3, column tier: 'Z': Not a valid choice.",
        f"{path}, line 4, column COMPLAINT_RESOLVED: answered, but this question is only "
        "asked when COMPLAINED is yes",
        f"{path}, line 5: more cells than the header has columns",
        f"{path}, line 5, column submitted_at: an incomplete response has no submission time",
    ]
    for line in expected:
        assert line in lines, line
    assert "error: 3 of 5 rows are bad; nothing was imported" in result.stderr
    assert count() == 0


def test_allow_partial_imports_the_good_rows_and_lists_the_bad(app, servqual, tmp_path):
    survey, q = servqual
    path = write(tmp_path, BAD)
    result = run(app, "import-responses", survey.id, path, "--allow-partial")
    assert result.exit_code == 0, result.output
    assert "2 responses imported, 0 already there, 3 bad rows left out" in result.stdout
    assert f"{path}, line 3, column tier: 'Z': Not a valid choice." in result.stderr
    frame = responses_frame(survey.id, q, include_incomplete=True, metadata=True)
    assert frame["NPS"].tolist() == [9, 0] and frame["complete"].tolist() == [True, False]
    assert str(frame["submitted_at"][0]) == "2026-01-02 10:00:00+00:00"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (
            "P_TA1,SUGESTION",
            "line 1, column SUGESTION: not a column of servqual-22 (did you mean SUGGESTION?)",
        ),
        ("P_TA1,P_TA1", "line 1: the column P_TA1 appears twice"),
        ("response_id,lang", "line 1: none of the questionnaire's columns is in the file"),
    ],
)
def test_a_file_with_wrong_columns_is_refused(app, servqual, tmp_path, header, words):
    survey, _q = servqual
    result = run(app, "import-responses", survey.id, write(tmp_path, header + "\n1,2\n"))
    assert result.exit_code == 1 and words in result.output and count() == 0


def test_the_columns_of_a_multiple_choice_come_together(app, make_survey, tmp_path):
    survey, q = make_survey("airport")
    used = [c.name for c in q.columns if c.kind == "option"]
    header = ",".join(used[:-1])
    result = run(app, "import-responses", survey.id, write(tmp_path, header + "\n1,0,0\n"))
    assert result.exit_code == 1
    assert f"the columns of USED come together; missing: {used[-1]}" in result.output


def test_multiple_choice_cells(app, make_survey, tmp_path):
    survey, q = make_survey("airport")
    used = [c.name for c in q.columns if c.kind == "option"]
    rows = ",".join(used) + "\n1,0,1,0\n0,0,0,0\n,,,\n1,,0,0\n2,0,0,0\n"
    result = run(app, "import-responses", survey.id, write(tmp_path, rows), "--allow-partial")
    assert result.exit_code == 0, result.output
    assert f"line 5, column {used[1]}: This answer has the wrong form." in result.stderr
    assert f"line 6, column {used[0]}: '2': Not a valid choice." in result.stderr
    frame = responses_frame(survey.id, q)
    assert frame[used].fillna(-1).values.tolist() == [[1, 0, 1, 0], [0, 0, 0, 0]]


def test_xlsx_files_are_imported(app, servqual, tmp_path):
    from openpyxl import Workbook

    survey, q = servqual
    book = Workbook()
    sheet = book.active
    sheet.append(["P_TA1", "NPS", "tier", "SUGGESTION", "started_at"])
    sheet.append([5, 7.0, "B", None, None])
    sheet.append([None, 10, None, None, None])
    sheet["D2"] = "=not a formula"
    sheet["D2"].data_type = "s"  # a text typed with a leading "'" in Excel
    book.save(tmp_path / "paper.xlsx")
    result = run(app, "import-responses", survey.id, tmp_path / "paper.xlsx")
    assert result.exit_code == 0, result.output
    frame = responses_frame(survey.id, q)
    assert frame["NPS"].tolist() == [7, 10] and frame["SUGGESTION"][0] == "=not a formula"


def test_reimporting_a_file_adds_nothing(app, servqual, tmp_path):
    survey, _q = servqual
    twice = f"{HEADER}\n5,6,7,9,yes,4,A,More staff\n5,6,7,9,yes,4,A,More staff\n3,,,,no,,B,\n"
    path = write(tmp_path, twice)
    assert run(app, "import-responses", survey.id, path).exit_code == 0
    assert count() == 3  # two customers gave the same answers: two responses
    again = run(app, "import-responses", survey.id, path)
    assert "0 responses imported, 3 already there" in again.stdout and count() == 3
    one_more = write(tmp_path, twice + "5,6,7,9,yes,4,A,More staff\n", name="more.csv")
    assert (
        "1 responses imported, 3 already there"
        in run(app, "import-responses", survey.id, one_more).stdout
    )
    assert count() == 4


def test_rows_with_response_ids_are_not_imported_twice(app, servqual, tmp_path):
    survey, _q = servqual
    path = write(tmp_path, "response_id,P_TA1\n70001,5\n70002,6\n")
    assert run(app, "import-responses", survey.id, path).exit_code == 0
    again = run(app, "import-responses", survey.id, path)
    assert "0 responses imported, 2 already there" in again.stdout and count() == 2
    changed = write(tmp_path, "response_id,P_TA1\n70001,4\n70003,6\n", name="b.csv")
    assert (
        "1 responses imported, 1 already there"
        in run(app, "import-responses", survey.id, changed).stdout
    )
    same_id = write(tmp_path, "response_id,P_TA1\n70004,5\n70004,6\n", name="c.csv")
    refused = run(app, "import-responses", survey.id, same_id)
    assert "line 3, column response_id: response id 70004 is also on line 2" in refused.stderr


def test_an_export_of_this_survey_imports_as_nothing_new(app, make_survey, tmp_path):
    survey, _q = make_survey("servqual-22")
    add_servqual_responses(survey)
    csv = export(app, tmp_path, survey.id, "csv", "--all")
    before = count()
    result = run(app, "import-responses", survey.id, csv)
    assert result.exit_code == 0, result.output
    assert "0 responses imported, 7 already there" in result.stdout and count() == before
    frame = read_csv(csv)
    frame.loc[0, "P_TA1"] = "1"  # changed: an import never changes a stored response
    frame.to_csv(tmp_path / "edited.csv", index=False)
    refused = run(app, "import-responses", survey.id, tmp_path / "edited.csv")
    assert refused.exit_code == 1
    assert f"line 2, column response_id: response {frame['response_id'][0]} of this survey " in (
        refused.stderr
    )


def test_an_incompatible_version_is_refused(app, make_survey, tmp_path):
    from survey_app.surveys.services import record_response

    survey, q = make_survey("servperf-short")
    record_response(survey, {"T1": 2})  # answers the change would read differently
    db.session.commit()
    text = (SHIPPED_DIR / "servperf-short.yaml").read_text()
    path = tmp_path / "servperf-short.yaml"
    path.write_text(
        text.replace("zh: 我们使用的设备很先进。}}", "zh: 我们使用的设备很先进。}, reverse: true}")
    )
    assert run(app, "load-questionnaire", path, "--allow-incompatible").exit_code == 0
    rows = write(tmp_path, "T1,version\n3,1\n4,2\n5,9\n")
    result = run(app, "import-responses", survey.id, rows)
    assert (
        "line 2, column version: answers given under version 1 are read differently by the "
        "current version 2; they cannot be imported into it" in result.stderr
    )
    assert "line 3" not in result.stderr and "line 4" not in result.stderr


def test_unreadable_files_are_refused(app, servqual, tmp_path):
    survey, _q = servqual
    latin = tmp_path / "latin.csv"
    latin.write_bytes("P_TA1,SUGGESTION\n5,caf\xe9\n".encode("latin-1"))
    result = run(app, "import-responses", survey.id, latin)
    assert result.exit_code == 1 and "not UTF-8 text" in result.output
    fake = write(tmp_path, "not a workbook", name="fake.xlsx")
    result = run(app, "import-responses", survey.id, fake)
    assert result.exit_code == 1 and "not a readable XLSX file" in result.output
    empty = write(tmp_path, "", name="empty.csv")
    assert "the file is empty" in run(app, "import-responses", survey.id, empty).output
    other = write(tmp_path, "x", name="data.json")
    assert "not a CSV or XLSX file" in run(app, "import-responses", survey.id, other).output


@pytest.mark.parametrize(
    ("cut", "words"),
    [
        (-4, "line 4: the file ends inside this row (6 of 8 cells): it looks cut short"),
        (-30, "line 3: the file ends inside a quoted cell: it looks cut short"),
    ],
    ids=["inside-a-row", "inside-a-quoted-cell"],
)
def test_a_file_cut_short_is_refused_and_nothing_is_stored(app, servqual, tmp_path, cut, words):
    survey, _q = servqual
    whole = (
        f"{HEADER}\n5,6,7,9,yes,4,A,More staff\n"
        '3,,,,no,,B,"a long comment\nover two lines, cut"\n'
        "4,5,6,7,no,,C,\n"
    ).encode()
    path = tmp_path / "cut.csv"
    path.write_bytes(whole[:cut])
    for partial in ((), ("--allow-partial",)):
        result = run(app, "import-responses", survey.id, path, *partial)
        assert result.exit_code == 1, result.output
        assert f"error: {path}, {words}; nothing was imported" in result.stderr
        assert count() == 0
    path.write_bytes(whole[: whole.index(b"\n3,") + 1])  # cut at the end of a line: readable
    assert "1 responses imported" in run(app, "import-responses", survey.id, path).stdout


def test_a_damaged_xlsx_file_is_refused_and_nothing_is_stored(app, servqual, tmp_path):
    from openpyxl import Workbook

    survey, _q = servqual
    book = Workbook()
    book.active.append(["P_TA1", "NPS"])
    for n in range(200):
        book.active.append([5, n % 11])
    book.save(tmp_path / "whole.xlsx")
    whole = (tmp_path / "whole.xlsx").read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])  # an upload that stopped half-way
    result = run(app, "import-responses", survey.id, cut)
    assert result.exit_code == 1
    assert f"error: {cut}: not a readable XLSX file, or a damaged or incomplete one (" in (
        result.stderr
    )
    assert count() == 0


def test_messages_in_the_terminal_language(app, servqual, tmp_path, monkeypatch):
    survey, _q = servqual
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    path = write(tmp_path, "P_TA1,lang,complete\n9,fr,\n3,zh,\n")
    refused = run(app, "import-responses", survey.id, path)
    assert f"{path}, line 2, column P_TA1: '9': 请在 1 到 7 之间选择一个分值。" in refused.stderr
    assert f"{path}, line 2, column lang: 'fr' 不是以下之一：en, zh" in refused.stderr
    assert "error: 2 行中有 1 行有误；没有导入任何数据" in refused.stderr
    partial = run(app, "import-responses", survey.id, path, "--allow-partial")
    assert "servqual-22：导入 1 份答卷，0 份已存在，略去 1 行有误的行" in partial.stdout
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    again = run(app, "import-responses", survey.id, path, "--allow-partial")
    assert "servqual-22: 0 responses imported, 1 already there, 1 bad rows left out" in (
        again.stdout
    )


def test_roles_that_may_not_import_are_refused(app, servqual, tmp_path, make_user):
    survey, _q = servqual
    make_user("manager", ("default",), email="boss@example.com")
    path = write(tmp_path, "P_TA1\n5\n")
    refused = run(app, "import-responses", survey.id, path, "--as", "boss@example.com")
    assert refused.exit_code == 1 and "may not do this (edit_questionnaire)" in refused.output
    assert count() == 0


# -- round trips -------------------------------------------------------------------------------
@pytest.fixture
def fresh_app(app, tmp_path):
    """Another, empty database (of the same kind), migrated: "elsewhere"."""
    if db.engine.dialect.name == "postgresql":
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = _fresh_postgres_database(POSTGRES_URL, f"survey_pytest_{worker}_fresh")
    else:
        url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    other = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with other.app_context():
        upgrade()
        db.session.remove()
    yield other
    with other.app_context():
        # a session of the commands run in it may still hold a connection: close every
        # session before the pool goes, or psycopg warns at exit of a connection left open
        close_all_sessions()
        db.engine.dispose()


def without_ids_and_times(path: Path) -> pd.DataFrame:
    frame = read_csv(path)
    return frame.drop(columns=["response_id", "started_at", "submitted_at"])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_import_export_gives_the_same_file(app, make_survey, tmp_path, fresh_app, fmt):
    survey, _q = make_survey("servqual-22")
    add_servqual_responses(survey)
    original = export(app, tmp_path, survey.id, "csv", "--all", name="original.csv")
    data = export(app, tmp_path, survey.id, fmt, "--all", name=f"data.{fmt}")
    questionnaire = tmp_path / "q.yaml"
    assert run(app, "export-questionnaire", survey.id, "--out", questionnaire).exit_code == 0
    with fresh_app.app_context():
        loaded = run(fresh_app, "load-questionnaire", questionnaire)
        assert loaded.exit_code == 0, loaded.output
        imported = run(fresh_app, "import-responses", survey.id, data)
        assert imported.exit_code == 0, imported.output
        assert "7 responses imported" in imported.stdout
        again = export(fresh_app, tmp_path, survey.id, "csv", "--all", name="again.csv")
        db.session.remove()
    pd.testing.assert_frame_equal(without_ids_and_times(again), without_ids_and_times(original))
    # times survive too (to the microsecond in CSV; Excel keeps milliseconds)
    a, b = read_csv(original), read_csv(again)
    width = 26 if fmt == "csv" else 23
    assert a["submitted_at"].str[:width].tolist() == b["submitted_at"].str[:width].tolist()


def test_a_questionnaire_exported_and_loaded_elsewhere_is_the_same_survey(
    app, make_survey, tmp_path, fresh_app
):
    survey, q = make_survey("airport")
    out = tmp_path / "airport.yaml"
    assert run(app, "export-questionnaire", survey.id, "--out", out).exit_code == 0
    with fresh_app.app_context():
        assert run(fresh_app, "load-questionnaire", out).exit_code == 0
        from survey_app.models import Survey

        elsewhere = db.session.get(Survey, survey.id)
        assert elsewhere.current.sha256 == survey.current.sha256
        assert elsewhere.current.layout == survey.current.layout
        assert replace(elsewhere.questionnaire, source="") == replace(q, source="")
        db.session.remove()
    assert replace(parse_questionnaire(out.read_text()), source="") == replace(
        load_questionnaire(SHIPPED_DIR / "airport.yaml"), source=""
    )
