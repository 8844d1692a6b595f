"""Configuration from the environment; SQLite is the default so a newcomer needs nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE = ROOT / "instance" / "survey.sqlite"


def database_url(url: str | None) -> str:
    """Normalise ``DATABASE_URL``: plain ``postgres://`` URLs use the psycopg 3 driver."""
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-set-SECRET_KEY-in-production")
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    LANGUAGES = ("en", "zh")
    BABEL_DEFAULT_LOCALE = "en"
    # A customer may leave a page open for hours: the CSRF token lives as long as the
    # session cookie instead of expiring after an hour and losing that page's answers.
    WTF_CSRF_TIME_LIMIT = None
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 1024 * 1024  # a survey page is a few kB; refuse anything huge


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test"
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
