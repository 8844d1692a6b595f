"""A request whose transaction only read ends it with COMMIT (psycopg keeps its prepared
statements then); one that wrote anything it did not commit is still rolled back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, insert, select, text

from survey_app.extensions import db
from survey_app.models import Survey
from survey_app.transactions import only_read


@pytest.fixture
def endings(app):
    """How each transaction on the app's engine ended, in order."""
    seen: list[str] = []
    listeners = {
        "commit": lambda conn: seen.append("commit"),
        "rollback": lambda conn: seen.append("rollback"),
    }
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        event.remove(db.engine, name, listener)


def test_a_page_view_commits_its_reads_instead_of_rolling_them_back(
    client, make_survey, endings, caplog
):
    make_survey("servqual-22")
    endings.clear()
    with caplog.at_level(logging.WARNING, logger="survey_app.errors"):
        for _ in range(3):
            assert client.get("/s/servqual-22").status_code == 200
    assert endings == ["commit"] * 3
    assert "closing the session failed" not in caplog.text


def _route(app, view) -> str:
    """A view of the test's own, served at the returned path."""
    from survey_app.auth.policy import public

    app.add_url_rule("/test-transaction", view.__name__, public(view))
    return "/test-transaction"


def test_what_a_view_wrote_and_did_not_commit_is_rolled_back(app, client, make_survey, endings):
    make_survey("servqual-22")
    seen = []

    def writes():
        db.session.scalars(select(Survey)).all()
        seen.append(only_read(db.session()))
        db.session.execute(insert(Survey).values(id="written-not-committed", state="open"))
        seen.append(only_read(db.session()))
        return "ok"

    path = _route(app, writes)
    endings.clear()
    assert client.get(path).status_code == 200
    assert seen == [True, False] and endings == ["rollback"]
    assert db.session.get(Survey, "written-not-committed") is None


def test_a_pending_object_is_not_flushed_by_a_commit(app, client, make_survey, endings):
    make_survey("servqual-22")

    def adds():
        db.session.scalars(select(Survey)).all()
        db.session.add(Survey(id="added-not-committed", state="open"))
        assert not only_read(db.session())
        return "ok"

    path = _route(app, adds)
    endings.clear()
    assert client.get(path).status_code == 200
    assert endings == ["rollback"]
    assert db.session.get(Survey, "added-not-committed") is None


def test_a_failed_request_is_rolled_back(app, client, endings):
    def fails():
        db.session.execute(text("SELECT 1"))
        raise ZeroDivisionError

    path = _route(app, fails)
    endings.clear()
    with pytest.raises(ZeroDivisionError):  # (TESTING passes it on; the teardown ran)
        client.get(path)
    assert endings == ["rollback"]


def test_what_a_read_only_request_loaded_stays_readable_after_it(app, client, make_survey):
    """Closing a session leaves its objects detached but loaded; the COMMIT that ends a
    read-only request must not expire them first: a report job still running in a
    thread reads the survey its request loaded (``reports.services.open_text``)."""
    make_survey("servqual-22")
    kept = []

    def reads():
        kept.append(db.session.get(Survey, "servqual-22"))
        return "ok"

    path = _route(app, reads)
    assert client.get(path).status_code == 200
    assert kept[0].id == "servqual-22" and kept[0].state == "open"
