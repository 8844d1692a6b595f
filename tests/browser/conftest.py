"""Fixtures shared by the browser tests: one Chromium for the whole session (Playwright's
sync API cannot run two at once)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .test_survey_browser import ARGS, CHROMIUM, PHONE, playwright_api


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(viewport=PHONE, locale="en-GB"):
        context = browser.new_context(viewport=viewport, locale=locale, is_mobile=False)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in contexts:
        context.close()
