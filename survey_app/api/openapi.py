"""The OpenAPI 3.1 document of ``/api/v1``, written out by hand from the views (one
place to read what the API promises); the schemathesis test checks the running app
against it."""

from __future__ import annotations

from functools import cache
from typing import Any

from analysis.options import EXTRACTIONS, MISSING, ROTATIONS

from ..exports.options import FORMATS, LAYOUTS, MEDIA_TYPES
from ..models import JOB_STATES, SURVEY_STATES
from ..reports.services import MAX_BOOTSTRAP
from .listing import MAX_LIMIT

VERSION = "1.0.0"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, headers: dict | None = None) -> dict:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


def _errors(*codes: int) -> dict[str, dict]:
    text = {
        400: "A parameter or the body is not valid; the message says which and why.",
        401: "No valid API token (the header Authorization: Bearer <token>).",
        403: "The token's role may not do this.",
        404: "No such survey (or none in the token's units), export or version.",
        405: "The method is not allowed here.",
        413: "The body is too large.",
        429: "Too many requests; wait as Retry-After says.",
        503: "The database is not available just now; nothing was stored.",
    }
    return {str(code): _error(text[code]) for code in codes}


STAFF = (400, 401, 403, 404, 405, 503)
SURVEY_ID = {
    "name": "survey_id",
    "in": "path",
    "required": True,
    "description": "The survey's id (lower-case letters, digits, '-' and '_').",
    "schema": {"type": "string"},
}
JOB_ID = {
    "name": "job_id",
    "in": "path",
    "required": True,
    "description": "The export's id, as its creation returned it.",
    "schema": {"type": "string"},
}
FILTERS = [
    {
        "name": "from",
        "in": "query",
        "description": "First day (YYYY-MM-DD, UTC, by completion time), inclusive.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "description": "Last day (YYYY-MM-DD), inclusive.",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "version",
        "in": "query",
        "description": "A questionnaire version: that version's series of compatible versions "
        "(default: the current one's).",
        "schema": {"type": "integer", "minimum": 1},
    },
    {
        "name": "all",
        "in": "query",
        "description": "Incomplete responses too (default: complete ones only).",
        "schema": {"type": "boolean"},
    },
    {
        "name": "segments",
        "in": "query",
        "description": "Segment filters written as <segment id>=<choice id> "
        "(e.g. region=north); repeat a segment for OR, name several for AND.",
        "style": "form",
        "explode": True,
        "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    },
]
ANALYSIS_OPTIONS = [
    {
        "name": "factors",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 50},
        "description": "Number of factors of the factor analysis (default: chosen).",
    },
    {"name": "extraction", "in": "query", "schema": {"type": "string", "enum": list(EXTRACTIONS)}},
    {"name": "rotation", "in": "query", "schema": {"type": "string", "enum": list(ROTATIONS)}},
    {"name": "missing", "in": "query", "schema": {"type": "string", "enum": list(MISSING)}},
    {
        "name": "bootstrap",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_BOOTSTRAP},
        "description": "Bootstrap resamples of the intervals (default 200; 0: none).",
    },
    {"name": "seed", "in": "query", "schema": {"type": "integer", "minimum": 0}},
]
ANSWER_VALUE = {"type": ["number", "string", "null"]}
NULLABLE_STRING = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {"type": "string", "description": "What is wrong, and where."},
            "status": {"type": "integer"},
        },
    },
    "SurveySummary": {
        "type": "object",
        "required": ["id", "title", "unit", "state", "version", "url"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "object", "additionalProperties": {"type": "string"}},
            "unit": {"type": "string"},
            "state": {"type": "string", "enum": list(SURVEY_STATES)},
            "version": {"type": "integer"},
            "url": {"type": "string"},
        },
    },
    "SurveyList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("SurveySummary")}},
    },
    "Survey": {
        "allOf": [
            _ref("SurveySummary"),
            {
                "type": "object",
                "required": ["languages", "access", "versions", "responses", "links"],
                "properties": {
                    "languages": {"type": "array", "items": {"type": "string"}},
                    "access": {"type": "string", "enum": ["open", "invitation"]},
                    "opens_at": NULLABLE_STRING,
                    "closes_at": NULLABLE_STRING,
                    "versions": {"type": "array", "items": {"type": "integer"}},
                    "responses": {
                        "type": "object",
                        "required": ["complete", "in_progress"],
                        "properties": {
                            "complete": {"type": "integer"},
                            "in_progress": {"type": "integer"},
                        },
                    },
                    "links": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
        ]
    },
    "Questionnaire": {
        "type": "object",
        "required": ["survey_id", "version", "sha256", "questionnaire"],
        "properties": {
            "survey_id": {"type": "string"},
            "version": {"type": "integer"},
            "series": {"type": "integer"},
            "sha256": {"type": "string"},
            "source_name": {"type": "string"},
            "questionnaire": {
                "type": "object",
                "description": "The questionnaire file (YAML) as JSON.",
            },
        },
    },
    "ResponseItem": {
        "type": "object",
        "required": [
            "response_id",
            "version",
            "started_at",
            "submitted_at",
            "lang",
            "complete",
            "answers",
        ],
        "properties": {
            "response_id": {"type": "integer"},
            "version": {"type": "integer"},
            "started_at": NULLABLE_STRING,
            "submitted_at": NULLABLE_STRING,
            "lang": NULLABLE_STRING,
            "complete": {"type": "boolean"},
            "answers": {
                "type": "object",
                "description": "Column -> value, in the export's columns: scale points and "
                "0/1 options as numbers, choices as their ids, open texts as text (*** "
                "without the personal-data grant), null where unanswered.",
                "additionalProperties": ANSWER_VALUE,
            },
        },
    },
    "ResponsesPage": {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": _ref("ResponseItem")},
            "next": {
                "type": ["string", "null"],
                "description": "The URL of the next page, or null on the last one.",
            },
            "version": {"type": "integer"},
            "masked": {"type": "boolean"},
        },
    },
    "ExportRequest": {
        "type": "object",
        "required": ["format"],
        "additionalProperties": False,
        "properties": {
            "format": {"type": "string", "enum": list(FORMATS)},
            "where": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Segment filters as SEGMENT=CHOICE (as --where).",
            },
            "segments": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
                },
            },
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "version": {"type": "integer", "minimum": 1},
            "all": {"type": "boolean"},
            "layout": {"type": "string", "enum": list(LAYOUTS)},
            "reverse_coded": {"type": "boolean"},
            "scores": {"type": "boolean"},
            "bom": {"type": "boolean"},
            "lang": {"type": "string"},
            "missing_code": {"type": "integer"},
        },
    },
    "ExportStarted": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": list(JOB_STATES)},
            "url": {"type": "string"},
        },
    },
    "ExportStatus": {
        "type": "object",
        "required": ["id", "status", "done", "total"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string"},
            "survey_id": {"type": "string"},
            "status": {"type": "string", "enum": list(JOB_STATES)},
            "done": {"type": "integer"},
            "total": {"type": "integer"},
            "error": NULLABLE_STRING,
            "result": {"type": ["object", "null"]},
            "file": {"type": ["string", "null"], "description": "The file's URL once done."},
        },
    },
    "Computing": {
        "type": "object",
        "required": ["status", "retry_after"],
        "properties": {
            "status": {"const": "computing"},
            "retry_after": {"type": "integer"},
        },
    },
    "Analysis": {
        "type": "object",
        "description": "The report's results, as the report's data.json gives them.",
    },
    "AnswersRequest": {
        "type": "object",
        "required": ["page"],
        "additionalProperties": False,
        "properties": {
            "token": {"type": "string", "description": "An invitation's token."},
            "key": {
                "type": "string",
                "description": "The response key an earlier answer of this API returned "
                "(open surveys); leave it out to start a new response.",
            },
            "page": {"type": "integer", "description": "The page answered, from 1."},
            "action": {"type": "string", "enum": ["next", "back"]},
            "answers": {
                "type": "object",
                "description": "Slot (the form field: the item id under its measure) -> "
                "value, or a list of values for a multiple choice.",
                "additionalProperties": {
                    "anyOf": [
                        {"type": ["string", "number", "boolean", "null"]},
                        {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
                    ]
                },
            },
            "lang": {"type": "string"},
        },
    },
    "AnswersResult": {
        "type": "object",
        "required": ["status", "key", "page", "pages", "slots", "problems"],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["invalid", "saved", "incomplete", "complete", "closed"],
            },
            "key": {
                "type": ["string", "null"],
                "description": "Send it with the next page (null for an invitation: send "
                "its token again).",
            },
            "page": {"type": "integer", "description": "The page to show next."},
            "pages": {"type": "integer"},
            "slots": {"type": "array", "items": {"type": "string"}},
            "problems": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    },
}
BEARER = [{"bearer": []}]
RETRY_AFTER = {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds."}}


def _paths() -> dict[str, Any]:
    survey_errors = _errors(*STAFF)
    return {
        "/api/v1/surveys": {
            "get": {
                "operationId": "listSurveys",
                "summary": "The surveys in the token's units",
                "security": BEARER,
                "responses": {
                    "200": _json(_ref("SurveyList"), "The surveys."),
                    **_errors(401, 403, 405, 503),
                },
            }
        },
        "/api/v1/surveys/{survey_id}": {
            "get": {
                "operationId": "getSurvey",
                "summary": "One survey: state, versions, languages, response counts",
                "security": BEARER,
                "parameters": [SURVEY_ID],
                "responses": {"200": _json(_ref("Survey"), "The survey."), **survey_errors},
            }
        },
        "/api/v1/surveys/{survey_id}/questionnaire": {
            "get": {
                "operationId": "getQuestionnaire",
                "summary": "The questionnaire as JSON",
                "security": BEARER,
                "parameters": [
                    SURVEY_ID,
                    {
                        "name": "version",
                        "in": "query",
                        "description": "A version number (default: the current one).",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": _json(_ref("Questionnaire"), "The questionnaire."),
                    **survey_errors,
                },
            }
        },
        "/api/v1/surveys/{survey_id}/responses": {
            "get": {
                "operationId": "listResponses",
                "summary": "The responses, a page at a time (needs view_responses)",
                "description": "Items in response id order, in the export's columns; "
                "personal answers masked without the personal-data grant. Follow 'next' "
                "until it is null.",
                "security": BEARER,
                "parameters": [
                    SURVEY_ID,
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "Opaque: from the 'next' URL of the previous page.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "Responses per page (default 100).",
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    },
                    *FILTERS,
                ],
                "responses": {
                    "200": _json(_ref("ResponsesPage"), "A page of responses."),
                    **survey_errors,
                },
            }
        },
        "/api/v1/surveys/{survey_id}/exports": {
            "post": {
                "operationId": "createExport",
                "summary": "Start an export (needs export; audited)",
                "description": "The options of the export page and `flask export`. The file "
                "is made in the background: poll the export's URL.",
                "security": BEARER,
                "parameters": [SURVEY_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ExportRequest")}},
                },
                "responses": {
                    "202": _json(
                        _ref("ExportStarted"),
                        "Started.",
                        {"Location": {"schema": {"type": "string"}}},
                    ),
                    **_errors(*STAFF, 413),
                },
            }
        },
        "/api/v1/exports/{job_id}": {
            "get": {
                "operationId": "getExport",
                "summary": "An export's progress",
                "security": BEARER,
                "parameters": [JOB_ID],
                "responses": {
                    "200": _json(_ref("ExportStatus"), "Its progress."),
                    **_errors(*STAFF),
                },
            }
        },
        "/api/v1/exports/{job_id}/file": {
            "get": {
                "operationId": "getExportFile",
                "summary": "The export's file (audited)",
                "security": BEARER,
                "parameters": [JOB_ID],
                "responses": {
                    "200": {
                        "description": "The file, in the format asked for.",
                        "content": {
                            media: {"schema": {"type": "string", "format": "binary"}}
                            for media in sorted(set(MEDIA_TYPES.values()))
                        },
                    },
                    **_errors(*STAFF),
                    "410": _error("The file was deleted (files are kept for a day)."),
                },
            }
        },
        "/api/v1/surveys/{survey_id}/analysis": {
            "get": {
                "operationId": "getAnalysis",
                "summary": "The report's analysis results (needs view_reports)",
                "description": "As the report's data.json: the same filters and options; "
                "202 with Retry-After while the results are computed.",
                "security": BEARER,
                "parameters": [SURVEY_ID, *FILTERS, *ANALYSIS_OPTIONS],
                "responses": {
                    "200": _json(_ref("Analysis"), "The results."),
                    "202": _json(_ref("Computing"), "Being computed.", RETRY_AFTER),
                    **survey_errors,
                },
            }
        },
        "/api/v1/surveys/{survey_id}/answers": {
            "post": {
                "operationId": "submitAnswers",
                "summary": "Submit a page of answers (kiosks, apps; no staff token)",
                "description": "Checked as the web form checks them, required questions "
                "included. Authorised by an invitation's token or, for an open survey, by "
                "the response key this API returned for the response's first page.",
                "parameters": [SURVEY_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("AnswersRequest")}},
                },
                "responses": {
                    "200": _json(_ref("AnswersResult"), "Stored (or the response was complete)."),
                    "422": _json(_ref("AnswersResult"), "Not stored: see problems."),
                    **_errors(400, 403, 404, 405, 413, 429, 503),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
    }


@cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Survey service JSON API",
            "version": VERSION,
            "description": "Surveys, responses, exports and analysis results for staff "
            "(a personal API token: Authorization: Bearer <token>), and answer "
            'submission for kiosks and apps. Errors are JSON: {"error", "status"}.',
        },
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal API token (flask create-token, or the staff "
                    "page API tokens).",
                }
            },
        },
    }
