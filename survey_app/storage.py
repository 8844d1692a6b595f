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
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, String, bindparam, cast, func, select, text

from questionnaires import Column, Questionnaire
from questionnaires.kinds import MISSING, Problem

from .extensions import db
from .models import QuestionnaireVersion, Response

DTYPE = np.dtype("<i2")
META_COLUMNS = ("response_id", "submitted_at", "lang")
# The bind of the read replica (``REPORTS_DATABASE_URL``): reports and exports read
# responses there when it is configured; everything else, and every write, uses the
# main database.
REPLICA_BIND = "reports"


class AnswerError(ValueError):
    """An answer that cannot be stored under the questionnaire (wrong type or range)."""


def layout_of(q: Questionnaire) -> list[str]:
    """The numeric columns of ``q`` in storage order."""
    return [c.name for c in q.numeric_columns]


def to_code(column: Column, value: Any) -> int:
    """Turn a canonical answer (int point, choice id, 0/1 option) into its stored integer."""
    if value is None:
        return MISSING
    try:
        return column.type.to_code(column, value)
    except Problem as problem:
        raise AnswerError(f"{column.name}: {value!r}: {problem}") from None


def from_code(column: Column, code: int) -> Any:
    """The inverse of :func:`to_code`."""
    return column.type.from_code(column, code)


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
        codes, bad = column.type.codes(column, values)
        codes = np.where(present & ~bad, codes, MISSING)
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


def version_numbers(survey_id: str) -> list[int]:
    """The numbers of a survey's questionnaire versions, oldest first (their texts not
    loaded)."""
    return list(
        db.session.scalars(
            select(QuestionnaireVersion.number)
            .where(QuestionnaireVersion.survey_id == survey_id)
            .order_by(QuestionnaireVersion.number)
        )
    )


def read_engine(replica: bool = False) -> Engine:
    """The engine that reads responses: the read replica's when ``replica`` and one is
    configured, else the main database's."""
    if replica:
        return db.engines.get(REPLICA_BIND) or db.engine
    return db.engine


@contextmanager
def reading(replica: bool = False) -> Iterator[Connection]:
    """A connection to read responses on: the session's own (its transaction, so that a
    caller sees what it has just written), or one of the replica's engine."""
    engine = read_engine(replica)
    if engine is db.engine:
        yield db.session.connection()
        return
    with engine.connect() as connection:
        yield connection


def series_versions(survey_id: str, version: int | None = None) -> list[QuestionnaireVersion]:
    """The versions read together with version number ``version`` (default: the newest):
    its series of compatible versions, oldest first; the chosen one is last."""
    versions = db.session.scalars(
        select(QuestionnaireVersion)
        .where(QuestionnaireVersion.survey_id == survey_id)
        .order_by(QuestionnaireVersion.number)
    ).all()
    if not versions:
        return []
    target = (
        versions[-1]
        if version is None
        else next((v for v in versions if v.number == version), None)
    )
    if target is None:
        raise LookupError(f"survey {survey_id} has no version {version}")
    same = [v for v in versions if v.series == target.series and v is not target]
    return [*same, target]


def _chosen(
    survey_id: str, version: int | None, questionnaire: Questionnaire | None
) -> tuple[list[QuestionnaireVersion], Questionnaire]:
    """The versions read together, and the questionnaire whose columns the frame has
    (default: the chosen version's)."""
    chosen = series_versions(survey_id, version)
    if questionnaire is None:
        if not chosen:
            raise LookupError(f"no survey {survey_id}")
        questionnaire = chosen[-1].questionnaire
    return chosen, questionnaire


