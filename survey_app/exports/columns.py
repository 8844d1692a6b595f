"""The columns of an export, and the codebook that describes them.

One list of :class:`ExportColumn` per questionnaire version and options, read by every
format: the CSV header, the SPSS and Stata variables with their labels, the Parquet
schema and the codebook all come from it. Column names are the questionnaire's (what
``python -m analysis report`` reads); SPSS and Stata get valid names of their own
(:func:`format_names`), listed in the codebook where they had to change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis.data import scales
from questionnaires import Column, Questionnaire, translate

# Interface texts of column and value labels, translated into each questionnaire language.
INTERFACE_TEXTS = {
    "chosen": _l("Chosen"),
    "not_chosen": _l("Not chosen"),
    "yes": _l("Yes"),
    "no": _l("No"),
    "no_answer": _l("No answer"),
    "response_id": _l("Response id"),
    "version": _l("Questionnaire version"),
    "started_at": _l("Started (UTC)"),
    "submitted_at": _l("Submitted (UTC)"),
    "lang": _l("Language"),
    "complete": _l("Complete"),
    "column": _l("Column (variable name)"),
    "value": _l("Value (number)"),
    "answer": _l("Answer"),
}

# The metadata columns (after the answers), with their codebook type.
META = (
    ("response_id", "integer"),
    ("version", "integer"),
    ("started_at", "datetime"),
    ("submitted_at", "datetime"),
    ("lang", "string"),
    ("complete", "boolean"),
)
META_NAMES = tuple(name for name, _type in META)

# SPSS measurement level of each codebook type.
SPSS_MEASURE = {
    "ordinal": "ordinal",
    "nominal": "nominal",
    "binary": "nominal",
    "text": "nominal",
    "string": "nominal",
    "boolean": "nominal",
    "integer": "scale",
    "number": "scale",
    "datetime": "scale",
}


@dataclass(frozen=True)
class Label:
    value: Any  # as a CSV shows it: a scale point, a choice id, 0/1
    code: int  # its number in SPSS and Stata files
    text: Mapping[str, str]  # by language


@dataclass(frozen=True)
class ExportColumn:
    """One exported column: its name, label texts, type and value labels."""

    name: str
    text: Mapping[str, str]  # by language: the variable label
    type: str  # ordinal, nominal, binary, text, integer, number, datetime, string, boolean
    group: str  # "answer", "score" or "meta"
    labels: tuple[Label, ...] = ()
    reverse: bool = False
    personal: bool = False
    column: Column | None = None  # the questionnaire's column of an answer
    scale_name: str | None = None  # the analysis scale of a score
    score: str | None = None  # "score", "gap", "msa" or "mss"
    sections: tuple[str, ...] = ()  # the dimension (or outcome) a score belongs to
    extra: Mapping[str, Any] = field(default_factory=dict)  # more codebook keys

    @property
    def storage(self) -> str:
        """How a chunk holds the values: ``int`` (points, 0/1), ``choice`` (choice ids),
        ``text``, ``float`` (scores) or the metadata column's own type."""
        if self.column is not None:
            return {"float": "int", "category": "choice", "string": "text"}[
                self.column.type.frame_dtype
            ]
        if self.group == "score" or self.type == "number":
            return "float"
        return self.type

    @property
    def numeric_answer(self) -> bool:
        return self.storage in ("int", "choice")


def interface_text(key: str, languages: tuple[str, ...]) -> dict[str, str]:
    """An interface text in every language of a questionnaire (English where the
    interface has no translation)."""
    texts = {}
    for lang in languages:
        with force_locale(lang):
            texts[lang] = str(INTERFACE_TEXTS[key])
    return texts


def _join(parts: list[Mapping[str, str]], languages: tuple[str, ...], sep: str = ": ") -> dict:
    return {lang: sep.join(translate(p, lang) for p in parts) for lang in languages}


def answer_columns(q: Questionnaire) -> list[ExportColumn]:
    """The questionnaire's columns in the export's order: the dimension items (each
    measure), outcomes, the other questions, segments, then open text."""
    ordered = [c for c in q.columns if c.numeric and c.section.kind != "segments"]
    ordered += [c for c in q.columns if c.section.kind == "segments"]
    ordered += [c for c in q.columns if not c.numeric]
    result = []
    for column in ordered:
        item, kind = column.item, column.type
        parts: list[Mapping[str, str]] = []
        if column.measure is not None and len(q.measures) > 1:
            parts.append(column.measure.title)
        parts.append(item.text)
        if column.choice is not None:
            parts.append(column.choice.title)
        labels = tuple(
            Label(
                value,
                code,
                interface_text(text, q.languages) if isinstance(text, str) else dict(text),
            )
            for value, code, text in kind.value_labels(column)
        )
        extra: dict[str, Any] = {
            "kind": column.kind,
            "item": item.id,
            "section": column.section.id,
            "measure": column.measure.id if column.measure is not None else None,
        }
        if item.scale is not None:
            extra["min"], extra["max"] = item.scale.min, item.scale.max
        if column.choice is not None:
            extra["choice"] = column.choice.id
        result.append(
            ExportColumn(
                name=column.name,
                text=_join(parts, q.languages),
                type=kind.codebook_type,
                group="answer",
                labels=labels,
                reverse=item.reverse,
                personal=item.personal,
                column=column,
                extra=extra,
            )
        )
    return result


