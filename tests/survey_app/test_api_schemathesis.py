"""The running app against its OpenAPI document, with schemathesis (4.x): for every
operation, valid and invalid input (wrong types, malformed cursors, unknown ids), no
5xx, and every documented answer matches its status, content type, headers and schema.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks

from survey_app.extensions import db

from .exports_data import add_servqual_responses
from .test_api import bearer, in_unit, make_token

load_all_checks()
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES = 30


@pytest.fixture
def served(live_server, make_survey, make_user):
    """A survey with responses, a researcher's token (personal grant), a finished export."""
    survey, _q = make_survey("servqual-22")
    in_unit(survey)
    add_servqual_responses(survey)
    token = make_token(make_user("researcher", ("unit-a",), personal=True))
    from flask import current_app

    client = current_app.test_client()
    started = client.post(
        "/api/v1/surveys/servqual-22/exports", headers=bearer(token), json={"format": "jsonl"}
    )
    assert started.status_code == 202
    db.session.remove()
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json")
    return live_server, schema, token, started.get_json()["id"]


def test_the_document_is_valid_openapi_3_1(served):
    _base, schema, _token, _job = served
    labels = {result.ok().label for result in schema.get_all_operations()}
    # schemathesis leaves out the document's own path
    assert len(labels) == 9 and "POST /api/v1/surveys/{survey_id}/answers" in labels
    assert schema.raw_schema["openapi"] == "3.1.0"


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("known_ids", [True, False], ids=["known-ids", "any-ids"])
def test_no_server_errors_and_answers_as_documented(served, mode, known_ids):
    base, schema, token, job_id = served
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        fixed = {}
        if known_ids:
            fixed = {"survey_id": "servqual-22", "job_id": job_id}
            fixed = {k: v for k, v in fixed.items() if k in names}
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            response = case.call(base_url=base, headers=bearer(token), timeout=60)
            case.validate_response(response, checks=CHECKS)

        run()
        checked += 1
    assert checked == 9
