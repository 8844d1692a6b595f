"""Error pages that say what went wrong, in the customer's language."""

from __future__ import annotations

import logging
from contextlib import suppress

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound, SecurityError

from .extensions import db
from .transactions import end_read_only

log = logging.getLogger(__name__)


def safe_rollback() -> None:
    """Roll back, even when the connection died (the database went away)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001  (a dead connection: drop it, the pool makes a new one)
        log.warning("rollback failed: the connection is invalidated")
        with suppress(Exception):
            db.session.invalidate()


def _page(title: str, message: str, status: int):
    return render_template("error.html", title=title, message=message), status


API_PREFIX = "/api/"


def in_api() -> bool:
    """Whether the request is one of the JSON API's: its errors are JSON too."""
    return request.path.startswith(API_PREFIX)


def json_error(status: int, message: str, headers: dict | None = None):
    """``{"error": message, "status": status}``: what went wrong, and where."""
    response = jsonify(error=message, status=status)
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def _described(error: HTTPException, default: str) -> str:
    described = getattr(error, "description", None)
    return described if described and described != type(error).description else default


def register(app: Flask) -> None:
    @app.teardown_appcontext
    def close_session(error: BaseException | None) -> None:
        """Runs before Flask-SQLAlchemy's own clean-up (teardowns run in reverse), which
        would raise out of the request if the database went away after the view."""
        try:
            if error is None:
                end_read_only(db.session())  # keeps psycopg's prepared statements
            db.session.remove()
        except Exception:  # noqa: BLE001
            log.warning("closing the session failed: the connection is invalidated")
            with suppress(Exception):
                db.session.invalidate()
            db.session.registry.clear()

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if in_api():
            return json_error(400, f"CSRF check failed: {error.description}")
        message = _(
            "This page was sent without a valid security token (cookies may be blocked, "
            "or the form was sent from elsewhere). Nothing was saved: please reload the "
            "survey and try again."
        )
        return _page(_("Please try again"), message, 400)

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # No page can be built for a host outside TRUSTED_HOSTS (links need the host).
        return "Bad Request: this host is not served here.\n", 400, {"Content-Type": "text/plain"}

    @app.errorhandler(400)
    def bad_request(error):
        if in_api():
            return json_error(400, _described(error, f"{request.path}: malformed request"))
        described = getattr(error, "description", None)
        if not described or described == BadRequest.description:
            described = _("The request was not understood. Nothing was saved.")
        return _page(_("Please try again"), described, 400)

    @app.errorhandler(403)
    def forbidden(error):
        if in_api():
            return json_error(403, _described(error, f"{request.path}: not allowed"))
        message = _(
            "This survey is by invitation only. Please open the personal link from your invitation."
        )
        return _page(_("Invitation needed"), message, 403)

    @app.errorhandler(404)
    def not_found(error):
        if in_api():
            return json_error(404, _described(error, f"{request.path}: no such resource"))
        # Views give their own (translated) reason; Werkzeug's default text is English.
        described = getattr(error, "description", None)
        if not described or described == NotFound.description:
            described = _("There is no such page.")
        return _page(_("Not found"), described, 404)

    @app.errorhandler(405)
    def method_not_allowed(error):
        if in_api():
            allowed = ", ".join(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
            message = f"{request.method} is not allowed on {request.path} (allowed: {allowed})"
            return json_error(405, message, {"Allow": ", ".join(error.valid_methods or ())})
        return _page(_("Not found"), _("There is no such page."), 405)

    @app.errorhandler(429)
    def too_many(error):
        if in_api():
            message = f"{request.path}: too many requests; wait a minute and try again"
            return json_error(429, message, {"Retry-After": "60"})
        response = render_template(
            "error.html",
            title=_("Too many attempts"),
            message=_(
                "Too many requests came from here in a short time. Please wait a minute "
                "and try again."
            ),
        )
        return response, 429, {"Retry-After": "60"}

    @app.errorhandler(413)
    def too_large(error):
        if in_api():
            limit = request.max_content_length
            message = f"{request.path}: the request body is larger than " + (
                f"the limit of {limit} bytes" if limit else "allowed"
            )
            return json_error(413, message)
        return _page(_("Too much data"), _("The form sent was too large."), 413)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(InternalError)
    def database_unavailable(error):
        # The database went away or refused the write (restart, read-only, disk full):
        # nothing of this request was stored, and sending the page again is safe.
        safe_rollback()
        log.error("database error: %s", error.orig)
        if in_api():
            message = "the database is not available just now; nothing was stored: try again"
            return json_error(503, message, {"Retry-After": "5"})
        response = render_template(
            "error.html",
            title=_("Please try again in a moment"),
            message=_(
                "The service could not save your answers just now. Nothing was lost: "
                "please send the page again in a moment."
            ),
        )
        return response, 503, {"Retry-After": "5", "Cache-Control": "no-store"}

    @app.errorhandler(500)
    def server_error(error):
        safe_rollback()
        if in_api():
            return json_error(500, f"{request.path}: internal error; nothing was stored")
        return _page(
            _("Something went wrong"),
            _("Your earlier pages are saved. Please try again in a moment."),
            500,
        )

    @app.errorhandler(HTTPException)
    def other_http_error(error: HTTPException):
        """Errors without a page of their own (410, 415...): JSON in the API."""
        if in_api() and error.code is not None:
            return json_error(error.code, _described(error, f"{request.path}: {error.name}"))
        return error
