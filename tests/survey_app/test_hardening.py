"""Odd and hostile requests: each a clear 4xx (or a fresh start), never a 500, and
nothing stored that should not be."""

from __future__ import annotations

import http.client
import io
import logging
import multiprocessing
import os
import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config import DEFAULT_BASE_URL, ROOT, Config, TestConfig
from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.surveys.services import sign_key, stored_answers

from ..conftest import SurveyTaker, csrf_token, hidden, page_answers


def count_responses() -> int:
    return db.session.scalar(select(func.count()).select_from(Response))


# -- unknown query arguments ---------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    ["?endpoint=x", "?_method=x", "?_scheme=x&_external=", "?_anchor=x&values=1", "?lang=zh&x=1"],
)
@pytest.mark.parametrize("path", ["/", "/s/servqual-22", "/s/servqual-22/thanks", "/nowhere"])
def test_unknown_query_arguments_are_ignored(client, make_survey, path, query):
    make_survey("servqual-22")
    response = client.get(path + query)
    assert response.status_code == (404 if path == "/nowhere" else 200)
    links = re.findall(r'hreflang="\w+"|href="([^"]*lang=[^"]*)"', response.text)
    for link in filter(None, links):
        assert "endpoint" not in link and "_method" not in link and "_scheme" not in link


def test_language_links_keep_the_arguments_the_page_knows(client, make_survey):
    survey, _ = make_survey("servqual-22")
    html = client.get(f"/s/{survey.id}?t=&page=1&junk=2").text
    link = re.search(r'href="([^"]*lang=zh[^"]*)"', html).group(1)
    assert "page=1" in link and "junk" not in link


# -- server-made response keys ------------------------------------------------------------
def test_a_made_up_form_key_starts_a_fresh_response_under_a_server_key(client, make_survey):
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    made_up = "attacker-chosen-key-0123456789"
    form = {
        "csrf_token": csrf_token(taker.page_html),
        "rk": made_up,
        "page": "1",
        **page_answers(q, 1),
    }
    assert client.post(f"/s/{survey.id}", data=form).status_code == 302
    row = db.session.scalars(select(Response)).one()
    assert row.key != made_up and made_up not in row.key


def test_another_surveys_key_starts_a_fresh_response_not_a_500(client, app, make_survey):
    first, q1 = make_survey("servperf-short")
    other, q2 = make_survey("airport")
    taker = SurveyTaker(client, first.id)
    taker.open()
    taker.submit(page_answers(q1, 1), follow=True)
    existing = db.session.scalars(select(Response)).one()
    # the first survey's signed key, posted to the other survey
    client2 = app.test_client()
    other_taker = SurveyTaker(client2, other.id)
    other_taker.open()
    form = {
        "csrf_token": csrf_token(other_taker.page_html),
        "rk": sign_key(first.id, existing.key),
        "page": "1",
        **page_answers(q2, 1),
    }
    assert client2.post(f"/s/{other.id}", data=form).status_code == 302
    rows = db.session.scalars(select(Response).order_by(Response.id)).all()
    assert len(rows) == 2 and rows[1].survey_id == other.id and rows[1].key != existing.key
    # a resume link of the first survey opened on the other one starts afresh as well
    fresh = app.test_client().get(f"/s/{other.id}?r={existing.key}")
    assert fresh.status_code == 200 and "Page 1 of" in fresh.text


def test_a_made_up_resume_link_creates_nothing(client, make_survey):
    survey, _ = make_survey("servperf-short")
    response = client.get(f"/s/{survey.id}?r={'x' * 32}")
    assert response.status_code == 200 and "Page 1 of" in response.text
    assert count_responses() == 0


def test_a_first_page_sent_again_after_a_failure_lands_in_one_response(client, make_survey):
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    assert taker.submit(page_answers(q, 1, T1="9")).status_code == 422  # shown again
    first_form = taker.page_html
    assert taker.submit(page_answers(q, 1, value=2)).status_code == 302
    # the answer was lost on the way back (a dropped connection): the browser forgets
    # the response and sends the same form again
    with client.session_transaction() as session:
        session.pop(f"r:{survey.id}", None)
    taker.page_html = first_form
    assert taker.submit(page_answers(q, 1, value=4)).status_code == 302
    assert count_responses() == 1
    assert stored_answers(db.session.scalars(select(Response)).one())["T1"] == 4


