"""The export page and the import upload page in a real Chromium (Debian's), as a
researcher: an export runs in the background while its page shows the progress, then
offers the file, which downloads with the stored responses; an upload shows its bad rows.
Screenshots (phone and desktop) go to ``tests/artifacts/``."""

from __future__ import annotations

import csv
import io
import time

import pytest

from survey_app import jobs, storage
from survey_app.demo import add_demo_responses
from survey_app.exports import services
from survey_app.storage import responses_frame

from ..survey_app.test_imports import BAD
from .conftest import DESKTOP, PHONE, shot
from .test_reports_browser import watch
from .test_staff_browser import sign_in

pytestmark = pytest.mark.browser
pytest.importorskip("playwright.sync_api")

EMAIL = "researcher@example.com"
RESPONSES = 400


@pytest.fixture
def export_site(app, live_server, make_survey, make_user, monkeypatch, tmp_path):
    """A survey of 400 responses, exported in pieces of 20, each piece a little slow, so
    that the progress can be seen moving; jobs in a thread, as in production."""
    survey, _q = make_survey("servqual-22")
    add_demo_responses(survey, RESPONSES, seed=5)
    make_user("researcher", ("default",), personal=True, email=EMAIL)
    app.config["JOBS_SYNC"] = False
    app.config["JOB_FOLDER"] = str(tmp_path / "jobs")
    monkeypatch.setattr(storage, "EXPORT_CHUNK", 20)
    monkeypatch.setattr(jobs, "PROGRESS_EVERY", 0.0)
    real = services.export_chunk

    def slow(plan, frame):
        time.sleep(0.15)
        return real(plan, frame)

    monkeypatch.setattr(services, "export_chunk", slow)
    yield survey, live_server
    jobs.wait_all(60)


def signed_in(new_page, viewport, base: str, path: str, locale: str = "en-GB"):
    """A page signed in as the researcher, at ``path``, which must fit the screen's
    width; with the console errors and requests to other hosts it sees."""
    page = new_page(viewport, locale=locale)
    errors, foreign = watch(page, base)
    sign_in(page, base, EMAIL)
    page.goto(base + path)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{path} scrolls sideways ({width} px)"
    return page, errors, foreign


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_export_page_shows_progress_then_downloads_the_file(
    export_site, new_page, viewport, tmp_path
):
    survey, base = export_site
    name = "desktop" if viewport is DESKTOP else "phone"
    page, errors, foreign = signed_in(
        new_page, viewport, base, f"/staff/surveys/{survey.id}/export"
    )
    assert page.locator("select[name=fmt] option[value=sav]").count() == 1
    shot(page, f"export-{name}-form")
    page.select_option("select[name=fmt]", "csv")
    page.select_option("select[name=seg_tier]", ["A", "B"])
    with page.expect_navigation():
        page.click("form.staff-form button[type=submit]")
    assert "/staff/jobs/" in page.url
    seen = []
    for _ in range(400):  # the page's script moves the bar while the job runs
        value, maximum = page.evaluate(
            "(() => { const b = document.querySelector('progress.job-progress');"
            " return b ? [b.value, b.max] : [-1, -1]; })()"
        )
        seen.append((value, maximum))
        if 0 < value < maximum and len({v for v, _m in seen if 0 < v < maximum}) >= 2:
            break
        time.sleep(0.05)
    moving = sorted({v for v, m in seen if 0 < v < m})
    assert len(moving) >= 2, seen  # at least two steps seen on the same page, no reload
    assert page.locator(".job-percent").inner_text() != "0"
    shot(page, f"export-{name}-progress")
    link = page.locator("a.button[download]")
    link.wait_for(timeout=60_000)  # the page reloads itself when the job is done
    assert page.locator("progress.job-progress").get_attribute("value") == str(RESPONSES)
    shot(page, f"export-{name}-done")
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "download.csv"
    download.value.save_as(path)
    assert download.value.suggested_filename == f"{survey.id}-v1.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    frame = responses_frame(survey.id, metadata=True)
    expected = frame[frame["tier"].isin(["A", "B"])]
    assert [int(r["response_id"]) for r in rows] == expected["response_id"].tolist()
    assert {r["tier"] for r in rows} == {"A", "B"}
    assert not errors, errors
    assert not foreign, foreign


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_upload_page_imports_and_lists_bad_rows(export_site, new_page, viewport, tmp_path):
    survey, base = export_site
    name = "desktop" if viewport is DESKTOP else "phone"
    page, errors, foreign = signed_in(
        new_page, viewport, base, f"/staff/surveys/{survey.id}/import?lang=zh", "zh-CN"
    )
    assert page.locator("h1").inner_text().startswith("导入答卷")
    before = len(responses_frame(survey.id, include_incomplete=True))
    bad = tmp_path / "paper.csv"
    bad.write_text(BAD, encoding="utf-8")
    page.set_input_files("input[type=file]", str(bad))
    page.check("input[name=allow_partial]")
    shot(page, f"import-{name}-form")
    with page.expect_navigation():  # sent by the page's script, which follows the answer
        page.click("form.staff-form button[type=submit]")
    assert "/staff/jobs/" in page.url
    page.locator(".import-outcome").wait_for(timeout=60_000)
    assert "已导入 2 份答卷；0 份已存在。" in page.locator(".import-outcome").inner_text()
    assert page.locator(".job-percent").inner_text() == "100"
    cells = page.locator("table.problems tbody tr").first.locator("td").all_inner_texts()
    assert cells == ["3", "lang", "'fr' 不是以下之一：en, zh"]
    shot(page, f"import-{name}-result")
    assert len(responses_frame(survey.id, include_incomplete=True)) == before + 2
    assert not errors, errors
    assert not foreign, foreign