def score_columns(q: Questionnaire, taken: set[str]) -> list[ExportColumn]:
    """Dimension and outcome scores (``score_<scale>``), and per dimension the SERVQUAL
    gap (``gap_<dimension>``: perception - expectation) or the zone of tolerance's
    adequacy and superiority (``msa_``/``mss_<dimension>``: perception - adequate,
    perception - desired), where the questionnaire has those measures."""
    langs = q.languages
    result = []

    def add(name: str, text: dict, **kw: Any) -> None:
        unique, n = name, 2
        while unique in taken:
            unique, n = f"{name}_{n}", n + 1
        taken.add(unique)
        result.append(ExportColumn(unique, text, "number", "score", **kw))

    score_word = {lang: _in(lang, _l("Score")) for lang in langs}
    for scale in scales(q):
        parts = [scale.section.title]
        measure = next((m for m in q.measures if m.role == scale.measure_role), None)
        if scale.section.kind == "dimension" and measure is not None and len(q.measures) > 1:
            parts.append(measure.title)
        text = {
            lang: f"{score_word[lang]}: " + " / ".join(translate(p, lang) for p in parts)
            for lang in langs
        }
        add(
            f"score_{scale.name}",
            text,
            scale_name=scale.name,
            score="score",
            sections=(scale.section.id,),
            extra={"items": list(scale.columns), "rule": q.analysis.missing},
        )
    roles = {m.role for m in q.measures}
    pairs = []
    if {"expectation", "perception"} <= roles:
        pairs.append(("gap", "expectation", _l("Gap (perception - expectation)")))
    if {"adequate", "desired", "perception"} <= roles:
        pairs.append(("msa", "adequate", _l("Adequacy (perception - adequate)")))
        pairs.append(("mss", "desired", _l("Superiority (perception - desired)")))
    for kind, role, word in pairs:
        for dim in q.dimensions:
            text = {lang: f"{_in(lang, word)}: {translate(dim.title, lang)}" for lang in langs}
            add(
                f"{kind}_{dim.id}",
                text,
                score=kind,
                sections=(dim.id,),
                extra={"of": ["perception", role]},
            )
    return result


def _in(lang: str, text: Any) -> str:
    with force_locale(lang):
        return str(text)


def meta_columns(q: Questionnaire) -> list[ExportColumn]:
    result = []
    for name, type_ in META:
        labels: tuple[Label, ...] = ()
        if name == "complete":
            labels = (
                Label(False, 0, interface_text("no", q.languages)),
                Label(True, 1, interface_text("yes", q.languages)),
            )
        result.append(
            ExportColumn(name, interface_text(name, q.languages), type_, "meta", labels=labels)
        )
    return result


def export_columns(q: Questionnaire, *, scores: bool = False) -> list[ExportColumn]:
    """Every column of a wide export: answers, then scores (if asked), then metadata."""
    answers = answer_columns(q)
    taken = {c.name for c in answers} | set(META_NAMES)
    return [*answers, *(score_columns(q, taken) if scores else []), *meta_columns(q)]


# -- names SPSS and Stata accept ---------------------------------------------------------------
SPSS_RESERVED = frozenset(
    ["ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"]
)  # compared in upper case
STATA_RESERVED = frozenset(
    [
        "_all",
        "_b",
        "byte",
        "_coef",
        "_cons",
        "double",
        "float",
        "if",
        "in",
        "int",
        "long",
        "_n",
        "_N",
        "_pi",
        "_pred",
        "_rc",
        "_skip",
        "strL",
        "using",
        "with",
    ]
)
STATA_STR = re.compile(r"^str\d+$")


@dataclass(frozen=True)
class NameRules:
    max_length: int  # SPSS counts bytes (UTF-8), Stata characters; names here are ASCII
    invalid: re.Pattern[str]  # characters replaced by "_"
    first: re.Pattern[str]  # what the first character must match
    case_insensitive: bool

    def reserved(self, name: str) -> bool:
        raise NotImplementedError


class _SpssRules(NameRules):
    def reserved(self, name: str) -> bool:
        return name.upper() in SPSS_RESERVED


