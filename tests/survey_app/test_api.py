"""The JSON API (/api/v1): tokens, access, responses with paging and masking, exports,
analysis, answer submission, JSON errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from survey_app.api.tokens import create_token
from survey_app.extensions import db
from survey_app.models import ApiToken, AuditEntry, Invitation, Response
from survey_app.surveys.services import create_invitations, record_response

from ..conftest import csrf_token, login_as
from .exports_data import DAY, NAMING, add_servqual_responses, servqual_answers


def make_token(user, name: str = "test") -> str:
    _row, token = create_token(user, name)
    db.session.commit()
    return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def as_json(response) -> dict:
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:300]
    return response.get_json()


def in_unit(survey, unit_id: str = "unit-a") -> None:
    from survey_app.auth.services import create_unit
    from survey_app.models import Unit

    if db.session.get(Unit, unit_id) is None:
        create_unit(unit_id, unit_id.title())
    survey.unit_id = unit_id
    db.session.commit()


@pytest.fixture
def servqual(make_survey):
    survey, q = make_survey("servqual-22")
    in_unit(survey)
    return survey, q


@pytest.fixture
def researcher(make_user, servqual):
    return make_user("researcher", ("unit-a",))


STAFF_URLS = [
    ("GET", "/api/v1/surveys"),
    ("GET", "/api/v1/surveys/servqual-22"),
    ("GET", "/api/v1/surveys/servqual-22/questionnaire"),
    ("GET", "/api/v1/surveys/servqual-22/responses"),
    ("POST", "/api/v1/surveys/servqual-22/exports"),
    ("GET", "/api/v1/exports/abc"),
    ("GET", "/api/v1/exports/abc/file"),
    ("GET", "/api/v1/surveys/servqual-22/analysis"),
]


# -- tokens ---------------------------------------------------------------------------------
def test_create_token_prints_the_token_alone_on_the_last_line(app, researcher, client):
    result = app.test_cli_runner().invoke(
        args=["create-token", researcher.email.upper(), "--name", "laptop"]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.rstrip("\n").splitlines()[-1]
    assert token.startswith("sv_") and " " not in token and len(token) > 40
    row = db.session.scalars(select(ApiToken)).one()
    assert row.name == "laptop" and row.user_id == researcher.id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.prefix, row.token_hash, row.name)  # stored hashed only
    response = client.get("/api/v1/surveys", headers=bearer(token))
    assert response.status_code == 200
    assert [s["id"] for s in as_json(response)["items"]] == ["servqual-22"]


def test_create_token_refuses_an_unknown_account(app):
    result = app.test_cli_runner().invoke(args=["create-token", "nobody@example.com"])
    assert result.exit_code == 1 and "no account" in result.output


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer sv_wrong", "Bearer x"])
def test_every_staff_route_answers_401_json_without_a_valid_token(client, researcher, header):
    headers = {"Authorization": header} if header else {}
    for method, url in STAFF_URLS:
        response = client.open(url, method=method, headers=headers, json={"format": "csv"})
        assert response.status_code == 401, (method, url)
        body = as_json(response)
        assert body["status"] == 401 and ("token" in body["error"] or "Bearer" in body["error"])
        assert "Location" not in response.headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_session_cookie_alone_drives_no_api_call(client, researcher, servqual):
    """A signed-in browser's cookie is not an API credential: no CSRF hole."""
    login_as(client, researcher)
    assert client.get("/staff/").status_code == 200  # the session works on the pages
    for method, url in STAFF_URLS:
        response = client.open(url, method=method, json={"format": "csv"})
        assert response.status_code == 401, (method, url)
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
        )
        == 0
    )


