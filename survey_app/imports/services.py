"""Importing responses from a CSV or XLSX file (paper forms typed into a spreadsheet,
or an export of this or another server).

The columns are those of an export (the metadata columns optional). Every row goes
through the web form's checks (:func:`questionnaires.answers.check_slots`) except that
required questions may be left blank: such a row is stored as a complete response with
those answers missing. Two passes: the first reads and checks every row and reports
each problem with its line (the header is line 1), column and reason; the second
stores the good rows in one transaction, only if no row was bad (unless partial
imports are allowed). A row already imported (same response id, or for rows without
one the same content) is not stored twice.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import logging
import pickle
import tempfile
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select

from questionnaires import Questionnaire
from questionnaires.answers import check_slots
from questionnaires.kinds import Problem

from .. import audit
from ..exports.columns import META_NAMES, export_columns
from ..extensions import db
from ..models import QuestionnaireVersion, Response, Survey
from ..storage import decode, series_versions, version_numbers
from ..surveys.forms import message
from ..surveys.services import initial_preset, response_values

log = logging.getLogger(__name__)
BATCH = 2000
TRUE = ("true", "1", "yes")
FALSE = ("false", "0", "no")
MAX_RESPONSE_ID = 2**63 - 1


class ImportFileError(ValueError):
    """A file that cannot be imported at all (unreadable, unknown columns...); the
    message names the file and the line."""


@dataclass(frozen=True)
class RowProblem:
    line: int  # as a spreadsheet numbers its rows: the header is line 1
    column: str  # "" when the problem is the whole row
    reason: str

    def describe(self, source: str = "") -> str:
        where = f"{source}, line {self.line}" if source else f"line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ImportResult:
    rows: int = 0  # data rows read (blank rows skipped)
    imported: int = 0
    duplicates: int = 0  # already stored: not added again
    bad_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    applied: bool = False  # whether the good rows were stored

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "bad_rows": self.bad_rows,
            "problems": len(self.problems),
            "applied": self.applied,
        }


# -- reading files ------------------------------------------------------------------------
def read_rows(path: Path, name: str | None = None) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of a CSV or XLSX file, the header first (line 1); cells as text."""
    name = name or path.name
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(path, name)
    if suffix in (".csv", ".txt", ""):
        return _csv_rows(path, name)
    raise ImportFileError(
        _("%(file)s: not a CSV or XLSX file (give a .csv or .xlsx file)", file=name)
    )


def _csv_rows(path: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    """The records of a CSV file. A file that ends inside a quoted cell, or inside a
    row that has fewer cells than the header, was cut short (an upload or a copy that
    stopped): it is refused as a whole rather than read as a row of blank answers."""
    with path.open("rb") as raw:
        size = raw.seek(0, 2)
        raw.seek(max(size - 1, 0))
        ends_with_newline = raw.read(1) in (b"\n", b"\r")
    line, width = 0, 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            previous = None
            for line, cells in enumerate(csv.reader(handle, strict=True), start=1):
                if previous is not None:
                    yield previous
                width = width or len(cells)
                previous = (line, cells)
            if previous is not None:
                if not ends_with_newline and line > 1 and len(previous[1]) < width:
                    raise ImportFileError(
                        _(
                            "%(file)s, line %(line)s: the file ends inside this row (%(cells)s "
                            "of %(columns)s cells): it looks cut short; nothing was imported",
                            file=name,
                            line=line,
                            cells=len(previous[1]),
                            columns=width,
                        )
                    )
                yield previous
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("%(file)s: not UTF-8 text (%(error)s); save it as CSV UTF-8", file=name, error=exc)
        ) from None
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ImportFileError(
                _(
                    "%(file)s, line %(line)s: the file ends inside a quoted cell: it looks cut "
                    "short; nothing was imported",
                    file=name,
                    line=line + 1,
                )
            ) from None
        raise ImportFileError(
            _(
                "%(file)s, line %(line)s: not a valid CSV file (%(error)s)",
                file=name,
                line=line + 1,
                error=exc,
            )
        ) from None


def _xlsx_rows(path: Path, name: str) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    def unreadable(exc: Exception) -> ImportFileError:
        return ImportFileError(
            _(
                "%(file)s: not a readable XLSX file, or a damaged or incomplete one (%(error)s)",
                file=name,
                error=exc,
            )
        )

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl errors alike
        raise unreadable(exc) from None
    try:
        sheet = book["data"] if "data" in book.sheetnames else book.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(v) for v in values]
    except Exception as exc:  # a sheet damaged past its start
        raise unreadable(exc) from None
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def count_rows(path: Path, name: str | None = None) -> int:
    """How many data rows a file has (for progress)."""
    return sum(1 for line, _cells in read_rows(path, name) if line > 1)