# -- odd requests ----------------------------------------------------------------------------
def test_a_file_in_place_of_an_answer_is_refused(client, make_survey):
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    data = {
        "csrf_token": csrf_token(taker.page_html),
        "rk": hidden(taker.page_html, "rk"),
        "page": "1",
        **page_answers(q, 1),
        "q_T1": (io.BytesIO(b"5"), "answer.txt"),
    }
    response = client.post(f"/s/{survey.id}", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "Files cannot be sent here." in response.text
    assert count_responses() == 0


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/s/servperf-short%00", 404),
        ("/s/%00", 404),
        ("/s/servperf-short?t=%00abc", 400),
        ("/s/servperf-short?r=ab%00cd", 400),
        ("/s/servperf-short/thanks?t=%00", 400),
    ],
)
def test_a_nul_byte_in_the_url_is_refused(client, make_survey, path, status):
    make_survey("servperf-short")
    assert client.get(path).status_code == status


def test_a_nul_byte_in_an_answer_is_refused(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    response = taker.submit(page_answers(q, 1, P_TA1="5\x00"))
    assert response.status_code == 400 and count_responses() == 0


def test_a_chunked_body_over_the_limit_is_refused_not_cut(live_server, make_survey, app):
    survey, q = make_survey("servperf-short")
    limit = app.config["MAX_CONTENT_LENGTH"]
    host, port = live_server.removeprefix("http://").split(":")
    body = b"q_T1=5&padding=" + b"x" * (limit + 1000)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", f"/s/{survey.id}")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), 65536):
        chunk = body[start : start + 65536]
        connection.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    connection.send(b"0\r\n\r\n")
    assert connection.getresponse().status == 413
    assert count_responses() == 0


def test_a_small_chunked_body_is_read_whole(client, make_survey):
    """The guard reads chunked bodies itself: one under the limit must still arrive."""
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    data = {
        "csrf_token": csrf_token(taker.page_html),
        "rk": hidden(taker.page_html, "rk"),
        "page": "1",
        **page_answers(q, 1),
    }
    body = "&".join(f"{k}={v}" for k, v in data.items()).encode()
    response = client.post(
        f"/s/{survey.id}",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        environ_overrides={"wsgi.input_terminated": True},
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 302
    assert stored_answers(db.session.scalars(select(Response)).one())["T1"] == 5


# -- links and hosts -----------------------------------------------------------------------
def test_a_forged_host_header_never_reaches_the_resume_link(client, make_survey):
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1))
    key = db.session.scalars(select(Response)).one().key
    html = client.get(f"/s/{survey.id}?r={key}", headers={"Host": "evil.example"}).text
    links = re.findall(r'href="(https?://[^"]+)"', html)
    assert links and all(link.startswith("http://survey.test/") for link in links)
    assert "evil.example" not in html


def test_trusted_hosts_refuse_other_hosts(make_survey, other_app):
    client = other_app({"TRUSTED_HOSTS": ["survey.test"]}).test_client()
    assert client.get("/", headers={"Host": "survey.test"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def test_the_default_base_url_is_where_the_demo_serves():
    demo = (ROOT / "scripts" / "demo.sh").read_text()
    port = re.search(r"PORT:-(\d+)", demo).group(1)
    assert f"http://127.0.0.1:{port}" == DEFAULT_BASE_URL


# -- the secret key --------------------------------------------------------------------------
def test_no_secret_key_is_known_from_the_source(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    source = (ROOT / "config.py").read_text()
    assert not re.search(r"SECRET_KEY\s*=\s*os\.environ\.get\([^)]*,", source)
    assert Config.SECRET_KEY is None or os.environ.get("SECRET_KEY") == Config.SECRET_KEY


def test_without_a_secret_key_one_is_generated_privately_and_shared(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    overrides = {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    first = create_app(TestConfig, overrides, instance_path=tmp_path)
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key) >= 32 and first.secret_key == key_file.read_text()
    assert "generated a random key" in caplog.text
    second = create_app(TestConfig, overrides, instance_path=tmp_path)
    assert second.secret_key == first.secret_key
    other = create_app(TestConfig, overrides, instance_path=tmp_path / "elsewhere")
    assert other.secret_key != first.secret_key


def _key_in(instance: str) -> str:
    app = create_app(
        TestConfig, {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance
    )
    return app.secret_key


def test_processes_starting_together_share_one_generated_key(tmp_path: Path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_key_in, [str(tmp_path)] * 8)
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left
