"""Error pages that say what went wrong, in the customer's language."""

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound

from .extensions import db


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _(
            "This page was sent without a valid security token (cookies may be blocked, "
            "or the form was sent from elsewhere). Nothing was saved: please reload the "
            "survey and try again."
        )
        return render_template("error.html", title=_("Please try again"), message=message), 400

    @app.errorhandler(403)
    def forbidden(error):
        message = _(
            "This survey is by invitation only. Please open the personal link from your invitation."
        )
        return render_template("error.html", title=_("Invitation needed"), message=message), 403

    @app.errorhandler(404)
    def not_found(error):
        # Views give their own (translated) reason; Werkzeug's default text is English.
        described = getattr(error, "description", None)
        if not described or described == NotFound.description:
            described = _("There is no such page.")
        message = described
        return render_template("error.html", title=_("Not found"), message=message), 404

    @app.errorhandler(413)
    def too_large(error):
        return render_template(
            "error.html", title=_("Too much data"), message=_("The form sent was too large.")
        ), 413

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template(
            "error.html",
            title=_("Something went wrong"),
            message=_("Your earlier pages are saved. Please try again in a moment."),
        ), 500
