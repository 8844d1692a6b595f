"""The staff side: surveys, invitations, accounts, units and the audit log."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/staff")

from . import people, routes  # noqa: E402,F401  (views register on the blueprint)
