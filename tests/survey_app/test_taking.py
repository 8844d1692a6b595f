from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Response
from survey_app.storage import responses_frame
from survey_app.surveys import services
from survey_app.surveys.services import create_invitations, stored_answers

from ..conftest import SurveyTaker, page_answers


def count_responses(status: str | None = None) -> int:
    query = select(func.count()).select_from(Response)
    if status:
        query = query.where(Response.status == status)
    return db.session.scalar(query)


def errors_in(html: str) -> list[str]:
    return re.findall(r'<p class="error" id="err-([^"]+)">([^<]+)</p>', html)


def checked(html: str, name: str) -> list[str]:
    """The values of the checked inputs called ``name``."""
    tags = re.findall(rf'<input [^>]*name="{name}"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', t).group(1) for t in tags if " checked" in t]


def complete(taker: SurveyTaker, q, value: int = 5, **override) -> None:
    taker.open()
    for number in range(1, len(q.pages) + 1):
        response = taker.submit(page_answers(q, number, value, **override), follow=True)
        assert response.status_code == 302, errors_in(taker.page_html)


def test_whole_survey_is_stored_once_with_the_wide_columns(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    complete(taker, q, value=6, P_TA1="2", tier="B", COMPLAINT="Too slow", COMPLAINED="no")
    assert "Thank you" in taker.page_html
    frame = responses_frame(survey.id, q)
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["E_TA1"] == 6 and row["P_TA1"] == 2
    assert row["tier"] == "B" and row["COMPLAINT"] == "Too slow"
    # COMPLAINT_RESOLVED is only asked of those who complained: the posted 6 is dropped
    assert row["COMPLAINED"] == "no"
    assert frame["COMPLAINT_RESOLVED"].isna().all()
    assert list(frame.columns[3:]) == [c.name for c in q.columns]


def test_skipped_required_item_reshows_the_page_and_stores_nothing(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    data = page_answers(q, 1)
    del data["q_P_TA3"]
    response = taker.submit(data)
    assert response.status_code == 422
    assert errors_in(taker.page_html) == [("q_P_TA3", "Please answer this question.")]
    summary = re.search(r'<div class="error-summary".*?</div>', taker.page_html, re.S).group(0)
    assert "Its staff are neat and professional in appearance. (Our company)" in summary
    # the other answers are kept on the re-shown page
    assert checked(taker.page_html, "q_E_TA1") == ["5"]
    assert count_responses() == 0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("P_TA1", "8", "Please choose one of the points from 1 to 7."),
        ("P_TA1", "0", "Please choose one of the points from 1 to 7."),
        ("P_TA1", "seven", "Please choose one of the points from 1 to 7."),
        ("P_TA1", "4.5", "Please choose one of the points from 1 to 7."),
    ],
)
def test_out_of_range_or_forged_scale_answer_is_rejected(
    client, make_survey, column, value, message
):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    response = taker.submit(page_answers(q, 1, **{column: value}))
    assert response.status_code == 422
    assert (f"q_{column}", message) in errors_in(taker.page_html)
    assert count_responses() == 0


def test_forged_choice_and_too_long_text_are_rejected_on_a_later_page(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    for number in range(1, 5):
        taker.submit(page_answers(q, number), follow=True)
    before = stored_answers(db.session.scalars(select(Response)).one())
    data = page_answers(q, 5, COMPLAINED="maybe", SUGGESTION="x" * 2001, NPS="11")
    response = taker.submit(data)
    assert response.status_code == 422
    fields = dict(errors_in(taker.page_html))
    assert fields["q_COMPLAINED"] == "Not a valid choice."
    assert "2000" in fields["q_SUGGESTION"]
    assert fields["q_NPS"] == "Please choose one of the points from 0 to 10."
    db.session.expire_all()
    response_row = db.session.scalars(select(Response)).one()
    assert stored_answers(response_row) == before  # nothing of the bad page was stored
    assert response_row.page == 5


def test_forged_page_number_redirects_to_the_current_page(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1), follow=True)
    data = page_answers(q, 4)
    response = taker.submit({**data, "page": "4"})
    assert response.status_code == 302
    assert count_responses("complete") == 0
    row = db.session.scalars(select(Response)).one()
    assert row.page == 2
    assert stored_answers(row)["P_EM1"] is None