def test_a_revoked_token_stops_at_once_and_use_is_audited(client, researcher, servqual):
    token = make_token(researcher, "script")
    assert client.get("/api/v1/surveys/servqual-22", headers=bearer(token)).status_code == 200
    used = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "api_token.use")).all()
    assert [e.actor for e in used] == [researcher.email]
    assert json.loads(used[0].details)["path"] == "/api/v1/surveys/servqual-22"
    row = db.session.scalars(select(ApiToken)).one()
    assert row.last_used_at is not None
    # revoked on the staff page
    login_as(client, researcher)
    page = client.get("/staff/tokens/")
    assert page.status_code == 200 and "script" in page.get_data(as_text=True)
    response = client.post(
        f"/staff/tokens/{row.id}/revoke", data={"csrf_token": csrf_token(page.get_data(True))}
    )
    assert response.status_code == 302
    refused = client.get("/api/v1/surveys/servqual-22", headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in as_json(refused)["error"]
    assert db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("api_token.%"))
        .order_by(AuditEntry.id)
    ).all() == ["api_token.create", "api_token.use", "api_token.revoke"]


def test_a_disabled_account_s_token_stops(client, researcher, servqual):
    from survey_app.auth.services import disable_user

    token = make_token(researcher)
    disable_user(researcher)
    db.session.commit()
    assert client.get("/api/v1/surveys", headers=bearer(token)).status_code == 401


def test_token_pages_show_own_tokens_and_admins_all(client, make_user, researcher):
    other = make_user("manager", ("unit-a",))
    admin = make_user("admin")
    make_token(researcher, "mine")
    theirs = db.session.get(ApiToken, db.session.scalars(select(ApiToken.id)).one())
    make_token(other, "theirs")
    login_as(client, other)
    html = client.get("/staff/tokens/").get_data(as_text=True)
    assert "theirs" in html and "mine" not in html
    token = csrf_token(html)
    # not another account's token (404, as if it did not exist)
    assert (
        client.post(f"/staff/tokens/{theirs.id}/revoke", data={"csrf_token": token}).status_code
        == 404
    )
    assert db.session.get(ApiToken, theirs.id).revoked_at is None
    admin_client = client.application.test_client()
    login_as(admin_client, admin)
    html = admin_client.get("/staff/tokens/").get_data(as_text=True)
    assert "theirs" in html and "mine" in html and researcher.email in html


def test_a_token_made_on_the_staff_page_is_shown_once(client, researcher):
    login_as(client, researcher)
    html = client.get("/staff/tokens/").get_data(as_text=True)
    made = client.post("/staff/tokens/", data={"csrf_token": csrf_token(html), "name": "notebook"})
    assert made.status_code == 201
    text = made.get_data(as_text=True)
    token = text.split('<code id="new-token">')[1].split("</code>")[0]
    assert client.get("/api/v1/surveys", headers=bearer(token)).status_code == 200
    again = client.get("/staff/tokens/").get_data(as_text=True)
    assert token not in again and token[:12] in again


# -- access ---------------------------------------------------------------------------------
def test_roles_and_units_as_on_the_pages(client, make_user, servqual):
    manager = make_token(make_user("manager", ("unit-a",)))
    outsider = make_token(make_user("researcher", ("unit-b",)))
    agent = make_token(make_user("agent", ("unit-a",)))
    # a manager sees reports, not single responses nor exports
    denied = client.get("/api/v1/surveys/servqual-22/responses", headers=bearer(manager))
    assert denied.status_code == 403 and "view_responses" in as_json(denied)["error"]
    export = client.post(
        "/api/v1/surveys/servqual-22/exports", headers=bearer(manager), json={"format": "csv"}
    )
    assert export.status_code == 403
    analysis = client.get("/api/v1/surveys/servqual-22/analysis", headers=bearer(manager))
    assert analysis.status_code in (200, 202)
    # another unit's survey does not exist for the token
    for url in ("/api/v1/surveys/servqual-22", "/api/v1/surveys/servqual-22/responses"):
        missing = client.get(url, headers=bearer(outsider))
        assert missing.status_code == 404 and "servqual-22" in as_json(missing)["error"]
    assert as_json(client.get("/api/v1/surveys", headers=bearer(outsider)))["items"] == []
    # an agent has no survey pages at all
    assert client.get("/api/v1/surveys", headers=bearer(agent)).status_code == 403


