"""The report's customer figures (issue 14 in the reports of issue 11): the customer
pyramid, the recovery rate and the share of follow-ups resolved in time, overall and by
tier, in data.json, on the "Customers and follow-ups" page and in the offline file.

Expected values are counted by hand from the scenario below; the 95% intervals are R's
``prop.test(x, n, correct = FALSE)$conf.int`` (the Wilson score interval).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import survey_app.surveys.services as engine
from survey_app.extensions import db
from survey_app.models import Customer, FollowUp, Invitation, Response
from survey_app.surveys.services import record_response

from ..conftest import login_as
from .customer_data import lab_register, lab_survey, run

SHANGHAI = ZoneInfo("Asia/Shanghai")
# R 4.x: prop.test(x, n, correct = FALSE)$conf.int
WILSON = {
    (2, 4): (0.1500389892, 0.8499610108),
    (1, 2): (0.0945312057, 0.9054687943),
    (2, 3): (0.2076596008, 0.9385080553),
    (1, 1): (0.2065493144, 1.0),
}
NAMES = ("Alpha Hospital", "Beta Clinic", "Gamma Lab", "Delta Center", "Epsilon Group")
PERSONAL = ("alpha@example.net", "+86 10 1234 5678", "too slow, samples lost", "credited")


def open_invitations() -> dict[str, Invitation]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Customer.customer_id, Invitation)
        .join(Invitation, Invitation.customer_pk == Customer.id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Response.id.is_(None))
    ).all()
    return dict(rows)


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(engine, "utcnow", lambda: moment.astimezone(UTC))


def answer(monkeypatch, survey, invitation, moment, **answers) -> FollowUp | None:
    at(monkeypatch, moment)
    response = record_response(survey, {"R1": 5, **answers}, invitation=invitation, follow_up=True)
    db.session.commit()
    monkeypatch.undo()
    return db.session.scalars(select(FollowUp).where(FollowUp.response_id == response.id)).first()


def resolve(case: FollowUp, moment: datetime, note: str = "called back") -> None:
    from survey_app.followups.services import act

    for action in ("assign", "start"):
        act(case, action, "head@example.com", now=moment)
    act(case, "resolve", "head@example.com", note=note, now=moment)
    db.session.commit()


@pytest.fixture
def scenario(app, make_user, make_survey, tmp_path, monkeypatch):
    """Register C1..C7 (revenue 500, 200, 120, 80, 50, 30, 20: ABC tiers A A A B B C C),
    two waves of invitations to every customer.

    Wave 1, Monday 2 March 2026 10:00 Shanghai (due 14:00): C1 (A) 2 -> case 1 resolved
    13:30, in time; C2 (A) 1 -> case 2 resolved the next day, late; C3 (A) 6; C4 (B) 3 ->
    case 3, left open (overdue); C5 (B) 7 with a complaint -> case 4 resolved 11:00, in
    time; C6 (C) 5; C7 silent.
    Wave 2, Wednesday 1 April 10:00: C1 6 (recovered), C2 3 (not; opens case 5), C4 7
    (recovered), C5 2 (not; opens case 6).
    """
    app.config["REPORTS_CACHE"] = str(tmp_path / "reports-cache")
    app.extensions.pop("reports", None)
    users = lab_register(app, make_user, tmp_path)
    survey, q = lab_survey(make_survey, tmp_path)
    assert run(app, "tier-customers", "--unit", "lab").exit_code == 0
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    links = open_invitations()
    monday = datetime(2026, 3, 2, 10, tzinfo=SHANGHAI)
    cases = {}
    for key, sat, extra in (
        ("C1", 2, {"COMPLAINT": "too slow, samples lost"}),
        ("C2", 1, {}),
        ("C3", 6, {}),
        ("C4", 3, {}),
        ("C5", 7, {"COMPLAINT": "the invoice was wrong"}),
        ("C6", 5, {}),
    ):
        cases[key] = answer(monkeypatch, survey, links[key], monday, SAT1=sat, **extra)
    assert {k for k, c in cases.items() if c is not None} == {"C1", "C2", "C4", "C5"}
    resolve(cases["C1"], datetime(2026, 3, 2, 13, 30, tzinfo=SHANGHAI), "credited the fee")
    resolve(cases["C2"], datetime(2026, 3, 3, 10, tzinfo=SHANGHAI))
    resolve(cases["C5"], datetime(2026, 3, 2, 11, tzinfo=SHANGHAI))
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    links = open_invitations()
    april = datetime(2026, 4, 1, 10, tzinfo=SHANGHAI)
    for key, sat in (("C1", 6), ("C2", 3), ("C4", 7), ("C5", 2)):
        answer(monkeypatch, survey, links[key], april, SAT1=sat)
    manager = make_user("manager", ("lab",), email="boss@example.com")
    return {"survey": survey, "q": q, "cases": cases, "manager": manager, **users}


def data_json(client, survey, query: str = "") -> dict:
    import time

    for _ in range(300):
        response = client.get(f"/reports/{survey.id}/data.json?bootstrap=0{query}")
        if response.status_code == 200:
            return response.get_json()
        assert response.status_code == 202, response.get_data(as_text=True)
        time.sleep(0.1)
    raise AssertionError("data.json never became ready")


def interval(k: int, n: int):
    return pytest.approx(list(WILSON[(k, n)]), abs=1e-9)


def test_the_figures_against_the_hand_count(app, scenario):
    client = app.test_client()
    login_as(client, scenario["manager"])
    data = data_json(client, scenario["survey"])
    pyramid = {row["tier"]: row for row in data["tier_pyramid"]}
    assert [pyramid[t]["customers"] for t in "ABC"] == [3, 2, 2]
    assert [pyramid[t]["revenue"] for t in "ABC"] == [820, 130, 50]
    assert [pyramid[t]["revenue_share"] for t in "ABC"] == pytest.approx([0.82, 0.13, 0.05])
    # two waves of 3, 2, 2, except that C7 (C), who never answered, keeps its first link
    assert [pyramid[t]["invited"] for t in "ABC"] == [6, 4, 3]
    assert [pyramid[t]["responses"] for t in "ABC"] == [5, 4, 1]
    assert [pyramid[t]["response_rate"] for t in "ABC"] == pytest.approx([5 / 6, 1.0, 1 / 3])
    follow = data["follow_ups"]
    recovery = follow["recovery"]
    assert {k: recovery[k] for k in ("followed_up", "with_next_response", "recovered")} == {
        "followed_up": 4,  # C1, C2, C4, C5: their first case counts
        "with_next_response": 4,
        "recovered": 2,  # C1 and C4
    }
    assert recovery["rate"] == 0.5 and recovery["ci"] == interval(2, 4)
    in_time = follow["resolved_in_time"]
    assert (in_time["cases"], in_time["resolved"], in_time["in_time"]) == (6, 3, 2)
    assert in_time["share"] == pytest.approx(2 / 3) and in_time["ci"] == interval(2, 3)
    assert in_time["open_overdue"] == 3  # case 3, and cases 5 and 6 of April
    a, b, c = (follow["by_tier"][t] for t in "ABC")
    assert (a["recovery"]["recovered"], a["recovery"]["with_next_response"]) == (1, 2)
    assert a["recovery"]["ci"] == interval(1, 2)
    assert (a["resolved_in_time"]["cases"], a["resolved_in_time"]["resolved"]) == (3, 2)
    assert a["resolved_in_time"]["in_time"] == 1 and a["resolved_in_time"]["open_overdue"] == 1
    assert (b["recovery"]["recovered"], b["recovery"]["with_next_response"]) == (1, 2)
    assert (b["resolved_in_time"]["resolved"], b["resolved_in_time"]["in_time"]) == (1, 1)
    assert b["resolved_in_time"]["ci"] == interval(1, 1)
    assert c["recovery"]["followed_up"] == 0 and c["recovery"]["rate"] is None
    assert c["resolved_in_time"]["cases"] == 0 and c["resolved_in_time"]["ci"] is None
    assert follow["tier_basis"] == "segment"
    # a filter selects the cases its responses opened
    only_a = data_json(client, scenario["survey"], "&tier=A")
    assert only_a["follow_ups"]["recovery"]["followed_up"] == 2
    assert only_a["follow_ups"]["resolved_in_time"]["cases"] == 3
    assert {r["tier"]: r["responses"] for r in only_a["tier_pyramid"]} == {"A": 5, "B": 0, "C": 0}
    # invitations are filtered by the same segments: the rates compare like with like
    assert {r["tier"]: r["invited"] for r in only_a["tier_pyramid"]} == {"A": 6, "B": 0, "C": 0}
    assert only_a["tier_pyramid"][1]["response_rate"] is None


def test_a_resolved_follow_up_and_a_new_tier_show_at_once(app, scenario):
    client = app.test_client()
    login_as(client, scenario["manager"])
    survey = scenario["survey"]
    before = data_json(client, survey)
    case = db.session.get(FollowUp, scenario["cases"]["C4"].id)  # open, tier B
    resolve(case, datetime(2026, 3, 2, 12, tzinfo=SHANGHAI))  # by its due time
    after = data_json(client, survey)
    assert after["follow_ups"]["resolved_in_time"]["resolved"] == 4
    assert after["follow_ups"]["resolved_in_time"]["in_time"] == 3
    assert after["follow_ups"]["resolved_in_time"]["open_overdue"] == 2
    assert after["follow_ups"]["by_tier"]["B"]["resolved_in_time"]["in_time"] == 2
    # the analysis itself was not recomputed for it: same responses, same result file
    assert after.get("computed_at") == before.get("computed_at")
    from survey_app.customers.services import set_tier

    set_tier(db.session.scalars(select(Customer).where(Customer.customer_id == "C7")).one(), "B")
    db.session.commit()
    pyramid = {r["tier"]: r for r in data_json(client, survey)["tier_pyramid"]}
    assert (pyramid["B"]["customers"], pyramid["C"]["customers"]) == (3, 1)


def test_the_page_shows_the_figures_and_no_personal_data(app, scenario, make_user):
    import re

    survey = scenario["survey"]
    for user in (scenario["manager"], make_user("executive", (), email="exec@example.com")):
        client = app.test_client()
        login_as(client, user)
        data_json(client, survey)
        html = client.get(f"/reports/{survey.id}/customers").get_data(as_text=True)
        assert 'data-chart="tier-pyramid"' in html and 'data-chart="recovery"' in html
        assert 'data-chart="in-time"' in html
        assert re.search(r"<th scope=\"row\">All customers</th>(.*?)</tr>", html, re.S)
        row = re.search(r"<th scope=\"row\">All customers</th>(.*?)</tr>", html, re.S).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        assert cells == [
            "4",
            "4",
            "2",
            "50%",
            "[15%, 85%]",
            "6",
            "3",
            "2",
            "67%",
            "[21%, 94%]",
            "3",
        ]
        everything = html + json.dumps(data_json(client, survey), ensure_ascii=False)
        for secret in (*NAMES, *PERSONAL):
            assert secret not in everything, secret
        overview = client.get(f"/reports/{survey.id}").get_data(as_text=True)
        assert f'href="/reports/{survey.id}/customers"' in overview
    agent = app.test_client()
    login_as(agent, scenario["agent_a"])  # agents have no view_reports
    assert agent.get(f"/reports/{survey.id}/customers").status_code == 403
    outsider = app.test_client()
    login_as(outsider, make_user("manager", ("other",), email="elsewhere@example.com"))
    assert outsider.get(f"/reports/{survey.id}/customers").status_code == 404


def test_the_page_in_chinese_and_the_offline_file(app, scenario, tmp_path):
    survey = scenario["survey"]
    client = app.test_client()
    login_as(client, scenario["manager"])
    data_json(client, survey)
    html = client.get(f"/reports/{survey.id}/customers?lang=zh").get_data(as_text=True)
    assert "客户金字塔" in html and "跟进是否有效" in html
    out = tmp_path / "r.html"
    result = app.test_cli_runner().invoke(
        args=["report", survey.id, "--out", str(out), "--bootstrap", "0"]
    )
    assert result.exit_code == 0, result.output
    offline = out.read_text(encoding="utf-8")
    assert 'id="customers"' in offline and 'data-chart="recovery"' in offline
    assert 'data-chart="tier-pyramid"' in offline
    for secret in (*NAMES, *PERSONAL):
        assert secret not in offline, secret


def test_a_survey_without_register_or_follow_ups_says_so(app, make_survey, make_user, tmp_path):
    from survey_app.demo import add_demo_responses

    app.config["REPORTS_CACHE"] = str(tmp_path / "cache")
    app.extensions.pop("reports", None)
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 30, seed=2)
    client = app.test_client()
    login_as(client, make_user("manager", ("default",)))
    data = data_json(client, survey)
    assert data["tier_pyramid"] is None and data["follow_ups"] is None
    html = client.get(f"/reports/{survey.id}/customers").get_data(as_text=True)
    assert "nothing to show here" in html
    # satisfaction by tier, from the analysis: the same means as the segments page
    assert html.count("data-figure") == 1 and 'data-chart="segment-tier-satisfaction"' in html
