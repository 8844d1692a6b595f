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


def test_the_bootstrap_and_the_guesses_wait_for_the_quick_report(
    reports_app, make_survey, monkeypatch
):
    """On 2 cores, work computed beside the report a page shows first delays it: the
    bootstrap of the same data and the single-segment reports computed ahead start when
    the quick report is done."""
    import threading
    import time

    from survey_app.reports.services import ReportService

    survey, q = make_survey("servqual-22")
    add(survey, 12)
    events, lock = [], threading.Lock()
    compute = ReportService._compute

    def recorded(self, stamp, key, q, selection, options):
        with lock:
            events.append(("start", options.bootstrap, selection.key))
        if options.bootstrap == 0 and not selection.segments:
            time.sleep(0.5)  # the quick report takes a while
        try:
            return compute(self, stamp, key, q, selection, options)
        finally:
            with lock:
                events.append(("end", options.bootstrap, selection.key))

    monkeypatch.setattr(ReportService, "_compute", recorded)
    everyone = Selection.from_args(q, {})
    quick = report_json(survey, everyone, Options(bootstrap=0), wait=0)
    report_json(survey, everyone, Options(bootstrap=20), wait=0)  # as the page asks
    assert isinstance(quick, Pending)
    reports_app.extensions["reports"].jobs.idle()
    quick_end = events.index(("end", 0, everyone.key))
    later = [e for e in events if e[0] == "start" and (e[1] or e[2] != everyone.key)]
    assert later, events  # the bootstrap and the guesses ran
    assert all(events.index(e) > quick_end for e in later), events
