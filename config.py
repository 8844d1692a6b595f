"""Configuration from the environment; SQLite is the default so a newcomer needs nothing."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE = ROOT / "instance" / "survey.sqlite"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"  # where scripts/demo.sh serves


def database_url(url: str | None) -> str:
    """Normalise ``DATABASE_URL``: plain ``postgres://`` URLs use the psycopg 3 driver."""
    if not url:
        return f"sqlite:///{DEFAULT_SQLITE}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Writers queue for SQLite's one write lock instead of failing after 5 s.
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def behind_proxy() -> bool:
    """``BEHIND_PROXY``: served behind nginx (``scripts/production.sh`` sets it). The app
    then trusts ``X-Forwarded-*`` from that one proxy (``survey_app.ops``), and
    ``gunicorn.conf.py`` runs sync workers."""
    return os.environ.get("BEHIND_PROXY", "") not in ("", "0", "false")


def _hosts(value: str | None) -> list[str] | None:
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    return hosts or None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


class Config:
    # None: a random key is generated into the instance folder (survey_app.secret_key)
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)
    # A read replica of that database (streaming replication): reports and exports read
    # responses there; writes, logins and everything else stay on DATABASE_URL.
    REPORTS_DATABASE_URL = (
        database_url(os.environ["REPORTS_DATABASE_URL"])
        if os.environ.get("REPORTS_DATABASE_URL")
        else None
    )
    # Absolute links (resume, invitation, mail) start with this, never with the Host header.
    SURVEY_BASE_URL = os.environ.get("SURVEY_BASE_URL") or DEFAULT_BASE_URL
    # When set (comma-separated), requests for any other host are refused with 400.
    TRUSTED_HOSTS = _hosts(os.environ.get("TRUSTED_HOSTS"))
    LANGUAGES = ("en", "zh")
    BABEL_DEFAULT_LOCALE = "en"
    # A customer may leave a page open for hours: the CSRF token lives as long as the
    # session cookie instead of expiring after an hour and losing that page's answers.
    WTF_CSRF_TIME_LIMIT = None
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)
    # A customer's cookie is signed again when the session changes (each posted page),
    # not on every page view as well: 30 days from the last page answered, and half the
    # signatures of the survey path (Flask's default re-signs a permanent session always).
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    MAX_CONTENT_LENGTH = 1024 * 1024  # a survey page is a few kB; refuse anything huge
    # Rate limits count in this process's memory unless a shared storage is named
    # (redis://host:6379 when several processes or machines serve one survey);
    # locked-memory:// is limits' memory:// made safe for threads (survey_app/ratelimits.py).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or "locked-memory://"
    # While a report is being recomputed for newer responses, pages may show the one
    # computed for the same filters at most this many seconds ago (marked stale); 0: wait.
    REPORTS_STALE_SECONDS = float(os.environ.get("REPORTS_STALE_SECONDS") or 30)
    # While responses keep arriving, reports read newer data only this many seconds after
    # the first report of the data they read (a deletion or change at once; see
    # ReportService.stamp): at 50 responses/s every request saw new data, and each
    # appended it to the frame and computed its own report. 0: always the newest.
    REPORTS_REFRESH_SECONDS = float(os.environ.get("REPORTS_REFRESH_SECONDS") or 10)
    # Files of exports and imports run in the background (default: instance/jobs); a
    # folder every server process can read when several serve one database.
    JOB_FOLDER = os.environ.get("JOB_FOLDER") or None
    JOBS_SYNC = False  # True: jobs run inside the request that starts them
    # Uploads of response files (CSV, XLSX) for import
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES") or 200 * 1024 * 1024)
    BEHIND_PROXY = behind_proxy()  # trust X-Forwarded-* from nginx (survey_app.ops)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # "json": one JSON object per line
    # Mail (invitations, reminders, follow-up notices, password reset links): off unless
    # MAIL_SERVER is set. Plain SMTP without login or TLS unless configured.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
    MAIL_FROM = os.environ.get("MAIL_FROM") or None
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_STARTTLS = _flag(os.environ.get("MAIL_STARTTLS"))
    MAIL_SSL = _flag(os.environ.get("MAIL_SSL"))
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT") or 10)
    # How long an e-mailed password reset link works (seconds)
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE") or 3600)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test"
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    REPORTS_DATABASE_URL = None  # a test that wants a replica names one
    REPORTS_STALE_SECONDS = 0  # a test sees each new response in the next report
    REPORTS_REFRESH_SECONDS = 0
    SURVEY_BASE_URL = "http://survey.test"
    TRUSTED_HOSTS = None
    # Files of jobs and the reports' cache in folders of this test process (never the
    # checkout's instance folder; parallel test processes do not share them)
    JOB_FOLDER = os.path.join(tempfile.gettempdir(), f"survey-test-jobs-{os.getpid()}")
    REPORTS_CACHE = os.path.join(tempfile.gettempdir(), f"survey-test-reports-{os.getpid()}")
    JOBS_SYNC = True  # a test that wants a background thread says so
    MAIL_SERVER = None  # a test that mails starts its own SMTP server and names it