# -- checking --------------------------------------------------------------------------------
@dataclass
class _Row:
    line: int
    answers: dict[str, Any]
    lang: str
    complete: bool
    started_at: datetime | None
    submitted_at: datetime | None
    response_id: int | None
    ref: str = ""


class _Checker:
    """Checks the rows of one file against the survey's current questionnaire."""

    def __init__(self, survey: Survey, header: list[str], source: str) -> None:
        self.survey = survey
        self.version: QuestionnaireVersion = survey.current
        self.q: Questionnaire = self.version.questionnaire
        self.source = source
        self.columns = self._check_header(header)
        self.kinds = [(slot, slot.item.type) for slot in self.q.slots]
        self.text_columns = {c.name for c in self.q.text_columns}
        self.defaults = initial_preset(self.q, None)
        series = {v.number for v in series_versions(survey.id)}
        self.other_series = set(version_numbers(survey.id)) - series
        self.seen: dict[str, int] = {}  # fingerprints, ids -> how often seen so far

    def _check_header(self, header: list[str]) -> dict[str, int]:
        q = self.q
        known = {c.name for c in q.columns} | set(META_NAMES)
        scores = {c.name for c in export_columns(q, scores=True) if c.group == "score"}
        positions: dict[str, int] = {}
        for i, name in enumerate(header):
            name = name.strip()
            if name in positions:
                raise ImportFileError(
                    _(
                        "%(file)s, line 1: the column %(column)s appears twice",
                        file=self.source,
                        column=name,
                    )
                )
            if name not in known and name not in scores and name != "":
                hint = difflib.get_close_matches(name, sorted(known), n=1)
                suggestion = _(" (did you mean %(name)s?)", name=hint[0]) if hint else ""
                raise ImportFileError(
                    _(
                        "%(file)s, line 1, column %(column)s: not a column of %(survey)s"
                        "%(suggestion)s; the columns are those of an export (%(first)s, ..., "
                        "%(meta)s)",
                        file=self.source,
                        column=name or i + 1,
                        survey=q.id,
                        suggestion=suggestion,
                        first=q.columns[0].name,
                        meta=", ".join(META_NAMES),
                    )
                )
            if name in known:
                positions[name] = i
        if not any(c.name in positions for c in q.columns):
            raise ImportFileError(
                _(
                    "%(file)s, line 1: none of the questionnaire's columns is in the file "
                    "(such as %(first)s)",
                    file=self.source,
                    first=q.columns[0].name,
                )
            )
        for slot in q.slots:
            present = [c.name for c in slot.columns if c.name in positions]
            if present and len(present) < len(slot.columns):
                missing = [c.name for c in slot.columns if c.name not in positions]
                raise ImportFileError(
                    _(
                        "%(file)s, line 1: the columns of %(question)s come together; "
                        "missing: %(missing)s",
                        file=self.source,
                        question=slot.name,
                        missing=", ".join(missing),
                    )
                )
        return positions

    def check(self, line: int, cells: list[str]) -> tuple[_Row | None, list[RowProblem]]:
        """One row: its checked answers, or its problems."""
        problems: list[RowProblem] = []
        if len(cells) > len(self.columns) and any(
            c.strip() for c in cells[max(self.columns.values()) + 1 :]
        ):
            problems.append(RowProblem(line, "", _("more cells than the header has columns")))
        values = {name: (cells[i] if i < len(cells) else "") for name, i in self.columns.items()}
        values = {k: (v if k in self.text_columns else v.strip()) for k, v in values.items()}
        meta = self._meta(line, values, problems)
        raw: dict[str, Any] = {}
        for slot, kind in self.kinds:
            cells_of = {c.name: values.get(c.name, "") for c in slot.columns}
            if slot.item.hidden and slot.name not in self.columns and slot.name in self.defaults:
                # a hidden segment the file leaves out takes its default, as on the web
                cells_of = {slot.name: self.defaults[slot.name]}
            try:
                raw[slot.name] = kind.cells_to_raw(slot.item, slot.name, cells_of)
            except Problem as problem:
                column = problem.params.get("column", slot.columns[0].name)
                problems.append(RowProblem(line, column, _reason(problem, cells_of.get(column))))
        checked = check_slots(self.q.slots, raw, {}, enforce_required=False)
        for slot in self.q.slots:
            column = slot.columns[0].name
            if slot.name in checked.problems:
                given = values.get(column, "")
                problems.append(
                    RowProblem(line, column, _reason(checked.problems[slot.name], given))
                )
            elif (
                raw.get(slot.name) not in (None, [])
                and checked.values.get(slot.name) is None
                and slot.item.show_if is not None
            ):
                condition = slot.item.show_if
                problems.append(
                    RowProblem(
                        line,
                        column,
                        _(
                            "answered, but this question is only asked when %(column)s "
                            "%(condition)s",
                            column=condition.column,
                            condition=_condition_text(condition),
                        ),
                    )
                )
        if problems or meta is None:
            return None, problems
        lang, complete, started, submitted, response_id = meta
        return _Row(line, checked.answers, lang, complete, started, submitted, response_id), []

    def _meta(self, line: int, values: dict[str, str], problems: list[RowProblem]):
        bad = len(problems)
        lang = values.get("lang", "") or self.q.languages[0]
        if lang not in self.q.languages:
            problems.append(
                RowProblem(
                    line,
                    "lang",
                    _(
                        "%(given)r is not one of %(choices)s",
                        given=lang,
                        choices=", ".join(self.q.languages),
                    ),
                )
            )
        complete_text = values.get("complete", "").lower()
        complete = True
        if complete_text in FALSE:
            complete = False
        elif complete_text and complete_text not in TRUE:
            problems.append(
                RowProblem(
                    line, "complete", _("%(given)r is not true or false", given=complete_text)
                )
            )
        started = _moment(line, "started_at", values.get("started_at", ""), problems)
        submitted = _moment(line, "submitted_at", values.get("submitted_at", ""), problems)
        if submitted is not None and not complete:
            problems.append(
                RowProblem(line, "submitted_at", _("an incomplete response has no submission time"))
            )
        response_id = None
        text = values.get("response_id", "")
        if text:
            if not text.isdigit() or not 0 < int(text) <= MAX_RESPONSE_ID:
                problems.append(
                    RowProblem(line, "response_id", _("%(given)r is not a response id", given=text))
                )
            else:
                response_id = int(text)
        version = values.get("version", "")
        if version:
            if not version.isdigit():
                problems.append(
                    RowProblem(
                        line, "version", _("%(given)r is not a version number", given=version)
                    )
                )
            elif int(version) in self.other_series:
                problems.append(
                    RowProblem(
                        line,
                        "version",
                        _(
                            "answers given under version %(version)s are read differently by "
                            "the current version %(current)s; they cannot be imported into it",
                            version=version,
                            current=self.version.number,
                        ),
                    )
                )
        if len(problems) > bad:
            return None
        return lang, complete, started, submitted, response_id

    def identify(self, row: _Row) -> list[RowProblem]:
        """Give a checked row its reference: ``id:<response id>``, or ``fp:<fingerprint>``
        for a row without one (the n-th identical row of a file gets its own: two
        customers may give the same answers). A response id given twice is a problem."""
        if row.response_id is not None:
            key = f"id:{row.response_id}"
            if key in self.seen:
                reason = _(
                    "response id %(id)s is also on line %(line)s",
                    id=row.response_id,
                    line=self.seen[key],
                )
                return [RowProblem(row.line, "response_id", reason)]
            self.seen[key] = row.line
            row.ref = key
            return []
        content = fingerprint_content(row.answers, row.lang, row.complete, row.submitted_at)
        digest = _digest(content)
        occurrence = self.seen.get(digest, 0)
        self.seen[digest] = occurrence + 1
        row.ref = f"fp:{_digest(f'{digest}#{occurrence}')}"
        return []