def test_double_submission_of_the_first_page_creates_one_response(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    first_page = taker.page_html
    assert taker.submit(page_answers(q, 1)).status_code == 302
    # the same form posted again (double click, back button, replay) from a fresh client
    client.delete_cookie("session")
    taker.page_html = first_page
    assert taker.submit(page_answers(q, 1)).status_code == 400  # the old CSRF session is gone
    assert count_responses() == 1


def test_replayed_final_submission_does_not_duplicate(client, make_survey):
    survey, q = make_survey("servperf-short")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    for number in range(1, len(q.pages)):
        taker.submit(page_answers(q, number), follow=True)
    last_page = taker.page_html
    assert taker.submit(page_answers(q, len(q.pages))).status_code == 302
    taker.page_html = last_page
    response = taker.submit(page_answers(q, len(q.pages), value=1))
    assert response.headers["Location"].endswith("/thanks")
    assert count_responses() == 1
    assert responses_frame(survey.id, q)["R1"].tolist() == [5.0]  # the replay changed nothing
    # the same browser (a kiosk) can then start a new response from the open link
    taker.open()
    assert "Page 1 of" in taker.page_html
    complete(taker, q, value=2)
    assert responses_frame(survey.id, q)["R1"].tolist() == [5.0, 2.0]


def test_concurrent_first_submissions_with_one_key_make_one_response(app, make_survey, monkeypatch):
    survey, _ = make_survey("servperf-short")
    first = services.start_response(survey, key="k" * 32, lang="en")
    db.session.commit()
    # The second request looked before the first one inserted: its lookup saw nothing.
    real = services.find_response
    calls = iter([None])
    monkeypatch.setattr(
        services, "find_response", lambda *a, **k: next(calls, None) or real(*a, **k)
    )
    second = services.start_response(survey, key="k" * 32, lang="en")
    db.session.commit()
    assert second.id == first.id
    assert count_responses() == 1


def test_resume_from_the_same_link_after_leaving(client, make_survey, app):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1, value=3), follow=True)
    taker.submit(page_answers(q, 2, value=4), follow=True)
    # same browser comes back to the plain link
    taker.open(f"/s/{survey.id}")
    assert "Page 3 of 6" in taker.page_html
    resume = re.search(r'<p class="resume">[^<]*<a href="([^"]+)"', taker.page_html).group(1)
    # another device opens the resume link
    other = SurveyTaker(app.test_client(), survey.id)
    other.open(resume.replace("http://localhost", ""))
    assert "Page 3 of 6" in other.page_html
    other.open(resume.replace("http://localhost", "") + "&page=1")
    assert checked(other.page_html, "q_P_TA1") == ["3"]  # earlier answers are shown
    other.open(resume.replace("http://localhost", ""))
    for number in range(3, len(q.pages) + 1):
        response = other.submit(page_answers(q, number), follow=True)
        assert response.status_code == 302, response.text
    frame = responses_frame(survey.id, q)
    assert len(frame) == 1 and frame["P_TA1"][0] == 3 and frame["P_RE1"][0] == 4


def test_back_keeps_the_valid_answers_of_an_incomplete_page(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1), follow=True)
    partial = {"q_E_RE1": "2", "q_P_RE1": "9"}  # one valid answer, one invalid
    response = taker.submit({**partial, "nav": "back"})
    assert response.status_code == 302 and "page=1" in response.headers["Location"]
    answers = stored_answers(db.session.scalars(select(Response)).one())
    assert answers["E_RE1"] == 2 and answers["P_RE1"] is None


