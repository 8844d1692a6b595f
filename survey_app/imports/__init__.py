"""Importing responses (paper forms, other servers): the command line and an upload page."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ..staff_links import register

bp = Blueprint("imports", __name__, url_prefix="/staff")
register(lambda: _l("Import responses"), "imports.upload", "edit_questionnaire")

from . import routes  # noqa: E402,F401  (views register on the blueprint)
