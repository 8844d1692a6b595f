"""REPORTS_DATABASE_URL: reports and exports read responses from the read replica, and
nothing else does; writes never go there.

The "replica" here is a second database holding an earlier copy of the main one (the
survey and its first response only), which is what a lagging streaming replica looks
like to the app: every read that goes there sees one response, every read of the main
database sees three. ``scripts/production.sh up --replica`` starts a real streaming
replica; ``benchmarks/production_load.py --replica`` checks on it that the report and
export reads arrive there (pg_stat_database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, make_url, select

from config import TestConfig
from questionnaires import SHIPPED_DIR, load_questionnaire
from survey_app import create_app
from survey_app.exports.options import make_options
from survey_app.exports.services import plan_export, write_export
from survey_app.extensions import db
from survey_app.models import QuestionnaireVersion, Response, Survey
from survey_app.reports.cache import current_stamp
from survey_app.storage import (
    count_responses,
    iter_frames,
    read_engine,
    responses_frame,
    stored_codes,
)
from survey_app.surveys.services import record_response, store_questionnaire

from ..conftest import POSTGRES_URL, _fresh_postgres_database, clear_tables
from .exports_data import servqual_answers


@pytest.fixture(scope="session")
def replica_database(database: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty migrated database beside the test database (same backend), made once."""
    if database.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('replica') / 'replica.sqlite'}"
    else:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        url = _fresh_postgres_database(POSTGRES_URL, f"survey_pytest_{worker}_replica")
    made = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": url})
    with made.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def replica(replica_database: str) -> Iterator[str]:
    """The replica database, emptied after the test."""
    yield replica_database
    engine = create_engine(replica_database)
    try:
        with engine.begin() as conn:
            for model in (Response, QuestionnaireVersion, Survey):
                conn.execute(model.__table__.delete())
    finally:
        engine.dispose()


@pytest.fixture
def replica_app(database: str, replica: str) -> Iterator[Flask]:
    """An app on the test database whose REPORTS_DATABASE_URL names ``replica`` (tables
    emptied and every engine disposed after)."""
    made = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": database, "REPORTS_DATABASE_URL": replica}
    )
    with made.app_context():
        try:
            yield made
        finally:
            db.session.rollback()
            clear_tables()
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def lagging(replica_app: Flask, replica: str) -> Survey:
    """Three complete responses in the main database; the replica has the survey and
    the first of them only."""
    path = SHIPPED_DIR / "servqual-22.yaml"
    survey, _ = store_questionnaire(load_questionnaire(path), path.read_text("utf-8"), path.name)
    for value in (5, 6, 7):
        record_response(survey, servqual_answers(value))
    db.session.commit()
    engine = create_engine(replica)
    try:
        with engine.begin() as conn:
            for model in (Survey, QuestionnaireVersion):
                rows = db.session.execute(select(model.__table__)).mappings().all()
                conn.execute(model.__table__.insert(), [dict(r) for r in rows])
            first = (
                db.session.execute(select(Response.__table__).order_by(Response.id).limit(1))
                .mappings()
                .one()
            )
            conn.execute(Response.__table__.insert(), [dict(first)])
    finally:
        engine.dispose()
    return survey


def latest_completion(frame) -> float:
    return frame["submitted_at"].max().timestamp()


def test_reports_and_exports_read_the_replica(lagging, replica, tmp_path):
    survey = lagging
    assert read_engine(replica=True) is not db.engine
    assert read_engine(replica=True).url.database == make_url(replica).database
    # the report's frame and its cache stamp: both from the replica
    on_replica = responses_frame(survey.id, metadata=True, replica=True)
    assert len(on_replica) == 1
    assert current_stamp(survey.id).last_completed == latest_completion(on_replica)
    assert latest_completion(responses_frame(survey.id, metadata=True)) > latest_completion(
        on_replica
    )
    # the export: its count, its pieces and the file it writes
    assert count_responses(survey.id, replica=True) == 1
    assert sum(len(f) for f in iter_frames(survey.id, replica=True)) == 1
    found = survey
    plan = plan_export(found, make_options(found.questionnaire, "csv"), personal=True)
    assert plan.total == 1
    out = tmp_path / "export.csv"
    assert write_export(plan, out) == 1
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2  # header and one row
    # everything else reads the main database
    assert len(responses_frame(survey.id)) == 3
    assert count_responses(survey.id) == 3
    version = found.current
    assert len(stored_codes(survey.id, [version])[version.id][0]) == 3


def test_writes_never_go_to_the_replica(lagging, replica):
    # no table is bound to the replica: the session writes every model to the main database
    for mapper in db.Model.registry.mappers:
        assert db.session.get_bind(mapper=mapper) is db.engine, mapper
    record_response(lagging, servqual_answers(4))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Response)) == 4
    assert count_responses(lagging.id, replica=True) == 1


def test_without_the_setting_reports_read_the_main_database(app, make_survey):
    survey, _ = make_survey("servqual-22")
    for value in (5, 6, 7):
        record_response(survey, servqual_answers(value))
    db.session.commit()
    assert read_engine(replica=True) is db.engine
    assert current_stamp(survey.id).last_completed == latest_completion(
        responses_frame(survey.id, metadata=True)
    )
    assert len(responses_frame(survey.id, replica=True)) == 3