def test_invitation_survey_needs_a_valid_token_and_takes_one_response(
    client, make_survey, tmp_path
):
    source = (make_survey.__globals__["SHIPPED_DIR"] / "servperf-short.yaml").read_text()
    path = tmp_path / "invite-only.yaml"
    path.write_text(source.replace("id: servperf-short", "id: invite-only\naccess: invitation"))
    survey, q = make_survey(path=path)
    assert client.get(f"/s/{survey.id}").status_code == 403
    assert client.get(f"/s/{survey.id}?t=nonsense").status_code == 404
    token = create_invitations(survey, 1)[0].token
    db.session.commit()
    taker = SurveyTaker(client, survey.id, f"?t={token}")
    complete(taker, q)
    assert "Thank you" in taker.page_html
    # the link again, from another browser, cannot start a second response
    again = client.application.test_client().get(f"/s/{survey.id}?t={token}")
    assert again.status_code == 302 and again.headers["Location"].endswith("/thanks")
    assert count_responses() == 1


def test_language_from_browser_and_switch(client, make_survey):
    survey, _ = make_survey("servqual-22")
    html = client.get(f"/s/{survey.id}", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "服务质量调查" in html and "第 1 页，共 6 页" in html and 'lang="zh-CN"' in html
    assert "设备先进、与时俱进。" in html
    html = client.get(f"/s/{survey.id}?lang=en").text
    assert "Service quality survey" in html and "Page 1 of 6" in html
    # the choice sticks for the session, whatever the browser says
    html = client.get(f"/s/{survey.id}", headers={"Accept-Language": "zh"}).text
    assert "Page 1 of 6" in html


def test_validation_errors_are_translated(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id, "?lang=zh")
    taker.open()
    data = page_answers(q, 1)
    del data["q_E_TA1"]
    taker.submit(data)
    assert ("q_E_TA1", "请回答此题。") in errors_in(taker.page_html)


def test_missing_csrf_token_is_refused_and_nothing_stored(client, make_survey):
    survey, q = make_survey("servqual-22")
    client.get(f"/s/{survey.id}")
    response = client.post(f"/s/{survey.id}", data={"page": "1", **page_answers(q, 1)})
    assert response.status_code == 400
    assert "security token" in response.text
    assert count_responses() == 0


def test_unknown_survey_is_a_clear_404(client, app):
    response = client.get("/s/nope")
    assert response.status_code == 404
    assert "There is no survey with this address." in response.text
    # a URL that matches no route at all still renders the page with its language links
    response = client.get("/favicon.ico?lang=zh")
    assert response.status_code == 404 and "页面不存在。" in response.text


@pytest.mark.parametrize(("nps", "kept"), [("9", False), ("3", True)])
def test_multiple_choice_and_show_if_on_the_same_page(client, make_survey, nps, kept):
    survey, q = make_survey("airport")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    for number in range(1, len(q.pages) + 1):
        data = page_answers(q, number)
        if "q_USED" in data:
            data.update({"q_USED": ["food", "wifi"], "q_NPS": nps, "q_WHY_LOW": "queues"})
        assert taker.submit(data, follow=True).status_code == 302, errors_in(taker.page_html)
    row = responses_frame(survey.id, q).iloc[0]
    assert (row["USED_shops"], row["USED_food"], row["USED_wifi"]) == (0, 1, 1)
    assert row["NPS"] == int(nps)
    # WHY_LOW is only asked when NPS <= 6: otherwise the posted text is not stored
    assert (row["WHY_LOW"] == "queues") if kept else pd.isna(row["WHY_LOW"])


def test_index_lists_surveys(client, make_survey):
    make_survey("servqual-22")
    make_survey("airport")
    html = client.get("/").text
    assert 'href="/s/servqual-22"' in html and 'href="/s/airport"' in html
