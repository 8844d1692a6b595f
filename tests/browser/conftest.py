"""Fixtures shared by the browser tests."""

from .test_survey_browser import browser, new_page  # noqa: F401
