"""At-risk customers (CLI CSV and page) and the monthly complaint report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import survey_app.surveys.services as engine
from survey_app.extensions import db
from survey_app.models import Customer, FollowUp, Invitation, Response, utcnow
from survey_app.surveys.services import record_response

from ..conftest import login_as
from .customer_data import lab_register, lab_survey, run

SHANGHAI = ZoneInfo("Asia/Shanghai")


def open_invitations() -> dict[str, Invitation]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Customer.customer_id, Invitation)
        .join(Invitation, Invitation.customer_pk == Customer.id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Response.id.is_(None))
    ).all()
    return dict(rows)


def answer(survey, invitation, when: datetime, **answers) -> Response:
    response = record_response(survey, answers, invitation=invitation, follow_up=True)
    response.completed_at = response.created_at = when
    db.session.commit()
    return response


@pytest.fixture
def waves(app, make_user, make_survey, tmp_path):
    """Two waves: C1 6 then 2; C2 5 then silent; C3 3 then silent; C4 6 and 6."""
    users = lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    now = utcnow()
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    first = open_invitations()
    for key, sat in (("C1", 6), ("C2", 5), ("C3", 3), ("C4", 6)):
        answer(survey, first[key], now - timedelta(days=40), SAT1=sat, R1=5)
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    second = open_invitations()
    for invitation in second.values():
        invitation.created_at = now - timedelta(days=20)
    db.session.commit()
    answer(survey, second["C1"], now - timedelta(days=10), SAT1=2, R1=5)
    answer(survey, second["C4"], now - timedelta(days=10), SAT1=6, R1=5)
    return {"survey": survey, **users}


def test_at_risk_csv_ranks_by_value_at_risk(app, waves, tmp_path):
    out = tmp_path / "risk.csv"
    result = run(app, "at-risk", "--unit", "lab", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["customer_id", "name", "tier", "revenue", "risk", "value_at_risk", "reason"]
    # the documented scores: C1 low (2 <= 3: 0.6 + 0.4 x 0.5 = 0.8) and fallen by 4 of 6
    # (0.3 + 0.7 x 4/6 = 0.7667): 1 - 0.2 x 0.2333 = 0.953; C2 silent: 0.5; C3 low at the
    # threshold (0.6) and silent (0.5): 1 - 0.4 x 0.5 = 0.8
    assert [r[:6] for r in rows[1:]] == [
        ["C1", "Alpha Hospital", "", "500", "0.953", "476.50"],
        ["C2", "Beta Clinic", "", "200", "0.500", "100.00"],
        ["C3", "Gamma Lab", "", "120", "0.800", "96.00"],
    ]
    assert "latest score 2 at or below 3 (lab-care," in rows[1][6]
    assert "score fell by 4 since the previous response (6 to 2, lab-care)" in rows[1][6]
    assert rows[2][6].startswith("stopped answering: invited on ")
    zh = run(app, "at-risk", "--unit", "lab", "--lang", "zh").stdout
    assert "customer_id,name,tier" in zh.splitlines()[0]
    stricter = run(app, "at-risk", "--unit", "lab", "--threshold", "5", "--drop", "5")
    ids = [line.split(",")[0] for line in stricter.stdout.splitlines()[1:]]
    assert ids == ["C1", "C2", "C3"]  # C2's last score 5 <= 5 now counts as low too
    assert "0.800" in stricter.stdout.splitlines()[2]  # C2: low at threshold 0.6 + silent


def test_the_at_risk_page_follows_the_same_ranking_and_access(app, waves, make_user):
    manager = app.test_client()
    login_as(manager, waves["manager"])
    html = manager.get("/customers/at-risk?unit=lab").text
    assert html.index("Alpha Hospital") < html.index("Beta Clinic") < html.index("Gamma Lab")
    assert "Delta Center" not in html
    agent = app.test_client()
    login_as(agent, waves["agent_a"])  # C1 and C2 are its customers
    mine = agent.get("/customers/at-risk?unit=lab").text
    assert "Alpha Hospital" in mine and "Beta Clinic" in mine and "Gamma Lab" not in mine
    outsider = app.test_client()
    login_as(outsider, make_user("manager", ("other",)))
    assert outsider.get("/customers/at-risk?unit=lab").status_code == 404


# -- the monthly complaint report -----------------------------------------------------------
def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(engine, "utcnow", lambda: moment.astimezone(UTC))


def test_the_monthly_complaint_report(app, make_user, make_survey, tmp_path, monkeypatch):
    from survey_app.followups.services import act

    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    links = open_invitations()
    cases = {}
    for key, moment, answers in (
        ("C3", datetime(2026, 2, 20, 10, tzinfo=SHANGHAI), {"COMPLAINT": "报告出具太慢"}),
        (
            "C1",
            datetime(2026, 3, 2, 10, tzinfo=SHANGHAI),
            {"COMPLAINT": "报告出具太慢，样本被拒收"},
        ),
        (
            "C2",
            datetime(2026, 3, 3, 10, tzinfo=SHANGHAI),
            {"COMPLAINT": "报告出具太慢", "TOPIC": "tat"},
        ),
        ("C4", datetime(2026, 3, 31, 23, 30, tzinfo=SHANGHAI), {"TOPIC": "billing"}),
        ("C6", datetime(2026, 4, 1, 0, 30, tzinfo=SHANGHAI), {}),  # April in Shanghai
    ):
        at(monkeypatch, moment)
        topic = {"TOPIC": "tat"} if key == "C1" else {}
        response = record_response(
            survey, {"SAT1": 2, "R1": 3, **topic, **answers}, invitation=links[key], follow_up=True
        )
        db.session.commit()
        cases[key] = db.session.scalars(
            select(FollowUp).where(FollowUp.response_id == response.id)
        ).one()
    c1 = cases["C1"]  # opened Monday 2 March 10:00, due 14:00 (4 working hours)
    act(c1, "assign", "agent-a@example.com", now=datetime(2026, 3, 2, 10, 30, tzinfo=SHANGHAI))
    act(c1, "start", "agent-a@example.com", now=datetime(2026, 3, 2, 11, tzinfo=SHANGHAI))
    act(
        c1,
        "resolve",
        "agent-a@example.com",
        note="重新检测并致歉 / re-tested and apologised",
        now=datetime(2026, 3, 2, 13, 30, tzinfo=SHANGHAI),
    )
    c2 = cases["C2"]  # due Tuesday 3 March 14:00, resolved on Wednesday: late
    act(c2, "assign", "x", now=datetime(2026, 3, 3, 11, tzinfo=SHANGHAI))
    act(c2, "start", "x", now=datetime(2026, 3, 3, 11, tzinfo=SHANGHAI))
    act(c2, "resolve", "x", note="加急处理", now=datetime(2026, 3, 4, 10, tzinfo=SHANGHAI))
    db.session.commit()
    monkeypatch.undo()
    out = tmp_path / "report.html"
    result = run(app, "complaint-report", "--unit", "lab", "--month", "2026-03", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "lab 2026-03: 3 follow-ups" in result.output
    html = out.read_text(encoding="utf-8")
    for outside in ("<script", "<link", "src=", "http://", "https://", "@import"):
        assert outside not in html  # self-contained
    zh, en = html.split('<section class="lang" id="en"')
    assert "投诉月报 2026-03" in zh and "Complaint report 2026-03" in en
    assert "2026-02" in en  # the previous month, compared
    # the questionnaire's categories: C1 and C2 turnaround time, C4 billing
    assert row(en, "Turnaround time") == ["Turnaround time", "2"]
    assert row(en, "Billing") == ["Billing", "1"]
    assert row(zh, "报告周期") == ["报告周期", "2"]
    # keywords: 太慢 in C1 and C2 this month, and in C3's complaint of February
    assert row(en, "太慢", table=1) == ["太慢", "2"]
    recurring = en.split("Recurring issues")[1].split("Solutions")[0]
    assert "太慢" in recurring and "Turnaround time" not in recurring  # February: no topic
    solutions = en.split("Solutions (closing notes)")[1]
    assert "re-tested and apologised" in solutions and "加急处理" in solutions
    assert "报告出具太慢" not in html  # complaint texts are personal: not quoted
    # times in working hours: C1 10:00 -> 13:30 is 2 + 0.5 h (lunch not counted), in
    # time (due 14:00); C2 Tuesday 10:00 -> Wednesday 10:00 is 2 + 4 + 1 = 7 h, late; the
    # median of 2.5 and 7 is 4.75; C4 is open and overdue: 2 of 3 late
    assert "Resolved in time</dt><dd>50%" in en
    assert "Overdue share</dt><dd>67%" in en
    assert "Median time to resolution</dt><dd>4.8 working hours" in en
    bad = run(app, "complaint-report", "--unit", "lab", "--month", "2026-13", "--out", str(out))
    assert bad.exit_code == 1 and "YYYY-MM" in bad.output


def row(html: str, label: str, table: int | None = None) -> list[str]:
    import re

    for match in re.finditer(r"<tr><td>(.*?)</td><td class=\"num\">(\d+)</td>", html):
        if match.group(1) == label:
            return [match.group(1), match.group(2)]
    raise AssertionError(f"no row {label!r}")
