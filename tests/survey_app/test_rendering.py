"""The questions of a page drawn once per state and kept (survey_app.surveys.rendering):
a kept state must never show one customer what another one answered."""

from __future__ import annotations

from survey_app.surveys import rendering

from ..conftest import SurveyTaker, page_answers, page_of
from .test_taking import checked


def test_a_kept_blank_page_stays_blank_after_someone_answered_it(client, app, make_survey):
    survey, q = make_survey("servqual-22")
    first = SurveyTaker(client, survey.id)
    first.open()
    assert checked(first.page_html, "q_E_TA1") == []
    first.submit(page_answers(q, 1, value=6), follow=True)
    first.open(f"/s/{survey.id}?page=1")  # back to the answered page
    assert checked(first.page_html, "q_E_TA1") == ["6"]
    assert checked(first.page_html, "q_P_TA4") == ["6"]

    second = SurveyTaker(app.test_client(), survey.id)  # another browser
    second.open()
    assert checked(second.page_html, "q_E_TA1") == []
    assert 'value="6" checked' not in second.page_html


def test_pages_showing_open_text_are_drawn_anew_and_not_kept(client, make_survey):
    survey, q = make_survey("servqual-22")
    number = page_of(q, "COMPLAINT")
    taker = SurveyTaker(client, survey.id)
    taker.open()
    for n in range(1, number):
        taker.submit(page_answers(q, n), follow=True)
    secret = "My neighbour's name is Alice"
    response = taker.submit(page_answers(q, number, COMPLAINT=secret), follow=False)
    assert response.status_code == 302
    taker.open(f"/s/{survey.id}?page={number}")
    assert "My neighbour&#39;s name is Alice" in taker.page_html
    assert "Alice" not in repr(list(rendering._kept))