# -- surveys --------------------------------------------------------------------------------
def test_survey_and_questionnaire(client, researcher, servqual):
    survey, q = servqual
    add_servqual_responses(survey)
    token = make_token(researcher)
    one = as_json(client.get("/api/v1/surveys/servqual-22", headers=bearer(token)))
    assert one["id"] == "servqual-22" and one["unit"] == "unit-a" and one["versions"] == [1]
    assert one["responses"] == {"complete": 6, "in_progress": 1}  # the preview not counted
    assert one["title"]["en"] == q.title["en"]
    doc = as_json(client.get(one["links"]["questionnaire"], headers=bearer(token)))
    assert doc["version"] == 1 and doc["questionnaire"]["id"] == "servqual-22"
    assert [s["id"] for s in doc["questionnaire"]["segments"]][:2] == ["tier", "region"]
    bad = client.get("/api/v1/surveys/servqual-22/questionnaire?version=x", headers=bearer(token))
    assert bad.status_code == 400 and "version" in as_json(bad)["error"]
    gone = client.get("/api/v1/surveys/servqual-22/questionnaire?version=9", headers=bearer(token))
    assert gone.status_code == 404


# -- responses ------------------------------------------------------------------------------
def test_responses_carry_the_metadata_and_answers(client, researcher, servqual):
    survey, _q = servqual
    made = add_servqual_responses(survey)
    token = make_token(researcher)
    page = as_json(client.get("/api/v1/surveys/servqual-22/responses", headers=bearer(token)))
    assert page["next"] is None
    items = page["items"]
    assert [i["response_id"] for i in items] == [r.id for r in made]
    first = items[0]
    assert list(first) == [
        "response_id",
        "version",
        "started_at",
        "submitted_at",
        "lang",
        "complete",
        "answers",
    ]
    assert first["version"] == 1 and first["complete"] is True and first["lang"] == "en"
    assert first["started_at"].startswith("2026-01-01T09:30:00")
    assert first["submitted_at"].startswith("2026-01-01T09:38:00")
    assert first["answers"]["E_TA1"] == 7 and first["answers"]["P_TA1"] == 6
    assert first["answers"]["NPS"] == 10 and first["answers"]["tier"] == "A"
    third = items[2]["answers"]
    assert third["P_TA1"] is None and third["NPS"] is None  # unanswered stays null
    assert third["SUGGESTION"] == "***"  # open text is personal: masked without the grant
    # the export's filters
    north = as_json(
        client.get("/api/v1/surveys/servqual-22/responses?region=north", headers=bearer(token))
    )
    assert [i["answers"]["region"] for i in north["items"]] == ["north"] * 3
    window = as_json(
        client.get(
            "/api/v1/surveys/servqual-22/responses?from=2026-01-02&to=2026-01-03&all=1",
            headers=bearer(token),
        )
    )
    assert [i["response_id"] for i in window["items"]] == [made[1].id, made[2].id]


def test_personal_answers_need_the_grant(client, make_user, make_survey, tmp_path):
    path = tmp_path / "naming-check.yaml"
    path.write_text(NAMING, encoding="utf-8")
    survey, _q = make_survey(path=path)
    in_unit(survey)
    record_response(survey, {"PHONE": "555 0100", "NOTE": "thanks", "branch": "north", "q1": 3})
    db.session.commit()
    plain = make_token(make_user("researcher", ("unit-a",)))
    granted = make_token(make_user("researcher", ("unit-a",), personal=True))
    url = "/api/v1/surveys/naming-check/responses"
    masked = as_json(client.get(url, headers=bearer(plain)))
    answers = masked["items"][0]["answers"]
    assert masked["masked"] is True
    assert answers["PHONE"] == "***" and answers["branch"] is None  # personal segment
    assert answers["NOTE"] == "thanks" and answers["q1"] == 3  # not personal
    shown = as_json(client.get(url, headers=bearer(granted)))["items"][0]["answers"]
    assert shown["PHONE"] == "555 0100" and shown["branch"] == "north"