def responses_frame(
    survey_id: str,
    questionnaire: Questionnaire | None = None,
    *,
    version: int | None = None,
    include_text: bool = True,
    include_incomplete: bool = False,
    metadata: bool = False,
    completed_since: datetime | None = None,
    or_after_id: int | None = None,
    replica: bool = False,
) -> pd.DataFrame:
    """All responses of a survey as one wide frame in the columns of a questionnaire.

    The responses are those given under version number ``version`` (default: the
    newest) and the versions compatible with it (its series); answers given under an
    incompatible version are never mixed in. Columns follow ``questionnaire`` (default:
    that version's). Scale, NPS and option columns are float64 (NaN where missing),
    single-choice and segment columns are categoricals of the choice ids, text columns
    are strings. The first columns are ``response_id``, ``submitted_at`` (UTC) and
    ``lang``. Responses of other versions of the series are mapped by column name;
    columns the target no longer has are left out. Rows are in response order.

    With ``metadata`` the first columns are those of an export instead: ``response_id``,
    ``version`` (the number each response was given under), ``started_at``,
    ``submitted_at`` (UTC), ``lang``, ``complete``.

    ``completed_since`` reads only the responses completed at or after that moment, and
    with ``or_after_id`` those with a larger id as well (what a cache that appends new
    responses needs: an imported or backdated response has an old completion time).

    With ``replica`` the responses are read from the read replica when one is configured
    (``REPORTS_DATABASE_URL``): they may lag behind the main database by the replication
    delay. The questionnaire versions are always read from the main database.
    """
    statuses = _statuses(include_incomplete)
    chosen, questionnaire = _chosen(survey_id, version, questionnaire)
    versions = {v.id: v for v in chosen}
    batches = []
    if versions:
        with reading(replica) as connection:
            fetch = _fetch_postgresql if connection.dialect.name == "postgresql" else _fetch_rows
            batches = fetch(
                connection,
                survey_id,
                statuses,
                include_text,
                versions,
                _Since.of(completed_since, or_after_id),
            )
    return _frame_of(batches, versions, questionnaire, include_text, metadata)


def _statuses(include_incomplete: bool) -> list[str]:
    return ["complete", "in_progress"] if include_incomplete else ["complete"]


def _frame_of(
    batches: list[_Batch],
    versions: Mapping[int, QuestionnaireVersion],
    questionnaire: Questionnaire,
    include_text: bool,
    metadata: bool,
) -> pd.DataFrame:
    """One wide frame of ``batches`` (responses of several versions), in id order."""
    frames = [
        _version_frame(versions[batch.version_id], questionnaire, batch, include_text, metadata)
        for batch in batches
    ]
    if not frames:
        width = len(layout_of(questionnaire))
        empty = _Batch(
            0, np.zeros(0, np.int64), np.zeros(0), [], np.zeros((0, width), DTYPE), [], np.zeros(0)
        )
        return _version_frame(None, questionnaire, empty, include_text, metadata)
    if len(frames) == 1:
        return frames[0]
    frame = pd.concat(frames, ignore_index=True).sort_values("response_id", ignore_index=True)
    return _restore_types(frame, questionnaire)


# Responses per piece of an export: 20k keeps a 1M-response export near 50 MB above an
# idle process (50k: ~130 MB; 10k is 1.5x slower). benchmarks/export_speed.py measures it.
EXPORT_CHUNK = 20_000


def iter_frames(
    survey_id: str,
    questionnaire: Questionnaire | None = None,
    *,
    version: int | None = None,
    include_text: bool = True,
    include_incomplete: bool = False,
    metadata: bool = False,
    chunk: int | None = None,
    after: int = 0,
    replica: bool = False,
) -> Iterator[pd.DataFrame]:
    """:func:`responses_frame` in pieces of at most ``chunk`` responses (default
    :data:`EXPORT_CHUNK`), in id order,
    starting after response id ``after``: memory stays flat whatever the survey's size.

    The responses are read on a connection of their own. On PostgreSQL it holds one
    REPEATABLE READ snapshot, so every piece comes from the same state of the data
    (answers stored meanwhile are not half in); on SQLite each piece is its own short
    read, so that customers' submissions are never held up by a long export. With
    ``replica``, on the read replica when one is configured.
    """
    chosen, questionnaire = _chosen(survey_id, version, questionnaire)
    versions = {v.id: v for v in chosen}
    if not versions:
        return
    for v in chosen:
        v.questionnaire  # noqa: B018  (parsed here, not in the middle of the read)
    statuses = _statuses(include_incomplete)
    chunk = chunk or EXPORT_CHUNK
    engine = read_engine(replica)
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ"}
        with engine.connect().execution_options(**options) as connection:
            connection.exec_driver_sql("SELECT 1")  # begins the snapshot's transaction
            driver = connection.connection.driver_connection
            for batches in _chunks_postgresql(
                driver, survey_id, statuses, include_text, versions, chunk, after
            ):
                yield _frame_of(batches, versions, questionnaire, include_text, metadata)
    else:
        with engine.connect() as connection:
            for batches in _chunks_rows(
                connection, survey_id, statuses, include_text, versions, chunk, after
            ):
                yield _frame_of(batches, versions, questionnaire, include_text, metadata)


