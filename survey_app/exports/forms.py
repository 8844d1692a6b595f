"""The export form: the command line's options as fields (one list per segment)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import NumberRange, Optional

from questionnaires import Questionnaire, translate

from .options import FORMATS, MISSING_CODE_RANGE

FORMAT_LABELS = {
    "csv": _l("CSV"),
    "xlsx": _l("Excel (.xlsx)"),
    "sav": _l("SPSS (.sav)"),
    "dta": _l("Stata (.dta)"),
    "parquet": _l("Parquet"),
    "jsonl": _l("JSON lines"),
    "codebook-json": _l("Codebook (JSON)"),
    "codebook-md": _l("Codebook (Markdown)"),
    "codebook-html": _l("Codebook (HTML)"),
}


class ExportForm(FlaskForm):
    fmt = SelectField(
        _l("Format"), choices=[SelectChoice(f, FORMAT_LABELS[f]) for f in FORMATS], default="csv"
    )
    layout = SelectField(
        _l("Layout"),
        choices=[
            SelectChoice("wide", _l("Wide: one row per response")),
            SelectChoice("long", _l("Long: one row per answer")),
        ],
        default="wide",
    )
    include_incomplete = BooleanField(_l("Incomplete responses too"))
    since = DateField(_l("Completed from (UTC)"), validators=[Optional()])
    until = DateField(_l("Completed until (UTC)"), validators=[Optional()])
    reverse_coded = BooleanField(_l("Recode reverse-keyed items"))
    scores = BooleanField(_l("Add dimension and gap scores"))
    bom = BooleanField(_l("CSV for Excel (byte-order mark)"))
    lang = SelectField(_l("Language of labels"))
    version = SelectField(_l("Questionnaire version"))
    missing_code = IntegerField(
        _l("SPSS/Stata: code for unanswered (blank: system-missing)"),
        validators=[Optional(), NumberRange(*MISSING_CODE_RANGE)],
    )
    segment_fields: tuple[str, ...] = ()

    def segments(self) -> dict[str, list[str]]:
        """Segment id -> the chosen choice ids (none chosen: no filter)."""
        return {
            name[len("seg_") :]: list(self[name].data or [])
            for name in self.segment_fields
            if self[name].data
        }


def export_form(q: Questionnaire, versions: list[int], lang: str, **kwargs: Any) -> ExportForm:
    """The form for ``q``: a list of choices per segment, its languages and versions."""
    attrs: dict[str, Any] = {}
    names = []
    for section in q.segments:
        for item in section.items:
            name = f"seg_{item.id}"
            names.append(name)
            attrs[name] = SelectMultipleField(
                translate(item.text, lang),
                choices=[SelectChoice(c.id, translate(c.title, lang)) for c in item.choices],
                validators=[Optional()],
            )
    attrs["segment_fields"] = tuple(names)
    form = type("SurveyExportForm", (ExportForm,), attrs)(**kwargs)
    form.lang.choices = [SelectChoice(code, code) for code in q.languages]
    form.version.choices = [SelectChoice("", _l("Current (and compatible earlier versions)"))]
    form.version.choices += [SelectChoice(str(v), str(v)) for v in sorted(versions, reverse=True)]
    if form.lang.data is None:  # not posted: the defaults, as the page shows them
        form.lang.data = lang if lang in q.languages else q.languages[0]
    if form.version.data is None:
        form.version.data = ""
    return form
