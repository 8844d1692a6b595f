"""The staff export page: the same export as the command line, run as a background job
with its progress on a page, audited, masked without the personal-data grant."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from sqlalchemy import select

from survey_app import jobs
from survey_app.extensions import db
from survey_app.models import AuditEntry, Job

from ..conftest import csrf_token, login_as
from .exports_data import NAMING, add_servqual_responses
from .test_exports import export, read_csv


@pytest.fixture
def servqual(app, make_survey):
    survey, q = make_survey("servqual-22")
    return survey, add_servqual_responses(survey)


def download(client, url: str):
    """A file response, read and closed (send_file streams it)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def post_export(client, survey_id: str, **fields):
    page = client.get(f"/staff/surveys/{survey_id}/export")
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "fmt": "csv", **fields}
    return client.post(f"/staff/surveys/{survey_id}/export", data=data)


def test_the_page_exports_what_the_command_line_does(app, servqual, make_user, tmp_path):
    survey, responses = servqual
    researcher = make_user("researcher", ("default",), personal=True)
    client = app.test_client()
    login_as(client, researcher)
    page = client.get(f"/staff/surveys/{survey.id}/export")
    html = page.get_data(as_text=True)
    assert 'name="seg_tier"' in html and 'value="sav"' in html and 'name="missing_code"' in html
    posted = post_export(client, survey.id, fmt="csv", seg_tier=["A", "B"], seg_region="north")
    assert posted.status_code == 302
    job_url = posted.headers["Location"]
    job = db.session.scalars(select(Job)).one()
    assert job_url.endswith(f"/staff/jobs/{job.id}") and job.status == "done"
    shown = client.get(job_url).get_data(as_text=True)
    assert f"/staff/jobs/{job.id}/file" in shown and f"{survey.id}-v1.csv" in shown
    got = download(client, f"/staff/jobs/{job.id}/file")
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert "filename=servqual-22-v1.csv" in got.headers["Content-Disposition"]
    cli = export(
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
    )
    assert got.data == cli.read_bytes()
    assert read_csv(cli)["response_id"].tolist() == [str(responses[i].id) for i in (0, 4, 5)]
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("export") == 2 and "export.download" in actions
    entry = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.actor == researcher.email, AuditEntry.action == "export"
        )
    ).one()
    assert json.loads(entry.details)["job"] == job.id


def test_spss_from_the_page(app, servqual, make_user):
    import pyreadstat

    survey, _ = servqual
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",), personal=True))
    posted = post_export(client, survey.id, fmt="sav", lang="zh", missing_code="-9")
    job = db.session.scalars(select(Job)).one()
    data = download(client, f"/staff/jobs/{job.id}/file").data
    path = app.config["JOB_FOLDER"] + "/check.sav"
    with open(path, "wb") as handle:
        handle.write(data)
    frame, meta = pyreadstat.read_sav(path, user_missing=True)
    assert posted.status_code == 302 and frame["P_TA1"][2] == -9
    assert meta.column_names_to_labels["tier"] == "客户等级"


def test_bad_options_are_shown_on_the_page(app, servqual, make_user):
    survey, _ = servqual
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",)))
    refused = post_export(client, survey.id, fmt="sav", bom="y")
    assert refused.status_code == 422
    assert "--bom is for CSV files" in refused.get_data(as_text=True)
    clash = post_export(client, survey.id, fmt="sav", missing_code="5")
    assert "it is a valid answer to E_TA1" in clash.get_data(as_text=True)
    assert db.session.scalars(select(Job)).all() == []


def test_personal_columns_masked_on_the_page(app, make_survey, make_user, tmp_path):
    from survey_app.surveys.services import record_response

    path = tmp_path / "naming-check.yaml"
    path.write_text(NAMING, encoding="utf-8")
    survey, _q = make_survey(path=path)
    record_response(survey, {"PHONE": "555 0100", "NOTE": "fine", "branch": "north"})
    db.session.commit()
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",), personal=False))
    page = client.get(f"/staff/surveys/{survey.id}/export").get_data(as_text=True)
    assert "Personal columns are masked" in page
    post_export(client, survey.id, fmt="csv")
    job = db.session.scalars(select(Job)).one()
    frame = pd.read_csv(io.BytesIO(download(client, f"/staff/jobs/{job.id}/file").data), dtype=str)
    assert frame["PHONE"].tolist() == ["***"] and frame["NOTE"].tolist() == ["fine"]
    assert frame["branch"].isna().all()


