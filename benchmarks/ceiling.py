"""The ceiling of ``benchmarks/submit.py``: a bare Flask view that inserts the posted
form as one JSON row (JSONB on PostgreSQL) through Flask-SQLAlchemy, and nothing else.

    gunicorn -c gunicorn.conf.py --pythonpath benchmarks "ceiling:create_app()"

It uses the service's database URL and engine options (``config.py``), so the real
path and the ceiling differ only in what the application does per request.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from flask import Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config import Config, engine_options  # noqa: E402


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Posted(db.Model):
    __tablename__ = "bench_ceiling"

    id: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))


def create_app(url: str | None = None) -> Flask:
    app = Flask(__name__)
    url = url or Config.SQLALCHEMY_DATABASE_URI
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    db.init_app(app)

    @app.post("/insert")
    def insert():
        db.session.add(Posted(data=request.form.to_dict()))
        db.session.commit()
        return "", 204

    return app
