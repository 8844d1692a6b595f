"""``flask --app survey_app report SURVEY_ID --out FILE.html``: the offline report file."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import current_app

from .. import audit
from ..cli import as_option, fail, get_survey
from ..extensions import db
from ..selection import Selection, SelectionError
from .cache import write_atomically
from .services import DEFAULTS, Options, report_json

log = logging.getLogger(__name__)


@click.command("report")
@click.argument("survey_id")
@click.option(
    "--out", "out", required=True, type=click.Path(path_type=Path), help="The HTML file to write."
)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option(
    "--where",
    multiple=True,
    metavar="SEG=CODE",
    help="Keep the responses of this segment choice (repeatable: choices of one segment "
    "combine with OR, different segments with AND).",
)
@click.option("--from", "since", metavar="YYYY-MM-DD", help="First completion day included.")
@click.option("--to", "until", metavar="YYYY-MM-DD", help="Last completion day included.")
@click.option("--version", type=int, help="Report the series of this questionnaire version.")
@click.option(
    "--bootstrap",
    type=click.IntRange(0, 5000),
    default=DEFAULTS.bootstrap,
    show_default=True,
    help="Resamples for the intervals of importance and performance.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--pdf",
    "pdf",
    type=click.Path(path_type=Path),
    help="Also print the report to this PDF (needs Chromium; no network).",
)
@as_option
def report_command(
    survey_id, out, lang, where, since, until, version, bootstrap, seed, pdf
) -> None:
    """Write the whole report of SURVEY_ID as one self-contained HTML file (plotly.js
    embedded once) that works offline, for mail and cron; optionally a PDF of it."""
    from . import offline

    survey = get_survey(survey_id, "view_reports")
    q = survey.questionnaire
    try:
        selection = Selection.from_cli(q, where, since=since, until=until, version=version)
    except SelectionError as exc:
        fail(str(exc))
    options = Options(bootstrap=bootstrap, seed=seed)
    result = report_json(survey, selection, options, wait=None)
    with current_app.test_request_context(f"/?lang={lang}"):
        html = offline.build(survey, result.report, lang)
    write_atomically(out, lambda tmp: tmp.write_text(html, encoding="utf-8"))
    written = [str(out)]
    if pdf is not None:
        try:
            offline.print_pdf(out, pdf)
        except offline.PdfError as exc:
            fail(f"{out} was written; the PDF was not: {exc}")
        written.append(str(pdf))
    audit.record(
        "report_download",
        survey.id,
        {
            "format": "pdf" if pdf else "html",
            "files": written,
            "lang": lang,
            **selection.describe(),
            **options.describe(),
        },
    )
    db.session.commit()
    click.echo(f"{survey.id}: {result.report['n']} responses; written {', '.join(written)}")
