from __future__ import annotations

import re

import pandas as pd
import pytest
from sqlalchemy import func, select

from questionnaires import load_questionnaire, shipped_files
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.storage import responses_frame
from survey_app.surveys.services import (
    create_invitations,
    record_response,
    stored_answers,
    submit_page,
)

from ..conftest import SurveyTaker, hidden, page_answers, page_of


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
    target = page_of(q, "NPS")
    for number in range(1, target):
        taker.submit(page_answers(q, number), follow=True)
    before = stored_answers(db.session.scalars(select(Response)).one())
    data = page_answers(q, target, COMPLAINED="maybe", SUGGESTION="x" * 2001, NPS="11")
    response = taker.submit(data)
    assert response.status_code == 422
    fields = dict(errors_in(taker.page_html))
    assert fields["q_COMPLAINED"] == "Not a valid choice."
    assert fields["q_SUGGESTION"] == "Please write at most 2000 characters."
    assert fields["q_NPS"] == "Please choose one of the points from 0 to 10."
    db.session.expire_all()
    response_row = db.session.scalars(select(Response)).one()
    assert stored_answers(response_row) == before  # nothing of the bad page was stored
    assert response_row.page == target


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
    assert "/thanks?r=" in response.headers["Location"]
    assert count_responses() == 1
    assert responses_frame(survey.id, q)["R1"].tolist() == [5.0]  # the replay changed nothing
    # the same browser (a kiosk) can then start a new response from the open link
    taker.open()
    assert "Page 1 of" in taker.page_html
    complete(taker, q, value=2)
    assert responses_frame(survey.id, q)["R1"].tolist() == [5.0, 2.0]


def test_resume_from_the_same_link_after_leaving(client, make_survey, app):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1, value=3), follow=True)
    taker.submit(page_answers(q, 2, value=4), follow=True)
    # same browser comes back to the plain link
    taker.open(f"/s/{survey.id}")
    assert "Page 3 of 7" in taker.page_html
    resume = re.search(r'<p class="resume">[^<]*<a href="([^"]+)"', taker.page_html).group(1)
    assert resume.startswith("http://survey.test/s/servqual-22?r=")  # SURVEY_BASE_URL
    # another device opens the resume link
    other = SurveyTaker(app.test_client(), survey.id)
    other.open(resume.replace("http://survey.test", ""))
    assert "Page 3 of 7" in other.page_html
    other.open(resume.replace("http://survey.test", "") + "&page=1")
    assert checked(other.page_html, "q_P_TA1") == ["3"]  # earlier answers are shown
    other.open(resume.replace("http://survey.test", ""))
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
    assert again.status_code == 302 and f"/thanks?t={token}" in again.headers["Location"]
    assert count_responses() == 1


