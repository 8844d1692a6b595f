"""The survey web application."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, redirect, request, session, url_for
from werkzeug.routing import BaseConverter

from config import ROOT, Config, database_url, engine_options

from .extensions import babel, csrf, db, limiter, login_manager, migrate

MIGRATIONS = ROOT / "survey_app" / "migrations"
log = logging.getLogger(__name__)


class SurveyIdConverter(BaseConverter):
    """Survey ids as the loader allows them: anything else is a 404 before any query."""

    regex = r"[a-z0-9][a-z0-9_-]{0,62}"


def select_locale() -> str:
    """Language from ``?lang=``, then the one chosen earlier, then ``Accept-Language``."""
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # a command rendering a file or a mail
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    if wanted in languages:
        session["lang"] = wanted
        return wanted
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or languages[0]


def _ensure_sqlite_folder(url: str) -> None:
    """SQLite creates its file but not the folder (flaskr makes the instance folder too)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix):
        Path(url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)


def _replica_bind(app: Flask) -> None:
    """``REPORTS_DATABASE_URL`` becomes the engine of bind ``reports`` (read by
    ``survey_app.storage.read_engine``); no model is bound to it, so nothing is written
    there."""
    url = app.config.get("REPORTS_DATABASE_URL")
    if url:
        from .storage import REPLICA_BIND

        url = database_url(url)
        binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
        binds[REPLICA_BIND] = {"url": url, **engine_options(url)}
        app.config["SQLALCHEMY_BINDS"] = binds


LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


def _mail_configured() -> bool:
    from flask import current_app

    return bool(current_app.config.get("MAIL_SERVER"))


def template_helpers() -> dict[str, Any]:
    """``t(text)`` translates questionnaire texts; language links keep the current page."""
    from flask_babel import get_locale
    from flask_babel import lazy_gettext as _l
    from flask_login import current_user

    from questionnaires import translate

    from .auth.policy import may
    from .links import lang_url
    from .staff_links import links_for

    lang = str(get_locale())
    return {
        "current_lang": lang,
        "t": lambda text: translate(text, lang),
        "lang_url": lang_url,
        "language_names": [(c, LANGUAGE_NAMES.get(c, c)) for c in Config.LANGUAGES],
        "may": may,
        "state_names": {"draft": _l("draft"), "open": _l("open"), "closed": _l("closed")},
        "job_states": {
            "queued": _l("waiting"),
            "running": _l("running"),
            "done": _l("done"),
            "failed": _l("failed"),
        },
        "job_kinds": {"export": _l("Export"), "import": _l("Import of responses")},
        "staff_links": lambda survey: links_for(survey, current_user),
        "mail_available": _mail_configured(),
    }


def create_app(
    config_class: type = Config,
    overrides: dict[str, Any] | None = None,
    instance_path: str | Path | None = None,
) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(instance_path or ROOT / "instance"),
    )
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)
        if "SQLALCHEMY_DATABASE_URI" in overrides and "SQLALCHEMY_ENGINE_OPTIONS" not in overrides:
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
                overrides["SQLALCHEMY_DATABASE_URI"]
            )
    if not app.config.get("SECRET_KEY"):
        from .secret_key import instance_secret_key

        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    app.url_map.converters["sid"] = SurveyIdConverter

    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    _replica_bind(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    babel.init_app(app, locale_selector=select_locale)
    from . import errors, guards, ops, security
    from .auth.policy import enforce, public
    from .auth.services import load_session_user

    ops.register(app)  # the proxy, request ids and logs, /healthz
    guards.register(app)  # before CSRF reads a body the guard may refuse
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_session_user)
    limiter.init_app(app)
    app.before_request(enforce)  # every view's declared access, before any view code
    security.configure(app)

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .api import pages_bp as api_tokens_bp
    from .auth.routes import bp as auth_bp
    from .cli import register_cli
    from .customers.routes import bp as customers_bp
    from .exports import bp as exports_bp
    from .followups.routes import bp as followups_bp
    from .imports import bp as imports_bp
    from .reports import bp as reports_bp
    from .surveys.routes import bp as surveys_bp

    app.register_blueprint(surveys_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(exports_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(followups_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.add_url_rule(
        "/favicon.ico",
        "favicon",
        public(lambda: redirect(url_for("static", filename="favicon.svg"), code=301)),
    )
    errors.register(app)
    register_cli(app)
    app.context_processor(template_helpers)
    return app
