"""A textbook survey form in this stack: servqual-22's pages as a plain Flask +
Flask-WTF app serves them, and nothing of the service's own.

Per page it does what ``../shared/FIGURES.md`` names as the real path's necessary work
(CSRF, WTForms validation of every answer, session, rendering) with one query to read the
customer's draft and one to save it (the first page inserts it): a GET renders the page's
WTForms form (each radio button by WTForms' widgets) in a Jinja template; a POST validates
it (CSRF and every answer), reads the draft locked (PostgreSQL ``FOR UPDATE``), merges the
page, commits and redirects to the next page; the session cookie carries the draft's key,
made on the first page view. Left out, unlike the service: rate limits, languages, the
signed response key, resume links, show-if conditions, follow-ups, security headers,
request ids and JSON logs.

``benchmarks/production_load.py`` serves it behind the same nginx as the ceiling
(``benchmarks/ceiling.py``) and the service, and loads it with the same client as the
real path, so that the three requests/s are compared in one run:

    gunicorn -c gunicorn.conf.py --pythonpath benchmarks "skeleton:create_app()"
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

from flask import Flask, redirect, render_template, session, url_for
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from jinja2 import DictLoader
from sqlalchemy import JSON, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import Config, engine_options  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402

PREFIX = "/bench-skeleton"
SURVEY = "servqual-22"


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Draft(db.Model):
    __tablename__ = "bench_skeleton"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    page: Mapped[int]
    answers: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}"></head>
<body><main><h1>{{ title }}</h1><p>Page {{ number }} of {{ total }}</p>
<form method="post" action="{{ url_for('page') }}">
{{ form.csrf_token }}{{ form.rk }}{{ form.page }}
{% for field in form if field.name.startswith("q_") %}
<fieldset><legend>{{ field.label.text }}</legend>{{ field() }}
{% for error in field.errors %}<p class="error">{{ error }}</p>{% endfor %}</fieldset>
{% endfor %}
<button type="submit" name="nav" value="next">Next</button></form></main></body></html>
"""
THANKS = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thank you</title>
</head><body><main><p>Thank you. Your answers have been saved.</p></main></body></html>"""


def page_forms() -> list[type[FlaskForm]]:
    """One form class per page of servqual-22: a radio group per question."""
    q = load_questionnaire(SHIPPED_DIR / f"{SURVEY}.yaml")
    forms = []
    for page in q.pages:
        attrs: dict[str, Any] = {"rk": HiddenField(), "page": HiddenField()}
        for slot in page.slots:
            item = slot.item
            check = [InputRequired() if item.required else Optional()]
            label = item.text["en"]
            if item.kind in ("scale", "nps"):
                points = [str(v) for v in range(item.scale.min, item.scale.max + 1)]
                choices = [SelectChoice(v, v) for v in points]
                field = RadioField(label, choices=choices, validators=check)
            elif item.kind == "single":
                choices = [SelectChoice(c.id, c.id) for c in item.choices]
                field = RadioField(label, choices=choices, validators=check)
            else:  # text
                field = TextAreaField(label, validators=[Optional(), Length(max=2000)])
            attrs[f"q_{slot.name}"] = field
        forms.append(type(f"Page{page.number}", (FlaskForm,), attrs))
    return forms


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(Path(__file__).resolve().parents[1] / "static"))
    url = url or Config.SQLALCHEMY_DATABASE_URI
    app.config.update(
        SECRET_KEY=Config.SECRET_KEY or "skeleton",
        SQLALCHEMY_DATABASE_URI=url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(url),
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.jinja_env.loader = DictLoader({"page.html": PAGE, "thanks.html": THANKS})
    db.init_app(app)
    forms = page_forms()

    def draft(key: str | None, *, lock: bool = False) -> Draft | None:
        if not key:
            return None
        query = select(Draft).where(Draft.key == key)
        return db.session.scalars(query.with_for_update() if lock else query).first()

    @app.get(f"{PREFIX}/s")
    def page():
        found = draft(session.get("key"))
        if found is None:
            session["key"] = secrets.token_urlsafe(24)  # the draft's key from the first page
        number = found.page if found else 1
        form = forms[number - 1](data=found.answers if found else None)
        form.rk.data, form.page.data = session["key"], number
        return render_template(
            "page.html", title="SERVQUAL", number=number, total=len(forms), form=form
        )

    @app.post(f"{PREFIX}/s")
    def post():
        key = session.get("key")
        found = draft(key, lock=True)
        number = found.page if found else 1
        form = forms[number - 1]()
        if not key or not form.validate():
            return render_template(
                "page.html", title="SERVQUAL", number=number, total=len(forms), form=form
            ), 422
        answers = {k: v for k, v in form.data.items() if k.startswith("q_")}
        if found is None:
            found = Draft(key=key, page=1, answers={})
            db.session.add(found)
        found.answers = {**found.answers, **answers}
        found.page = number + 1
        db.session.commit()
        if number == len(forms):
            return redirect(url_for("thanks"))
        return redirect(url_for("page", page=number + 1))

    @app.get(f"{PREFIX}/thanks")
    def thanks():
        session.pop("key", None)
        return render_template("thanks.html")

    return app