def test_language_from_browser_and_switch(client, make_survey):
    survey, _ = make_survey("servqual-22")
    html = client.get(f"/s/{survey.id}", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    assert "服务质量调查" in html and "第 1 页，共 7 页" in html and 'lang="zh-CN"' in html
    assert "设备先进、与时俱进。" in html
    html = client.get(f"/s/{survey.id}?lang=en").text
    assert "Service quality survey" in html and "Page 1 of 7" in html
    # the choice sticks for the session, whatever the browser says
    html = client.get(f"/s/{survey.id}", headers={"Accept-Language": "zh"}).text
    assert "Page 1 of 7" in html


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
    response = client.get("/no/such/page?lang=zh")
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


# -- the server decides completeness (regression: Back moved the furthest page on) ------
def test_back_never_moves_the_furthest_page_forward(client, make_survey):
    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    taker.submit(page_answers(q, 1), follow=True)
    for _ in range(3):  # Back, Next (refused: nothing answered), Back ... from page 2
        assert taker.submit({"nav": "back"}, follow=True).status_code == 302
        taker.open(f"/s/{survey.id}?page=2")
        assert taker.submit({"nav": "next"}).status_code == 422
    row = db.session.scalars(select(Response)).one()
    assert row.page == 2
    # page 3 cannot be reached, by URL or by a posted page number
    assert "Page 2 of 7" in client.get(f"/s/{survey.id}?page=3").text
    assert taker.submit({**page_answers(q, 3), "page": "3"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(select(Response)).one().page == 2


def test_completing_checks_the_required_questions_of_every_page(client, make_survey):
    survey, q = make_survey("servqual-22")
    # a response that reached the last page with page 2 unanswered (as the old bug allowed)
    answers = {}
    for number in (1, 3, 4, 5, 6):
        for slot in q.pages[number - 1].slots:
            if slot.item.kind in ("scale", "nps"):
                answers[slot.name] = 4
            elif slot.item.kind == "single":
                answers[slot.name] = slot.item.choices[0].id
    row = record_response(survey, answers, complete=False)
    row.page = len(q.pages)
    db.session.commit()
    taker = SurveyTaker(client, survey.id, f"?r={row.key}")
    taker.open()
    assert "Page 2 of 7" in taker.page_html  # resumes at the gap
    taker.open(f"/s/{survey.id}?r={row.key}&page={len(q.pages)}")
    assert f"Page {len(q.pages)} of {len(q.pages)}" in taker.page_html
    response = taker.submit(page_answers(q, len(q.pages)))
    assert response.status_code == 302
    assert "page=2" in response.headers["Location"] and "missing=1" in response.headers["Location"]
    taker.open(response.headers["Location"])
    assert "Page 2 of 7" in taker.page_html
    errors = dict(errors_in(taker.page_html))
    assert errors["q_E_RE1"] == "Please answer this question." and len(errors) == 10
    assert count_responses("complete") == 0
    # answering page 2 lets the customer finish
    for number in range(2, len(q.pages) + 1):
        assert taker.submit(page_answers(q, number), follow=True).status_code == 302
    assert "have been saved" in taker.page_html and count_responses("complete") == 1


def test_a_response_resumes_at_its_first_unanswered_required_page(client, make_survey):
    survey, q = make_survey("servqual-22")
    answers = {s.name: 3 for p in q.pages[:2] for s in p.slots}
    row = record_response(survey, answers, complete=False)
    row.page = 6  # stored when pages were laid out differently
    db.session.commit()
    assert "Page 3 of 7" in client.get(f"/s/{survey.id}?r={row.key}").text


def test_the_engine_serves_callers_without_a_form(app, make_survey):
    """The JSON API and the import call the same service with plain values."""
    survey, q = make_survey("servperf-short")
    outcome = submit_page(
        survey, response=None, key="k" * 32, page=1, action="next", raw={"T1": 9}, lang="en"
    )
    assert outcome.status == "invalid" and outcome.problems["T1"].code == "range"
    assert outcome.problems["T2"].code == "required" and count_responses() == 0
    raw = {s.name: 4 for s in q.pages[0].slots}
    outcome = submit_page(
        survey, response=None, key="k" * 32, page=1, action="next", raw=raw, lang="en"
    )
    assert outcome.status == "saved" and outcome.page == 2
    assert stored_answers(db.session.scalars(select(Response)).one())["T1"] == 4


# -- what the customer sees ----------------------------------------------------------------
def test_the_first_page_says_how_long_the_survey_is(client, make_survey):
    survey, q = make_survey("servqual-22")
    html = client.get(f"/s/{survey.id}").text
    asked = sum(len(p.slots) for p in q.pages)
    assert f"{asked} questions, about " in html
    minutes = int(re.search(r"about (\d+) min\.", html).group(1))
    assert 3 <= minutes <= 15
    zh = client.get(f"/s/{survey.id}?lang=zh").text
    assert f"共 {asked} 题，约需 {minutes} 分钟。" in zh


def test_the_progress_bar_reaches_the_end_and_thanks_only_for_saved_answers(client, make_survey):
    survey, q = make_survey("servperf-short")
    assert "No completed answers" in client.get(f"/s/{survey.id}/thanks").text
    taker = SurveyTaker(client, survey.id)
    taker.open()
    total = len(q.pages)
    for number in range(1, total):
        taker.submit(page_answers(q, number), follow=True)
    assert f'<progress value="{total}" max="{total}"' in taker.page_html
    key = db.session.scalars(select(Response)).one().key
    unfinished = client.get(f"/s/{survey.id}/thanks?r={key}").text
    assert "have been saved" not in unfinished
    taker.submit(page_answers(q, total), follow=True)
    assert "have been saved" in taker.page_html and "No completed" not in taker.page_html


def test_no_page_asks_more_than_fourteen_answers(make_survey):
    for path in shipped_files():
        q = load_questionnaire(path)
        for preset in (frozenset(), frozenset(s.id for sec in q.segments for s in sec.items)):
            for page in q.pages_for(preset):
                assert 1 <= page.answer_count <= 14, (path.name, page.number)
                assert page.answer_count <= q.page_size or len(page.items) == 1


def test_chinese_pages_use_full_width_punctuation(client, make_survey):
    ascii_next_to_cjk = re.compile(r"[\u4e00-\u9fff][(),:;?!]|[(),:;?!][\u4e00-\u9fff]")
    for path in shipped_files():
        survey, q = make_survey(path=path)
        for number in range(1, len(q.pages) + 1):
            html = client.get(f"/s/{survey.id}?lang=zh&page={number}").text
            text = re.sub(r"<[^>]+>", " ", html)
            text = re.sub(r"\s+", "", text)
            assert not ascii_next_to_cjk.findall(text), (path.name, number)


def test_a_page_view_reads_once_and_a_posted_page_reads_once_and_writes_once(
    client, make_survey, app
):
    """With its key, a page view reads the survey, its version and the response in one
    query, and a posted page reads them locked in one query and writes one UPDATE
    (SQLite: its write lock's no-op UPDATE first). Each statement is a round trip and
    ORM work on every one of the 15 requests of a response (benchmarks/submit.py)."""
    from sqlalchemy import event

    survey, q = make_survey("servqual-22")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    first = taker.submit(page_answers(q, 1, 5), follow=True)  # creates the response
    assert first.status_code == 302

    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        if statement.split()[0].upper() in ("SELECT", "UPDATE", "INSERT", "DELETE"):
            statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        location = taker.submit(page_answers(q, 2, 5)).headers["Location"]
        posted = list(statements)
        statements.clear()
        taker.open(location)
        viewed = list(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    sqlite = db.engine.dialect.name == "sqlite"
    assert posted == (["UPDATE", "SELECT", "UPDATE"] if sqlite else ["SELECT", "UPDATE"])
    assert viewed == ["SELECT"]
    assert hidden(taker.page_html, "page") == "3"  # the next page, from that one read
