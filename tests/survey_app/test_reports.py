"""The report pages, data.json and the offline file, through the app (SQLite and
PostgreSQL). Numbers are checked against ``python -m analysis report``'s JSON of the same
responses (the CLI on a CSV export), never against the code under test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from survey_app.demo import add_demo_responses
from survey_app.extensions import db
from survey_app.models import AuditEntry
from survey_app.storage import responses_frame

from ..conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("", "/service-quality", "/priorities", "/satisfaction", "/segments", "/methods", "/open-text")


@pytest.fixture
def reports_app(app, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "reports-cache")
    app.extensions.pop("reports", None)
    return app


@pytest.fixture
def seeded(reports_app, make_survey, make_user):
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 400, seed=5)
    manager = make_user("manager", ("default",))
    return survey, q, manager


def cli_report(q_path: Path, frame, tmp_path: Path, *args: str) -> dict:
    """The analysis command line's JSON on a CSV of the same responses."""
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "cli.json"
    subprocess.run(
        [sys.executable, "-m", "analysis", "report", str(csv), "-q", str(q_path), "--json", str(out), *args],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return json.loads(out.read_text())


def test_every_page_opens_for_a_manager(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    for path in PAGES:
        response = client.get(f"/reports/{survey.id}{path}")
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "data-figure=" in html, path
        assert html.count("plotly.min.js") == 1, path
        for _e, sub in [("o", p) for p in PAGES]:
            assert f'href="/reports/{survey.id}{sub}"' in html
