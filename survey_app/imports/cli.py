"""``flask import-responses``: responses from a CSV or XLSX file."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask_babel import gettext as _

from ..cli import as_option, fail, get_survey, localized
from ..extensions import db
from .services import ImportFileError, count_rows, import_responses


@click.command("import-responses")
@click.argument("survey_id")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Store the good rows even if some are bad (default: nothing unless every row is good).",
)
@as_option
@localized
def import_responses_command(survey_id: str, path: Path, allow_partial: bool) -> None:
    """Import responses from a CSV or XLSX file with the columns of an export.

    Every bad row is listed (line, column, reason; the header is line 1). Blank cells
    are unanswered, required questions included. Rows imported before are skipped.
    """
    survey = get_survey(survey_id, "edit_questionnaire")
    if not path.is_file():
        fail(_("%(file)s: no such file", file=path))
    try:
        total = count_rows(path, str(path))
        with click.progressbar(
            length=max(2 * total, 1),
            label=_("%(survey)s: importing", survey=survey_id),
            file=sys.stderr,
        ) as bar:
            result = import_responses(
                survey,
                path,
                name=str(path),
                allow_partial=allow_partial,
                progress=lambda n: bar.update(n - bar.pos),
            )
    except ImportFileError as exc:
        db.session.rollback()
        fail(str(exc))
    for problem in result.problems:
        click.echo(problem.describe(str(path)), err=True)
    if not result.applied:
        fail(
            _(
                "%(bad)s of %(rows)s rows are bad; nothing was imported (fix them, or give "
                "--allow-partial to import the good rows only)",
                bad=result.bad_rows,
                rows=result.rows,
            )
        )
    line = _(
        "%(survey)s: %(imported)s responses imported, %(duplicates)s already there",
        survey=survey_id,
        imported=result.imported,
        duplicates=result.duplicates,
    )
    if result.bad_rows:
        line += _(", %(bad)s bad rows left out (listed above)", bad=result.bad_rows)
    click.echo(line)
