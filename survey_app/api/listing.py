"""Responses as JSON, page by page: the export's columns and masking, read piece by
piece in response id order, with an opaque cursor.

A cursor is the last response id of a page and the filters it was made under, signed
for the survey by the server: it cannot be forged, and one made under other filters is
refused instead of silently skipping responses.
"""

from __future__ import annotations

import json
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pandas as pd
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..exports.columns import META_NAMES
from ..exports.options import ExportError, make_options
from ..exports.services import ExportPlan, export_chunk, plan_export, response_frames
from ..models import Survey
from ..selection import Selection, SelectionError
from ..selection import check_version as check_series
from ..storage import version_numbers

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
FILTERED_CHUNK = 5000


class ListingError(ValueError):
    """A parameter of the listing that cannot be used; the message names it."""


def _signer(survey_id: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=f"api-responses:{survey_id}")


def make_cursor(survey_id: str, after: int, selection: Selection) -> str:
    return _signer(survey_id).dumps({"after": int(after), "filters": selection.key})


def read_cursor(survey_id: str, cursor: str | None, selection: Selection) -> int:
    """The response id a cursor continues after (0 without one)."""
    if cursor is None or cursor == "":
        return 0
    try:
        data = _signer(survey_id).loads(cursor)
    except BadSignature:
        raise ListingError(
            "query parameter 'cursor': not a cursor of this survey's responses (copy the "
            "'next' URL of the previous page as it is)"
        ) from None
    after = data.get("after") if isinstance(data, dict) else None
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ListingError("query parameter 'cursor': not a cursor of this survey's responses")
    if data.get("filters") != selection.key:
        raise ListingError(
            "query parameter 'cursor': it was made for other filters; keep the filters of "
            "the first page, or start again without a cursor"
        )
    return after


def read_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        raise ListingError(f"query parameter 'limit': {value!r} is not a whole number") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ListingError(f"query parameter 'limit': must lie within 1..{MAX_LIMIT}")
    return limit


def check_version(survey: Survey, version: int | None) -> None:
    """Refuse a version the survey does not have, naming those it has."""
    if version is None or isinstance(version, bool) or not isinstance(version, int):
        return  # absent, or refused by the filters' own check
    try:
        check_series(survey.id, version, version_numbers(survey.id))
    except SelectionError as exc:
        raise ListingError(str(exc)) from None


def listing_plan(survey: Survey, selection: Selection, *, personal: bool) -> ExportPlan:
    """The export plan of a JSON listing (the export's columns, versions and masking);
    raises :class:`ListingError`."""
    check_version(survey, selection.version)
    try:
        options = make_options(
            survey.questionnaire,
            "jsonl",
            segments={name: sorted(values) for name, values in selection.segments.items()},
            since=selection.since.isoformat() if selection.since else None,
            until=selection.until.isoformat() if selection.until else None,
            version=selection.version,
            include_incomplete=selection.include_incomplete,
        )
        return plan_export(survey, options, personal=personal)
    except ExportError as exc:
        raise ListingError(str(exc)) from None


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last: int | None  # the response id to continue after, None at the end


def responses_page(plan: ExportPlan, after: int, limit: int) -> Page:
    """Up to ``limit`` selected responses after response id ``after``: each with the
    metadata columns and ``answers`` {column: value} (None where unanswered)."""
    selected: list[pd.DataFrame] = []
    count = 0
    selection = plan.options.selection
    # Segment and date filters are applied to the frames read: read larger pieces then,
    # so that a rare segment does not take one query per ``limit`` responses.
    filtered = bool(selection.segments) or selection.since or selection.until
    chunk = max(limit + 1, FILTERED_CHUNK) if filtered else limit + 1
    with closing(response_frames(plan, after=after, chunk=chunk)) as frames:
        for frame in frames:
            chosen = selection.apply(frame)
            if len(chosen):
                selected.append(export_chunk(plan, chosen))
                count += len(chosen)
            if count > limit:  # one more than asked: there is a next page
                break
    if not selected:
        return Page([], None)
    frame = pd.concat(selected, ignore_index=True) if len(selected) > 1 else selected[0]
    more = len(frame) > limit
    frame = frame.iloc[:limit]
    records = json.loads(
        frame.to_json(orient="records", date_format="iso", date_unit="us", double_precision=15)
    )
    items = []
    for record in records:
        item = {name: record.pop(name) for name in META_NAMES}
        item["answers"] = record
        items.append(item)
    return Page(items, int(frame["response_id"].iloc[-1]) if more else None)