def fingerprint_content(
    answers: dict[str, Any], lang: str, complete: bool, submitted_at: datetime | None
) -> str:
    """A row's content as canonical text (answers by column, language, status, time)."""
    canonical = {
        "answers": {k: sorted(v) if isinstance(v, frozenset) else v for k, v in answers.items()},
        "lang": lang,
        "complete": complete,
        "submitted_at": submitted_at.isoformat() if submitted_at else None,
    }
    return json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _reason(problem: Problem, given: Any) -> str:
    shown = f"{given!r}: " if given not in (None, "") else ""
    return shown + message(problem)


def _condition_text(condition) -> str:
    if condition.in_ is not None:
        return _("is one of %(values)s", values=", ".join(map(str, condition.in_)))
    if condition.equals is not None:
        return _("is %(value)s", value=condition.equals)
    parts = []
    if condition.min is not None:
        parts.append(_("at least %(value)s", value=f"{condition.min:g}"))
    if condition.max is not None:
        parts.append(_("at most %(value)s", value=f"{condition.max:g}"))
    return _("is %(value)s", value=_(" and ").join(parts))


def _moment(line: int, column: str, text: str, problems: list[RowProblem]) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        problems.append(
            RowProblem(
                line,
                column,
                _("%(given)r is not a date and time (such as 2026-03-01T10:15:00Z)", given=text),
            )
        )
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- importing -------------------------------------------------------------------------------
Progress = Callable[[int], None]


