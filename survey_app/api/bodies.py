"""The JSON bodies of the API, checked in one place: each reader returns plain data for
a service, or raises :class:`BodyError` naming the field and what it takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Request


class BodyError(ValueError):
    """A body that cannot be used; the message names the field."""


TYPE_NAMES = {
    str: "a string",
    list: "a list",
    dict: "an object",
    int: "a whole number",
    bool: "true or false",
}


def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object. Only a JSON body is read: a cross-site HTML form
    (urlencoded or text/plain, sent without a preflight) never gets this far."""
    if not request.is_json:
        raise BodyError("the body must be JSON (Content-Type: application/json)")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BodyError("the body must be a JSON object")
    return body


def _checked(body: dict[str, Any], fields: dict[str, type]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise BodyError(
            f"body: unknown field(s) {', '.join(unknown)} (fields: {', '.join(fields)})"
        )
    for name, value in body.items():
        wanted = fields[name]
        if value is None:
            continue
        if not isinstance(value, wanted) or (wanted is not bool and isinstance(value, bool)):
            raise BodyError(f"body field '{name}': must be {TYPE_NAMES[wanted]}")
    return body


# -- exports ---------------------------------------------------------------------------------
EXPORT_FIELDS = {
    "format": str,
    "where": list,
    "segments": dict,
    "from": str,
    "to": str,
    "version": int,
    "all": bool,
    "layout": str,
    "reverse_coded": bool,
    "scores": bool,
    "bom": bool,
    "lang": str,
    "missing_code": int,
}


def export_arguments(body: dict[str, Any]) -> dict[str, Any]:
    """The export page's options from a JSON body, as ``make_options`` takes them (which
    checks them against the questionnaire)."""
    body = _checked(body, EXPORT_FIELDS)
    if not body.get("format"):
        raise BodyError("body field 'format': required (csv, xlsx, sav, dta, ...)")
    where = body.get("where") or []
    if not all(isinstance(w, str) for w in where):
        raise BodyError("body field 'where': give a list of 'SEGMENT=CHOICE' strings")
    segments: dict[str, list[str]] = {}
    for name, codes in (body.get("segments") or {}).items():
        codes = codes if isinstance(codes, list) else [codes]
        if not all(isinstance(code, str) for code in codes):
            raise BodyError(f"body field 'segments.{name}': give choice ids as strings")
        segments[name] = codes
    return {
        "fmt": body["format"],
        "where": where,
        "segments": segments,
        "since": body.get("from"),
        "until": body.get("to"),
        "version": body.get("version"),
        "include_incomplete": bool(body.get("all")),
        "layout": body.get("layout") or "wide",
        "reverse_coded": bool(body.get("reverse_coded")),
        "scores": bool(body.get("scores")),
        "bom": bool(body.get("bom")),
        "lang": body.get("lang"),
        "missing_code": body.get("missing_code"),
    }


# -- answers ---------------------------------------------------------------------------------
SUBMIT_FIELDS = {
    "token": str,
    "key": str,
    "page": int,
    "action": str,
    "answers": dict,
    "lang": str,
}


@dataclass(frozen=True)
class Submission:
    page: int
    action: str  # next or back
    raw: dict[str, Any]  # slot -> value(s) as a form posts them
    token: str | None = None  # an invitation's
    key: str | None = None  # a signed response key
    lang: str | None = None


def submission(body: dict[str, Any]) -> Submission:
    """A page of answers from a JSON body; the engine checks the answers themselves."""
    body = _checked(body, SUBMIT_FIELDS)
    if body.get("page") is None:
        raise BodyError("body field 'page': required (the page number, from 1)")
    action = body.get("action") or "next"
    if action not in ("next", "back"):
        raise BodyError("body field 'action': 'next' or 'back'")
    return Submission(
        page=body["page"],
        action=action,
        raw=_raw(body.get("answers") or {}),
        token=body.get("token") or None,
        key=body.get("key") or None,
        lang=body.get("lang") or None,
    )


def _raw(answers: dict[str, Any]) -> dict[str, Any]:
    """JSON answers as a form posts them: strings, or lists of strings."""
    raw: dict[str, Any] = {}
    for name, value in answers.items():
        values = value if isinstance(value, list) else [value]
        if not all(v is None or isinstance(v, (str, int, float)) for v in values):
            raise BodyError(f"body field 'answers.{name}': give a value or a list of values")
        texts = ["" if v is None else _text(v) for v in values]
        raw[name] = texts if isinstance(value, list) else texts[0]
    return raw


def _text(value: str | float) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