def test_paging_through_a_large_survey(client, researcher, servqual):
    survey, _q = servqual
    total = 2500
    tiers = ("A", "B", "C")
    answers = [servqual_answers(1 + v) for v in range(7)]
    made = []
    for n in range(total):
        response = record_response(survey, {**answers[n % 7], "NPS": n % 11, "tier": tiers[n % 3]})
        response.completed_at = DAY + timedelta(minutes=n)
        made.append(response)
    unfinished = record_response(survey, servqual_answers(3), complete=False)
    db.session.commit()
    number = {response.id: n for n, response in enumerate(made)}  # what each id was given
    token = make_token(researcher)
    url = "/api/v1/surveys/servqual-22/responses?limit=1000"
    seen, pages = [], 0
    while url:
        page = as_json(client.get(url, headers=bearer(token)))
        seen += page["items"]
        url = page["next"]
        pages += 1
        assert pages <= 4
    assert pages == 3 and len(seen) == total
    ids = [i["response_id"] for i in seen]
    assert ids == sorted(number)  # each once, in id order
    for item in seen:
        n = number[item["response_id"]]
        assert item["answers"]["NPS"] == n % 11 and item["answers"]["tier"] == tiers[n % 3]
        assert item["answers"]["E_TA1"] == 1 + n % 7
    # a filter pages too, and the cursor keeps it
    url = "/api/v1/surveys/servqual-22/responses?tier=B&limit=300"
    got = []
    while url:
        page = as_json(client.get(url, headers=bearer(token)))
        assert parse_qs(urlsplit(url).query)["tier"] == ["B"]
        got += [i["response_id"] for i in page["items"]]
        url = page["next"]
    assert got == [i for i in sorted(number) if number[i] % 3 == 1]
    # all=1: the incomplete one too, at the end
    url = "/api/v1/surveys/servqual-22/responses?all=1&limit=1000"
    everything = []
    while url:
        page = as_json(client.get(url, headers=bearer(token)))
        everything += page["items"]
        url = page["next"]
    assert len(everything) == total + 1
    assert [i["response_id"] for i in everything if not i["complete"]] == [unfinished.id]


@pytest.mark.parametrize(
    "query, where",
    [
        ("cursor=abc", "cursor"),
        ("cursor=", None),
        ("cursor=eyJhZnRlciI6IDF9", "cursor"),
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
        ("region=mars", "region"),
        ("nonsense=1", "nonsense"),
        ("from=yesterday", "from"),
        ("version=7", "version"),
    ],
)
def test_bad_listing_parameters_are_400_json_naming_them(
    client, researcher, servqual, query, where
):
    add_servqual_responses(servqual[0])
    token = make_token(researcher)
    response = client.get(f"/api/v1/surveys/servqual-22/responses?{query}", headers=bearer(token))
    if where is None:  # an empty cursor is the first page
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert where in as_json(response)["error"]


def test_a_cursor_is_refused_under_other_filters_or_another_survey(client, researcher, servqual):
    add_servqual_responses(servqual[0])
    token = make_token(researcher)
    first = as_json(
        client.get("/api/v1/surveys/servqual-22/responses?limit=2", headers=bearer(token))
    )
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    other = client.get(
        f"/api/v1/surveys/servqual-22/responses?limit=2&tier=A&cursor={cursor}",
        headers=bearer(token),
    )
    assert other.status_code == 400 and "filters" in as_json(other)["error"]
    forged = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    response = client.get(
        f"/api/v1/surveys/servqual-22/responses?limit=2&cursor={forged}", headers=bearer(token)
    )
    assert response.status_code == 400 and "cursor" in as_json(response)["error"]


