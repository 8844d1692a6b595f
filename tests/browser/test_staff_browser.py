"""Staff pages in a real Chromium: signing in, pages on a phone, and script payloads
from a questionnaire file or an answer that must run nowhere."""

from __future__ import annotations

import pytest

from survey_app.extensions import db
from survey_app.models import Survey

from ..conftest import PASSWORD
from .conftest import DESKTOP, PHONE, answer_page, press, shot

pytestmark = pytest.mark.browser

HOSTILE = """\
id: hostile
title:
  en: "<script>window.pwned = 'title'</script>Hostile"
  zh: "<script>window.pwned = 1</script>恶意"
scale: {min: 1, max: 5}
dimensions:
  - id: d
    title: {en: "<img src=x onerror=\\"window.pwned='dim'\\">Dimension", zh: 维度}
    items:
      - {id: A, text: {en: "<img src=x onerror=\\"window.pwned='item'\\">Item A", zh: 甲}}
questions:
  - id: more
    items:
      - {id: NOTE, type: text, personal: false, text: {en: "Anything else?", zh: 还有吗？}}
segments:
  - {id: tier, title: {en: "<svg onload=\\"window.pwned='seg'\\">Tier", zh: 等级}, choices: [A, B]}
"""
ANSWER = "<script>window.pwned='answer'</script><img src=x onerror=\"window.pwned='img'\">"


def sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def watch(page) -> list[str]:
    """Collect what a payload could do: dialogs, errors in the console, page errors."""
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: events.append(f"pageerror {e}"))
    page.on(
        "console",
        lambda m: (
            events.append(f"console {m.text}")
            if m.type == "error" and "Failed to load resource" not in m.text
            else None
        ),
    )
    return events


def test_payloads_in_a_questionnaire_and_an_answer_run_nowhere(
    live_server, new_page, make_survey, make_user, tmp_path
):
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    survey, q = make_survey(path=path)
    make_user("admin", personal=True, email="boss@example.com")
    page = new_page(DESKTOP)
    events = watch(page)
    page.goto(f"{live_server}/s/{survey.id}")
    assert "<script>window.pwned = 'title'</script>Hostile" in page.locator("h1").inner_text()
    while page.locator("button[value=next]").inner_text() != "Submit":
        answer_page(page)
        press(page)
    answer_page(page)
    page.fill("textarea", ANSWER)
    press(page)
    assert page.locator("h1").inner_text() == "Thank you!"
    staff = new_page(DESKTOP)
    events += watch(staff)
    sign_in(staff, live_server, "boss@example.com")
    pages = [
        "/",
        f"/s/{survey.id}",
        "/staff/",
        f"/staff/surveys/{survey.id}",
        f"/staff/surveys/{survey.id}/invitations",
        "/staff/upload",
        "/staff/users",
        "/staff/units",
        "/staff/audit",
    ]
    for url in pages:
        staff.goto(live_server + url)
        assert staff.evaluate("window.pwned") is None, url
    staff.goto(f"{live_server}/staff/surveys/{survey.id}")
    shot(staff, "staff-hostile-survey")
    assert "<script>" in staff.locator("h1").inner_text()  # shown as text
    assert events == [], events


def test_the_csp_blocks_an_injected_inline_script(live_server, new_page, make_survey):
    survey, _ = make_survey("servperf-short")
    page = new_page(DESKTOP)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/s/{survey.id}")
    with pytest.raises(Exception):  # noqa: B017  (Playwright reports the blocked script)
        page.add_script_tag(content="window.injected = 'ran'")
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = \"window.injected = 'ran'\"; document.body.appendChild(s); }"
    )
    assert page.evaluate("window.injected") is None
    assert any("Content Security Policy" in v for v in violations), violations


def test_staff_pages_work_on_a_phone(live_server, new_page, make_survey, make_user):
    survey, _ = make_survey("servqual-22")
    make_user("unit_admin", ("default",), email="ua@example.com")
    page = new_page(PHONE)
    events = watch(page)
    sign_in(page, live_server, "ua@example.com")
    assert page.url.endswith("/staff/")
    shot(page, "staff-phone-home")
    page.click(f"a[href='/staff/surveys/{survey.id}']")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "staff-phone-survey")
    page.select_option("#state", "closed")
    with page.expect_navigation():
        page.click("form[action$='/state'] button[type=submit]")
    assert "The survey's state was saved." in page.locator(".flash").inner_text()
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).state == "closed"
    page.goto(f"{live_server}/staff/surveys/{survey.id}/invitations")
    page.fill("#count", "3")
    page.select_option("#seg_tier", "A")
    with page.expect_navigation():
        page.click("form:not([enctype]) button[type=submit] >> text=Create")
    assert page.locator("table.data tbody tr").count() == 3
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "staff-phone-invitations")
    with page.expect_navigation():
        page.click("button.link")  # sign out
    assert page.url.endswith("/login")
    assert events == [], events