def count_responses(
    survey_id: str,
    *,
    version: int | None = None,
    include_incomplete: bool = False,
    replica: bool = False,
) -> int:
    """How many responses :func:`iter_frames` reads (before any filter)."""
    chosen = series_versions(survey_id, version)
    if not chosen:
        return 0
    query = select(func.count()).where(
        Response.survey_id == survey_id,
        Response.status.in_(_statuses(include_incomplete)),
        Response.version_id.in_([v.id for v in chosen]),
        Response.test.is_(False),
    )
    with reading(replica) as connection:
        return connection.scalar(query) or 0


def open_texts(
    survey_id: str, columns: list[str], *, version: int | None = None, replica: bool = False
) -> pd.DataFrame:
    """``response_id`` and the open-text ``columns`` of the complete responses of a
    series that have any open text (reading only those: a fifth of the time of
    :func:`responses_frame` at 1M responses)."""
    chosen = series_versions(survey_id, version)
    # each text taken out of the JSON by the database (``->>``, SQLite's json_extract):
    # decoding every row's JSON here held the GIL for 2.2-2.6 s at 1M responses (278k
    # with texts), beside the reports being computed; the database's strings took 0.9 s
    query = select(Response.id, *(Response.texts[name].as_string() for name in columns)).where(
        Response.survey_id == survey_id,
        Response.status == "complete",
        Response.version_id.in_([v.id for v in chosen]),
        Response.test.is_(False),
        cast(Response.texts, String) != "{}",
    )
    with reading(replica) as connection:
        rows = connection.execute(query).all()
    data: dict[str, Any] = {"response_id": np.array([row[0] for row in rows], dtype=np.int64)}
    for j, name in enumerate(columns, start=1):
        data[name] = pd.Series([row[j] for row in rows], dtype="string")
    return pd.DataFrame(data)


def stored_codes(
    survey_id: str, versions: list[QuestionnaireVersion]
) -> dict[int, tuple[np.ndarray, list[dict]]]:
    """Every response of ``versions`` (complete or not) as version id -> (int16 codes in
    that version's layout, open texts): what a reload's compatibility check counts
    (always on the main database: it decides a write)."""
    by_id = {v.id: v for v in versions}
    with reading() as connection:
        fetch = _fetch_postgresql if connection.dialect.name == "postgresql" else _fetch_rows
        batches = fetch(connection, survey_id, ["complete", "in_progress"], True, by_id)
    return {
        b.version_id: (
            b.answers.reshape(len(b.ids), len(by_id[b.version_id].layout)),
            [_as_dict(t) for t in b.texts],
        )
        for b in batches
    }


@dataclass
class _Batch:
    """Responses of one questionnaire version, column by column, in id order."""

    version_id: int
    ids: np.ndarray
    epochs: np.ndarray  # completion time, seconds since 1970 (NaN if incomplete)
    langs: list[str]
    answers: np.ndarray  # (responses, layout columns) int16 codes
    texts: list[str | dict | None]
    started: np.ndarray  # when the response was started, seconds since 1970

    def reordered(self, order: np.ndarray) -> _Batch:
        return _Batch(
            self.version_id,
            self.ids[order],
            self.epochs[order],
            [self.langs[i] for i in order],
            self.answers[order],
            [self.texts[i] for i in order] if self.texts else [],
            self.started[order],
        )


CHUNK = 500_000


