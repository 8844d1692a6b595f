"""Error pages that say what went wrong, in the customer's language."""

from __future__ import annotations

import logging
from contextlib import suppress

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError
from werkzeug.exceptions import BadRequest, NotFound, SecurityError

from .extensions import db

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


def register(app: Flask) -> None:
    @app.teardown_appcontext
    def close_session(error: BaseException | None) -> None:
        """Runs before Flask-SQLAlchemy's own clean-up (teardowns run in reverse), which
        would raise out of the request if the database went away after the view."""
        try:
            db.session.remove()
        except Exception:  # noqa: BLE001
            log.warning("closing the session failed: the connection is invalidated")
            with suppress(Exception):
                db.session.invalidate()
            db.session.registry.clear()

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
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
        described = getattr(error, "description", None)
        if not described or described == BadRequest.description:
            described = _("The request was not understood. Nothing was saved.")
        return _page(_("Please try again"), described, 400)

    @app.errorhandler(403)
    def forbidden(error):
        message = _(
            "This survey is by invitation only. Please open the personal link from your invitation."
        )
        return _page(_("Invitation needed"), message, 403)

    @app.errorhandler(404)
    def not_found(error):
        # Views give their own (translated) reason; Werkzeug's default text is English.
        described = getattr(error, "description", None)
        if not described or described == NotFound.description:
            described = _("There is no such page.")
        return _page(_("Not found"), described, 404)

    @app.errorhandler(405)
    def method_not_allowed(error):
        return _page(_("Not found"), _("There is no such page."), 405)

    @app.errorhandler(429)
    def too_many(error):
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
        return _page(_("Too much data"), _("The form sent was too large."), 413)

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(InternalError)
    def database_unavailable(error):
        # The database went away or refused the write (restart, read-only, disk full):
        # nothing of this request was stored, and sending the page again is safe.
        safe_rollback()
        log.error("database error: %s", error.orig)
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
        return _page(
            _("Something went wrong"),
            _("Your earlier pages are saved. Please try again in a moment."),
            500,
        )
