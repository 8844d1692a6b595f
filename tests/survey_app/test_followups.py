"""Follow-ups: opened by the survey engine with the completion, owners, due times in
working time, every state change, who sees and handles which case, the CLI, whether it
worked, and the report figures."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import survey_app.surveys.services as engine
from survey_app.extensions import db
from survey_app.models import AuditEntry, Customer, FollowUp, Invitation, Response, aware

from ..conftest import SurveyTaker, csrf_token, login_as, page_answers
from .customer_data import lab_register, lab_survey, run

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def lab(app, make_user, make_survey, tmp_path):
    users = lab_register(app, make_user, tmp_path)
    survey, q = lab_survey(make_survey, tmp_path)
    result = run(app, "invite", survey.id, "--customers")
    assert result.exit_code == 0, result.output
    links = dict(
        db.session.execute(
            select(Customer.customer_id, Invitation.token).join(
                Invitation, Invitation.customer_pk == Customer.id
            )
        ).all()
    )
    return {"survey": survey, "q": q, "links": links, **users}


def answer(app, lab, customer_id: str, sat: int, complaint: str | None = None, topic=None):
    """Take the survey with the customer's invitation link, as a browser would."""
    q = lab["q"]
    client = app.test_client()
    token = lab["links"][customer_id]
    taker = SurveyTaker(client, lab["survey"].id, f"?t={token}")
    taker.open()
    invitation = db.session.scalars(select(Invitation).where(Invitation.token == token)).one()
    preset = frozenset(invitation.segments)
    pages = q.pages_for(preset)
    for number in range(1, len(pages) + 1):
        data = page_answers(q, number, preset=preset)
        for slot, value in (("SAT1", sat), ("COMPLAINT", complaint), ("TOPIC", topic)):
            if f"q_{slot}" in data or slot in {s.name for s in pages[number - 1].slots}:
                data[f"q_{slot}"] = "" if value is None else str(value)
        response = taker.submit(data, follow=True)
        assert response.status_code == 302, taker.page_html
    db.session.expire_all()
    return db.session.scalars(select(Response).where(Response.invitation_id == invitation.id)).one()


def case_of(response: Response) -> FollowUp | None:
    db.session.expire_all()
    return db.session.scalars(select(FollowUp).where(FollowUp.response_id == response.id)).first()


def staff(app, user):
    client = app.test_client()
    login_as(client, user)
    return client


def step(client, case_id: int, action: str, **data):
    page = client.get(f"/followups/{case_id}")
    token = csrf_token(page.text)
    return client.post(
        f"/followups/{case_id}/step", data={"csrf_token": token, "action": action, **data}
    )


# -- opening ------------------------------------------------------------------------------
def test_a_low_score_opens_a_case_owned_by_the_account_manager(app, lab):
    response = answer(app, lab, "C1", sat=2)
    case = case_of(response)
    assert case is not None and case.state == "new"
    assert case.owner.email == "agent-a@example.com"
    assert case.customer.customer_id == "C1" and case.unit_id == "lab"
    assert case.reasons == [{"column": "SAT1", "value": 2, "max": 3}]
    assert case.scores["SAT1"] == 2 and "R1" in case.scores
    assert [e.action for e in case.events] == ["open"]
    assert (
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "follow_up.open"))
        .one()
        .target
        == f"follow_up:{case.id}"
    )
    assert case_of(answer(app, lab, "C2", sat=4)) is None  # above the threshold, no text


def test_a_complaint_always_opens_one_and_the_default_agent_owns_it(app, lab):
    case = case_of(answer(app, lab, "C3", sat=7, complaint="报告出具太慢"))
    assert case.reasons == [{"complaint": "COMPLAINT"}]
    assert case.owner.email == "desk@example.com"  # C3 has no account manager