# -- exports --------------------------------------------------------------------------------
def test_an_export_through_the_api(client, researcher, make_user, servqual):
    survey, _q = servqual
    made = add_servqual_responses(survey)
    token = make_token(researcher)
    started = client.post(
        "/api/v1/surveys/servqual-22/exports",
        headers=bearer(token),
        json={"format": "csv", "where": ["tier=A"], "from": "2026-01-01"},
    )
    assert started.status_code == 202
    body = as_json(started)
    assert set(body) >= {"id", "status"} and body["status"] == "done"  # JOBS_SYNC in tests
    progress = as_json(client.get(f"/api/v1/exports/{body['id']}", headers=bearer(token)))
    assert progress["status"] == "done" and progress["result"]["rows"] == 3
    assert progress["file"].endswith(f"/api/v1/exports/{body['id']}/file")
    download = client.get(f"/api/v1/exports/{body['id']}/file", headers=bearer(token))
    assert download.status_code == 200 and download.mimetype == "text/csv"
    text = download.get_data(as_text=True)
    download.close()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(row["response_id"]) for row in rows] == [made[0].id, made[3].id, made[5].id]
    assert [row["tier"] for row in rows] == ["A", "A", "A"]
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("export%")).order_by(AuditEntry.id)
    ).all()
    assert actions == ["export", "export.download"]
    # another account's export does not exist for this one
    other = make_token(make_user("researcher", ("unit-a",)))
    assert client.get(f"/api/v1/exports/{body['id']}", headers=bearer(other)).status_code == 404


@pytest.mark.parametrize(
    "body, where",
    [
        ({}, "format"),
        ({"format": "pdf"}, "format"),
        ({"format": "csv", "layout": "tall"}, "layout"),
        ({"format": "csv", "scores": "yes"}, "scores"),
        ({"format": "csv", "where": ["tier"]}, "tier"),
        ({"format": "csv", "segments": {"tier": "Z"}}, "tier"),
        ({"format": "csv", "colour": 1}, "colour"),
        ({"format": "csv", "version": 4}, "version"),
        ({"format": "dta", "missing_code": 3}, "missing-code"),
        ([1, 2], "object"),
    ],
)
def test_bad_export_options_are_400_json(client, researcher, servqual, body, where):
    token = make_token(researcher)
    response = client.post("/api/v1/surveys/servqual-22/exports", headers=bearer(token), json=body)
    assert response.status_code == 400
    assert where in as_json(response)["error"]
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
        )
        == 0
    )


def test_an_export_needs_a_json_body(client, researcher, servqual):
    token = make_token(researcher)
    response = client.post(
        "/api/v1/surveys/servqual-22/exports", headers=bearer(token), data={"format": "csv"}
    )
    assert response.status_code == 400 and "JSON" in as_json(response)["error"]


# -- analysis -------------------------------------------------------------------------------
def test_analysis_is_the_report_s_data_json(client, researcher, servqual):
    survey, _q = servqual
    add_servqual_responses(survey)
    token = make_token(researcher)
    url = "/api/v1/surveys/servqual-22/analysis?bootstrap=0&tier=A"
    for _attempt in range(60):
        response = client.get(url, headers=bearer(token))
        if response.status_code == 200:
            break
        assert response.status_code == 202
        assert as_json(response)["status"] == "computing"
        assert int(response.headers["Retry-After"]) >= 1
    assert response.status_code == 200
    page_client = client.application.test_client()
    login_as(page_client, researcher)
    data = page_client.get("/reports/servqual-22/data.json?bootstrap=0&tier=A")
    assert data.status_code == 200
    assert as_json(response) == data.get_json()
    bad = client.get("/api/v1/surveys/servqual-22/analysis?factors=abc", headers=bearer(token))
    assert bad.status_code == 400 and "factors" in as_json(bad)["error"]


def test_analysis_answers_202_with_retry_after_while_computing(
    client, researcher, servqual, monkeypatch
):
    from survey_app.api import routes
    from survey_app.reports.services import Pending

    monkeypatch.setattr(routes, "report_json", lambda *a, **k: Pending(retry_after=3))
    token = make_token(researcher)
    response = client.get("/api/v1/surveys/servqual-22/analysis", headers=bearer(token))
    assert response.status_code == 202 and response.headers["Retry-After"] == "3"
    assert as_json(response) == {"status": "computing", "retry_after": 3}


