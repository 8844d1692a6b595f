"""The survey web application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request, session

from config import ROOT, Config

from .extensions import babel, csrf, db, migrate

MIGRATIONS = ROOT / "survey_app" / "migrations"


def select_locale() -> str:
    """Language from ``?lang=``, then the one chosen earlier, then ``Accept-Language``."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
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


LANGUAGE_NAMES = {"en": "English", "zh": "中文"}


def template_helpers() -> dict[str, Any]:
    """``t(text)`` translates questionnaire texts; language links keep the current page."""
    from flask import url_for
    from flask_babel import get_locale

    from questionnaires import translate

    lang = str(get_locale())

    def lang_url(code: str) -> str:
        if request.endpoint is None or request.url_rule is None:  # e.g. a 404 page
            return url_for("surveys.index", lang=code)
        args = {**(request.view_args or {}), **request.args.to_dict(), "lang": code}
        return url_for(request.endpoint, **args)

    return {
        "current_lang": lang,
        "t": lambda text: translate(text, lang),
        "lang_url": lang_url,
        "language_names": [(c, LANGUAGE_NAMES.get(c, c)) for c in Config.LANGUAGES],
    }


def create_app(config_class: type = Config, overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(config_class)
    if overrides:
        app.config.update(overrides)

    _ensure_sqlite_folder(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)

    from . import errors
    from .cli import register_cli
    from .surveys.routes import bp as surveys_bp

    app.register_blueprint(surveys_bp)
    errors.register(app)
    register_cli(app)
    app.context_processor(template_helpers)
    return app
