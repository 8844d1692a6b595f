"""The production script's backup and restore, against the test PostgreSQL server: a
restore gives the same surveys, responses, users and audit chain."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from sqlalchemy import create_engine, inspect, text

from config import ROOT, database_url
from survey_app.extensions import db
from survey_app.surveys.services import record_response

from ..conftest import POSTGRES_URL, _fresh_postgres_database


def dump(url: str) -> dict:
    engine = create_engine(database_url(url))
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        rows = {
            t: sorted(map(repr, conn.execute(text(f"SELECT * FROM {t}")).all())) for t in tables
        }
    engine.dispose()
    return rows


def script(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url.replace("+psycopg", "")}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "production.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_backup_restores_into_an_empty_database(app, make_survey, make_user, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("backups are of the PostgreSQL database")
    survey, _ = make_survey("servperf-short")
    record_response(survey, {"T1": 5})
    make_user("admin", email="boss@example.com")
    db.session.commit()
    app.test_cli_runner().invoke(args=["invite", "servperf-short", "--count", "2"])
    source = db.engine.url.render_as_string(hide_password=False)
    backup = tmp_path / "survey.dump"
    done = script("backup", str(backup), url=source)
    assert done.returncode == 0, done.stderr
    assert backup.stat().st_size > 0
    target = _fresh_postgres_database(POSTGRES_URL, "survey_pytest_restore")
    restored = script("restore", str(backup), url=target)
    assert restored.returncode == 0, restored.stderr
    assert dump(target) == dump(source)
    again = script("restore", str(backup), url=target)
    assert again.returncode == 1 and "the database is not empty" in again.stderr
    check = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "survey_app", "audit-verify"],
        env={**os.environ, "DATABASE_URL": target, "SECRET_KEY": "x" * 40},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert re.match(r"audit log intact: [1-9]\d* entries", check.stdout)
