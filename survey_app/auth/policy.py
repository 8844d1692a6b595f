"""Who may do what: the one access policy. Views declare what they need; one check
runs before any view code (:func:`enforce`), and the permission matrix test reads the
same tables.

Roles (one per account) and the units an account works in:

========== ==============================================================
admin      everything: units, users, every survey, the audit log
executive  reads every unit: reports, responses, follow-ups
unit_admin in its units: users (not admins), surveys, invitations, open/close
researcher in its units: questionnaires, responses, exports, analysis
manager    in its units: reports only (aggregates), no single responses
agent      the customers and follow-ups assigned to it
========== ==============================================================

Outcomes: an anonymous visitor is sent to the login page (the API answers 401); a
survey or account outside the user's units is a 404, as if it did not exist; inside
them, an action the role may not take is a 403.

The JSON API (views declared with ``api=True``) knows its caller only by a personal API
token (``Authorization: Bearer <token>``, :mod:`survey_app.api.tokens`), never by the
session cookie: the token's account then passes the same checks as on the pages, and a
browser's cookie alone can neither read nor change anything through the API (so the
API needs no CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import abort, g, jsonify, make_response, redirect, request, url_for
from flask_login import current_user

from ..extensions import db
from ..models import Survey, User

ALL_UNITS = frozenset({"admin", "executive"})

PERMISSIONS: dict[str, frozenset[str]] = {
    # staff home and a survey's overview page
    "view_surveys": frozenset({"admin", "executive", "unit_admin", "researcher", "manager"}),
    # aggregate reports (issue 7)
    "view_reports": frozenset({"admin", "executive", "researcher", "manager"}),
    # single responses and files of them: exports, the responses API
    "view_responses": frozenset({"admin", "executive", "researcher"}),
    "export": frozenset({"admin", "executive", "researcher"}),
    # load or reload a questionnaire, preview it
    "edit_questionnaire": frozenset({"admin", "unit_admin", "researcher"}),
    "preview": frozenset({"admin", "unit_admin", "researcher", "manager", "executive"}),
    # open, close, schedule a survey
    "change_state": frozenset({"admin", "unit_admin"}),
    # create invitations and download their links
    "invite": frozenset({"admin", "unit_admin"}),
    # delete a respondent's answers on request
    "delete_response": frozenset({"admin", "unit_admin"}),
    # accounts and units
    "manage_users": frozenset({"admin", "unit_admin"}),
    "manage_units": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
    # customers and follow-ups (issue 10)
    "follow_up": frozenset({"admin", "executive", "unit_admin", "manager", "agent"}),
    # any signed-in account: its own password, the staff home
    "account": frozenset({"admin", "executive", "unit_admin", "researcher", "manager", "agent"}),
}

# The roles a unit administrator may give: never one that reaches beyond its units.
UNIT_ADMIN_GRANTS = frozenset({"unit_admin", "researcher", "manager", "agent"})


def may(user: Any, permission: str) -> bool:
    """Whether ``user``'s role allows ``permission`` (in units it sees)."""
    return bool(user and user.is_authenticated and user.role in PERMISSIONS[permission])


def sees_unit(user: Any, unit_id: str) -> bool:
    """Whether ``unit_id`` exists for ``user`` at all (else: 404)."""
    if not user or not user.is_authenticated:
        return False
    return user.role in ALL_UNITS or unit_id in user.unit_ids


def sees_personal(user: Any) -> bool:
    """Whether ``user`` may see personal data (contact details, open texts)."""
    return bool(user and user.is_authenticated and user.personal)


def visible_units(user: Any) -> frozenset[str] | None:
    """The units ``user`` sees, or None for all of them."""
    return None if user.role in ALL_UNITS else user.unit_ids


def within_units(query: Any, user: Any, unit_column: Any) -> Any:
    """``query`` limited to the rows whose ``unit_column`` is in a unit ``user`` sees."""
    units = visible_units(user)
    return query if units is None else query.where(unit_column.in_(sorted(units)))


# -- customers and follow-ups (issue 14) -------------------------------------------------
# Admins and executives see every unit's; unit admins and managers their units'; an agent
# only its own customers (it is their account manager) and the follow-ups it owns or
# that concern its customers. An executive reads; it does not handle cases.
HANDLES_FOLLOW_UPS = frozenset({"admin", "unit_admin", "manager"})


@dataclass(frozen=True)
class FollowUpScope:
    units: frozenset[str] | None  # None: every unit
    agent_id: int | None = None  # an agent: only its own


def follow_up_scope(user: Any) -> FollowUpScope | None:
    """What customers and follow-ups ``user`` sees (None: none)."""
    if not may(user, "follow_up"):
        return None
    if user.role == "agent":
        return FollowUpScope(user.unit_ids, user.id)
    return FollowUpScope(visible_units(user))


def sees_customer(user: Any, customer: Any) -> bool:
    scope = follow_up_scope(user)
    if scope is None or (scope.units is not None and customer.unit_id not in scope.units):
        return False
    return scope.agent_id is None or customer.account_manager_id == scope.agent_id


def sees_follow_up(user: Any, follow_up: Any) -> bool:
    """Whether the case exists for ``user`` at all (else: 404)."""
    scope = follow_up_scope(user)
    if scope is None or (scope.units is not None and follow_up.unit_id not in scope.units):
        return False
    if scope.agent_id is None:
        return True
    customer = follow_up.customer
    return follow_up.owner_id == scope.agent_id or (
        customer is not None and customer.account_manager_id == scope.agent_id
    )


