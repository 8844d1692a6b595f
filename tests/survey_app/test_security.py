"""Headers on every response, rate limits, and bad input on every staff form: each a
clear 4xx and an unchanged database."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import inspect, text

from survey_app.extensions import db

from ..conftest import csrf_token, hidden, login_as, page_answers, sign_in


def snapshot() -> dict:
    """Every row of every table: what "unchanged" is compared with."""
    tables = inspect(db.engine).get_table_names()
    return {
        t: sorted(map(repr, db.session.execute(text(f"SELECT * FROM {t}")).all()))
        for t in tables
        if t != "alembic_version"
    }


@pytest.fixture
def admin_client(app, make_user, make_survey):
    make_survey("servqual-22")
    user = make_user("admin", personal=True, email="boss@example.com")
    client = app.test_client()
    login_as(client, user)
    client.target_user = make_user("manager", ("default",), email="target@example.com")
    return client


@pytest.mark.parametrize(
    "path",
    ["/", "/s/servqual-22", "/login", "/staff/", "/staff/users", "/nowhere", "/static/style.css"],
)
def test_every_response_carries_the_security_headers(admin_client, path):
    response = admin_client.get(path)
    response.close()
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "img-src 'self' data: blob:" in csp and "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http here
    if path.startswith("/staff"):
        assert response.headers["Cache-Control"] == "no-store"


def test_no_page_has_an_inline_script(admin_client):
    for path in (
        "/",
        "/s/servqual-22",
        "/login",
        "/staff/",
        "/staff/surveys/servqual-22",
        "/staff/surveys/servqual-22/invitations",
        "/staff/upload",
        "/staff/users",
        "/staff/audit",
    ):
        html = admin_client.get(path).text
        for tag in html.split("<script")[1:]:
            assert tag.split(">")[0].strip().startswith("src="), (path, tag[:80])
        assert " onclick=" not in html and " onload=" not in html


# -- rate limits ---------------------------------------------------------------------------
def test_logins_are_limited_by_address(client, make_user):
    make_user("admin", email="boss@example.com")
    statuses = [sign_in(client, f"user{i}@example.com", "wrong").status_code for i in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    page = sign_in(client, "boss@example.com")  # even the right password, for now
    assert page.status_code == 429 and "Please wait a minute" in page.text
    assert page.headers["Retry-After"] == "60"


def test_logins_are_limited_by_email_whether_or_not_it_exists(app):
    for email in ("ghost@example.com", "GHOST@example.com "):
        statuses = []
        for i in range(11):
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.0.{i}.{len(email)}"
            statuses.append(sign_in(client, email, "wrong").status_code)
        assert statuses[-1] == 429
        break


def test_answer_submission_allows_sixty_pages_a_minute_per_response(client, make_survey):
    survey, q = make_survey("servperf-short")
    html = client.get(f"/s/{survey.id}").text
    form = {"csrf_token": csrf_token(html), "rk": hidden(html, "rk"), "page": "1"}
    form.update(page_answers(q, 1))
    statuses = [client.post(f"/s/{survey.id}", data=form).status_code for _ in range(60)]
    assert set(statuses) == {302}
    statuses = [client.post(f"/s/{survey.id}", data=form).status_code for _ in range(70)]
    assert statuses[-1] == 429  # a runaway client is stopped after 120


# -- bad input on every staff form ---------------------------------------------------------
FORMS = [
    # (page to take the token from, action, valid-looking fields)
    ("/staff/units", "/staff/units", {"id": "east", "name": "East"}),
    (
        "/staff/users/new",
        "/staff/users/new",
        {"email": "new@example.com", "role": "manager", "units": "default", "password": "x" * 12},
    ),
    ("/staff/users/{user}", "/staff/users/{user}", {"role": "agent", "units": "default"}),
    ("/staff/users/{user}", "/staff/users/{user}/password", {"password": "y" * 12}),
    ("/staff/users", "/staff/users/{user}/disable", {}),
    ("/staff/surveys/servqual-22", "/staff/surveys/servqual-22/state", {"state": "closed"}),
    (
        "/staff/surveys/servqual-22",
        "/staff/surveys/servqual-22/responses/delete",
        {"reference": "1"},
    ),
    ("/staff/surveys/servqual-22", "/staff/surveys/servqual-22/preview", {}),
    (
        "/staff/surveys/servqual-22/invitations",
        "/staff/surveys/servqual-22/invitations",
        {"count": "3"},
    ),
    (
        "/staff/password",
        "/staff/password",
        {"current": "correct horse battery", "password": "z" * 12, "confirm": "z" * 12},
    ),
    ("/staff/", "/logout", {}),
]


def form_urls(client, page, action):
    user = client.target_user.id
    return page.format(user=user), action.format(user=user)


@pytest.mark.parametrize(("page", "action", "fields"), FORMS, ids=[f[1] for f in FORMS])
@pytest.mark.parametrize("token", ["missing", "forged"])
def test_a_staff_form_without_a_valid_csrf_token_changes_nothing(
    admin_client, page, action, fields, token
):
    page, action = form_urls(admin_client, page, action)
    before = snapshot()
    data = dict(fields)
    if token == "forged":
        data["csrf_token"] = "ImFiYyI.forged.token"
    response = admin_client.post(action, data=data)
    assert response.status_code == 400 and "security token" in response.text
    assert snapshot() == before


@pytest.mark.parametrize(
    ("page", "action", "fields"),
    [
        ("/staff/units", "/staff/units", {"id": "<script>alert(1)</script>", "name": "x"}),
        ("/staff/units", "/staff/units", {"id": "x'; DROP TABLE unit; --", "name": "x"}),
        ("/staff/units", "/staff/units", {"is_admin": "1", "role": "admin"}),
        (
            "/staff/users/new",
            "/staff/users/new",
            {"email": "a@b.c' OR '1'='1", "role": "admin", "password": "x" * 12},
        ),
        (
            "/staff/users/new",
            "/staff/users/new",
            {"email": "<img src=x onerror=alert(1)>@x.org", "role": "admin", "password": "x" * 12},
        ),
        (
            "/staff/users/new",
            "/staff/users/new",
            {"email": "ok@example.com", "role": "superuser", "password": "x" * 12},
        ),
        ("/staff/users/{user}", "/staff/users/{user}", {"role": "root", "units": "nowhere"}),
        (
            "/staff/surveys/servqual-22",
            "/staff/surveys/servqual-22/state",
            {"state": "open'; DELETE FROM survey; --"},
        ),
        (
            "/staff/surveys/servqual-22",
            "/staff/surveys/servqual-22/responses/delete",
            {"reference": "1 OR 1=1"},
        ),
        (
            "/staff/surveys/servqual-22/invitations",
            "/staff/surveys/servqual-22/invitations",
            {"count": "<script>", "seg_tier": "Z"},
        ),
        (
            "/staff/surveys/servqual-22/invitations",
            "/staff/surveys/servqual-22/invitations",
            {"count": "2", "seg_tier": "' OR 1=1 --"},
        ),
    ],
)
def test_script_sql_and_unknown_fields_are_refused(admin_client, page, action, fields):
    page, action = form_urls(admin_client, page, action)
    before = snapshot()
    token = csrf_token(admin_client.get(page).text)
    response = admin_client.post(action, data={"csrf_token": token, **fields})
    assert 400 <= response.status_code < 500, response.status_code
    assert "<script>alert(1)</script>" not in response.text
    assert snapshot() == before


def test_oversize_and_invalid_utf8_bodies_are_refused(admin_client):
    token = csrf_token(admin_client.get("/staff/units").text)
    before = snapshot()
    big = admin_client.post(
        "/staff/units", data={"csrf_token": token, "id": "x", "name": "n" * (2 << 20)}
    )
    assert big.status_code == 413
    body = b"csrf_token=" + token.encode() + b"&id=ea%FFst&name=%C3%28"
    bad = admin_client.post(
        "/staff/units", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert bad.status_code == 422 and "not a valid unit id" in bad.text
    upload_page = csrf_token(admin_client.get("/staff/upload").text)
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
            f'{upload_page}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.yaml"\r\n\r\n'
        ).encode()
        + b"#" * (5 << 20)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    huge = admin_client.post(
        "/staff/upload",
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert huge.status_code == 413
    latin = admin_client.post(
        "/staff/upload",
        data={
            "csrf_token": upload_page,
            "unit": "default",
            "file": (io.BytesIO(b"id: caf\xe9\n"), "latin.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert latin.status_code == 422 and "not UTF-8 text" in latin.text
    assert snapshot() == before


def test_a_payload_in_a_free_text_field_is_stored_as_text_and_shown_escaped(admin_client):
    token = csrf_token(admin_client.get("/staff/units").text)
    payload = "<script>alert('unit')</script>"
    response = admin_client.post(
        "/staff/units", data={"csrf_token": token, "id": "east", "name": payload}
    )
    assert response.status_code == 302
    html = admin_client.get("/staff/units").text
    assert payload not in html and "&lt;script&gt;alert(&#39;unit&#39;)&lt;/script&gt;" in html
