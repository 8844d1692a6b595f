"""Exports: one code path for the command line, the staff page and the API.

:func:`plan_export` checks what is asked against the survey (version, options, who
asks: personal columns are masked without the grant) and :func:`audit_export` records
it; :func:`write_export` then reads the responses piece by piece
(:func:`survey_app.storage.iter_frames`), applies the filters, turns each piece into
the export's columns (:func:`export_chunk`) and hands it to the format's writer. The
file appears under its name only when it is complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from analysis.data import SurveyData
from questionnaires import Questionnaire

from .. import audit, jobs
from ..auth.policy import sees_personal
from ..extensions import db
from ..models import Job, Survey
from ..storage import count_responses, iter_frames, series_versions, version_numbers
from .columns import ExportColumn, codebook, export_columns, interface_text
from .options import ExportError, ExportOptions, make_options
from .writers import WRITERS, write_codebook

log = logging.getLogger(__name__)
MASK = "***"
LONG_TYPES = (("column", "string"), ("value", "number"), ("answer", "string"))


@dataclass
class ExportPlan:
    """An export checked and ready: the questionnaire version whose columns it has,
    the responses it reads, and whether personal columns are masked."""

    survey_id: str
    options: ExportOptions
    q: Questionnaire  # the questionnaire of ``version``
    version: int  # the number of the version whose columns are exported
    versions: list[int]  # every version whose responses are read (its series)
    masked: bool
    total: int  # the responses read (before the filters)
    columns: list[ExportColumn] = field(default_factory=list)  # the wide columns

    @property
    def lang(self) -> str:
        return self.options.lang or self.q.languages[0]

    @property
    def file_name(self) -> str:
        return f"{self.survey_id}-v{self.version}.{self.options.extension}"

    def codebook(self) -> dict[str, Any]:
        book = codebook(
            self.q,
            self.columns,
            survey_id=self.survey_id,
            version=self.version,
            versions=self.versions,
            reverse_coded=self.options.reverse_coded,
            masked=self.masked,
            missing_code=self.options.missing_code,
        )
        book["layout"] = self.options.layout
        return book

    @cached_property
    def output_columns(self) -> list[ExportColumn]:
        """The columns of the file: the wide columns, or those of the long layout."""
        if self.options.layout == "wide":
            return self.columns
        meta = [c for c in self.columns if c.group == "meta"]
        langs = self.q.languages
        long = [
            ExportColumn(name, interface_text(name, langs), type_, "long")
            for name, type_ in LONG_TYPES
        ]
        return [meta[0], *long, *meta[1:]]

    def empty_chunk(self) -> pd.DataFrame:
        """A chunk without rows, in the columns' types (for a header of no rows)."""
        return pd.DataFrame({c.name: _empty(c) for c in self.output_columns})


def _empty(column: ExportColumn) -> Any:
    if column.storage == "choice":
        return pd.Categorical([], categories=[label.value for label in column.labels])
    return pd.Series([], dtype=_DTYPES[column.storage])


_DTYPES = {
    "int": "Int16",
    "text": "str",
    "float": "float64",
    "integer": "int64",
    "datetime": "datetime64[us, UTC]",
    "string": "str",
    "boolean": "bool",
    "number": "float64",
}


def plan_export(survey: Survey, options: ExportOptions, *, personal: bool) -> ExportPlan:
    """Check ``options`` against ``survey``; ``personal``: whether the person asking may
    see personal data. Raises :class:`ExportError`."""
    wanted = options.selection.version
    try:
        chosen = series_versions(survey.id, wanted)
    except LookupError:
        numbers = ", ".join(map(str, version_numbers(survey.id)))
        raise ExportError(
            _(
                "survey %(survey)s has no version %(version)s (versions: %(versions)s)",
                survey=survey.id,
                version=wanted,
                versions=numbers,
            )
        ) from None
    target = chosen[-1]
    q = target.questionnaire
    if options.lang is not None and options.lang not in q.languages:
        raise ExportError(
            _(
                "--lang %(lang)s: version %(version)s has the languages %(languages)s",
                lang=options.lang,
                version=target.number,
                languages=", ".join(q.languages),
            )
        )
    total = count_responses(
        survey.id,
        version=wanted,
        include_incomplete=options.selection.include_incomplete,
        replica=True,
    )
    return ExportPlan(
        survey_id=survey.id,
        options=options,
        q=q,
        version=target.number,
        versions=[v.number for v in chosen],
        masked=not personal,
        total=total,
        columns=export_columns(q, scores=options.scores),
    )


