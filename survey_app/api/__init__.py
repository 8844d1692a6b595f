"""The JSON API, version 1 (``/api/v1``): surveys, responses, exports, analysis
results and answer submission for kiosks and apps; its OpenAPI document and a page
that lists its operations. Staff routes take a personal API token (see
:mod:`survey_app.api.tokens`); the staff pages that list and revoke tokens live here
too (:mod:`survey_app.api.pages`)."""

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates by a bearer token (staff) or by credentials in the JSON body
# (an invitation token, a server-signed response key), never by the session cookie:
# a cross-site request can carry neither, so there is nothing for a CSRF token to add.
csrf.exempt(bp)

from . import routes  # noqa: E402,F401  (views register on the blueprint)
from .pages import bp as pages_bp  # noqa: E402,F401
