"""Customers filling surveys in a real Chromium (Debian's), driven by Playwright.

Screenshots go to ``tests/artifacts/`` so that a person can look at the pages.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Response
from survey_app.storage import responses_frame
from survey_app.surveys.services import create_invitations

from ..conftest import page_of
from .conftest import DESKTOP, PHONE, answer_page, page_label, press, shot

pytestmark = pytest.mark.browser


def count_responses(status: str = "complete") -> int:
    return db.session.scalar(
        select(func.count()).select_from(Response).where(Response.status == status)
    )


@pytest.mark.parametrize(
    ("locale", "first_page", "next_label", "submit_label", "thanks"),
    [
        ("en-GB", "Page 1 of 7", "Next", "Submit", "Thank you!"),
        ("zh-CN", "第 1 页，共 7 页", "下一页", "提交", "谢谢您！"),
    ],
    ids=["english", "chinese"],
)
def test_fill_whole_servqual_on_a_phone(
    live_server, new_page, make_survey, locale, first_page, next_label, submit_label, thanks
):
    survey, q = make_survey("servqual-22")
    page = new_page(PHONE, locale)
    page.goto(f"{live_server}/s/{survey.id}")
    assert page_label(page) == first_page
    lang = locale[:2]
    shot(page, f"servqual-phone-{lang}-page1")
    # phone: the expectation and perception of an item are stacked, each labelled
    e_box = page.locator("#item-TA1 .cell").nth(0).bounding_box()
    p_box = page.locator("#item-TA1 .cell").nth(1).bounding_box()
    assert p_box["y"] >= e_box["y"] + e_box["height"] - 1
    assert page.locator("#item-TA1 .measure-label").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for number in range(1, len(q.pages) + 1):
        answer_page(page, point=6)
        if number == 5:
            shot(page, f"servqual-phone-{lang}-page5")
        button = page.locator("button[value=next]")
        assert button.inner_text() == (next_label if number < len(q.pages) else submit_label)
        press(page)
    assert page.locator("h1").inner_text() == thanks
    shot(page, f"servqual-phone-{lang}-thanks")
    frame = responses_frame(survey.id, q)
    assert len(frame) == 1
    assert frame.loc[0, "E_TA1"] == 6 and frame.loc[0, "P_EM5"] == 6
    assert frame.loc[0, "lang"] == lang
    assert frame.loc[0, "COMPLAINT"] == "服务很好 / good"


def test_desktop_shows_expectation_and_perception_side_by_side(live_server, new_page, make_survey):
    survey, _ = make_survey("servqual-22")
    page = new_page(DESKTOP)
    page.goto(f"{live_server}/s/{survey.id}")
    e_box = page.locator("#item-TA1 .cell").nth(0).bounding_box()
    p_box = page.locator("#item-TA1 .cell").nth(1).bounding_box()
    assert abs(p_box["y"] - e_box["y"]) < 2 and p_box["x"] > e_box["x"] + e_box["width"]
    assert page.locator(".matrix-head").is_visible()
    shot(page, "servqual-desktop-page1")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_three_measures_of_nine_points_do_not_overlap(live_server, new_page, make_survey, viewport):
    survey, _ = make_survey("zone-of-tolerance")
    page = new_page(viewport)
    page.goto(f"{live_server}/s/{survey.id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    card = page.locator(".section").first.bounding_box()
    boxes = [g.bounding_box() for g in page.locator("#item-TA1 [role=radiogroup]").all()]
    assert len(boxes) == 3
    for box in boxes:  # every group inside the card
        assert card["x"] <= box["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
    for a, b in zip(boxes, boxes[1:], strict=False):  # and no two groups overlap
        disjoint_x = a["x"] + a["width"] <= b["x"] + 1 or b["x"] + b["width"] <= a["x"] + 1
        disjoint_y = a["y"] + a["height"] <= b["y"] + 1 or b["y"] + b["height"] <= a["y"] + 1
        assert disjoint_x or disjoint_y
    last = page.locator("#item-TA1 [role=radiogroup]").first.locator("label.point").last
    assert (
        last.bounding_box()["x"] + last.bounding_box()["width"]
        <= boxes[0]["x"] + boxes[0]["width"] + 1
    )
    shot(page, f"zone-of-tolerance-{'phone' if viewport is PHONE else 'desktop'}")


def test_resume_after_leaving_half_way(live_server, new_page, make_survey):
    survey, q = make_survey("servqual-22")
    token = create_invitations(survey, 1)[0].token
    db.session.commit()
    link = f"{live_server}/s/{survey.id}?t={token}"
    page = new_page(PHONE)
    page.goto(link)
    for _ in range(3):
        answer_page(page, point=3)
        press(page)
    assert page_label(page) == "Page 4 of 7"
    page.context.close()  # the customer leaves

    page = new_page(PHONE)  # ... and comes back later, in a new browser, from the same link
    page.goto(link)
    assert page_label(page) == "Page 4 of 7"
    press(page, "back")
    assert page_label(page) == "Page 3 of 7"
    assert page.locator("input[name=q_P_RS1][value='3']").is_checked()
    shot(page, "servqual-resumed-page3")
    while page.locator("button[value=next]").count():
        answer_page(page, point=3)
        press(page)
    assert page.locator("h1").inner_text() == "Thank you!"
    frame = responses_frame(survey.id, q)
    assert len(frame) == 1 and frame.loc[0, "P_TA1"] == 3


def test_skipped_required_item_gets_an_error_next_to_it(live_server, new_page, make_survey):
    survey, _ = make_survey("servqual-22")
    page = new_page(PHONE)
    page.goto(f"{live_server}/s/{survey.id}")
    answer_page(page, skip="TA3")
    press(page)
    assert page_label(page) == "Page 1 of 7"
    error = page.locator("#item-TA3 .error").first
    assert error.is_visible() and error.inner_text() == "Please answer this question."
    assert page.locator(".error-summary").is_visible()
    assert page.locator(".error").count() == 2  # expectation and perception of TA3
    # the other answers are still there
    assert page.locator("input[name=q_E_TA1][value='5']").is_checked()
    shot(page, "servqual-phone-error")
    assert count_responses("in_progress") + count_responses() == 0


def test_show_if_appears_live_and_double_click_submits_once(live_server, new_page, make_survey):
    survey, q = make_survey("airport")
    page = new_page(PHONE)
    page.goto(f"{live_server}/s/{survey.id}")
    while page.locator("input[name=q_NPS]").count() == 0:
        answer_page(page)
        press(page)
    why = page.locator("#item-WHY_LOW")
    assert why.is_hidden()
    page.locator("label.point", has=page.locator("input[name=q_NPS][value='3']")).click()
    assert why.is_visible()
    page.locator("label.point", has=page.locator("input[name=q_NPS][value='9']")).click()
    assert why.is_hidden()
    answer_page(page, point=9)
    assert page.locator("button[value=next]").inner_text() == "Submit"
    press(page, double=True)
    assert page.locator("h1").inner_text() == "Thank you!"
    assert count_responses() == 1
    assert responses_frame(survey.id, q).loc[0, "NPS"] == 9


def test_touch_targets_are_44_px_and_fit_a_phone(live_server, new_page, make_survey):
    survey, q = make_survey("servqual-22")
    page = new_page(PHONE)
    page.goto(f"{live_server}/s/{survey.id}")
    nps_page = page_of(q, "NPS")
    for number in (1, nps_page):
        page.goto(f"{live_server}/s/{survey.id}?page={number}")
        targets = page.locator("label.point:visible, label.choice:visible").all()
        assert targets
        for target in targets:
            box = target.bounding_box()
            assert box["width"] >= 44 and box["height"] >= 44, target.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        if number == 1:  # a 7-point scale fits on one row
            points = page.locator("#item-TA1 [role=radiogroup]").first.locator("label.point")
            assert len({round(p.bounding_box()["y"]) for p in points.all()}) == 1
    shot(page, "servqual-phone-nps")


def test_an_optional_choice_can_be_cleared(live_server, new_page, make_survey):
    survey, q = make_survey("servqual-22")
    page = new_page(PHONE)
    page.goto(f"{live_server}/s/{survey.id}")
    while page.locator("input[name=q_tier]").count() == 0:
        answer_page(page)
        press(page)
    clear = page.locator("button[data-clear=q_tier]")
    assert clear.is_hidden()  # nothing to clear yet
    answer_page(page)  # the region too
    page.locator("label.choice", has=page.locator("input[name=q_tier][value=B]")).click()
    assert clear.is_visible()
    shot(page, "servqual-phone-clear")
    clear.click()
    assert page.locator("input[name=q_tier]:checked").count() == 0 and clear.is_hidden()
    press(page)
    assert page.locator("h1").inner_text() == "Thank you!"
    frame = responses_frame(survey.id, q)
    assert frame["tier"].isna().all() and frame["region"].tolist() == ["north"]


def test_keyboard_focus_is_visible_and_labels_are_not_doubled(live_server, new_page, make_survey):
    survey, q = make_survey("airport")
    page = new_page(DESKTOP)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/s/{survey.id}")
    for _ in range(6):
        page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const el = document.activeElement; const target = el.closest('label') || el;"
        " const s = getComputedStyle(target); return [el.tagName, s.outlineStyle,"
        " parseFloat(s.outlineWidth)]; }"
    )
    assert focused[1] != "none" and focused[2] >= 2, focused
    shot(page, "airport-keyboard-focus")
    while True:
        tree = page.locator("form.survey").aria_snapshot()
        names = re.findall(r'(?:radiogroup|group|textbox) "([^"]+)"', tree)
        assert names
        for name in names:
            assert not re.search(r"\b(\w+)\s+\1\b", name), name
        if page.locator("button[value=next]").inner_text() == "Submit":
            break
        answer_page(page)
        press(page)
    assert errors == []


def test_the_resume_link_wraps_between_words(live_server, new_page, make_survey):
    survey, q = make_survey("servqual-22")
    page = new_page(PHONE)
    page.goto(f"{live_server}/s/{survey.id}")
    answer_page(page)
    press(page)
    resume = page.locator("p.resume")
    styles = resume.evaluate(
        "p => [getComputedStyle(p).wordBreak, getComputedStyle(p.querySelector('a')).overflowWrap]"
    )
    assert styles == ["normal", "anywhere"]
    assert resume.locator("a").inner_text().startswith("http://survey.test/s/servqual-22?r=")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
