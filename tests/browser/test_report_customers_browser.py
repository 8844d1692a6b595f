"""The "Customers and follow-ups" report page in a real Chromium (Debian's), on a phone
and a desktop: the pyramid and the follow-up charts drawn from the page's figures, a
tier filter, a case resolved meanwhile showing at the next visit, nothing from another
host, no console error, nothing wider than a phone. Screenshots in ``tests/artifacts/``."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from survey_app.extensions import db
from survey_app.models import FollowUp

from ..survey_app.test_report_customers import SHANGHAI, resolve, scenario  # noqa: F401
from .conftest import DESKTOP, PHONE, shot
from .test_reports_browser import sign_in, watch

pytestmark = pytest.mark.browser


def computed(page, url: str) -> None:
    """Wait until the report of ``url`` is computed to the end (with its bootstrap): a page
    still waiting for it reloads itself when it is ready."""
    for _ in range(600):
        if page.request.get(url).status == 200:
            return
        time.sleep(0.1)
    raise AssertionError(f"{url} was not computed")


def drawn(page, charts: int) -> None:
    page.wait_for_selector("#report-n", timeout=60_000)
    # (polled here: wait_for_function's string predicate is run with eval, which the pages'
    # Content-Security-Policy refuses)
    deadline = time.monotonic() + 60
    while int(page.get_attribute("body", "data-charts-drawn") or 0) < charts:
        assert time.monotonic() < deadline, f"fewer than {charts} charts drawn in 60 s"
        time.sleep(0.05)


def chart_text(page, chart: str) -> list[str]:
    return page.evaluate(f"document.querySelector('.plot[data-chart={chart}]').data[0].customdata")


def summary_cells(page) -> list[str]:
    row = page.locator("tr", has=page.locator("th[scope=row]", has_text="All customers"))
    return [c.strip() for c in row.locator("td").all_inner_texts()]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_customers_page(scenario, live_server, new_page, viewport):  # noqa: F811
    survey = scenario["survey"]
    page = new_page(viewport)
    errors, foreign = watch(page, live_server)
    sign_in(page, live_server)
    for query in ("", "?tier=A"):
        computed(page, f"{live_server}/reports/{survey.id}/data.json{query}")
    name = "desktop" if viewport is DESKTOP else "phone"
    page.goto(f"{live_server}/reports/{survey.id}/customers")
    drawn(page, 3)
    for chart in ("tier-pyramid", "recovery", "in-time"):
        assert page.locator(f".plot[data-chart={chart}] .main-svg").count() > 0, chart
    assert chart_text(page, "recovery") == ["2 of 4", "1 of 2", "1 of 2"]
    assert chart_text(page, "in-time") == ["2 of 3", "1 of 2", "1 of 1"]
    assert summary_cells(page)[:5] == ["4", "4", "2", "50%", "[15%, 85%]"]
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page is {wide}px wider than the screen"
    shot(page, f"report-{name}-customers")
    # a case resolved meanwhile (C4's, tier B, by its due time) shows at the next visit
    if viewport is DESKTOP:
        case = db.session.get(FollowUp, scenario["cases"]["C4"].id)
        resolve(case, datetime(2026, 3, 2, 12, tzinfo=SHANGHAI))
        page.reload()
        drawn(page, 3)
        assert chart_text(page, "in-time") == ["3 of 4", "1 of 2", "2 of 2"]
        page.click("form.filters summary")
        page.check("input[name=tier][value=A]")
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        drawn(page, 2)
        assert chart_text(page, "recovery") == ["1 of 2", "1 of 2"]  # all, tier A
        shot(page, "report-desktop-customers-tier-A")
    assert not errors, errors
    assert not foreign, foreign