@dataclass(frozen=True)
class _Since:
    """Only the responses completed at or after ``moment``, or with an id above ``after_id``."""

    moment: datetime
    after_id: int | None

    @classmethod
    def of(cls, moment: datetime | None, after_id: int | None) -> _Since | None:
        return None if moment is None else cls(moment, after_id)

    def postgresql(self) -> tuple[str, tuple]:
        if self.after_id is None:
            return " AND completed_at >= %s", (self.moment,)
        return " AND (completed_at >= %s OR id > %s)", (self.moment, self.after_id)

    def sqlite(self) -> str:
        if self.after_id is None:
            return " AND completed_at >= :since"
        return " AND (completed_at >= :since OR id > :since_id)"

    def parameters(self) -> dict[str, Any]:
        if self.after_id is None:
            return {"since": self.moment}
        return {"since": self.moment, "since_id": self.after_id}


def _fetch_postgresql(
    connection: Connection,
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
    since: _Since | None = None,
) -> list[_Batch]:
    """Every response of ``versions`` in one list of batches (one per version)."""
    driver = connection.connection.driver_connection
    chunks = _chunks_postgresql(
        driver, survey_id, statuses, include_text, versions, CHUNK, 0, since
    )
    return _merged(chunks)


def _chunks_postgresql(
    connection: Any,
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
    chunk: int,
    after: int = 0,
    since: _Since | None = None,
) -> Iterator[list[_Batch]]:
    """Let the server pack each chunk of responses into one bytea of fixed-width records
    (id, completion time, answers), read with a numpy structured dtype: one round trip
    per chunk instead of a Python object per row, which dominated the load time.

    The aggregates carry no ORDER BY (sorting them spilled to disk and doubled the time);
    all aggregates of a group see its rows in the same order, so they stay aligned, and
    :func:`_in_id_order` restores id order if the server did not keep it. Yields the
    batches of each chunk (one per version present in it), chunks in id order.
    """
    texts = ", array_agg(texts::text)" if include_text else ""
    text_column = ", texts" if include_text else ""
    recent, extra = since.postgresql() if since is not None else ("", ())
    query = f"""
        SELECT version_id, string_agg(lang, ','),
               string_agg(int8send(id)
                          || float8send(coalesce(date_part('epoch', completed_at), 'NaN'))
                          || float8send(date_part('epoch', created_at))
                          || answers, ''::bytea){texts}
        FROM (SELECT id, version_id, completed_at, created_at, lang, answers{text_column}
              FROM response
              WHERE survey_id = %s AND status = ANY(%s) AND version_id = ANY(%s) AND id > %s
                    AND NOT test{recent}
              ORDER BY id LIMIT %s) AS page
        GROUP BY version_id
    """
    with connection.cursor(binary=True) as cursor:
        while True:
            rows = cursor.execute(
                query, (survey_id, statuses, list(versions), after, *extra, chunk)
            ).fetchall()
            seen = 0
            batches = []
            for row in rows:
                record = np.dtype(
                    [
                        ("id", ">i8"),
                        ("epoch", ">f8"),
                        ("started", ">f8"),
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
                    records["started"].astype(np.float64),
                )
                ordered = _in_id_order(batch)
                batches.append(ordered)
                seen += len(records)
                after = max(after, int(ordered.ids[-1]))
            if batches:
                yield batches
            if seen < chunk:
                break


def _merged(chunks: Iterable[list[_Batch]]) -> list[_Batch]:
    """The batches of all chunks joined into one batch per version."""
    parts: dict[int, list[_Batch]] = {}
    for batches in chunks:
        for batch in batches:
            parts.setdefault(batch.version_id, []).append(batch)
    return [_merge(pieces) for pieces in parts.values()]


def _in_id_order(batch: _Batch) -> _Batch:
    if len(batch.ids) < 2 or bool(np.all(np.diff(batch.ids) > 0)):
        return batch
    return batch.reordered(np.argsort(batch.ids, kind="stable"))


def _fetch_rows(
    connection: Connection,
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
    since: _Since | None = None,
) -> list[_Batch]:
    """Portable fallback (SQLite): every response of ``versions``, one batch per version."""
    return _merged(
        _chunks_rows(connection, survey_id, statuses, include_text, versions, CHUNK, 0, since)
    )


def _chunks_rows(
    connection: Any,
    survey_id: str,
    statuses: list[str],
    include_text: bool,
    versions: Mapping[int, QuestionnaireVersion],
    chunk: int,
    after: int = 0,
    since: _Since | None = None,
) -> Iterator[list[_Batch]]:
    """Stream the rows chunk by chunk; yields each chunk's batches, one per version
    present in it. Times are read as stored (text) and turned into epochs here:
    SQLite's own date functions keep only milliseconds."""
    texts = ", texts" if include_text else ""
    query = text(
        "SELECT version_id, id, completed_at, lang, answers, "
        f"created_at{texts} FROM response "
        "WHERE survey_id = :survey AND status IN :statuses AND version_id IN :versions "
        "AND id > :after AND NOT test"
        + (since.sqlite() if since is not None else "")
        + " ORDER BY id LIMIT :chunk"
    ).bindparams(bindparam("statuses", expanding=True), bindparam("versions", expanding=True))
    while True:
        result = connection.execute(
            query,
            {
                "survey": survey_id,
                "statuses": statuses,
                "versions": list(versions),
                "after": after,
                "chunk": chunk,
                **(since.parameters() if since is not None else {}),
            },
        )
        columns: dict[int, list[list]] = {}
        seen = 0
        for row in result:
            lists = columns.get(row[0])
            if lists is None:
                lists = columns[row[0]] = [[], [], [], [], [], []]
            for target, value in zip(lists, row[1:], strict=False):
                target.append(value)
            after = row[1]
            seen += 1
        if columns:
            yield [
                _Batch(
                    vid,
                    np.asarray(ids, dtype=np.int64),
                    _epochs(epochs),
                    langs,
                    np.frombuffer(b"".join(blobs), dtype=DTYPE).reshape(len(ids), -1),
                    texts_ if include_text else [],
                    _epochs(started),
                )
                for vid, (ids, epochs, langs, blobs, started, texts_) in columns.items()
            ]
        if seen < chunk:
            break


def _epochs(stamps: list[Any]) -> np.ndarray:
    """Stored UTC times (text, or datetimes from a driver that parses them) as seconds
    since 1970, NaN where there is none."""
    moments = pd.to_datetime(pd.Series(stamps, dtype=object), format="ISO8601", utc=True)
    nanoseconds = moments.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(moments.isna().to_numpy(), np.nan, nanoseconds / 1e9)


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
        np.concatenate([c.started for c in chunks]),
    )


