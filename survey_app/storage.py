"""How answers are stored, and the one function that turns them into a wide DataFrame.

Design (measured in ``benchmarks/storage_load.py``; figures in the README): one row per
response. Every numeric answer (scale points, NPS, choice codes, the 0/1 options of a
multiple choice) is a little-endian int16 packed into one binary column, in the column
order of the questionnaire version the response was given under (``layout``); a missing
answer is ``-32768``. Loading a survey is then one sequential read of small blobs that
numpy turns into a matrix with ``frombuffer``, with no per-answer parsing, on SQLite and
PostgreSQL alike; a submission writes one row. Open-text answers go to a JSON column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from questionnaires import Column, Questionnaire

from .extensions import db
from .models import QuestionnaireVersion, Response

MISSING = -32768
DTYPE = np.dtype("<i2")
META_COLUMNS = ("response_id", "submitted_at", "lang")


class AnswerError(ValueError):
    """An answer that cannot be stored under the questionnaire (wrong type or range)."""


def layout_of(q: Questionnaire) -> list[str]:
    """The numeric columns of ``q`` in storage order."""
    return [c.name for c in q.numeric_columns]


def to_code(column: Column, value: Any) -> int:
    """Turn a canonical answer (int point, choice id, 0/1 option) into its stored integer."""
    if value is None:
        return MISSING
    if column.kind == "single":
        choice = column.item.choice(str(value))
        if choice is None:
            raise AnswerError(f"{column.name}: {value!r} is not one of the choices")
        return choice.code
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AnswerError(f"{column.name}: {value!r} is not a whole number")
    value = int(value)
    if column.kind == "option":
        allowed: Iterable[int] = (0, 1)
    else:
        allowed = column.item.scale.values  # type: ignore[union-attr]
    if value not in allowed:
        raise AnswerError(f"{column.name}: {value} is out of range")
    return value


def from_code(column: Column, code: int) -> Any:
    """The inverse of :func:`to_code`."""
    if code == MISSING:
        return None
    if column.kind == "single":
        return column.item.choices[code - 1].id
    return int(code)


def encode(q: Questionnaire, answers: Mapping[str, Any]) -> bytes:
    """Pack the numeric answers of ``answers`` (column -> canonical value) for storage."""
    codes = [to_code(c, answers.get(c.name)) for c in q.numeric_columns]
    return np.asarray(codes, dtype=DTYPE).tobytes()


def decode(q: Questionnaire, blob: bytes, texts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Unpack a stored response into column -> canonical value (``None`` when missing)."""
    codes = np.frombuffer(blob, dtype=DTYPE)
    pairs = zip(q.numeric_columns, codes.tolist(), strict=True)
    answers = {column.name: from_code(column, code) for column, code in pairs}
    for column in q.text_columns:
        answers[column.name] = (texts or {}).get(column.name)
    return answers


def responses_frame(
    survey_id: str,
    questionnaire: Questionnaire,
    *,
    include_text: bool = True,
    include_incomplete: bool = False,
) -> pd.DataFrame:
    """All responses of a survey as one wide frame in the columns of ``questionnaire``.

    Scale, NPS and option columns are float64 (NaN where missing), single-choice and
    segment columns are categoricals of the choice ids, text columns are strings. The
    first columns are ``response_id``, ``submitted_at`` and ``lang``. Responses given
    under an older version of the questionnaire are mapped by column name; columns the
    current version no longer has are left out.
    """
    statuses = ("complete", "in_progress") if include_incomplete else ("complete",)
    versions = {
        v.id: v
        for v in db.session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.survey_id == survey_id)
        )
    }
    fields = [
        Response.id,
        Response.version_id,
        Response.completed_at,
        Response.lang,
        Response.answers,
    ]
    if include_text:
        fields.append(Response.texts)
    query = (
        select(*fields)
        .where(Response.survey_id == survey_id, Response.status.in_(statuses))
        .order_by(Response.id)
        .execution_options(yield_per=20_000)
    )
    chunks: dict[int, list[tuple]] = {}
    for row in db.session.execute(query):
        chunks.setdefault(row.version_id, []).append(tuple(row))
    frames = [
        _version_frame(versions[vid], questionnaire, rows, include_text)
        for vid, rows in chunks.items()
    ]
    if not frames:
        frames = [_version_frame(None, questionnaire, [], include_text)]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frames) > 1:
        frame = frame.sort_values("response_id", ignore_index=True)
        frame = _restore_types(frame, questionnaire)
    return frame


def _version_frame(
    version: QuestionnaireVersion | None,
    target: Questionnaire,
    rows: Sequence[tuple],
    include_text: bool,
) -> pd.DataFrame:
    n = len(rows)
    layout = version.layout if version is not None else layout_of(target)
    source = version.questionnaire if version is not None else target
    matrix = np.frombuffer(b"".join(r[4] for r in rows), dtype=DTYPE).reshape(n, len(layout))
    position = {name: i for i, name in enumerate(layout)}
    data: dict[str, Any] = {
        "response_id": np.fromiter((r[0] for r in rows), dtype=np.int64, count=n),
        "submitted_at": pd.to_datetime([r[2] for r in rows], utc=True),
        "lang": pd.Series([r[3] for r in rows], dtype="string"),
    }
    texts = [r[5] or {} for r in rows] if include_text else []
    for column in target.columns:
        if column.kind == "text":
            if include_text:
                data[column.name] = pd.Series([t.get(column.name) for t in texts], dtype="string")
            continue
        i = position.get(column.name)
        codes = matrix[:, i] if i is not None else np.full(n, MISSING, dtype=DTYPE)
        if column.kind == "single":
            data[column.name] = _categorical(column, source.column_index.get(column.name), codes)
        else:
            values = codes.astype(np.float64)
            values[codes == MISSING] = np.nan
            data[column.name] = values
    return pd.DataFrame(data)


def _categorical(target: Column, source: Column | None, codes: np.ndarray) -> pd.Categorical:
    """Choice codes as a categorical of choice ids, mapped through the source's choices."""
    categories = [c.id for c in target.item.choices]
    if source is None or source.kind != "single":
        return pd.Categorical.from_codes(np.full(len(codes), -1), categories=categories)
    lookup = np.full(len(source.item.choices) + 2, -1, dtype=np.int64)
    for choice in source.item.choices:
        if choice.id in categories:
            lookup[choice.code] = categories.index(choice.id)
    safe = np.where(codes == MISSING, 0, codes).astype(np.int64)
    return pd.Categorical.from_codes(lookup[safe], categories=categories)


def _restore_types(frame: pd.DataFrame, q: Questionnaire) -> pd.DataFrame:
    """``concat`` of frames from several versions keeps categoricals only when equal."""
    for column in q.columns:
        if column.kind == "single":
            frame[column.name] = pd.Categorical(
                frame[column.name], categories=[c.id for c in column.item.choices]
            )
    return frame
