"""Reports while responses keep arriving: a request whose stamp is newer than every
computed report may be answered with the report of the same filters computed a moment
ago (``REPORTS_STALE_SECONDS``, marked ``stale``) while the newer one is computed, never
with one from before a deletion or another version, and never when the setting is 0."""

from __future__ import annotations

import pytest

from survey_app.extensions import db
from survey_app.reports.services import Options, Pending, Ready, report_json
from survey_app.selection import Selection
from survey_app.surveys.services import record_response

from .exports_data import servqual_answers


@pytest.fixture
def reports_app(app, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "reports-cache")
    app.extensions.pop("reports", None)
    yield app
    service = app.extensions.get("reports")
    if service is not None:  # reports still computed in the background finish first
        service.shutdown()


def add(survey, count: int) -> None:
    for i in range(count):
        record_response(survey, servqual_answers(3 + i % 4))
    db.session.commit()


@pytest.mark.parametrize("limit", [60, 0])
def test_a_new_response_may_be_answered_with_the_moment_old_report(
    reports_app, make_survey, monkeypatch, limit
):
    reports_app.config["REPORTS_STALE_SECONDS"] = limit
    survey, q = make_survey("servqual-22")
    add(survey, 3)
    selection = Selection.from_args(q, {})
    first = report_json(survey, selection, Options(bootstrap=0), wait=None)
    assert isinstance(first, Ready) and first.report["n"] == 3
    assert "stale" not in first.report
    add(survey, 1)
    # the newer report is not ready in time (it is computed in the background)
    again = report_json(survey, selection, Options(bootstrap=0), wait=0)
    if limit:
        assert isinstance(again, Ready)
        assert again.report["n"] == 3 and again.report["stale"] is True
    else:
        assert isinstance(again, Pending)
    done = report_json(survey, selection, Options(bootstrap=0), wait=None)
    assert isinstance(done, Ready) and done.report["n"] == 4 and "stale" not in done.report


def test_other_filters_or_a_deletion_are_never_answered_from_an_older_report(
    reports_app, make_survey
):
    reports_app.config["REPORTS_STALE_SECONDS"] = 60
    survey, q = make_survey("servqual-22")
    add(survey, 3)
    everyone = Selection.from_args(q, {})
    assert isinstance(report_json(survey, everyone, Options(bootstrap=0), wait=None), Ready)
    add(survey, 1)
    # (single segment filters are computed ahead after the unfiltered report: two not)
    other = Selection.from_args(q, {"tier": "A", "region": "north"})
    assert isinstance(report_json(survey, other, Options(bootstrap=0), wait=0), Pending)
    # a deleted response: the older report counted it, so it is never served again
    from survey_app.models import Response

    db.session.delete(db.session.scalars(db.select(Response).limit(2)).all()[0])
    db.session.delete(db.session.scalars(db.select(Response).limit(2)).all()[1])
    db.session.commit()
    assert isinstance(report_json(survey, everyone, Options(bootstrap=0), wait=0), Pending)