def test_the_case_opens_in_the_completing_transaction(app, lab, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the follow-up could not be written")

    monkeypatch.setattr("survey_app.followups.services.open_if_needed", broken)
    with pytest.raises(RuntimeError):
        answer(app, lab, "C1", sat=1)
    db.session.expire_all()
    assert db.session.scalars(select(Response).where(Response.status == "complete")).all() == []
    assert db.session.scalars(select(FollowUp)).all() == []


def test_no_owner_opens_the_case_anyway_and_warns(app, lab, caplog, monkeypatch):
    assert run(app, "unit-settings", "lab", "--default-agent", "").exit_code == 0
    # Alembic's fileConfig disables the loggers that existed when the tests migrated
    monkeypatch.setattr(logging.getLogger("survey_app.followups.services"), "disabled", False)
    with caplog.at_level(logging.WARNING, logger="survey_app.followups.services"):
        case = case_of(answer(app, lab, "C3", sat=1))
    assert case.owner is None and case.state == "new"
    assert "has no owner" in caplog.text


def test_preview_responses_open_nothing(app, lab, make_user):
    from survey_app.surveys.services import record_response

    response = record_response(lab["survey"], {"SAT1": 1}, follow_up=True)
    response.test = False
    db.session.commit()
    assert case_of(response) is not None
    preview = record_response(lab["survey"], {"SAT1": 1}, complete=True)
    preview.test = True
    db.session.flush()
    engine.completed(lab["survey"], preview, lab["q"], {"SAT1": 1})
    db.session.commit()
    assert case_of(preview) is None


# -- due times ----------------------------------------------------------------------------
def completed_at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(engine, "utcnow", lambda: moment.astimezone(UTC))


def test_friday_16_00_is_due_monday_12_00(app, lab, monkeypatch):
    completed_at(monkeypatch, datetime(2026, 3, 13, 16, 0, tzinfo=SHANGHAI))  # a Friday
    case = case_of(answer(app, lab, "C1", sat=2))
    assert aware(case.due_at) == datetime(2026, 3, 16, 12, 0, tzinfo=SHANGHAI)


def test_due_times_follow_the_units_settings(app, lab, monkeypatch):
    result = run(
        app,
        "unit-settings",
        "lab",
        "--hours",
        "08:30-17:30",
        "--calendar",
        "weekdays",
        "--due-hours",
        "2",
        "--zone",
        "Europe/Berlin",
    )
    assert result.exit_code == 0, result.output
    berlin = ZoneInfo("Europe/Berlin")
    # Thursday 1 October 2026 is a Chinese public holiday, but not on this calendar
    completed_at(monkeypatch, datetime(2026, 10, 1, 17, 0, tzinfo=berlin))
    case = case_of(answer(app, lab, "C1", sat=2))
    assert aware(case.due_at) == datetime(2026, 10, 2, 10, 0, tzinfo=berlin)
    bad = run(app, "unit-settings", "lab", "--hours", "12:00-09:00")
    assert bad.exit_code == 1 and "the end is not after the start" in bad.output


# -- steps ----------------------------------------------------------------------------------
def test_every_state_change_through_the_case_page(app, lab):
    case = case_of(answer(app, lab, "C1", sat=2, complaint="样本被拒收"))
    owner = staff(app, lab["agent_a"])
    assert step(owner, case.id, "start").status_code == 422  # new -> in_progress: no
    assert step(owner, case.id, "assign").status_code == 302
    assert case_of_id(case.id).state == "assigned"
    assert step(owner, case.id, "note", note="Called the lab manager").status_code == 302
    assert step(owner, case.id, "start").status_code == 302
    assert case_of_id(case.id).state == "in_progress"
    refused = step(owner, case.id, "resolve", note="  ")
    assert refused.status_code == 422 and "resolving needs a closing note" in refused.text
    assert step(owner, case.id, "resolve", note="Re-ran the sample; new SOP").status_code == 302
    done = case_of_id(case.id)
    assert done.state == "resolved" and done.closing_note == "Re-ran the sample; new SOP"
    assert done.resolved_at is not None and done.first_response_at is not None
    assert [e.action for e in done.events] == ["open", "assign", "note", "start", "resolve"]
    assert [e.state for e in done.events] == [
        "new",
        "assigned",
        "assigned",
        "in_progress",
        "resolved",
    ]
    assert step(owner, case.id, "note", note="late").status_code == 422  # resolved: final
    actions = db.session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.action.like("follow_up.%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == [
        "follow_up.open",
        "follow_up.assign",
        "follow_up.note",
        "follow_up.start",
        "follow_up.resolve",
    ]
    page = owner.get(f"/followups/{case.id}").text
    assert "Re-ran the sample; new SOP" in page and "Called the lab manager" in page


def case_of_id(case_id: int) -> FollowUp:
    db.session.expire_all()
    return db.session.get(FollowUp, case_id)


def test_reassignment_before_resolved_moves_the_case(app, lab):
    case = case_of(answer(app, lab, "C1", sat=2))
    manager = staff(app, lab["manager"])
    assert step(manager, case.id, "assign").status_code == 302
    assert step(manager, case.id, "start").status_code == 302
    response = step(manager, case.id, "reassign", owner=str(lab["agent_b"].id))
    assert response.status_code == 302
    moved = case_of_id(case.id)
    assert moved.owner_id == lab["agent_b"].id and moved.state == "assigned"
    assert moved.events[-1].owner == "agent-b@example.com"
    outsider = staff(app, lab["agent_a"])  # no longer the owner, but C1's account manager
    assert outsider.get(f"/followups/{case.id}").status_code == 200
    assert step(outsider, case.id, "start").status_code == 403


def test_who_sees_and_handles_which_case(app, lab, make_user):
    mine = case_of(answer(app, lab, "C1", sat=2, complaint="收费不透明"))
    theirs = case_of(answer(app, lab, "C4", sat=1))  # agent-b's customer
    agent_a, agent_b = staff(app, lab["agent_a"]), staff(app, lab["agent_b"])
    assert agent_a.get(f"/followups/{mine.id}").status_code == 200
    assert agent_a.get(f"/followups/{theirs.id}").status_code == 404  # same unit, not theirs
    assert agent_b.get(f"/followups/{mine.id}").status_code == 404
    listing = agent_a.get("/followups").text
    assert (
        f'href="/followups/{mine.id}"' in listing
        and f'href="/followups/{theirs.id}"' not in listing
    )
    manager = staff(app, lab["manager"])
    all_cases = manager.get("/followups").text
    assert (
        f'href="/followups/{mine.id}"' in all_cases
        and f'href="/followups/{theirs.id}"' in all_cases
    )
    page = manager.get(f"/followups/{mine.id}").text
    assert "收费不透明" not in page and "masked" in page  # no personal-data grant
    assert "收费不透明" in agent_a.get(f"/followups/{mine.id}").text  # its own customer
    elsewhere = staff(app, make_user("manager", ("other",)))
    assert elsewhere.get(f"/followups/{mine.id}").status_code == 404
    assert f"/followups/{mine.id}" not in elsewhere.get("/followups").text
    executive = staff(app, make_user("executive"))
    assert executive.get(f"/followups/{mine.id}").status_code == 200
    assert step(executive, mine.id, "assign").status_code == 403  # reads, does not handle
    researcher = staff(app, make_user("researcher", ("lab",)))
    assert researcher.get("/followups").status_code == 403


def test_the_list_puts_overdue_cases_first_and_filters(app, lab, monkeypatch):
    completed_at(monkeypatch, datetime(2026, 3, 13, 16, 0, tzinfo=SHANGHAI))
    old = case_of(answer(app, lab, "C1", sat=2))
    monkeypatch.undo()
    new = case_of(answer(app, lab, "C2", sat=2))
    manager = staff(app, lab["manager"])
    html = manager.get("/followups").text
    assert html.index(f'data-id="{old.id}"') < html.index(f'data-id="{new.id}"')
    assert f'class="overdue" data-id="{old.id}"' in html
    assert f'data-id="{old.id}"' not in manager.get("/followups?owner=agent-b@example.com").text
    assert f'data-id="{new.id}"' not in manager.get("/followups?state=resolved").text
    assert manager.get("/followups?state=bogus").status_code == 400
    run(app, "set-tier", "C2", "B", "--unit", "lab")
    tiered = manager.get("/followups?tier=B").text
    assert f'data-id="{new.id}"' in tiered and f'data-id="{old.id}"' not in tiered


# -- the command line ---------------------------------------------------------------------
def test_followups_json_for_cron(app, lab, monkeypatch):
    completed_at(monkeypatch, datetime(2026, 3, 13, 16, 0, tzinfo=SHANGHAI))
    old = case_of(answer(app, lab, "C1", sat=2))
    monkeypatch.undo()
    new = case_of(answer(app, lab, "C3", sat=1))
    result = run(app, "followups", "--unit", "lab", "--json")
    assert result.exit_code == 0
    items = json.loads(result.stdout)
    assert [i["id"] for i in items] == [old.id, new.id]
    first = items[0]
    assert {"id", "customer_id", "state", "owner", "opened_at", "due_at", "overdue"} <= set(first)
    assert first["customer_id"] == "C1" and first["state"] == "new"
    assert first["owner"] == "agent-a@example.com" and first["overdue"] is True
    assert first["opened_at"] == "2026-03-13T16:00:00+08:00"
    assert first["due_at"] == "2026-03-16T12:00:00+08:00"
    assert items[1]["overdue"] is False and items[1]["owner"] == "desk@example.com"
    overdue = json.loads(run(app, "followups", "--overdue", "--json").stdout)
    assert [i["id"] for i in overdue] == [old.id]
    mine = json.loads(run(app, "followups", "--json", "--as", "desk@example.com").stdout)
    assert [i["id"] for i in mine] == [new.id]  # an agent: only its own
    lines = run(app, "followups").stdout.strip().splitlines()
    assert lines[0].split("\t") == [
        str(old.id),
        "C1",
        "new",
        "agent-a@example.com",
        "2026-03-16T12:00:00+08:00",
        "overdue",
    ]


def test_overdue_owners_are_mailed(app, lab, smtp, monkeypatch):
    completed_at(monkeypatch, datetime(2026, 3, 13, 16, 0, tzinfo=SHANGHAI))
    old = case_of(answer(app, lab, "C1", sat=2))
    monkeypatch.undo()
    smtp.wait(1)  # the owner heard of the new case
    opened = smtp.to("agent-a@example.com")[0]
    assert f"/followups/{old.id}" in opened.get_content() and "2026-03-16 12:00" in (
        opened.get_content()
    )
    result = run(app, "followups", "--overdue", "--notify")
    assert result.exit_code == 0, result.output
    smtp.wait(2)
    notice = smtp.to("agent-a@example.com")[1]
    assert "overdue" in notice["Subject"] and f"/followups/{old.id}" in notice.get_content()
    run(app, "followups", "--overdue", "--notify")  # not again within a day
    assert len(smtp.to("agent-a@example.com")) == 2


# -- whether it worked ----------------------------------------------------------------------
def test_the_next_response_shows_whether_it_worked_and_the_report_figures(app, lab):
    from survey_app.followups.reporting import (
        recovery_rate,
        resolved_in_time_share,
        tier_pyramid,
    )
    from survey_app.selection import Selection

    assert run(app, "tier-customers", "--unit", "lab").exit_code == 0
    first = case_of(answer(app, lab, "C1", sat=2))
    second = case_of(answer(app, lab, "C2", sat=1))
    owner = staff(app, lab["agent_a"])
    for action in ("assign", "start"):
        step(owner, first.id, action)
    step(owner, first.id, "resolve", note="apologised, credited the fee")
    # the next wave: both customers are invited again; C1 recovers, C2 does not
    assert run(app, "invite", lab["survey"].id, "--customers").exit_code == 0
    lab["links"] = dict(
        db.session.execute(
            select(Customer.customer_id, Invitation.token)
            .join(Invitation, Invitation.customer_pk == Customer.id)
            .outerjoin(Response, Response.invitation_id == Invitation.id)
            .where(Response.id.is_(None))
        ).all()
    )
    answer(app, lab, "C1", sat=6)
    answer(app, lab, "C2", sat=3)
    page = owner.get(f"/followups/{first.id}").text
    assert "recovered: above the threshold" in page
    assert "still below the threshold" in owner.get(f"/followups/{second.id}").text
    q = lab["q"]
    everyone = Selection.parse(q, [])
    rate = recovery_rate(lab["survey"], everyone)
    assert rate == {"followed_up": 2, "with_next_response": 2, "recovered": 1, "rate": 0.5}
    north = Selection.parse(q, [("region", "north")])  # C1 is north, C2 east
    assert recovery_rate(lab["survey"], north)["followed_up"] == 1
    share = resolved_in_time_share(lab["survey"], everyone)
    assert share["cases"] == 3 and share["resolved"] == 1 and share["in_time"] == 1
    assert share["share"] == 1.0
    pyramid = {row["tier"]: row for row in tier_pyramid(lab["survey"], everyone)}
    assert pyramid["A"]["customers"] == 3 and pyramid["A"]["revenue"] == 820
    assert pyramid["A"]["revenue_share"] == pytest.approx(0.82)
    # the first wave was invited before the tiers were set: only the second carries them
    assert pyramid["A"]["invited"] == 2 and pyramid["A"]["responses"] == 2
    assert pyramid["A"]["response_rate"] == 1.0
    assert pyramid["B"]["customers"] == 2 and pyramid["B"]["invited"] == 0
    assert pyramid["C"]["responses"] == 0 and pyramid["C"]["response_rate"] is None


def test_a_response_deleted_on_request_leaves_the_case_without_its_texts(app, lab):
    from survey_app.admin.services import delete_response

    case = case_of(answer(app, lab, "C1", sat=2, complaint="客户隐私内容"))
    token = lab["links"]["C1"]
    assert delete_response(lab["survey"], token) is not None
    db.session.commit()
    kept = case_of_id(case.id)
    assert kept.response_id is None and kept.state == "new"
    page = staff(app, lab["agent_a"]).get(f"/followups/{case.id}").text
    assert "The response was deleted on the customer" in page and "客户隐私内容" not in page
