"""Who may do what: the role table of the issue, and a permission matrix generated from
``app.url_map`` (every route x every role, anonymous and another unit's user): a route
without an access rule, or one that answers other than its rule says, fails."""

from __future__ import annotations

import pytest
from flask import g

from survey_app.auth.policy import PERMISSIONS, Access, access_of, expected_outcome
from survey_app.extensions import db
from survey_app.models import ROLES

from ..conftest import login_as

# The issue's role table, written out by hand: role -> what it may do.
ISSUE_TABLE = {
    "admin": set(PERMISSIONS),
    "executive": {
        "view_surveys",
        "view_reports",
        "view_responses",
        "export",
        "preview",
        "follow_up",
        "account",
    },
    "unit_admin": {
        "view_surveys",
        "manage_users",
        "edit_questionnaire",
        "change_state",
        "invite",
        "delete_response",
        "preview",
        "follow_up",
        "account",
    },
    "researcher": {
        "view_surveys",
        "edit_questionnaire",
        "view_responses",
        "export",
        "view_reports",
        "preview",
        "account",
    },
    "manager": {"view_surveys", "view_reports", "preview", "follow_up", "account"},
    "agent": {"follow_up", "account"},
}


@pytest.mark.parametrize("role", ROLES)
def test_the_policy_is_the_issues_role_table(role):
    allowed = {p for p, roles in PERMISSIONS.items() if role in roles}
    assert allowed == ISSUE_TABLE[role]


# Values for the URL variables of staff routes; a new variable must be added here.
def url_values(rule, survey_id: str, target_user_id: int, extra: dict | None = None) -> dict:
    known = {
        "survey_id": survey_id,
        "user_id": target_user_id,
        "job_id": "no-such-job",  # the policy runs first; the view then 404s for anyone's job
        **(extra or {}),
    }
    missing = set(rule.arguments) - set(known)
    assert not missing, f"{rule.rule}: add test values for {missing}"
    return {name: known[name] for name in rule.arguments}


@pytest.fixture
def matrix_app(app):
    app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)

    @app.after_request
    def mark(response):
        if g.get("access_granted"):
            response.headers["X-Test-Access"] = "granted"
        return response

    return app


def test_every_route_answers_as_the_policy_says(matrix_app, make_survey, make_user):
    app = matrix_app
    actors = {None: None, "outsider": make_user("unit_admin", ("unit-b",))}
    for role in ROLES:
        units = () if role in ("admin", "executive") else ("unit-a",)
        actors[role] = make_user(role, units, email=f"actor-{role}@example.com")
    target = make_user("agent", ("unit-a",), email="target@example.com")
    survey, _ = make_survey("servqual-22")
    survey.unit_id = "unit-a"
    db.session.commit()
    extra = customer_and_case(survey, actors["agent"])
    # a job and an API token that need not exist: the policy decides before the view looks
    extra.update(job_id="no-such-job", token_id=1)
    tokens = {name: make_token(user) for name, user in actors.items() if user is not None}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        access = access_of_rule(app, rule)
        assert access is not None, f"{rule.rule} ({rule.endpoint}) declares no access rule"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            with app.test_request_context():
                from flask import url_for

                url = url_for(rule.endpoint, **url_values(rule, survey.id, target.id, extra))
            for name, user in actors.items():
                client = app.test_client()
                headers = {}
                if user is not None:
                    login_as(client, user)  # the pages' credential...
                    if access.api:  # ...and the API's (the session alone is refused there)
                        headers["Authorization"] = f"Bearer {tokens[name]}"
                response = client.open(url, method=method, headers=headers)
                expected = expected_outcome(user, access, "unit-a")
                got = outcome(response)
                assert got == expected, (
                    f"{method} {url} as {name}: expected {expected}, got {got} "
                    f"({response.status_code})"
                )
                checked += 1
    assert checked > 100


def make_token(user) -> str:
    from survey_app.api.tokens import create_token

    _row, token = create_token(user, "matrix")
    db.session.commit()
    return token


def test_api_routes_refuse_the_session_alone(matrix_app, make_survey, make_user):
    """A signed-in browser's cookie is no credential for the API: 401 for every role."""
    survey, _ = make_survey("servqual-22")
    user = make_user("admin", email="admin-session@example.com")
    api_rules = [
        rule
        for rule in matrix_app.url_map.iter_rules()
        if rule.endpoint != "static" and access_of_rule(matrix_app, rule).api
    ]
    assert len(api_rules) >= 8
    for rule in api_rules:
        with matrix_app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **url_values(rule, survey.id, user.id, {"job_id": "x"}))
        client = matrix_app.test_client()
        login_as(client, user)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert outcome(client.open(url, method=method)) == "401", (method, url)


def customer_and_case(survey, agent) -> dict:
    """A customer of unit-a (managed by the agent), a follow-up of it, an unsubscribe
    token: values for the customer and follow-up routes."""
    from datetime import UTC, datetime

    from survey_app.mail import unsubscribe_token
    from survey_app.models import Customer, FollowUp

    customer = Customer(
        unit_id="unit-a", customer_id="C1", name="Acme", account_manager=agent, attributes={}
    )
    moment = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = FollowUp(
        unit_id="unit-a",
        survey_id=survey.id,
        customer=customer,
        owner=agent,
        state="new",
        opened_at=moment,
        due_at=moment,
        reasons=[],
        scores={},
    )
    db.session.add_all([customer, case])
    db.session.commit()
    return {
        "customer_pk": customer.id,
        "follow_up_id": case.id,
        "token": unsubscribe_token("unit-a", "someone@example.com"),
    }


def access_of_rule(app, rule) -> Access | None:
    with app.test_request_context():
        return access_of(rule.endpoint)


def outcome(response) -> str:
    if response.headers.get("X-Test-Access") == "granted":
        return "ok"
    if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
        return "login"
    return str(response.status_code)
