"""The report pages in a real Chromium (Debian's) as a manager: every page draws its
charts, a segment filter redraws them with the filtered n, nothing goes to another
host, no console errors, and an open answer with markup shows as text and runs nothing.
Screenshots go to ``tests/artifacts/``."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from survey_app.demo import add_demo_responses
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.storage import responses_frame

from ..conftest import HttpClient
from .conftest import DESKTOP, PHONE, shot

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

HOSTILE = (
    '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> 服务太慢 slow'
)
PAGES = (
    "",
    "/service-quality",
    "/priorities",
    "/satisfaction",
    "/segments",
    "/customers",
    "/methods",
    "/open-text",
)


@pytest.fixture
def report_site(app, live_server, make_survey, make_user, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "cache")
    app.extensions.pop("reports", None)
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 300, seed=3)
    row = db.session.scalars(db.select(Response).where(Response.survey_id == survey.id)).first()
    row.texts = {"COMPLAINT": HOSTILE}
    db.session.commit()
    make_user("manager", ("default",), personal=True, email="boss@example.com")
    http = HttpClient(live_server)  # warm the report (and its bootstrap) before the browser
    from ..conftest import csrf_token

    status, _, page = http.request("/login")
    http.request(
        "/login",
        {
            "csrf_token": csrf_token(page),
            "email": "boss@example.com",
            "password": "correct horse battery",
        },
    )
    for _ in range(600):
        status, _, _ = http.request(f"/reports/{survey.id}/data.json")
        if status == 200:
            break
        time.sleep(0.1)
    return survey, live_server


def sign_in(page, base):
    page.goto(base + "/login")
    page.fill("input[name=email]", "boss@example.com")
    page.fill("input[name=password]", "correct horse battery")
    with page.expect_navigation():
        page.click("button[type=submit]")


def watch(page, base):
    errors, foreign = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    host = urlparse(base).netloc

    def request(r):
        if not r.url.startswith(("data:", "blob:")) and urlparse(r.url).netloc != host:
            foreign.append(r.url)

    page.on("request", request)
    return errors, foreign


def drawn(page) -> int:
    page.wait_for_selector("#report-n", timeout=60_000)
    # (a selector, not wait_for_function: its string predicate is polled with eval, which
    # the pages' Content-Security-Policy refuses when the page reloads meanwhile)
    page.wait_for_selector("body[data-charts-drawn]", state="attached", timeout=60_000)
    return int(page.get_attribute("body", "data-charts-drawn"))


# WCAG 2.1 contrast of the page's texts (see contrast.js)
LOW_CONTRAST = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")


# charts whose legend overlaps their x axis title
OVERLAPPING_LEGENDS = """() => [...document.querySelectorAll('.plot')].filter(p => {
  const legend = p.querySelector('.legend'), title = p.querySelector('.xtitle');
  if (!legend || !title) return false;
  const l = legend.getBoundingClientRect(), t = title.getBoundingClientRect();
  return l.top < t.bottom - 1 && l.bottom > t.top + 1 && l.left < t.right && l.right > t.left;
}).map(p => p.getAttribute('data-chart'))"""


def overflow(page) -> int:
    """How many pixels the page is wider than the screen (0: nothing to scroll sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_report_page_as_a_manager(report_site, new_page, viewport):
    survey, base = report_site
    page = new_page(viewport)
    page.set_default_navigation_timeout(60_000)  # the first pages render cold on a busy machine
    errors, foreign = watch(page, base)
    sign_in(page, base)
    name = "desktop" if viewport is DESKTOP else "phone"
    for path in PAGES:
        page.goto(f"{base}/reports/{survey.id}{path}")
        assert drawn(page) > 0, path
        assert page.locator(".plot .main-svg").count() > 0, path
        assert page.locator("h1").count() == 1
        assert overflow(page) <= 0, path  # readable on a phone: tables scroll in their box
        assert page.evaluate(LOW_CONTRAST) == [], path
        assert page.evaluate(OVERLAPPING_LEGENDS) == [], path
        shot(page, f"report-{name}-{path.strip('/') or 'overview'}")
    assert not errors, errors
    assert not foreign, foreign
    assert page.evaluate("window.__pwned === undefined")


def test_a_segment_filter_redraws_with_the_filtered_n(report_site, new_page):
    survey, base = report_site
    page = new_page(DESKTOP)
    errors, foreign = watch(page, base)
    sign_in(page, base)
    page.goto(f"{base}/reports/{survey.id}")
    drawn(page)
    total = int(page.get_attribute("#report-n", "data-n"))
    page.click("form.filters summary")
    page.keyboard.press("Tab")  # the filters are reachable by keyboard
    page.check("input[name=tier][value=A]")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    drawn(page)
    frame = responses_frame(survey.id)
    expected = int((frame["tier"] == "A").sum())
    assert int(page.get_attribute("#report-n", "data-n")) == expected < total
    plotted = page.evaluate(
        "document.querySelector('.plot[data-chart=responses]').data[0].y.reduce((a, b) => a + b, 0)"
    )
    assert plotted == expected
    shot(page, "report-filtered-tier-A")
    assert not errors and not foreign


def test_an_open_answer_with_markup_shows_as_text(report_site, new_page):
    survey, base = report_site
    page = new_page(DESKTOP)
    errors, _ = watch(page, base)
    sign_in(page, base)
    page.goto(f"{base}/reports/{survey.id}/open-text?search=slow")
    drawn(page)
    answer = page.locator("p.answer").first
    assert "<script>window.__pwned = 1</script>" in answer.inner_text()
    assert page.locator("p.answer img").count() == 0
    assert page.evaluate("window.__pwned === undefined")
    shot(page, "report-open-text-markup")
    assert not errors, errors


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


def test_the_filters_and_sorting_work_with_the_keyboard_alone(report_site, new_page):
    survey, base = report_site
    page = new_page(DESKTOP)
    errors, foreign = watch(page, base)
    sign_in(page, base)
    # the filtered report computed to the end first: a page still waiting for its
    # bootstrap reloads itself when it is ready, which would cut the key presses short
    for _ in range(600):
        if page.request.get(f"{base}/reports/{survey.id}/data.json?region=east").status == 200:
            break
        time.sleep(0.1)
    page.goto(f"{base}/reports/{survey.id}/service-quality")
    drawn(page)
    tab_to(page, "form.filters summary")
    page.keyboard.press("Enter")  # opens the filters
    tab_to(page, "input[name=region][value=east]")
    page.keyboard.press("Space")
    tab_to(page, "form.filters button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    drawn(page)
    frame = responses_frame(survey.id)
    assert int(page.get_attribute("#report-n", "data-n")) == int((frame["region"] == "east").sum())
    assert "region=east" in page.url
    # the items table sorts by the gap with the keyboard: descending, then ascending
    gaps = "Array.from(document.querySelectorAll('table.sortable tbody tr td:nth-child(5)'))"
    gaps += ".map(td => parseFloat(td.getAttribute('data-value')))"
    tab_to(page, "table.sortable th:nth-child(5) button")
    page.keyboard.press("Enter")
    values = page.evaluate(gaps)
    assert values == sorted(values, reverse=True) and len(values) > 5
    page.keyboard.press("Enter")
    assert page.evaluate(gaps) == sorted(values)
    assert not errors and not foreign


def test_a_chart_downloads_as_svg_and_png_and_is_audited(report_site, new_page):
    from survey_app.models import AuditEntry

    survey, base = report_site
    page = new_page(DESKTOP)
    errors, foreign = watch(page, base)
    sign_in(page, base)
    page.goto(f"{base}/reports/{survey.id}/service-quality")
    drawn(page)
    for fmt, start in (("svg", b"<svg"), ("png", b"\x89PNG")):
        with page.expect_download() as download:
            page.click(f"button[data-download={fmt}][data-chart=gaps]")
        path = download.value.path()
        assert Path(path).read_bytes().startswith(start), fmt
        assert download.value.suggested_filename == f"gaps.{fmt}"
    db.session.expire_all()
    saved = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "report_chart_download")
    ).all()
    assert len(saved) == 2
    assert not errors and not foreign


