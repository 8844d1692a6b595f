"""Real concurrency against a served app (threads posting over HTTP), on both backends.

Regression tests for lost updates: a save read the whole answer record, merged its
page and wrote it back with no lock, so two posts of one response at once lost one
page's answers.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Response
from survey_app.surveys.services import stored_answers

from ..conftest import HttpClient, csrf_token, hidden, page_answers


def post_all(requests: list[tuple[HttpClient, str, dict]]) -> list[int]:
    """Send the posts at the same moment, one thread each; their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = [0] * len(requests)

    def send(i: int, browser: HttpClient, path: str, data: dict) -> None:
        barrier.wait()
        statuses[i] = browser.request(path, data)[0]

    threads = [
        threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


def test_pages_posted_at_once_lose_no_answer(live_server, make_survey):
    survey, q = make_survey("servqual-22")
    browser = HttpClient(live_server)
    path = f"/s/{survey.id}"
    html = browser.request(path)[2]
    token, key = csrf_token(html), hidden(html, "rk")
    last = len(q.pages)
    for number in range(1, last):  # reach the last page without finishing
        status, headers, _ = browser.request(
            path, {"csrf_token": token, "rk": key, "page": number, **page_answers(q, number)}
        )
        assert status == 302, headers
    pages = range(1, last)
    for value in (2, 6, 3, 7):
        posts = [
            (
                browser,
                path,
                {"csrf_token": token, "rk": key, "page": n, **page_answers(q, n, value=value)},
            )
            for n in pages
        ]
        assert post_all(posts) == [302] * len(posts)  # no customer sees a conflict
        db.session.expire_all()
        answers = stored_answers(db.session.scalars(select(Response)).one())
        lost = [
            slot.name
            for n in pages
            for slot in q.pages[n - 1].slots
            if slot.item.kind == "scale" and answers[slot.name] != value
        ]
        assert lost == [], f"round {value}: answers lost on {len(lost)} questions"


def test_first_page_posted_at_once_makes_one_response(live_server, make_survey):
    survey, q = make_survey("servperf-short")
    browser = HttpClient(live_server)
    path = f"/s/{survey.id}"
    html = browser.request(path)[2]
    form = {"csrf_token": csrf_token(html), "rk": hidden(html, "rk"), "page": 1}
    posts = [(browser, path, {**form, **page_answers(q, 1, value=v)}) for v in (1, 2, 3, 4)] * 3
    assert post_all(posts) == [302] * len(posts)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
