"""Running behind a proxy: the health check, forwarded addresses, JSON logs."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from config import TestConfig
from survey_app import create_app
from survey_app.extensions import db
from survey_app.models import AuditEntry

from ..conftest import sign_in


def test_healthz_says_ok_and_is_never_cached_nor_limited(client):
    for _ in range(30):
        response = client.get("/healthz")
        assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_says_503_when_the_database_is_away(tmp_path):
    app = create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://x:y@127.0.0.1:9/none?connect_timeout=2"},
        instance_path=tmp_path,
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unavailable"
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        db.engine.dispose()


def test_behind_the_proxy_the_clients_address_is_recorded(other_app, make_user):
    make_user("admin", email="boss@example.com")
    app = other_app({"BEHIND_PROXY": True})
    client = app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    sign_in(client, "boss@example.com")
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "login")).one()
    assert entry.address == "203.0.113.9"
    # without the setting the header is not trusted
    plain = other_app({}).test_client()
    plain.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.7"
    sign_in(plain, "boss@example.com")
    addresses = db.session.scalars(
        select(AuditEntry.address).where(AuditEntry.action == "login").order_by(AuditEntry.id)
    ).all()
    assert addresses == ["203.0.113.9", "127.0.0.1"]


def test_json_logs_carry_the_request_id_nginx_passes_on(other_app, capsys):
    app = other_app({"LOG_FORMAT": "json"})
    try:
        response = app.test_client().get("/healthz", headers={"X-Request-ID": "abc123def"})
        assert response.headers["X-Request-ID"] == "abc123def"
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
        request_line = next(entry for entry in lines if entry.get("path") == "/healthz")
        assert request_line["request_id"] == "abc123def" and request_line["status"] == 200
        assert request_line["level"] == "INFO" and "ms" in request_line
    finally:
        logging.getLogger().handlers.clear()
