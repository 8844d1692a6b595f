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

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, text

from questionnaires import Column, Questionnaire

from .extensions import db
from .models import QuestionnaireVersion

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


def encode_frame(q: Questionnaire, frame: pd.DataFrame) -> np.ndarray:
    """Vectorised :func:`encode` of a wide frame: an (n, numeric columns) int16 matrix.

    Missing values (NaN, None) become ``MISSING``; values outside a column's range raise
    :class:`AnswerError` naming the column and the first bad row.
    """
    n = len(frame)
    matrix = np.full((n, len(q.numeric_columns)), MISSING, dtype=DTYPE)
    for j, column in enumerate(q.numeric_columns):
        if column.name not in frame:
            continue
        values = frame[column.name]
        present = values.notna().to_numpy()
        if column.kind == "single":
            lookup = {c.id: c.code for c in column.item.choices}
            codes = values.astype("object").map(lambda v, lk=lookup: lk.get(str(v), 0))
            codes = np.where(present, codes.to_numpy(dtype=np.int64), MISSING)
            bad = present & (codes == 0)
        else:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
            allowed = (0, 1) if column.kind == "option" else column.item.scale.values
            whole = np.isfinite(numbers) & (numbers == np.round(numbers))
            low, high = min(allowed), max(allowed)
            bad = present & ~(whole & (numbers >= low) & (numbers <= high))
            codes = np.where(present & ~bad, np.nan_to_num(numbers), MISSING)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise AnswerError(
                f"{column.name}: {values.iloc[row]!r} in row {row + 1} is not a valid answer"
            )
        matrix[:, j] = codes
    return matrix


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
    first columns are ``response_id``, ``submitted_at`` (UTC) and ``lang``. Responses
    given under an older version of the questionnaire are mapped by column name;
    columns the current version no longer has are left out. Rows are in response order.
    """
    statuses = ["complete", "in_progress"] if include_incomplete else ["complete"]
    versions = {
        v.id: v
        for v in db.session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.survey_id == survey_id)
        )
    }
    fetch = _fetch_postgresql if db.engine.dialect.name == "postgresql" else _fetch_rows
    batches = fetch(survey_id, statuses, include_text, versions)
    frames = [
        _version_frame(versions[batch.version_id], questionnaire, batch, include_text)
        for batch in batches
    ]
    if not frames:
        width = len(layout_of(questionnaire))
        empty = _Batch(0, np.zeros(0, np.int64), np.zeros(0), [], np.zeros((0, width), DTYPE), [])
        return _version_frame(None, questionnaire, empty, include_text)
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames, ignore_index=True).sort_values("response_id", ignore_index=True)
    return _restore_types(frame, questionnaire)


@dataclass
class _Batch:
    """Responses of one questionnaire version, column by column, in id order."""

    version_id: int
    ids: np.ndarray
    epochs: np.ndarray  # completion time, seconds since 1970 (NaN if incomplete)
    langs: list[str]
    answers: np.ndarray  # (responses, layout columns) int16 codes
    texts: list[str | dict | None]

    def reordered(self, order: np.ndarray) -> _Batch:
        return _Batch(
            self.version_id,
            self.ids[order],
            self.epochs[order],
            [self.langs[i] for i in order],
            self.answers[order],
            [self.texts[i] for i in order] if self.texts else [],
        )


CHUNK = 500_000


def _fetch_postgresql(
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
) -> list[_Batch]:
    """Let the server pack each chunk of responses into one bytea of fixed-width records
    (id, completion time, answers), read with a numpy structured dtype: one round trip
    per chunk instead of a Python object per row, which dominated the load time.

    The aggregates carry no ORDER BY (sorting them spilled to disk and doubled the time);
    all aggregates of a group see its rows in the same order, so they stay aligned, and
    :func:`_in_id_order` restores id order if the server did not keep it.
    """
    texts = ", array_agg(texts::text)" if include_text else ""
    text_column = ", texts" if include_text else ""
    query = f"""
        SELECT version_id, string_agg(lang, ','),
               string_agg(int8send(id)
                          || float8send(coalesce(date_part('epoch', completed_at), 'NaN'))
                          || answers, ''::bytea){texts}
        FROM (SELECT id, version_id, completed_at, lang, answers{text_column} FROM response
              WHERE survey_id = %s AND status = ANY(%s) AND id > %s
              ORDER BY id LIMIT %s) AS page
        GROUP BY version_id
    """
    parts: dict[int, list[_Batch]] = {}
    after = 0
    driver = db.session.connection().connection.driver_connection
    with driver.cursor(binary=True) as cursor:
        while True:
            rows = cursor.execute(query, (survey_id, statuses, after, CHUNK)).fetchall()
            seen = 0
            for row in rows:
                record = np.dtype(
                    [
                        ("id", ">i8"),
                        ("epoch", ">f8"),
                        ("answers", DTYPE, (len(versions[row[0]].layout),)),
                    ]
                )
                records = np.frombuffer(row[2], dtype=record)
                batch = _Batch(
                    row[0],
                    records["id"].astype(np.int64),
                    records["epoch"].astype(np.float64),
                    row[1].split(","),
                    records["answers"],
                    row[3] if include_text else [],
                )
                ordered = _in_id_order(batch)
                parts.setdefault(row[0], []).append(ordered)
                seen += len(records)
                after = max(after, int(ordered.ids[-1]))
            if seen < CHUNK:
                break
    return [_merge(chunks) for chunks in parts.values()]


def _in_id_order(batch: _Batch) -> _Batch:
    if len(batch.ids) < 2 or bool(np.all(np.diff(batch.ids) > 0)):
        return batch
    return batch.reordered(np.argsort(batch.ids, kind="stable"))


def _fetch_rows(
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
) -> list[_Batch]:
    """Portable fallback (SQLite): stream the rows, epochs computed in SQL."""
    epoch = "(julianday(completed_at) - 2440587.5) * 86400.0"
    texts = ", texts" if include_text else ""
    query = text(
        f"SELECT version_id, id, {epoch}, lang, answers{texts} FROM response "
        "WHERE survey_id = :survey AND status IN :statuses ORDER BY id"
    ).bindparams(bindparam("statuses", expanding=True))
    columns: dict[int, list[list]] = {}
    result = db.session.execute(query, {"survey": survey_id, "statuses": statuses})
    for row in result:
        lists = columns.get(row[0])
        if lists is None:
            lists = columns[row[0]] = [[], [], [], [], []]
        for target, value in zip(lists, row[1:], strict=False):
            target.append(value)
    return [
        _Batch(
            vid,
            np.asarray(ids, dtype=np.int64),
            np.asarray(epochs, dtype=np.float64),
            langs,
            np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(len(ids), -1),
            texts_ if include_text else [],
        )
        for vid, (ids, epochs, langs, blobs, texts_) in columns.items()
    ]


def _merge(chunks: list[_Batch]) -> _Batch:
    if len(chunks) == 1:
        return chunks[0]
    return _Batch(
        chunks[0].version_id,
        np.concatenate([c.ids for c in chunks]),
        np.concatenate([c.epochs for c in chunks]),
        [lang for c in chunks for lang in c.langs],
        np.concatenate([c.answers for c in chunks]),
        [t for c in chunks for t in c.texts],
    )


def _version_frame(
    version: QuestionnaireVersion | None,
    target: Questionnaire,
    batch: _Batch,
    include_text: bool,
) -> pd.DataFrame:
    n = len(batch.ids)
    layout = version.layout if version is not None else layout_of(target)
    source = version.questionnaire if version is not None else target
    codes = batch.answers.reshape(n, len(layout))
    # One conversion to a float block with a row per column: each column below is then
    # a contiguous view, not one strided copy per column (np.where on the transposed
    # view is 2x faster than np.asfortranarray here).
    values = np.where(codes.T == MISSING, np.nan, codes.T)
    position = {name: i for i, name in enumerate(layout)}
    data: dict[str, Any] = {
        "response_id": batch.ids,
        "submitted_at": pd.to_datetime(batch.epochs, unit="s", utc=True).round("us"),
        "lang": pd.Categorical(batch.langs),
    }
    texts = [_as_dict(t) for t in batch.texts] if include_text else []
    absent = np.full(n, np.nan)
    for column in target.columns:
        i = position.get(column.name)
        if column.kind == "text":
            if include_text:
                data[column.name] = pd.Series([t.get(column.name) for t in texts], dtype="string")
        elif column.kind == "single":
            column_codes = codes[:, i] if i is not None else np.full(n, MISSING, dtype=DTYPE)
            data[column.name] = _categorical(
                column, source.column_index.get(column.name), column_codes
            )
        else:
            data[column.name] = values[i] if i is not None else absent.copy()
    return pd.DataFrame(data, copy=False)


def _as_dict(value: str | dict | None) -> dict:
    if not value or value == "{}":
        return {}
    return value if isinstance(value, dict) else json.loads(value)


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
