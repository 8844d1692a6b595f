"""The follow-up flow in a real Chromium: a customer gives a low score through an
invitation, the account manager finds the case, works it and resolves it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey_app.extensions import db
from survey_app.models import Customer, FollowUp, Invitation

from ..survey_app.customer_data import lab_register, lab_survey, run
from .conftest import DESKTOP, PHONE, answer_page, press, shot
from .test_staff_browser import sign_in, watch

pytestmark = pytest.mark.browser


def test_from_a_low_score_to_a_resolved_case(
    app, live_server, new_page, make_user, make_survey, tmp_path
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "invite", survey.id, "--customers").exit_code == 0
    token = db.session.execute(
        select(Invitation.token)
        .join(Customer, Customer.id == Invitation.customer_pk)
        .where(Customer.customer_id == "C1")
    ).scalar_one()

    customer = new_page(PHONE, locale="zh-CN")
    events = watch(customer)
    customer.goto(f"{live_server}/s/{survey.id}?t={token}")
    while customer.locator("button[value=next]").count() and (
        customer.locator("button[value=next]").inner_text() not in ("Submit", "提交")
    ):
        answer_page(customer, point=2)
        press(customer)
    answer_page(customer, point=2)  # 2 of 7: at or below the follow-up threshold of 3
    customer.fill("textarea", "报告出具太慢")
    press(customer)
    assert customer.url.split("?")[0].endswith("/thanks")

    db.session.expire_all()
    case = db.session.scalars(select(FollowUp)).one()
    assert case.owner.email == "agent-a@example.com" and case.state == "new"

    agent = new_page(DESKTOP)
    events += watch(agent)
    sign_in(agent, live_server, "agent-a@example.com")
    agent.click("text=Follow-ups")
    row = agent.locator(f"#followups tr[data-id='{case.id}']")
    assert "Alpha Hospital" in row.inner_text() and "new" in row.inner_text()
    with agent.expect_navigation():
        row.locator(f"a[href='/followups/{case.id}']").click()
    assert "报告出具太慢" in agent.locator("#complaint").inner_text()  # its own customer
    shot(agent, "followup-new")
    for button, state in (("assign", "assigned"), ("start", "in progress")):
        with agent.expect_navigation():
            agent.click(f"button[value={button}]")
        assert agent.locator("#state").inner_text() == state
    with agent.expect_navigation():
        agent.click("button[value=resolve]")  # without a closing note: refused
    assert "resolving needs a closing note" in agent.locator(".error-summary").inner_text()
    agent.fill("#note", "Re-ran the sample the same day and called the lab manager.")
    with agent.expect_navigation():
        agent.click("button[value=resolve]")
    assert agent.locator("#state").inner_text() == "resolved"
    assert "called the lab manager" in agent.locator("#closing-note").inner_text()
    assert agent.locator("button[value=resolve]").count() == 0  # nothing more to do
    history = agent.locator(".history li").all_inner_texts()
    assert [h.split(" · ")[0] for h in history] == [
        "Opened by the response",
        "Assign (confirm the owner)",
        "Start work",
        "Resolve",
    ]
    shot(agent, "followup-resolved")
    db.session.expire_all()
    assert db.session.get(FollowUp, case.id).state == "resolved"
    assert events == [], events
