"""Reports for managers and researchers: pages under ``/reports/<survey id>``, their
data (``data.json``), and the offline file (``flask report``)."""

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from ..staff_links import register

bp = Blueprint("reports", __name__, url_prefix="/reports")
register(lambda: _l("Report"), "reports.overview", "view_reports")

from . import routes  # noqa: E402,F401  (views register on the blueprint)