# -- answers from kiosks and apps -----------------------------------------------------------
def api_answers(q, number: int, value: int = 5, preset=frozenset(), **override) -> dict:
    from ..conftest import page_answers

    form = page_answers(q, number, value, preset, **override)
    return {name[2:]: v for name, v in form.items()}


def test_answers_through_the_api_go_through_the_web_form_s_checks(client, servqual):
    survey, q = servqual
    url = "/api/v1/surveys/servqual-22/answers"
    first = client.post(url, json={"page": 1, "answers": {}})
    assert first.status_code == 422
    body = as_json(first)
    assert body["status"] == "invalid" and body["page"] == 1
    assert {p["code"] for p in body["problems"].values()} == {"required"}
    assert db.session.scalar(select(db.func.count()).select_from(Response)) == 0
    key = None
    pages = len(q.pages)
    for number in range(1, pages + 1):
        answer = client.post(
            url, json={"page": number, "key": key, "answers": api_answers(q, number)}
        )
        assert answer.status_code == 200, answer.get_json()
        body = as_json(answer)
        key = body["key"]
        assert body["pages"] == pages
    assert body["status"] == "complete"
    stored = db.session.scalars(select(Response)).one()
    assert stored.status == "complete" and stored.completed_at is not None
    # the same key again: the response is complete, nothing changes
    again = as_json(client.post(url, json={"page": 1, "key": key, "answers": api_answers(q, 1)}))
    assert again["status"] == "closed"
    # a key the server did not make
    forged = client.post(url, json={"page": 1, "key": "made-up", "answers": {}})
    assert forged.status_code == 400 and "key" in as_json(forged)["error"]


def test_out_of_range_answers_are_refused(client, servqual):
    _survey, q = servqual
    answers = api_answers(q, 1)
    slot = next(iter(answers))
    answers[slot] = 99
    response = client.post(
        "/api/v1/surveys/servqual-22/answers", json={"page": 1, "answers": answers}
    )
    assert response.status_code == 422
    assert as_json(response)["problems"][slot]["code"] == "range"


def test_invitation_surveys_take_the_invitation_token(client, servqual):
    survey, q = servqual
    survey.questionnaire  # noqa: B018
    from dataclasses import replace

    invitation = create_invitations(survey, 1, segments={"tier": "B"})[0]
    db.session.commit()
    url = "/api/v1/surveys/servqual-22/answers"
    wrong = client.post(url, json={"page": 1, "token": "nope", "answers": {}})
    assert wrong.status_code == 404 and "token" in as_json(wrong)["error"]
    preset = frozenset({"tier"})
    answers = api_answers(q, 1, preset=preset)
    done = client.post(url, json={"page": 1, "token": invitation.token, "answers": answers})
    assert done.status_code == 200 and as_json(done)["key"] is None
    stored = db.session.scalars(select(Response)).one()
    assert stored.invitation_id == invitation.id and stored.preset["tier"] == "B"
    del replace


def test_invitation_only_and_closed_surveys_refuse(client, make_survey, tmp_path, servqual):
    survey, _q = servqual
    survey.state = "closed"
    db.session.commit()
    closed = client.post("/api/v1/surveys/servqual-22/answers", json={"page": 1, "answers": {}})
    assert closed.status_code == 403 and "closed" in as_json(closed)["error"]
    text = NAMING.replace("id: naming-check\n", "id: private-check\naccess: invitation\n", 1)
    path = tmp_path / "private.yaml"
    path.write_text(text, encoding="utf-8")
    make_survey(path=path)
    refused = client.post("/api/v1/surveys/private-check/answers", json={"page": 1})
    assert refused.status_code == 403 and "token" in as_json(refused)["error"]
    assert db.session.scalar(select(db.func.count()).select_from(Invitation)) == 0


