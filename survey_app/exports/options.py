"""What an export is asked for: its format and options, from the command line, the
staff page or the API, checked against the survey in one place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from questionnaires import Questionnaire

from ..selection import Selection, SelectionError

DATA_FORMATS = ("csv", "xlsx", "sav", "dta", "parquet", "jsonl")
CODEBOOK_FORMATS = ("codebook-json", "codebook-md", "codebook-html")
FORMATS = DATA_FORMATS + CODEBOOK_FORMATS
LAYOUTS = ("wide", "long")
EXTENSIONS = {
    "csv": "csv",
    "xlsx": "xlsx",
    "sav": "sav",
    "dta": "dta",
    "parquet": "parquet",
    "jsonl": "jsonl",
    "codebook-json": "json",
    "codebook-md": "md",
    "codebook-html": "html",
}
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
    "dta": "application/x-stata-dta",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl",
    "codebook-json": "application/json",
    "codebook-md": "text/markdown",
    "codebook-html": "text/html",
}
# A user-missing code must fit the int16 SPSS/Stata columns and stay clear of answers.
MISSING_CODE_RANGE = (-32767, 32767)


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class ExportOptions:
    format: str
    selection: Selection = field(default_factory=Selection)
    layout: str = "wide"
    reverse_coded: bool = False
    scores: bool = False
    bom: bool = False
    lang: str | None = None  # of labels; default: the questionnaire's first language
    missing_code: int | None = None  # SPSS/Stata: declared user-missing code for unanswered

    @property
    def codebook(self) -> bool:
        return self.format in CODEBOOK_FORMATS

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]

    def to_args(self) -> dict[str, Any]:
        """The options as :func:`make_options` takes them (what a job stores)."""
        selection = self.selection
        return {
            "fmt": self.format,
            "where": [
                f"{name}={value}"
                for name, values in sorted(selection.segments.items())
                for value in sorted(values)
            ],
            "since": selection.since.isoformat() if selection.since else None,
            "until": selection.until.isoformat() if selection.until else None,
            "version": selection.version,
            "include_incomplete": selection.include_incomplete,
            "layout": self.layout,
            "reverse_coded": self.reverse_coded,
            "scores": self.scores,
            "bom": self.bom,
            "lang": self.lang,
            "missing_code": self.missing_code,
        }

    def describe(self) -> dict[str, Any]:
        """The options as JSON-ready data (the audit log and the job record them)."""
        return {
            "format": self.format,
            "layout": self.layout,
            "reverse_coded": self.reverse_coded,
            "scores": self.scores,
            "bom": self.bom,
            "lang": self.lang,
            "missing_code": self.missing_code,
            **self.selection.describe(),
        }


def make_options(
    q: Questionnaire,
    fmt: str,
    *,
    where: Iterable[str] = (),
    segments: Mapping[str, Iterable[str]] | None = None,
    since: str | None = None,
    until: str | None = None,
    version: Any = None,
    include_incomplete: bool = False,
    layout: str = "wide",
    reverse_coded: bool = False,
    scores: bool = False,
    bom: bool = False,
    lang: str | None = None,
    missing_code: Any = None,
) -> ExportOptions:
    """Check every option against ``q`` (the survey's current questionnaire; a
    ``version`` is checked again by the export); raises :class:`ExportError`."""
    if fmt not in FORMATS:
        raise ExportError(
            _("unknown format %(given)r (formats: %(known)s)", given=fmt, known=", ".join(FORMATS))
        )
    if layout not in LAYOUTS:
        raise ExportError(
            _(
                "unknown layout %(given)r (layouts: %(known)s)",
                given=layout,
                known=", ".join(LAYOUTS),
            )
        )
    if layout == "long" and fmt in CODEBOOK_FORMATS:
        layout = "wide"  # a codebook describes the variables, whatever the layout
    if lang is not None and lang not in q.languages:
        raise ExportError(
            _(
                "--lang %(lang)s: the questionnaire has the languages %(languages)s",
                lang=lang,
                languages=", ".join(q.languages),
            )
        )
    if bom and fmt != "csv":
        raise ExportError(_("--bom is for CSV files (a byte-order mark for Excel)"))
    code = None
    if missing_code not in (None, ""):
        if fmt not in ("sav", "dta", *CODEBOOK_FORMATS):
            raise ExportError(_("--missing-code is for SPSS and Stata files"))
        try:
            code = int(missing_code)
        except (TypeError, ValueError):
            raise ExportError(
                _("--missing-code %(given)r: not a whole number", given=missing_code)
            ) from None
        low, high = MISSING_CODE_RANGE
        if not low <= code <= high:
            raise ExportError(
                _(
                    "--missing-code %(code)s: must lie within %(low)s..%(high)s",
                    code=code,
                    low=low,
                    high=high,
                )
            )
        clash = _answer_with_code(q, code)
        if clash:
            raise ExportError(
                _(
                    "--missing-code %(code)s: it is a valid answer to %(column)s; choose a code "
                    "that no question uses (such as -9 or 99)",
                    code=code,
                    column=clash,
                )
            )
    pairs = [p for p in where]
    for name, values in (segments or {}).items():
        pairs += [f"{name}={value}" for value in values]
    try:
        selection = Selection.from_cli(
            q,
            pairs,
            since=since,
            until=until,
            version=version,
            include_incomplete=include_incomplete,
        )
    except SelectionError as exc:
        raise ExportError(str(exc)) from None
    return ExportOptions(
        format=fmt,
        selection=selection,
        layout=layout,
        reverse_coded=reverse_coded,
        scores=scores,
        bom=bom,
        lang=lang,
        missing_code=code,
    )


def _answer_with_code(q: Questionnaire, code: int) -> str | None:
    """The first numeric column for which ``code`` is a valid answer."""
    for column in q.numeric_columns:
        labels = column.type.value_labels(column)
        scale = column.item.scale
        if (scale is not None and scale.min <= code <= scale.max) or any(
            number == code for _value, number, _text in labels
        ):
            return column.name
    return None