def may_handle(user: Any, follow_up: Any) -> bool:
    """Whether ``user`` may move the case on, reassign it or add notes: its owner, or an
    admin, unit admin or manager of its unit."""
    if not sees_follow_up(user, follow_up):
        return False
    return user.role in HANDLES_FOLLOW_UPS or follow_up.owner_id == user.id


def sees_contacts(user: Any, customer: Any | None, follow_up: Any | None = None) -> bool:
    """Whether ``user`` may see a customer's contact details and open texts: with the
    personal-data grant, or as its account manager, or as the owner of the case."""
    if sees_personal(user):
        return True
    uid = getattr(user, "id", None) if user and user.is_authenticated else None
    if uid is None:
        return False
    if customer is not None and customer.account_manager_id == uid:
        return True
    return follow_up is not None and follow_up.owner_id == uid


def may_manage(user: Any, other: User) -> bool:
    """Whether ``user`` may change the account ``other``."""
    if user.role == "admin":
        return True
    if user.role != "unit_admin" or other.role not in UNIT_ADMIN_GRANTS:
        return False
    return bool(other.unit_ids) and other.unit_ids <= user.unit_ids


def may_grant(user: Any, role: str, units: frozenset[str]) -> bool:
    """Whether ``user`` may give ``role`` in ``units`` to an account."""
    if user.role == "admin":
        return True
    return (
        user.role == "unit_admin"
        and role in UNIT_ADMIN_GRANTS
        and bool(units)
        and units <= user.unit_ids
    )


# -- what views declare ------------------------------------------------------------------
Scope = Literal["public", "account", "survey"]


@dataclass(frozen=True)
class Access:
    """What a view needs: nothing (``public``), a permission, and for ``survey`` scope
    also the survey named by the URL's ``survey_id`` in a unit the user sees."""

    scope: Scope
    permission: str | None = None
    api: bool = False  # answers 401 JSON instead of a redirect to the login page


F = TypeVar("F", bound=Callable[..., Any])


def _declare(access: Access) -> Callable[[F], F]:
    if access.permission is not None and access.permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {access.permission!r}")

    def mark(view: F) -> F:
        view.access = access  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Anyone may use this view (customers' pages, the login page)."""
    return _declare(Access("public"))(view)


def requires(permission: str, *, api: bool = False) -> Callable[[F], F]:
    """A staff view needing ``permission``."""
    return _declare(Access("account", permission, api))


def survey_requires(permission: str, *, api: bool = False) -> Callable[[F], F]:
    """A staff view of the survey ``<survey_id>`` needing ``permission`` there; the view
    finds the survey in ``g.survey``."""
    return _declare(Access("survey", permission, api))


def access_of(endpoint: str | None) -> Access | None:
    from flask import current_app

    view = current_app.view_functions.get(endpoint or "")
    return getattr(view, "access", None)


def enforce() -> Any:
    """Run before every view: apply what the view declared. A view that declares
    nothing is refused (a new route cannot be forgotten)."""
    if request.endpoint in (None, "static") or request.url_rule is None:
        return None
    access = access_of(request.endpoint)
    if access is None:
        abort(500, description="this page declares no access rule")
    if access.scope == "public":
        g.access_granted = True
        return None
    if access.api:
        problem = authenticate_bearer()
        if problem is not None:
            response = make_response(jsonify(error=problem, status=401), 401)
            response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return response
    elif not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if access.scope == "survey":
        survey_id = (request.view_args or {}).get("survey_id", "")
        survey = db.session.get(Survey, survey_id)
        if survey is None or not sees_unit(current_user, survey.unit_id):
            abort(404, description=f"no survey {survey_id!r}" if access.api else None)
        g.survey = survey
    if not may(current_user, access.permission):
        if access.api:
            abort(403, description=f"the role {current_user.role} may not {access.permission}")
        abort(403)
    g.access_granted = True
    return None


def authenticate_bearer() -> str | None:
    """Make the account of the request's API token the current user (the session is not
    read); return what is wrong when there is no valid token. Each use is audited."""
    from flask_login import AnonymousUserMixin

    from ..api.tokens import find_active, note_use

    g._login_user = AnonymousUserMixin()  # what Flask-Login reads instead of the session
    header = request.headers.get("Authorization", "")
    if not header:
        return (
            "authentication required: send the header 'Authorization: Bearer <token>' "
            "with a personal API token"
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "the Authorization header must read 'Bearer <token>'"
    row = find_active(token.strip())
    if row is None:
        return "the API token is not valid (unknown or revoked, or its account is disabled)"
    g._login_user = row.user
    g.api_token = row
    note_use(row, request.method, request.path)
    db.session.commit()
    return None


def expected_outcome(user: Any, access: Access, unit_id: str | None) -> str:
    """What :func:`enforce` decides, for the permission matrix test: ``ok``, ``login``,
    ``401``, ``404`` or ``403``."""
    if access.scope == "public":
        return "ok"
    if user is None:
        return "401" if access.api else "login"
    if access.scope == "survey" and not sees_unit(user, unit_id or ""):
        return "404"
    return "ok" if may(user, access.permission) else "403"
