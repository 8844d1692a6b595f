"""The production script's backup and restore, against the test PostgreSQL server: a
restore gives the same surveys, responses, users and audit chain."""

from __future__ import annotations

import os
import re
import runpy
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


def test_up_runs_pip_only_when_the_dependencies_change(tmp_path):
    """`up`'s install step, run on its own with a stand-in python that logs its calls:
    pip runs the first time and after pyproject.toml changes, not on a second `up`."""
    source = (ROOT / "scripts" / "production.sh").read_text(encoding="utf-8")
    install = re.search(r"^install_python\(\) \{\n.*?^\}\n", source, re.S | re.M).group(0)
    calls = tmp_path / "calls"
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n', encoding="utf-8")
    python.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'a'\n", encoding="utf-8")

    def up() -> tuple[str, list[str]]:
        done = subprocess.run(
            [
                "bash",
                "-c",
                f'set -euo pipefail\nsay() {{ echo "production: $*"; }}\n{install}install_python',
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = calls.read_text().splitlines() if calls.exists() else []
        calls.unlink(missing_ok=True)
        return done.stdout, [line for line in lines if line.startswith("-m pip")]

    assert len(up()[1]) == 2  # pip upgraded, the project installed
    out, pip = up()
    assert pip == [] and "pyproject.toml unchanged" in out
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'b'\n", encoding="utf-8")
    assert len(up()[1]) == 2


def test_gunicorn_masters_start_with_numpy_huge_pages_off_unless_asked(tmp_path):
    """`start_master`, run on its own with a stand-in gunicorn that records its
    environment: numpy's huge pages off by default (fresh large arrays waited for the
    kernel's memory compaction), and the caller's own setting kept."""
    source = (ROOT / "scripts" / "production.sh").read_text(encoding="utf-8")
    start = re.search(r"^start_master\(\) \{\n.*?^\}\n", source, re.S | re.M).group(0)
    seen = tmp_path / "seen"
    gunicorn = tmp_path / ".venv" / "bin" / "gunicorn"
    gunicorn.parent.mkdir(parents=True)
    gunicorn.write_text(
        f'#!/bin/sh\necho "$NUMPY_MADVISE_HUGEPAGE $WEB_CONCURRENCY" > {seen}\n', encoding="utf-8"
    )
    gunicorn.chmod(0o755)
    (tmp_path / "state" / "run").mkdir(parents=True)

    def started(env: dict[str, str]) -> str:
        helpers = "alive() { false; }\npid_of() { true; }\n"
        subprocess.run(
            ["bash", "-c", f"set -euo pipefail\n{helpers}{start}start_master web 1 8101 3"],
            cwd=tmp_path,
            env={"PATH": os.environ["PATH"], "STATE": str(tmp_path / "state"), "ROOT": ".", **env},
            check=True,
        )
        return seen.read_text().strip()

    assert started({}) == "0 3"
    assert started({"NUMPY_MADVISE_HUGEPAGE": "1"}) == "1 3"


def gunicorn_config(monkeypatch, env: dict[str, str], argv: list[str]):
    """gunicorn's settings from ``gunicorn.conf.py`` read with ``env``, then ``argv``
    (command-line options win, as in gunicorn)."""
    from gunicorn.config import Config

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("BEHIND_PROXY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    for name, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
        if name in cfg.settings:
            cfg.set(name, value)
    for name, value in vars(cfg.parser().parse_args(argv)).items():
        if value is not None and name in cfg.settings:
            cfg.set(name, value)
    return cfg


def test_instances_behind_nginx_run_sync_workers_and_the_reports_process_threads(
    monkeypatch, tmp_path
):
    """Behind nginx the instances' workers are synchronous, two per core (threads only
    lengthened the tail there); the reports' process keeps its threads; served directly,
    workers are threaded (keep-alive)."""
    source = (ROOT / "scripts" / "production.sh").read_text(encoding="utf-8")
    start = re.search(r"^start_reports\(\) \{\n.*?^\}\n", source, re.S | re.M).group(0)
    assert "export BEHIND_PROXY=1" in source
    reports_args = subprocess.run(
        ["bash", "-c", f'start_master() {{ shift 4; echo "$@"; }}\n{start}start_reports'],
        env={"PATH": os.environ["PATH"], "APP_PORT_BASE": "8100", "REPORT_THREADS": "8"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()

    instance = gunicorn_config(monkeypatch, {"BEHIND_PROXY": "1"}, [])
    assert (instance.worker_class_str, instance.threads) == ("sync", 1)
    assert instance.workers == 2 * os.cpu_count()
    asked = gunicorn_config(monkeypatch, {"BEHIND_PROXY": "1", "WEB_CONCURRENCY": "3"}, [])
    assert asked.workers == 3
    reports = gunicorn_config(monkeypatch, {"BEHIND_PROXY": "1"}, reports_args)
    assert (reports.worker_class_str, reports.threads) == ("gthread", 8)
    direct = gunicorn_config(monkeypatch, {}, [])
    assert (direct.worker_class_str, direct.threads) == ("gthread", 4)
    assert direct.workers == os.cpu_count()