def test_jobs_belong_to_whoever_started_them(app, servqual, make_user):
    survey, _ = servqual
    owner = make_user("researcher", ("default",))
    client = app.test_client()
    login_as(client, owner)
    post_export(client, survey.id)
    job = db.session.scalars(select(Job)).one()
    other = app.test_client()
    login_as(other, make_user("admin"))
    assert other.get(f"/staff/jobs/{job.id}").status_code == 404
    assert other.get(f"/staff/jobs/{job.id}/file").status_code == 404
    assert client.get("/staff/jobs/not-a-job").status_code == 404


def test_progress_on_the_page_and_as_json(app, servqual, make_user):
    survey, _ = servqual
    user = make_user("researcher", ("default",))
    job = jobs.new_job("export", survey, user, {"args": {"fmt": "csv"}}, total=40)
    job.status, job.done = "running", 15
    db.session.commit()
    client = app.test_client()
    login_as(client, user)
    html = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert re.search(r'<progress class="job-progress" max="40" value="15"', html)
    assert 'data-status="running"' in html and "jobs.js" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    status = client.get(f"/staff/jobs/{job.id}/status").get_json()
    assert status == {
        "id": job.id,
        "kind": "export",
        "survey_id": survey.id,
        "status": "running",
        "done": 15,
        "total": 40,
        "error": None,
        "result": None,
        "file": None,
    }


def test_a_job_runs_in_the_background_and_counts_its_rows(app, make_survey, make_user, monkeypatch):
    from survey_app import storage
    from survey_app.demo import add_demo_responses

    survey, _q = make_survey("servqual-22")
    add_demo_responses(survey, 60, seed=3)
    monkeypatch.setattr(storage, "EXPORT_CHUNK", 7)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0.0)
    seen = []
    real = jobs._Progress.flush

    def spy(self):
        seen.append(self.done)
        real(self)

    monkeypatch.setattr(jobs._Progress, "flush", spy)
    app.config["JOBS_SYNC"] = False
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",)))
    post_export(client, survey.id, fmt="parquet")
    jobs.wait_all(60)
    db.session.expire_all()
    job = db.session.scalars(select(Job)).one()
    assert job.status == "done" and job.done == job.total == 60 and job.result["rows"] == 60
    assert seen[:3] == [7, 14, 21] and seen[-1] == 60


def test_a_failed_job_says_why(app, servqual, make_user, monkeypatch):
    from survey_app.exports import writers

    survey, _ = servqual
    monkeypatch.setattr(writers, "XLSX_MAX_ROWS", 2)
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",)))
    post_export(client, survey.id, fmt="xlsx")
    job = db.session.scalars(select(Job)).one()
    assert job.status == "failed" and "holds at most 2 rows" in job.error
    page = client.get(f"/staff/jobs/{job.id}").get_data(as_text=True)
    assert "holds at most 2 rows" in page
    assert client.get(f"/staff/jobs/{job.id}/file").status_code == 404


def test_a_stale_job_is_reported_as_interrupted(app, servqual, make_user):
    from datetime import timedelta

    from survey_app.models import utcnow

    survey, _ = servqual
    user = make_user("researcher", ("default",))
    job = jobs.new_job("export", survey, user, {"args": {"fmt": "csv"}}, total=10)
    job.status = "running"
    job.updated_at = utcnow() - timedelta(minutes=30)
    db.session.commit()
    client = app.test_client()
    login_as(client, user)
    status = client.get(f"/staff/jobs/{job.id}/status").get_json()
    assert status["status"] == "failed" and "interrupted" in status["error"]


def test_old_files_are_deleted_and_then_gone(app, servqual, make_user):
    from datetime import timedelta
    from pathlib import Path

    from survey_app.models import utcnow

    survey, _ = servqual
    client = app.test_client()
    login_as(client, make_user("researcher", ("default",)))
    post_export(client, survey.id)
    job = db.session.scalars(select(Job)).one()
    path = Path(job.path)
    assert path.is_file()
    job.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    post_export(client, survey.id)  # a new export prunes the old files
    db.session.expire_all()
    assert not path.exists() and db.session.get(Job, job.id).path == ""
    assert client.get(f"/staff/jobs/{job.id}/file").status_code == 410  # gone


def test_the_survey_page_links_to_the_export_for_roles_that_may(app, servqual, make_user):
    survey, _ = servqual
    for role, shown in (("researcher", True), ("manager", False), ("executive", True)):
        client = app.test_client()
        units = () if role == "executive" else ("default",)
        login_as(client, make_user(role, units))
        html = client.get(f"/staff/surveys/{survey.id}").get_data(as_text=True)
        assert (f"/staff/surveys/{survey.id}/export" in html) is shown, role
