"""The Chinese interface catalogue is complete and its compiled .mo is current."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import survey_app

CATALOG = Path(survey_app.__file__).parent / "translations" / "zh" / "LC_MESSAGES"


def test_every_message_is_translated():
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f, locale="zh")
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    with open(CATALOG / "messages.po", "rb") as f:
        catalog = read_po(f, locale="zh")
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (CATALOG / "messages.mo").read_bytes(), (
        "run: pybabel compile -d survey_app/translations"
    )
