"""Fixtures and helpers of the browser tests: Debian's Chromium through Playwright.

Screenshots go to ``tests/artifacts/`` so that a person can look at the pages.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


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


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def answer_page(page, point: int = 5, skip: str | None = None) -> None:
    """Answer every visible question of the current page as a customer would: by clicking."""
    for group in page.locator("[role=radiogroup]:visible").all():
        item = group.locator("xpath=ancestor::*[starts-with(@id, 'item-')][1]")
        if skip and item.get_attribute("id") == f"item-{skip}":
            continue
        points = group.locator("label.point")
        if points.count():
            n = points.count()
            points.nth(min(point - 1, n - 1) if n < 11 else min(point, 10)).click()
        else:
            group.locator("label.choice").first.click()
    for box in page.locator("[role=group] input[type=checkbox]:visible").all()[:1]:
        box.check()
    for area in page.locator("textarea:visible").all():
        area.fill("服务很好 / good")


def press(page, value: str = "next", double: bool = False) -> None:
    """Press Next/Submit (or Back) and wait for the page that the server answers with."""
    button = page.locator(f"button[value={value}]")
    with page.expect_navigation():
        button.dblclick() if double else button.click()


def page_label(page) -> str:
    return page.locator(".progress span").inner_text()