def audit_export(plan: ExportPlan, **extra: Any) -> None:
    """Record the export in the audit log (the caller commits)."""
    details = {
        **plan.options.describe(),
        "version": plan.version,
        "responses": plan.total,
        "masked": plan.masked,
        **extra,
    }
    audit.record("export", plan.survey_id, details)


Progress = Callable[[int], None]
KEEP_FILES = timedelta(days=1)  # export files of the page and the API are deleted after


def start_export_job(survey: Survey, options: ExportOptions, user: Any) -> Job:
    """Check an export asked for on the staff page or through the API, record it (the
    job and its audit entry) and start it in the background. Raises
    :class:`ExportError`; commits."""
    personal = sees_personal(user)
    plan = plan_export(survey, options, personal=personal)
    jobs.prune("export", KEEP_FILES)
    job = jobs.new_job(
        "export",
        survey,
        user,
        {
            "args": options.to_args(),
            "personal": personal,
            "describe": options.describe(),
            "lang": str(get_locale()),  # of the job's messages (the page's language)
        },
        total=plan.total,
    )
    db.session.flush()
    audit_export(plan, job=job.id)
    db.session.commit()
    jobs.start(job.id, run_export_job)
    return job


def run_export_job(job: Job, progress: Progress) -> jobs.Outcome:
    """The work of an export job: the same plan again, written to the jobs' folder."""
    survey = db.session.get(Survey, job.survey_id)
    with force_locale(job.options.get("lang", "en")):
        options = make_options(survey.questionnaire, **job.options["args"])
        plan = plan_export(survey, options, personal=job.options["personal"])
        path = jobs.folder("export") / f"{job.id}.{options.extension}"
        rows = write_export(plan, path, progress)
    return jobs.Outcome({"rows": rows, "version": plan.version}, str(path), plan.file_name)


def write_export(plan: ExportPlan, path: Path, progress: Progress | None = None) -> int:
    """Write the export to ``path`` and return the number of rows written (responses,
    or answers in the long layout). ``progress`` is called with the number of responses
    read so far. The file is written beside ``path`` and renamed when complete: a
    failed export leaves nothing behind."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        if plan.options.codebook:
            write_codebook(partial, plan)
            rows = len(plan.columns)
        else:
            rows = _write_data(plan, partial, progress)
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    log.info("export of %s (%s) written: %s rows", plan.survey_id, plan.options.format, rows)
    return rows


def _write_data(plan: ExportPlan, path: Path, progress: Progress | None) -> int:
    writer = WRITERS[plan.options.format](path, plan)
    read = 0
    try:
        for frame in response_frames(plan):
            read += len(frame)
            selected = plan.options.selection.apply(frame)
            chunk = export_chunk(plan, selected)
            if plan.options.layout == "long":
                chunk = long_chunk(plan, chunk)
            writer.write(chunk)
            if progress is not None:
                progress(read)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return writer.rows


def response_frames(plan: ExportPlan, after: int = 0, chunk: int | None = None):
    """The responses the plan reads, piece by piece (with the export metadata)."""
    kwargs = {} if chunk is None else {"chunk": chunk}
    return iter_frames(
        plan.survey_id,
        plan.q,
        version=plan.options.selection.version,
        include_text=True,
        include_incomplete=plan.options.selection.include_incomplete,
        metadata=True,
        after=after,
        replica=True,
        **kwargs,
    )


def export_chunk(plan: ExportPlan, frame: pd.DataFrame) -> pd.DataFrame:
    """Responses (a frame of :func:`survey_app.storage.iter_frames`) as the export's
    wide columns in their canonical types: points as nullable int16 (reverse-keyed
    items recoded with ``--reverse-coded``), choices as categoricals of their ids,
    personal columns masked, scores computed from the raw answers."""
    options = plan.options
    data: dict[str, Any] = {}
    survey_data = None
    n = len(frame)
    frame = frame.reset_index(drop=True)
    for column in plan.columns:
        if column.group == "answer":
            values = frame[column.name]
            if column.storage == "int":
                numbers = values.to_numpy(dtype=np.float64)
                if options.reverse_coded and column.reverse:
                    numbers = column.column.item.scale.reverse(numbers)
                missing = np.isnan(numbers)
                values = pd.arrays.IntegerArray(
                    np.where(missing, 0, numbers).astype(np.int16), missing
                )
            if column.personal and plan.masked:
                values = _masked(values, column)
            data[column.name] = values
        elif column.group == "score":
            if survey_data is None:
                survey_data = SurveyData(plan.q, frame, missing=plan.q.analysis.missing)
            data[column.name] = _score(survey_data, column)
        else:
            data[column.name] = frame[column.name].astype(_DTYPES[column.storage])
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def _masked(values: Any, column: ExportColumn) -> Any:
    """Personal answers for someone without the grant: texts as ``***``, others blank."""
    if column.storage == "text":
        series = pd.Series(values, dtype="str")
        return series.where(series.isna(), MASK)
    if column.storage == "choice":
        return pd.Categorical.from_codes(
            np.full(len(values), -1), categories=list(values.cat.categories)
        )
    return pd.arrays.IntegerArray(np.zeros(len(values), np.int16), np.ones(len(values), dtype=bool))


def _score(data: SurveyData, column: ExportColumn) -> np.ndarray:
    """A score column, through the analysis's own scoring (reverse keying and the
    questionnaire's missing-data rule included)."""
    if column.score == "score":
        scale = next(s for s in data.scales if s.name == column.scale_name)
        return np.asarray(data.score(scale), dtype=np.float64)
    role = {"gap": "expectation", "msa": "adequate", "mss": "desired"}[column.score]
    dimension = next(d for d in data.q.dimensions if d.id == column.sections[0])
    perception = data.score(data.scale_of(dimension, "perception"))
    other = data.score(data.scale_of(dimension, role))
    return np.asarray(perception - other, dtype=np.float64)


