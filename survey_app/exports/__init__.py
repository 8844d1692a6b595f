"""Exports of responses and codebooks: the command line, the staff page, background jobs."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ..staff_links import register

bp = Blueprint("exports", __name__, url_prefix="/staff")
register(lambda: _l("Export"), "exports.export", "export")

from . import routes  # noqa: E402,F401  (views register on the blueprint)
