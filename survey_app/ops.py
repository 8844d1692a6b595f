"""Running in production: the health check, the proxy in front, and JSON logs.

- ``GET /healthz``: 200 with ``{"database": "ok", ...}`` when the database answers, 503
  otherwise; never cached, never rate-limited.
- Behind nginx (``BEHIND_PROXY=1``), ``X-Forwarded-For/-Proto/-Host`` are trusted from
  the one proxy (werkzeug's ProxyFix), so links, rate limits and the audit log see the
  client's address.
- ``LOG_FORMAT=json``: one JSON object per line, with the request id that nginx passes
  on in ``X-Request-ID`` (one is made up when there is none) and one line per request.
- :func:`warm_up`: what every worker would otherwise do on its first requests, done once
  in gunicorn's master before it forks them (``gunicorn.conf.py``).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from datetime import UTC, datetime

from flask import Flask, g, jsonify, request
from sqlalchemy import text
from werkzeug.middleware.proxy_fix import ProxyFix

from .auth.policy import public
from .extensions import db, limiter

log = logging.getLogger("survey_app.requests")


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON (time, level, logger, message, request id...)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "ms", "address"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdFilter(logging.Filter):
    """Stamp every record made during a request with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        from flask import has_request_context

        if has_request_context() and not hasattr(record, "request_id"):
            record.request_id = g.get("request_id")
        return True


def configure_json_logs(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def healthz():
    """The service and its database, for load balancers and monitors."""
    try:
        db.session.execute(text("SELECT 1"))
        status, body = 200, {"database": "ok"}
    except Exception as exc:  # noqa: BLE001  (any failure of the database is a 503)
        db.session.rollback()
        status, body = 503, {"database": "unavailable", "error": type(exc).__name__}
    body["time"] = datetime.now(UTC).isoformat(timespec="seconds")
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    if app.config.get("LOG_FORMAT") == "json":
        configure_json_logs()
    app.add_url_rule("/healthz", "healthz", limiter.exempt(public(healthz)))

    @app.before_request
    def start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming[:64] if incoming.isalnum() else secrets.token_hex(8)
        g.started = time.perf_counter()

    @app.after_request
    def finish(response):
        response.headers.setdefault("X-Request-ID", g.get("request_id", ""))
        if app.config.get("LOG_FORMAT") == "json" and request.endpoint != "static":
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(
                        (time.perf_counter() - g.get("started", time.perf_counter())) * 1e3, 1
                    ),
                    "address": request.remote_addr,
                },
            )
        return response


def warm_up(app: Flask) -> None:
    """Do once, in a process about to fork its workers, the work each fresh worker (after
    a HUP or a crash included) would otherwise do on its first requests: import the
    analysis (SciPy and the rest, about 2 s), plotly's figure classes (the first figure
    of a process imported them and narwhals: 0.2 s), and compile every template (57 in
    0.56 s; Jinja compiles a template on first use, once per process)."""
    from .reports.services import preload_analysis

    preload_analysis()
    import plotly.graph_objects as go

    go.Figure()  # (its classes are imported on first use)
    for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
        app.jinja_env.get_template(name)
