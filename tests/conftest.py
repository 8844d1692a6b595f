"""Fixtures: an app on SQLite and, where ``TEST_POSTGRES_URL`` is set, on PostgreSQL.

The schema is made once per backend by the real Alembic migrations; every test then
starts from empty tables (the clean-up runs in the fixture, even when the test fails).
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import close_all_sessions
from werkzeug.serving import make_server

from config import TestConfig, database_url
from questionnaires import SHIPPED_DIR, Questionnaire, load_questionnaire
from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import Survey
from survey_app.models.audit import DROP_TRIGGERS, GENESIS, TRIGGERS
from survey_app.surveys.services import store_questionnaire

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL")
TABLES = (
    "job",
    "api_token",
    "follow_up_event",
    "follow_up",
    "customer_order",
    "outbox_mail",
    "suppression",
    "unit_settings",
    "response",
    "invitation",
    "customer",
    "questionnaire_version",
    "survey",
    "user_unit",
    "staff_user",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CI") and not POSTGRES_URL:
        raise pytest.UsageError("CI must run the PostgreSQL tests: set TEST_POSTGRES_URL")


def _fresh_postgres_database(base_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``base_url``; return its URL."""
    engine = create_engine(database_url(base_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for attempt in range(50):
            try:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except ProgrammingError as exc:
                # 42501: a backend FORCE may not end for a role that is not a superuser,
                # an autovacuum worker on the database (it ends in moments; seen once in CI)
                if getattr(exc.orig, "sqlstate", "") != "42501" or attempt == 49:
                    raise
                time.sleep(0.2)
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", database_url(base_url), count=1)


@pytest.fixture(scope="session", autouse=True)
def _sessions_closed_at_the_end() -> Iterator[None]:
    """Close any session still open when the tests end (one left by a command run in a
    second app of a test, whose context is gone), so that its connection is closed
    properly instead of being collected at exit with a ResourceWarning."""
    yield
    close_all_sessions()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database URL for each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL tests need TEST_POSTGRES_URL (scripts/test.sh sets it)")
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = _fresh_postgres_database(POSTGRES_URL, f"survey_pytest_{worker}")
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, hence its own ``g`` and database session,
    as in a real server, even though the test itself holds an app context open."""

    def open(self, *args: Any, **kwargs: Any):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(database: str) -> Iterator[Flask]:
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        reports = app.extensions.get("reports")
        if reports is not None:  # its threads read the database: let them finish first
            reports.shutdown()
        db.session.rollback()
        clear_tables()
        db.session.remove()
        db.engine.dispose()


def clear_tables() -> None:
    """Empty every table (the audit log's append-only triggers lifted and restored)."""
    for table in TABLES:
        db.session.execute(text(f"DELETE FROM {table}"))
    db.session.execute(text("DELETE FROM unit WHERE id <> 'default'"))
    dialect = db.engine.dialect.name
    for statement in DROP_TRIGGERS[dialect]:
        db.session.execute(text(statement))
    db.session.execute(text("DELETE FROM audit_log"))
    for statement in TRIGGERS[dialect]:
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE audit_head SET count = 0, hash = :h"), {"h": GENESIS})
    db.session.commit()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def other_app(database: str):
    """Make another app on the test database with config ``overrides`` (disposed after)."""
    made = []

    def make(overrides: dict[str, Any]) -> Flask:
        other = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": database, **overrides})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP by a threaded server: real concurrent requests."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # so that server_close() waits for requests in flight
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpClient:
    """A cookie-keeping HTTP client for a served app (one browser); redirects are
    returned, not followed. Responses are ``(status, headers, text)``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, path: str, data: dict | None = None) -> tuple[int, Any, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()


@pytest.fixture
def make_survey(app: Flask):
    """Load a questionnaire (a shipped file name or a path) into the database."""

    def make(name: str = "servqual-22", path: Path | None = None) -> tuple[Survey, Questionnaire]:
        path = path or SHIPPED_DIR / f"{name}.yaml"
        q = load_questionnaire(path)
        survey, _ = store_questionnaire(q, path.read_text(encoding="utf-8"), path.name)
        db.session.commit()
        return survey, q

    return make


def csrf_token(html: str) -> str:
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html)
    assert match, f"the page has no hidden field {name}"
    return match.group(1)


def page_answers(
    q: Questionnaire,
    number: int,
    value: int = 5,
    preset: frozenset[str] = frozenset(),
    **override: Any,
) -> dict:
    """Form data answering every question of page ``number`` (``override`` by slot)."""
    data: dict[str, Any] = {}
    for slot in q.pages_for(preset)[number - 1].slots:
        item, name = slot.item, f"q_{slot.name}"
        if item.kind in ("scale", "nps"):
            data[name] = str(min(max(value, item.scale.min), item.scale.max))
        elif item.kind == "single":
            data[name] = item.choices[0].id
        elif item.kind == "multiple":
            data[name] = []
        else:
            data[name] = "fine"
    for column, value_ in override.items():
        data[f"q_{column}"] = value_
    return {k: v for k, v in data.items() if v is not None}


def page_of(q: Questionnaire, slot: str, preset: frozenset[str] = frozenset()) -> int:
    """The number of the page that asks ``slot``."""
    return next(p.number for p in q.pages_for(preset) if slot in {s.name for s in p.slots})


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: a zombie (dead, not yet reaped) counts as gone, and
    so does one reaped while its /proc entry is being read."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def process_ended(pid: int, seconds: float = 10) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


class SurveyTaker:
    """Drives the survey pages through the test client like a browser would."""

    def __init__(self, client, survey_id: str, query: str = "") -> None:
        self.client = client
        self.url = f"/s/{survey_id}{query}"
        self.page_html = ""

    def open(self, url: str | None = None) -> Any:
        response = self.client.get(url or self.url)
        self.page_html = response.get_data(as_text=True)
        return response

    def submit(self, data: dict, follow: bool = False, **kw: Any) -> Any:
        form = {
            "csrf_token": csrf_token(self.page_html),
            "rk": hidden(self.page_html, "rk"),
            "page": hidden(self.page_html, "page"),
            **data,
        }
        action = re.search(r'<form method="post" action="([^"]+)"', self.page_html).group(1)
        response = self.client.post(action.replace("&amp;", "&"), data=form, **kw)
        if response.status_code == 302 and follow:
            self.open(response.headers["Location"])
        elif response.status_code != 302:
            self.page_html = response.get_data(as_text=True)
        return response


class SmtpServer:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 OK"

    @property
    def config(self) -> dict[str, Any]:
        return {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_FROM": "survey@example.org",
        }

    def wait(self, count: int, timeout: float = 20) -> list:
        """The messages, once at least ``count`` have arrived (fails after ``timeout``)."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} of {count} mails arrived"
        return self.messages

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpServer]:
    """A local SMTP server, and the app configured to mail through it."""
    from survey_app import mail

    server = SmtpServer()
    server.controller.start()
    app.config.update(server.config)
    yield server
    mail.wait_for_background()
    server.controller.stop()


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app: Flask):
    """Create a staff account (and its units) directly, as ``create-user`` does."""
    from survey_app.auth.services import create_unit, create_user
    from survey_app.models import Unit

    made = iter(range(1, 10_000))

    def make(
        role: str = "admin",
        units: tuple[str, ...] = (),
        personal: bool = False,
        email: str | None = None,
        password: str = PASSWORD,
    ):
        for unit in units:
            if db.session.get(Unit, unit) is None:
                create_unit(unit, unit.title())
        if email is None:  # role-units@..., numbered from the second such account on
            number = next(made)
            email = f"{role}-{'-'.join(units) or 'all'}{number if number > 1 else ''}@example.com"
        user = create_user(email, password, role, units, personal)
        db.session.commit()
        return user

    return make


def login_as(client: FlaskClient, user: Any) -> None:
    """Sign ``client`` in as ``user`` without the form (its session, as Flask-Login keeps it)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the login form, as a browser does."""
    page = client.get("/login").get_data(as_text=True)
    return client.post(
        "/login", data={"csrf_token": csrf_token(page), "email": email, "password": password}
    )