def import_responses(
    survey: Survey,
    path: Path,
    *,
    name: str | None = None,
    allow_partial: bool = False,
    progress: Progress | None = None,
    lang: str | None = None,
) -> ImportResult:
    """Check every row of the file, then store the good ones (all of them or nothing,
    unless ``allow_partial``). Audited; commits what it stores. ``progress`` gets the
    rows checked, then the rows checked plus stored (out of twice the rows); problems
    are described in ``lang`` (default: the current locale's language).

    Between the passes the good rows wait in a temporary file, ready to insert; in
    memory only their references (about 150 bytes a row).
    """
    with force_locale(lang) if lang else nullcontext():
        return _import(survey, path, name or path.name, allow_partial, progress)


def _import(
    survey: Survey, path: Path, source: str, allow_partial: bool, progress: Progress | None
) -> ImportResult:
    result = ImportResult()
    rows = read_rows(path, source)
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("%(file)s: the file is empty", file=source))
    checker = _Checker(survey, first[1], source)
    good: dict[int, tuple[str, str | None]] = {}  # line -> (reference, content digest)
    with tempfile.TemporaryFile() as checked:  # the good rows, ready to insert
        batch: list[tuple[int, dict]] = []
        for line, cells in rows:
            if not any(cell.strip() for cell in cells):
                continue  # a blank row (spreadsheets keep them)
            result.rows += 1
            row, problems = checker.check(line, cells)
            if row is not None:
                problems = checker.identify(row)
            if problems:
                result.problems.extend(problems)
                result.bad_rows += 1
            else:
                content = None
                if row.response_id is not None:
                    content = _digest(
                        fingerprint_content(row.answers, row.lang, row.complete, None)
                    )
                good[line] = (row.ref, content)
                batch.append((line, _values(checker, row)))
                if len(batch) >= BATCH:
                    pickle.dump(batch, checked)
                    batch = []
            if progress is not None:
                progress(result.rows)
        pickle.dump(batch, checked)
        stored = _already_stored(survey, checker.q, good, result)
        if result.problems and not allow_partial:
            log.info("import into %s refused: %s bad rows", survey.id, result.bad_rows)
            return result
        todo = {line for line, (ref, _content) in good.items() if ref not in stored}
        result.duplicates = len(good) - len(todo)
        checked.seek(0)
        done = result.rows
        while True:
            try:
                batch = pickle.load(checked)
            except EOFError:
                break
            wanted = [values for line, values in batch if line in todo]
            if wanted:
                db.session.execute(insert(Response), wanted)
            done += len(batch)
            if progress is not None:
                progress(done)
    result.imported = len(todo)
    result.applied = True
    audit.record(
        "responses.import",
        survey.id,
        {"file": source, **result.summary(), "allow_partial": allow_partial},
    )
    db.session.commit()
    log.info("import into %s: %s rows stored", survey.id, result.imported)
    return result


def _values(checker: _Checker, row: _Row) -> dict:
    return response_values(
        checker.version,
        row.answers,
        lang=row.lang,
        complete=row.complete,
        started_at=row.started_at,
        submitted_at=row.submitted_at,
        import_ref=row.ref,
    )


def _already_stored(
    survey: Survey,
    q: Questionnaire,
    good: dict[int, tuple[str, str | None]],
    result: ImportResult,
) -> set[str]:
    """The references of good rows that are in the survey already: imported before
    (same reference), or for a response id, that response of this survey itself with
    the same answers (an export of this survey). A response id of this survey with
    other answers is a problem (the row leaves ``good``): an import never changes
    stored responses."""
    refs = [ref for ref, _content in good.values()]
    stored: set[str] = set()
    for start in range(0, len(refs), 1000):
        stored.update(
            db.session.scalars(
                select(Response.import_ref).where(
                    Response.survey_id == survey.id,
                    Response.import_ref.in_(refs[start : start + 1000]),
                )
            )
        )
    by_id = {
        int(ref[3:]): line
        for line, (ref, _content) in good.items()
        if ref.startswith("id:") and ref not in stored
    }
    numbers = sorted(by_id)
    for start in range(0, len(numbers), 1000):
        for response in db.session.scalars(
            select(Response).where(
                Response.survey_id == survey.id,
                Response.id.in_(numbers[start : start + 1000]),
                Response.test.is_(False),
            )
        ):
            line = by_id[response.id]
            if _stored_content(q, response) == good[line][1]:
                stored.add(f"id:{response.id}")
                continue
            result.problems.append(
                RowProblem(
                    line,
                    "response_id",
                    _(
                        "response %(id)s of this survey has other answers; an import never "
                        "changes stored responses (leave response_id blank to add this row as "
                        "a new response)",
                        id=response.id,
                    ),
                )
            )
            result.bad_rows += 1
            del good[line]
    return stored


def _stored_content(q: Questionnaire, response: Response) -> str:
    """The digest of a stored response's answers in the columns of ``q``."""
    answers = decode(response.version.questionnaire, response.answers, response.texts)
    canonical = {c.name: answers.get(c.name) for c in q.columns}
    return _digest(fingerprint_content(canonical, response.lang, response.complete, None))
