"""Staff pages: surveys by unit, loading questionnaires, state, previews, invitations,
deletions on request, and the audit log."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from questionnaires import SHIPPED_DIR
from survey_app.extensions import db
from survey_app.models import AuditEntry, Invitation, Response, Survey
from survey_app.storage import responses_frame
from survey_app.surveys.services import record_response

from ..conftest import SurveyTaker, csrf_token, login_as, page_answers


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def staff(app, make_user, role="admin", units=(), personal=False):
    client = app.test_client()
    login_as(client, make_user(role, units, personal=personal))
    return client


def post_form(client, page_url: str, action: str, data: dict, **kw):
    page = client.get(page_url).text
    return client.post(action, data={"csrf_token": csrf_token(page), **data}, **kw)


@pytest.fixture
def two_units(app, make_user):
    """servqual-22 in unit-a, airport in unit-b."""
    make_user("researcher", ("unit-a",))
    make_user("researcher", ("unit-b",))
    assert (
        run(
            app, "load-questionnaire", str(SHIPPED_DIR / "servqual-22.yaml"), "--unit", "unit-a"
        ).exit_code
        == 0
    )
    assert (
        run(
            app, "load-questionnaire", str(SHIPPED_DIR / "airport.yaml"), "--unit", "unit-b"
        ).exit_code
        == 0
    )


def test_the_home_page_lists_the_units_surveys_with_their_activity(app, make_user, two_units):
    survey = db.session.get(Survey, "servqual-22")
    record_response(survey, {"P_TA1": 3})
    record_response(survey, {"P_TA1": 4}, complete=False)
    db.session.commit()
    client = staff(app, make_user, "manager", ("unit-a",))
    html = client.get("/staff/").text
    assert "Service quality survey" in html and "airport" not in html
    row = re.search(r"<tr>\s*<td><a href=\"/staff/surveys/servqual-22\">.*?</tr>", html, re.S)
    cells = re.findall(r'<td class="num">(\d+)</td>', row.group(0))
    assert cells == ["1", "1"] and "UTC" in row.group(0) and "open" in row.group(0)
    assert client.get("/staff/surveys/airport").status_code == 404  # another unit's
    everything = staff(app, make_user, "executive").get("/staff/").text
    assert "servqual-22" in everything and "airport" in everything


def test_load_into_a_unit_and_ids_unique_across_units(app, two_units):
    result = run(app, "load-questionnaire", str(SHIPPED_DIR / "airport.yaml"), "--unit", "unit-a")
    assert result.exit_code == 1
    assert "the survey id 'airport' is already in use" in result.output
    assert "unit-b" not in result.output
    assert db.session.get(Survey, "airport").unit_id == "unit-b"
    assert run(app, "load-questionnaire", str(SHIPPED_DIR / "genetic-lab.yaml")).exit_code == 0
    assert db.session.get(Survey, "genetic-lab").unit_id == "default"


def test_the_cli_acts_as_an_account_with_its_rights(app, two_units, make_user):
    make_user("manager", ("unit-a",), email="m@example.com")
    make_user("unit_admin", ("unit-a",), email="ua@example.com")
    refused = run(app, "invite", "servqual-22", "--as", "m@example.com")
    assert refused.exit_code == 1 and "may not" in refused.output
    unseen = run(app, "invite", "airport", "--as", "ua@example.com")
    assert unseen.exit_code == 1 and "no survey 'airport'" in unseen.output
    ok = run(app, "invite", "servqual-22", "--as", "ua@example.com")
    assert ok.exit_code == 0
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.actor) == ("invitations.create", "ua@example.com")
    zone = str(SHIPPED_DIR / "zone-of-tolerance.yaml")
    denied = run(app, "load-questionnaire", zone, "--unit", "unit-b", "--as", "ua@example.com")
    assert denied.exit_code == 1 and "may not load questionnaires into unit unit-b" in denied.output


def upload(client, text: str, name: str = "q.yaml", unit: str = "unit-a", **extra):
    return post_form(
        client,
        "/staff/upload",
        "/staff/upload",
        {"file": (io.BytesIO(text.encode()), name), "unit": unit, "open_now": "y", **extra},
        content_type="multipart/form-data",
    )


def test_uploading_a_questionnaire_is_checked_then_applied(app, make_user, two_units):
    client = staff(app, make_user, "researcher", ("unit-a",))
    source = (SHIPPED_DIR / "servperf-short.yaml").read_text()
    bad = upload(client, source.replace("  max: 7", "  max: 0"), "bad.yaml")
    assert bad.status_code == 422 and re.search(r"bad\.yaml, line \d+: scale", bad.text)
    other_unit = upload(client, source, unit="unit-b")
    assert other_unit.status_code == 400  # not a unit this account may choose
    check = upload(client, source, "servperf-short.yaml")
    assert check.status_code == 200 and "A new survey, in the unit unit-a" in check.text
    assert db.session.get(Survey, "servperf-short") is None  # nothing applied yet
    data = {
        name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', check.text).group(1)
        for name in ("csrf_token", "name", "unit", "open_now")
    }
    data["text"] = source
    assert client.post("/staff/upload/confirm", data=data).status_code == 302
    survey = db.session.get(Survey, "servperf-short")
    assert survey.unit_id == "unit-a" and survey.effective_state() == "open"
    record_response(survey, {"T1": 7})
    db.session.commit()
    narrowed = source.replace("  max: 7", "  max: 5").replace(
        "    7: {en: Strongly", "    5: {en: Strongly"
    )
    check = upload(client, narrowed, "servperf-short.yaml")
    assert "T1 (item T1): its scale changed from 1..7 to 1..5; 1 stored answers" in check.text
    data["text"] = narrowed
    refused = client.post("/staff/upload/confirm", data=data)
    assert refused.status_code == 422 and survey.current.number == 1
    assert (
        client.post("/staff/upload/confirm", data={**data, "allow_incompatible": "y"}).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(Survey, "servperf-short").current.series == 2
    # an id of another unit is refused without naming it
    taken = upload(client, (SHIPPED_DIR / "airport.yaml").read_text())
    assert (
        taken.status_code == 422 and "already in use" in taken.text and "unit-b" not in taken.text
    )


def test_closing_a_survey_stops_new_answers_and_unfinished_responses(app, make_user, two_units):
    customer = app.test_client()
    taker = SurveyTaker(customer, "servqual-22")
    taker.open()
    q = db.session.get(Survey, "servqual-22").questionnaire
    assert taker.submit(page_answers(q, 1), follow=True).status_code == 302
    client = staff(app, make_user, "unit_admin", ("unit-a",))
    url = "/staff/surveys/servqual-22"
    assert post_form(client, url, url + "/state", {"state": "closed"}).status_code == 302
    page = customer.get("/s/servqual-22")
    assert page.status_code == 403 and "This survey is closed" in page.text
    before = db.session.scalars(select(Response)).one().answers
    assert taker.submit(page_answers(q, 2)).status_code == 403
    db.session.expire_all()
    assert db.session.scalars(select(Response)).one().answers == before
    assert "servqual-22" not in customer.get("/").text
    # scheduled: open from an hour ago until a minute ago -> closed by its date
    past = datetime.now(UTC) - timedelta(hours=1)
    form = {
        "state": "open",
        "opens_at": past.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (past + timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M"),
    }
    assert post_form(client, url, url + "/state", form).status_code == 302
    assert customer.get("/s/servqual-22").status_code == 403
    form["closes_at"] = ""
    assert post_form(client, url, url + "/state", form).status_code == 302
    assert customer.get("/s/servqual-22").status_code == 200
    wrong = {**form, "closes_at": (past - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}
    assert post_form(client, url, url + "/state", wrong).status_code == 400
    states = db.session.scalars(
        select(AuditEntry.details).where(AuditEntry.action == "survey.state")
    ).all()
    assert len(states) == 3


def test_a_preview_works_on_a_draft_and_stays_out_of_the_data(app, make_user, two_units):
    client = staff(app, make_user, "researcher", ("unit-a",))
    survey = db.session.get(Survey, "servqual-22")
    survey.state = "draft"
    db.session.commit()
    assert app.test_client().get("/s/servqual-22").status_code == 403
    url = "/staff/surveys/servqual-22"
    response = post_form(client, url, url + "/preview", {})
    assert response.status_code == 302 and "/s/servqual-22?r=" in response.headers["Location"]
    taker = SurveyTaker(client, "servqual-22")
    taker.open(response.headers["Location"])
    q = survey.questionnaire
    for number in range(1, len(q.pages) + 1):
        assert taker.submit(page_answers(q, number), follow=True).status_code == 302
    assert "have been saved" in taker.page_html
    row = db.session.scalars(select(Response)).one()
    assert row.test and row.complete
    assert len(responses_frame("servqual-22")) == 0 and survey.response_count() == 0


def test_invitations_page_creates_links_and_the_csv_masks_contacts(app, make_user, two_units):
    client = staff(app, make_user, "unit_admin", ("unit-a",))
    url = "/staff/surveys/servqual-22/invitations"
    assert post_form(client, url, url, {"count": "2", "seg_tier": "A"}).status_code == 302
    csv_file = io.BytesIO(b"email,name,region\nli@example.com,Li Wei,east\n,,west\n")
    response = post_form(
        client, url, url, {"file": (csv_file, "people.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.text
    bad = post_form(
        client,
        url,
        url,
        {"file": (io.BytesIO(b"region\nmars\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "Line 2" in bad.text and "mars" in bad.text
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 4
    rows = client.get(url + ".csv").text.splitlines()
    assert rows[0] == "token,link,tier,region,wave,email,name,status"
    li = next(r for r in rows if ",east," in r)
    assert li.endswith(",***,***,not started")  # no personal-data grant
    # a token that starts with - or = is written with a leading ' (no spreadsheet formula)
    token = li.split(",")[0].removeprefix("'")
    assert f",http://survey.test/s/servqual-22?t={token}," in li
    granted = staff(app, make_user, "unit_admin", ("unit-a",), personal=True)
    granted_rows = granted.get(url + ".csv").text
    assert "li@example.com,Li Wei" in granted_rows
    assert ",A,," in "\n".join(rows)
    downloads = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "invitations.download")
    ).all()
    assert len(downloads) == 2


def test_deleting_a_respondents_answers_on_request(app, make_user, two_units):
    survey = db.session.get(Survey, "servqual-22")
    invitation = Invitation(survey_id=survey.id, token="t" * 32, segments={}, email="a@b.c")
    db.session.add(invitation)
    db.session.flush()
    kept = record_response(survey, {"P_TA1": 1})
    gone = record_response(survey, {"P_TA1": 2})
    gone.invitation_id = invitation.id
    by_id = record_response(survey, {"P_TA1": 3})
    db.session.commit()
    client = staff(app, make_user, "unit_admin", ("unit-a",))
    url = "/staff/surveys/servqual-22"
    assert (
        post_form(client, url, url + "/responses/delete", {"reference": "t" * 32}).status_code
        == 302
    )
    assert (
        post_form(client, url, url + "/responses/delete", {"reference": str(by_id.id)}).status_code
        == 302
    )
    assert (
        post_form(client, url, url + "/responses/delete", {"reference": "999999"}).status_code
        == 404
    )
    assert responses_frame(survey.id)["response_id"].tolist() == [kept.id]
    assert db.session.get(Invitation, invitation.id).email is None
    deletions = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "response.delete")
    ).all()
    assert len(deletions) == 2 and deletions[0].actor.startswith("unit_admin-unit-a")


def test_the_audit_log_is_filterable_and_tamper_evident(app, make_user, two_units):
    admin = staff(app, make_user, "admin")
    html = admin.get("/staff/audit?action=questionnaire.load").text
    assert html.count("<code>questionnaire.load</code>") == 2
    assert "user.create" not in admin.get("/staff/audit?action=questionnaire").text
    assert run(app, "audit-verify").output.startswith("audit log intact: ")
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 2"))
    db.session.rollback()
    # someone with the database's owner rights lifts the guard and edits an entry
    from survey_app.models.audit import DROP_TRIGGERS, TRIGGERS

    dialect = db.engine.dialect.name
    for statement in DROP_TRIGGERS[dialect]:
        db.session.execute(text(statement))
    db.session.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 2"))
    db.session.commit()
    result = run(app, "audit-verify")
    assert result.exit_code == 1
    assert "audit log entry 2 does not match: its content does not match its hash" in result.output
    db.session.execute(text("DELETE FROM audit_log WHERE id = 2"))
    db.session.commit()
    assert "entry 2 is missing" in run(app, "audit-verify").output
    for statement in TRIGGERS[dialect]:
        db.session.execute(text(statement))
    db.session.commit()
