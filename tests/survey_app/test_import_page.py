"""The upload page of response files: a limit of its own, the import as a job, its
result and every bad row on the job's page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from survey_app.extensions import db
from survey_app.guards import ROUTE_LIMITS
from survey_app.models import Job, Response

from ..conftest import csrf_token, login_as
from .test_imports import BAD


@pytest.fixture
def researcher_client(app, make_survey, make_user):
    survey, _q = make_survey("servqual-22")
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",)))
    return survey, client


def upload(client, survey_id: str, data: bytes, name: str = "paper.csv", **fields):
    page = client.get(f"/staff/surveys/{survey_id}/import")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "file": FileStorage(io.BytesIO(data), filename=name, content_type="text/csv"),
        **fields,
    }
    # encoded here, in memory: the test client spools a large body to a file it leaves open
    boundary, body = encode_multipart(form)
    return client.post(
        f"/staff/surveys/{survey_id}/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def responses() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


def test_an_upload_is_imported_and_its_page_says_so(app, researcher_client):
    survey, client = researcher_client
    posted = upload(client, survey.id, b"P_TA1,NPS,tier\n5,9,A\n,,\n3,,B\n")
    assert posted.status_code == 302
    job = db.session.scalars(select(Job)).one()
    assert posted.headers["Location"].endswith(f"/staff/jobs/{job.id}")
    assert job.kind == "import" and job.status == "done" and job.total == 6  # 2 x 3 rows
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "2 responses imported; 0 were there already." in page
    assert responses() == 2
    upload(client, survey.id, b"P_TA1,NPS,tier\n5,9,A\n,,\n3,,B\n")
    second = db.session.scalars(select(Job).order_by(Job.created_at.desc())).first()
    assert "0 responses imported; 2 were there already." in client.get(
        f"/staff/jobs/{second.id}"
    ).get_data(as_text=True)
    for done in (job, second):  # the uploaded files are gone
        assert not Path(done.options["upload"]).exists()


def test_bad_rows_are_listed_on_the_page(app, researcher_client):
    survey, client = researcher_client
    upload(client, survey.id, BAD.encode())
    job = db.session.scalars(select(Job)).one()
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "Nothing was imported: 3 of 5 rows are bad." in page
    assert job.done == job.total == 10  # the job is over: its bar is full
    assert '<span class="job-percent">100</span>%' in page
    assert "<td>3</td><td><code>tier</code></td><td>&#39;Z&#39;: Not a valid choice.</td>" in page
    assert "<td>5</td><td><code></code></td><td>more cells than the header has columns</td>" in page
    report = client.get(f"/staff/jobs/{job.id}/file")
    lines = report.get_data(as_text=True).splitlines()
    report.close()
    assert report.mimetype == "text/csv" and lines[0] == "line,column,reason"
    assert "3,tier,'Z': Not a valid choice." in lines and len(lines) == 11
    assert responses() == 0


def test_a_partial_import_from_the_page(app, researcher_client):
    survey, client = researcher_client
    upload(client, survey.id, BAD.encode(), allow_partial="y")
    job = db.session.scalars(select(Job)).one()
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "2 responses imported; 0 were there already." in page
    assert "3 bad rows were left out." in page and responses() == 2


def test_problems_in_chinese_for_a_chinese_page(app, researcher_client):
    survey, client = researcher_client
    client.get("/staff/?lang=zh")
    upload(client, survey.id, b"P_TA1\n9\n")
    job = db.session.scalars(select(Job)).one()
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "请在 1 到 7 之间选择一个分值。" in page


def test_the_upload_has_a_limit_of_its_own(app, researcher_client, monkeypatch):
    survey, client = researcher_client
    big = b"P_TA1,SUGGESTION\n" + (b"5," + b"w" * 1000 + b"\n") * 2100  # 2.1 MB
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]  # more than a survey page may send
    assert upload(client, survey.id, big).status_code == 302
    assert responses() == 2100
    assert ROUTE_LIMITS["imports.upload"] == 200 * 1024 * 1024
    monkeypatch.setitem(ROUTE_LIMITS, "imports.upload", 100_000)
    assert upload(client, survey.id, big[:150_000]).status_code == 413


def test_only_csv_and_xlsx(app, researcher_client):
    survey, client = researcher_client
    refused = upload(client, survey.id, b"{}", name="data.json")
    assert refused.status_code == 422 and "Give a .csv or .xlsx file." in refused.get_data(
        as_text=True
    )
    assert db.session.scalars(select(Job)).all() == []


def test_a_file_that_cannot_be_read_fails_the_job_with_its_reason(app, researcher_client):
    survey, client = researcher_client
    upload(client, survey.id, b"P_TAX\n1\n")
    job = db.session.scalars(select(Job)).one()
    assert job.status == "failed" and "line 1, column P_TAX: not a column" in job.error
    assert "not a column of servqual-22" in client.get(f"/staff/jobs/{job.id}").get_data(
        as_text=True
    )


def test_an_upload_cut_short_fails_the_job_and_stores_nothing(app, researcher_client):
    survey, client = researcher_client
    upload(client, survey.id, b"P_TA1,NPS,tier\n5,9,A\n3,4", allow_partial="y")
    job = db.session.scalars(select(Job)).one()
    assert job.status == "failed" and responses() == 0
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert (
        "paper.csv, line 3: the file ends inside this row (2 of 3 cells): it looks cut short; "
        "nothing was imported" in page
    )
    assert not Path(job.options["upload"]).exists()


def test_roles_that_may_not_import(app, make_survey, make_user):
    survey, _q = make_survey("servqual-22")
    for role, status in (("manager", 403), ("executive", 403), ("unit_admin", 200)):
        client = app.test_client()
        units = () if role == "executive" else ("default",)
        login_as(client, make_user(role, units))
        assert client.get(f"/staff/surveys/{survey.id}/import").status_code == status, role