def long_chunk(plan: ExportPlan, wide: pd.DataFrame) -> pd.DataFrame:
    """A wide chunk as one row per answer (and score): ``response_id``, ``column``,
    ``value`` (the number: point, choice code, 0/1, score), ``answer`` (as the wide
    CSV shows it: the point, the choice id, the text), then the other metadata."""
    rows, names, numbers, answers = [], [], [], []
    value_columns = [c for c in plan.columns if c.group != "meta"]
    for position, column in enumerate(value_columns):
        values = wide[column.name]
        present = np.flatnonzero(values.notna().to_numpy())
        if not len(present):
            continue
        rows.append(present)
        names.append(np.full(len(present), position, dtype=np.int32))
        if column.storage == "choice":
            codes = {label.value: label.code for label in column.labels}
            chosen = values.to_numpy(dtype=object)[present]
            numbers.append(np.array([codes[v] for v in chosen], dtype=np.float64))
            answers.append(chosen.astype(str))
        elif column.storage == "text":
            numbers.append(np.full(len(present), np.nan))
            answers.append(values.to_numpy(dtype=object)[present].astype(str))
        else:
            picked = pd.Series(values).to_numpy(dtype=np.float64, na_value=np.nan)[present]
            numbers.append(picked)
            if column.storage == "int":
                answers.append(picked.astype(np.int64).astype(str))
            else:
                answers.append(np.array([repr(float(v)) for v in picked], dtype=object))
    if rows:
        row = np.concatenate(rows)
        position = np.concatenate(names)
        order = np.lexsort((position, row))
        row, position = row[order], position[order]
        number = np.concatenate(numbers)[order]
        answer = np.concatenate([a.astype(object) for a in answers])[order]
    else:
        row = position = np.zeros(0, dtype=np.int64)
        number, answer = np.zeros(0), np.zeros(0, dtype=object)
    column_names = np.array([c.name for c in value_columns], dtype=object)
    data: dict[str, Any] = {"response_id": wide["response_id"].to_numpy()[row].astype(np.int64)}
    data["column"] = pd.Series(column_names[position] if len(row) else [], dtype="str")
    data["value"] = number
    data["answer"] = pd.Series(answer, dtype="str")
    for column in plan.columns:
        if column.group == "meta" and column.name != "response_id":
            data[column.name] = wide[column.name].iloc[row].reset_index(drop=True)
    return pd.DataFrame(data, index=pd.RangeIndex(len(row)))
