from __future__ import annotations

from sqlalchemy import func, select

from questionnaires import SHIPPED_DIR, shipped_files
from survey_app.extensions import db
from survey_app.models import Invitation, QuestionnaireVersion, Survey
from survey_app.storage import responses_frame


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_init_db_is_idempotent(app):
    result = run(app, "init-db")
    assert result.exit_code == 0, result.output
    assert "database ready" in result.output


def test_load_all_shipped_questionnaires_and_list_them(app):
    result = run(app, "load-questionnaire", *map(str, shipped_files()))
    assert result.exit_code == 0, result.output
    assert "servqual-22: version 1 (servqual-22.yaml)" in result.output
    again = run(app, "load-questionnaire", str(SHIPPED_DIR / "servqual-22.yaml"))
    assert "servqual-22: unchanged" in again.output
    listing = run(app, "surveys")
    lines = listing.output.strip().splitlines()
    assert len(lines) == len(shipped_files())
    assert "servqual-22\tService quality survey\t0" in lines


def test_malformed_file_exits_non_zero_and_imports_nothing(app, tmp_path):
    bad = tmp_path / "bad.yaml"
    text = (SHIPPED_DIR / "airport.yaml").read_text().replace("id: airport", "id: broken")
    bad.write_text(text.replace("min: 1\n  max: 5", "min: 5\n  max: 5"))
    # a good file first, then the bad one: neither may be stored
    result = run(app, "load-questionnaire", str(SHIPPED_DIR / "servqual-22.yaml"), str(bad))
    assert result.exit_code == 1
    assert f"{bad}, line " in result.output
    assert "min (5) must be smaller than max (5)" in result.output
    assert db.session.scalar(select(func.count()).select_from(Survey)) == 0
    assert db.session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 0


def test_seed_demo_adds_realistic_responses(app, make_survey):
    survey, q = make_survey("servqual-22")
    result = run(app, "seed-demo", "servqual-22", "--responses", "400", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert "servqual-22: 400 demo responses added" in result.output
    frame = responses_frame(survey.id, q)
    assert len(frame) == 400
    perception = frame[[c for c in frame.columns if c.startswith("P_")]].mean(axis=1)
    expectation = frame[[c for c in frame.columns if c.startswith("E_")]].mean(axis=1)
    # realistic: expectations exceed perceptions; perceptions drive satisfaction
    assert expectation.mean() > perception.mean()
    assert perception.corr(frame["SAT1"]) > 0.4
    assert frame["P_TA1"].between(1, 7).all()
    assert set(frame["tier"].unique()) == {"A", "B", "C"}
    skipped = run(app, "seed-demo", "servqual-22", "--if-empty")
    assert "nothing added" in skipped.output
    assert len(responses_frame(survey.id, q)) == 400


def test_seed_demo_for_unknown_survey_fails(app):
    result = run(app, "seed-demo", "nope")
    assert result.exit_code == 1 and "no survey 'nope'" in result.output


def test_invite_prints_one_link_per_token(app, make_survey):
    make_survey("genetic-lab")
    result = run(app, "invite", "genetic-lab", "--count", "3", "--base-url", "https://x.org/")
    assert result.exit_code == 0
    links = result.output.strip().splitlines()
    assert len(links) == 3 and all(
        link.startswith("https://x.org/s/genetic-lab?t=") for link in links
    )
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 3


def test_demo_accounts_one_per_role_with_random_passwords(app):
    from survey_app.models import ROLES, User

    first = run(app, "demo-accounts")
    assert first.exit_code == 0, first.output
    assert "Staff pages: http://survey.test/login" in first.output
    lines = [line.split() for line in first.output.splitlines()[1:]]
    assert [line[0] for line in lines] == list(ROLES)
    again = run(app, "demo-accounts")
    new = [line.split() for line in again.output.splitlines()[1:]]
    assert all(a[2] != b[2] and len(a[2]) >= 16 for a, b in zip(lines, new, strict=True))
    assert db.session.scalar(select(func.count()).select_from(User)) == len(ROLES)
    from ..conftest import sign_in

    admin = next(line for line in new if line[0] == "admin")
    assert sign_in(app.test_client(), admin[1], admin[2]).status_code == 302
