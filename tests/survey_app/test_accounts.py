"""Staff accounts: signing in and out, passwords, disabling, the command line."""

from __future__ import annotations

import statistics
import time

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import AuditEntry, Unit, User

from ..conftest import PASSWORD, csrf_token, login_as, sign_in


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_sign_in_goes_to_the_staff_home_and_sign_out_ends_the_session(client, make_user):
    make_user("admin", email="boss@example.com")
    response = sign_in(client, "Boss@Example.com ")  # case and spaces do not matter
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    page = client.get("/staff/").text
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    assert client.get("/staff/").headers["Location"].startswith("/login")
    assert actions()[-2:] == ["login", "logout"]


def test_a_visitor_of_a_staff_page_is_sent_to_the_login_page_and_back(client, make_user):
    make_user("admin", email="boss@example.com")
    response = client.get("/staff/users")
    assert (
        response.status_code == 302 and response.headers["Location"] == "/login?next=/staff/users"
    )
    page = client.get("/login?next=/staff/users").text
    back = client.post(
        "/login?next=/staff/users",
        data={"csrf_token": csrf_token(page), "email": "boss@example.com", "password": PASSWORD},
    )
    assert back.headers["Location"] == "/staff/users"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_sign_in_never_redirects_to_another_site(client, make_user, target):
    make_user("admin", email="boss@example.com")
    page = client.get("/login").text
    response = client.post(
        f"/login?next={target}",
        data={"csrf_token": csrf_token(page), "email": "boss@example.com", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/"


def test_wrong_email_and_wrong_password_look_and_take_the_same(client, make_user):
    make_user("admin", email="boss@example.com")
    wrong_password = sign_in(client, "boss@example.com", "not the password")
    wrong_email = sign_in(client, "nobody@example.com", "not the password")
    assert wrong_password.status_code == wrong_email.status_code == 200
    strip = lambda r: r.text.replace(csrf_token(r.text), "")  # noqa: E731
    assert strip(wrong_password).replace("boss@", "x@") == strip(wrong_email).replace(
        "nobody@", "x@"
    )
    assert "The email or the password is not right." in wrong_email.text
    timings = {"password": [], "email": []}
    for _ in range(5):
        for kind, email in (("password", "boss@example.com"), ("email", "nobody@example.com")):
            start = time.perf_counter()
            sign_in(client, email, "not the password")
            timings[kind].append(time.perf_counter() - start)
    a, b = statistics.median(timings["password"]), statistics.median(timings["email"])
    assert abs(a - b) < 0.5 * max(a, b), timings  # both check one scrypt hash
    assert "login.failed" in actions()


def test_a_disabled_account_loses_its_session_at_once(client, app, make_user):
    admin = make_user("admin", email="boss@example.com")
    leaver = make_user("researcher", ("unit-a",), email="leaver@example.com")
    login_as(client, leaver)
    assert client.get("/staff/").status_code == 200
    result = run(app, "disable-user", "leaver@example.com")
    assert result.exit_code == 0, result.output
    assert client.get("/staff/").headers["Location"].startswith("/login")
    assert sign_in(app.test_client(), "leaver@example.com").status_code == 200  # refused
    # and through the admin page
    other = make_user("manager", ("unit-a",), email="other@example.com")
    login_as(client2 := app.test_client(), other)
    admin_client = app.test_client()
    login_as(admin_client, admin)
    page = admin_client.get("/staff/users").text
    response = admin_client.post(
        f"/staff/users/{other.id}/disable", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert client2.get("/staff/").status_code == 302
    assert actions().count("user.disable") == 2


def test_a_password_reset_ends_the_accounts_sessions(client, app, make_user):
    admin = make_user("admin", email="boss@example.com")
    user = make_user("researcher", ("unit-a",), email="r@example.com")
    login_as(client, user)
    admin_client = app.test_client()
    login_as(admin_client, admin)
    page = admin_client.get(f"/staff/users/{user.id}").text
    response = admin_client.post(
        f"/staff/users/{user.id}/password",
        data={"csrf_token": csrf_token(page), "password": "a brand new password"},
    )
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302  # signed out
    assert sign_in(app.test_client(), "r@example.com", "a brand new password").status_code == 302


def test_changing_ones_password(client, make_user):
    make_user("manager", ("unit-a",), email="m@example.com")
    sign_in(client, "m@example.com")
    page = client.get("/staff/password").text
    form = {
        "csrf_token": csrf_token(page),
        "current": "wrong",
        "password": "x" * 12,
        "confirm": "x" * 12,
    }
    assert client.post("/staff/password", data=form).status_code == 422
    form["current"] = PASSWORD
    assert client.post("/staff/password", data=form).status_code == 302
    assert client.get("/staff/").status_code == 200  # this session continues
    assert sign_in(client.application.test_client(), "m@example.com", "x" * 12).status_code == 302


def test_cli_creates_units_and_users_reading_the_password_from_stdin(app):
    assert run(app, "create-unit", "north", "--name", "North region").exit_code == 0
    assert db.session.get(Unit, "north").name == "North region"
    result = run(
        app,
        "create-user",
        "Ana@Example.com",
        "--role",
        "researcher",
        "--unit",
        "north",
        "--unit",
        "default",
        "--personal",
        input="a long enough password\nignored\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert (user.email, user.role, sorted(user.unit_ids), user.personal) == (
        "ana@example.com",
        "researcher",
        ["default", "north"],
        True,
    )
    assert (
        sign_in(app.test_client(), "ana@example.com", "a long enough password").status_code == 302
    )
    for args, words in [
        (("create-user", "b@example.com", "--role", "manager"), "works in at least one unit"),
        (("create-user", "c@example.com", "--role", "manager", "--unit", "south"), "no unit south"),
        (("create-user", "ana@example.com", "--role", "admin"), "exists already"),
        (("create-unit", "North Region", "--name", "x"), "not a valid unit id"),
        (("create-unit", "north", "--name", "x"), "exists already"),
    ]:
        result = run(app, *args, input="a long enough password\n")
        assert result.exit_code == 1 and words in result.output, result.output
    result = run(app, "create-user", "d@example.com", "--role", "admin", input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert actions() == ["unit.create", "user.create", "login"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create")).one()
    assert entry.actor.startswith("os:") and entry.address == "cli"


@pytest.mark.parametrize("https", [False, True])
def test_session_cookies_are_secure_exactly_on_https(other_app, make_user, https):
    make_user("admin", email="boss@example.com")
    base = "https://survey.example.org" if https else "http://127.0.0.1:8000"
    client = other_app({"SURVEY_BASE_URL": base}).test_client()
    response = sign_in(client, "boss@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is https
    assert ("Strict-Transport-Security" in response.headers) is https