# -- errors ---------------------------------------------------------------------------------
def test_errors_under_the_api_are_json(client, researcher, servqual):
    token = make_token(researcher)
    cases = [
        (client.get("/api/v1/nothing-here", headers=bearer(token)), 404, "/api/v1/nothing-here"),
        (client.get("/api/v1/surveys/no-such", headers=bearer(token)), 404, "no-such"),
        (client.delete("/api/v1/surveys", headers=bearer(token)), 405, "DELETE"),
        (client.get("/api/v1/exports/xyz", headers=bearer(token)), 404, "xyz"),
        (
            client.post(
                "/api/v1/surveys/servqual-22/exports",
                headers={**bearer(token), "Content-Type": "application/json"},
                data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
            ),
            413,
            "limit",
        ),
        (
            client.post(
                "/api/v1/surveys/servqual-22/answers",
                headers={"Content-Type": "application/json"},
                data=b"{not json",
            ),
            400,
            "JSON",
        ),
    ]
    for response, status, where in cases:
        assert response.status_code == status
        body = as_json(response)
        assert body["status"] == status and where in body["error"], body


def test_the_openapi_document_and_its_page(client):
    doc = as_json(client.get("/api/v1/openapi.json"))
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/surveys/{survey_id}/responses" in doc["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for operations in doc["paths"].values():
        for op in operations.values():
            assert f'id="{op["operationId"]}"' in html
    assert "<script" not in html


def test_a_form_post_cannot_submit_answers(client, servqual):
    """Only a JSON body is read: a cross-site HTML form (urlencoded or text/plain, sent
    without a preflight) is refused before anything is stored."""
    for content_type in ("application/x-www-form-urlencoded", "text/plain"):
        response = client.post(
            "/api/v1/surveys/servqual-22/answers",
            data='{"page": 1, "answers": {}}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 400 and "JSON" in as_json(response)["error"]
    assert db.session.scalar(select(db.func.count()).select_from(Response)) == 0


def test_too_many_submissions_are_429_json(other_app, servqual):
    limited = other_app({"RATELIMIT_ENABLED": True})
    client = limited.test_client()
    statuses = []
    for _ in range(125):
        with limited.app_context():
            response = client.post("/api/v1/surveys/servqual-22/answers", json={"key": "k1"})
        statuses.append(response.status_code)
    assert statuses[:120] == [400] * 120 and statuses[-1] == 429
    body = response.get_json()
    assert body["status"] == 429 and "too many" in body["error"]
    assert response.headers["Retry-After"] == "60"


def test_a_database_outage_is_503_json(client, researcher, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from survey_app.api import routes

    def fail(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    token = make_token(researcher)
    monkeypatch.setattr(routes, "within_units", fail)
    response = client.get("/api/v1/surveys", headers=bearer(token))
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert as_json(response)["status"] == 503


def test_tokens_listed_and_revoked_on_the_command_line(app, researcher, client):
    token = make_token(researcher, "cron job")
    row = db.session.scalars(select(ApiToken)).one()
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["tokens", researcher.email])
    assert listed.exit_code == 0 and "cron job" in listed.output and "active" in listed.output
    assert token not in listed.output
    revoked = runner.invoke(args=["revoke-token", researcher.email, str(row.id)])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/surveys", headers=bearer(token)).status_code == 401
    unknown = runner.invoke(args=["revoke-token", researcher.email, "999"])
    assert unknown.exit_code == 1 and "no token 999" in unknown.output


def test_the_token_decides_who_calls_not_the_session(client, make_user, servqual):
    """A browser signed in as an admin that sends a manager's token acts as the manager."""
    admin = make_user("admin")
    manager = make_token(make_user("manager", ("unit-a",)))
    login_as(client, admin)
    response = client.get("/api/v1/surveys/servqual-22/responses", headers=bearer(manager))
    assert response.status_code == 403