def _version_frame(
    version: QuestionnaireVersion | None,
    target: Questionnaire,
    batch: _Batch,
    include_text: bool,
    metadata: bool = False,
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
    submitted = pd.to_datetime(batch.epochs, unit="s", utc=True).round("us")
    data: dict[str, Any] = {"response_id": batch.ids}
    if metadata:
        data["version"] = np.full(n, version.number if version is not None else 0, np.int64)
        data["started_at"] = pd.to_datetime(batch.started, unit="s", utc=True).round("us")
    data["submitted_at"] = submitted
    data["lang"] = pd.Categorical(batch.langs)
    if metadata:
        data["complete"] = np.isfinite(batch.epochs)
    texts = [_as_dict(t) for t in batch.texts] if include_text else []
    absent = np.full(n, np.nan)
    for column in target.columns:
        i = position.get(column.name)
        dtype = column.type.frame_dtype
        if dtype == "string":
            if include_text:
                data[column.name] = pd.Series([t.get(column.name) for t in texts], dtype="string")
        elif dtype == "float":
            # the float block above: a contiguous view, no per-column conversion
            data[column.name] = values[i] if i is not None else absent.copy()
        else:
            column_codes = codes[:, i] if i is not None else np.full(n, MISSING, dtype=DTYPE)
            source_column = source.column_index.get(column.name)
            data[column.name] = column.type.frame_values(column, source_column, column_codes)
    return pd.DataFrame(data, copy=False)


def _as_dict(value: str | dict | None) -> dict:
    if not value or value == "{}":
        return {}
    return value if isinstance(value, dict) else json.loads(value)


def _restore_types(frame: pd.DataFrame, q: Questionnaire) -> pd.DataFrame:
    """``concat`` of frames from several versions keeps categoricals only when equal."""
    for column in q.columns:
        if column.type.frame_dtype == "category":
            frame[column.name] = pd.Categorical(
                frame[column.name], categories=[c.id for c in column.item.choices]
            )
    return frame