class _StataRules(NameRules):
    def reserved(self, name: str) -> bool:
        return name in STATA_RESERVED or bool(STATA_STR.match(name))


RULES = {
    # SPSS: 64 bytes, a letter first, then letters, digits, _ . @ # $; no trailing period
    "sav": _SpssRules(64, re.compile(r"[^A-Za-z0-9_.@#$]"), re.compile(r"[A-Za-z]"), True),
    # Stata: 32 characters, a letter or _ first, then letters, digits and _
    "dta": _StataRules(32, re.compile(r"[^A-Za-z0-9_]"), re.compile(r"[A-Za-z_]"), False),
}


def valid_names(
    names: list[str], fmt: str, limits: Mapping[str, int] | None = None
) -> dict[str, str]:
    """Each name as the format accepts it (unchanged where it is valid already), unique
    within the file: invalid characters become ``_``, a bad first character gets a
    ``v`` before it, reserved words an ``_`` after, long names are cut (to the format's
    length, or ``limits[name]``), and a clash gets ``_2``, ``_3``... (cut further to
    stay within the length)."""
    rules = RULES[fmt]
    result: dict[str, str] = {}
    used: set[str] = set()

    def key(name: str) -> str:
        return name.lower() if rules.case_insensitive else name

    for name in names:
        length = min(rules.max_length, (limits or {}).get(name, rules.max_length))
        candidate = rules.invalid.sub("_", name)
        if fmt == "sav":
            candidate = candidate.rstrip(".") or "v"
        if not rules.first.match(candidate[:1]):
            candidate = "v" + candidate
        if rules.reserved(candidate):
            candidate += "_"
        candidate = candidate[:length]
        unique, n = candidate, 2
        while key(unique) in used or rules.reserved(unique):
            suffix = f"_{n}"
            unique = candidate[: length - len(suffix)] + suffix
            n += 1
        used.add(key(unique))
        result[name] = unique
    return result


def format_names(columns: list[ExportColumn]) -> dict[str, dict[str, str]]:
    """format -> {column name -> name in that format} for SPSS and Stata.

    Stata names of columns that may carry value labels are kept short enough for
    pyreadstat to name their label sets (the variable's name and a number, at most 32
    characters in all): 30 characters in a file of up to 99 columns.
    """
    names = [c.name for c in columns]
    room = 32 - len(str(len(columns)))
    labelled = {c.name: room for c in columns if c.labels or c.numeric_answer}
    return {"sav": valid_names(names, "sav"), "dta": valid_names(names, "dta", labelled)}


# -- the codebook --------------------------------------------------------------------------------
def codebook(
    q: Questionnaire,
    columns: list[ExportColumn],
    *,
    survey_id: str,
    version: int,
    versions: list[int],
    reverse_coded: bool = False,
    masked: bool = False,
    missing_code: int | None = None,
) -> dict[str, Any]:
    """The codebook as JSON-ready data: the questionnaire version and one entry per
    exported column with ``name``, ``text``, ``type``, ``labels``, ``reverse``,
    ``missing``, ``personal`` and ``names`` (the SPSS/Stata name where it differs)."""
    renamed = format_names(columns)
    entries = []
    for column in columns:
        missing: dict[str, Any] = {"value": "" if column.storage == "text" else None}
        if missing_code is not None and column.numeric_answer:
            missing.update({"sav": missing_code, "dta": ".a"})
        labels = [
            {"value": label.value, "code": label.code, "text": dict(label.text)}
            for label in column.labels
        ]
        entry = {
            "name": column.name,
            "text": dict(column.text),
            "type": column.type,
            "labels": labels,
            "reverse": column.reverse,
            "missing": missing,
            "personal": column.personal,
            "names": {
                fmt: names[column.name]
                for fmt, names in renamed.items()
                if names[column.name] != column.name
            },
            "group": column.group,
            **column.extra,
        }
        if column.personal and masked:
            entry["masked"] = True
        entries.append(entry)
    return {
        "survey": survey_id,
        "title": dict(q.title),
        "version": version,
        "versions": versions,
        "languages": list(q.languages),
        "reverse_coded": reverse_coded,
        "masked": masked,
        "missing": {
            "csv": "blank cell",
            "sav": "system-missing" if missing_code is None else missing_code,
            "dta": "." if missing_code is None else ".a",
            "parquet": "null",
            "jsonl": "null",
        },
        "columns": entries,
    }


def column_label(column: ExportColumn, lang: str) -> str:
    return translate(column.text, lang)


def label_text(label: Label, lang: str) -> str:
    return translate(label.text, lang)


def no_answer(lang: str) -> str:
    with force_locale(lang):
        return _("No answer")
