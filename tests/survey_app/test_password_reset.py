"""A password reset by an e-mailed link: signed, expiring, single-use, rate-limited,
audited, and the same page whether or not the email has an account."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import AuditEntry

from ..conftest import PASSWORD, csrf_token, sign_in

NEW = "a brand new passphrase"


def ask(client, email: str):
    page = client.get("/password/forgot").text
    return client.post("/password/forgot", data={"csrf_token": csrf_token(page), "email": email})


def link_in(message) -> str:
    return re.search(r"http://survey\.test(/password/reset/\S+)", message.get_content()).group(1)


def test_without_mail_the_page_says_to_ask_an_administrator(app, client):
    assert "Forgot your password?" not in client.get("/login").text
    page = client.get("/password/forgot")
    assert page.status_code == 200 and "ask an administrator" in page.text


def test_the_link_resets_the_password_once(app, make_user, smtp):
    user = make_user("manager", ("north",), email="ana@example.com")
    client = app.test_client()
    assert 'href="/password/forgot"' in client.get("/login").text
    known = ask(client, "ANA@example.com ")
    unknown = ask(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert strip(known.text) == strip(unknown.text)  # the same page either way
    message = smtp.wait(1)[0]
    assert message["To"] == "ana@example.com" and "重置密码" in message["Subject"]
    link = link_in(message)
    form = client.get(link)
    assert form.status_code == 200 and "Choose a new password" in form.text
    mismatch = client.post(
        link, data={"csrf_token": csrf_token(form.text), "password": NEW, "confirm": "other one"}
    )
    assert mismatch.status_code == 422
    done = client.post(
        link, data={"csrf_token": csrf_token(form.text), "password": NEW, "confirm": NEW}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert sign_in(app.test_client(), "ana@example.com", NEW).status_code == 302
    assert sign_in(app.test_client(), "ana@example.com", PASSWORD).status_code == 200  # refused
    assert client.get(link).status_code == 404  # used once: no more
    db.session.expire_all()
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("user.password_reset_request") == 2  # the unknown email too
    assert "user.password_reset" in actions and "user.password_reset_link" in actions
    assert user.email == "ana@example.com"


def strip(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def test_expired_forged_and_disabled(app, make_user, smtp):
    from survey_app.auth.services import disable_user, find_user

    make_user("agent", ("north",), email="bo@example.com")
    client = app.test_client()
    ask(client, "bo@example.com")
    link = link_in(smtp.wait(1)[0])
    assert client.get(link[:-4] + "abcd").status_code == 404
    app.config["PASSWORD_RESET_MAX_AGE"] = -1  # every link is older than that
    assert client.get(link).status_code == 404
    app.config["PASSWORD_RESET_MAX_AGE"] = 3600
    assert client.get(link).status_code == 200
    disable_user(find_user("bo@example.com"))
    db.session.commit()
    assert client.get(link).status_code == 404
    ask(client, "bo@example.com")
    from survey_app import mail

    mail.wait_for_background()
    assert len(smtp.messages) == 1  # a disabled account gets no link


def test_requests_are_rate_limited_by_email(app, make_user, smtp):
    make_user("agent", ("north",), email="cy@example.com")
    statuses = [ask(app.test_client(), "cy@example.com").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