def test_the_offline_file_draws_every_chart_without_any_request(report_site, new_page, tmp_path):
    survey, base = report_site
    out = tmp_path / "report.html"
    from flask import current_app

    result = current_app.test_cli_runner().invoke(
        args=["report", survey.id, "--out", str(out), "--lang", "zh", "--bootstrap", "0"]
    )
    assert result.exit_code == 0, result.output
    page = new_page(PHONE)
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.route(
        "**/*",
        lambda route: route.abort() if route.request.url.startswith("http") else route.continue_(),
    )
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-charts-drawn]", state="attached", timeout=60_000)
    charts = int(page.get_attribute("body", "data-charts-drawn"))
    assert charts == out.read_text(encoding="utf-8").count('class="plot"') > 10
    assert page.locator(".plot .main-svg").count() >= charts
    assert [r for r in requests if not r.startswith(("file:", "data:", "blob:"))] == []
    assert not errors, errors
    assert "服务质量" in page.inner_text("main")
    shot(page, "report-offline-phone-zh")


def test_a_page_shows_new_responses_first_and_their_intervals_later(
    app, live_server, make_survey, make_user, tmp_path, new_page, monkeypatch
):
    """New responses after the last report: the page shows the older report saying so,
    reloads by itself with the newest responses as soon as their report without the
    bootstrap is ready (not before: an older report polled meanwhile is no reason to
    reload), then once more when the intervals are."""
    import threading

    from survey_app.reports import routes
    from survey_app.reports.services import Options, Ready, ReportService, report_json
    from survey_app.selection import Selection

    app.config["REPORTS_CACHE"] = str(tmp_path / "cache")
    app.config["REPORTS_STALE_SECONDS"] = 600
    app.extensions.pop("reports", None)
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 200, seed=3)
    make_user("manager", ("default",), personal=True, email="boss@example.com")
    everyone = Selection.from_args(q, {})
    for options in (Options(bootstrap=0), Options()):  # the page's default intervals
        assert isinstance(report_json(survey, everyone, options, wait=None), Ready)
    add_demo_responses(survey, 10, seed=4)
    total = db.session.scalar(
        db.select(db.func.count()).select_from(Response).where(Response.status == "complete")
    )
    quick_gate, bootstrap_gate = threading.Event(), threading.Event()
    compute = ReportService._compute

    def held(self, stamp, key, q, selection, options):
        (bootstrap_gate if options.bootstrap else quick_gate).wait(60)
        return compute(self, stamp, key, q, selection, options)

    monkeypatch.setattr(ReportService, "_compute", held)
    monkeypatch.setattr(routes, "PAGE_WAIT", 0)
    page = new_page(DESKTOP)
    errors, foreign = watch(page, base := live_server)
    sign_in(page, base)
    loads = []
    page.on("load", lambda: loads.append(page.url))
    try:
        page.goto(f"{base}/reports/{survey.id}")
        drawn(page)
        assert int(page.get_attribute("#report-n", "data-n")) == 200
        assert "New responses have arrived" in page.inner_text("#pending")
        shot(page, "report-older-while-new-responses")
        time.sleep(3)  # polls answered with the older report: no reload
        assert len(loads) == 1, loads
        quick_gate.set()
        page.wait_for_selector(f'#report-n[data-n="{total}"]', timeout=60_000)
        drawn(page)
        assert "bootstrap intervals are still being computed" in page.inner_text("#pending")
        bootstrap_gate.set()
        page.wait_for_selector("#pending", state="detached", timeout=120_000)
        drawn(page)
        assert int(page.get_attribute("#report-n", "data-n")) == total
        assert len(loads) == 3, loads
    finally:
        quick_gate.set()
        bootstrap_gate.set()
    assert not errors and not foreign, (errors, foreign)
