"""``flask export`` and ``flask export-questionnaire``: the command-line face of the
exports (the same code path as the staff page and the API)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import g
from flask_babel import gettext as _

from .. import audit
from ..auth.policy import sees_personal
from ..cli import as_option, fail, get_survey, localized
from ..extensions import db
from ..storage import version_numbers
from .options import FORMATS, LAYOUTS, ExportError, make_options
from .services import audit_export, plan_export, write_export


@click.command("export")
@click.argument("survey_id")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS), help="File format.")
@click.option(
    "--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="The file."
)
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="wide",
    show_default=True,
    help="wide: one row per response; long: one row per answer.",
)
@click.option("--all", "include_incomplete", is_flag=True, help="Incomplete responses too.")
@click.option("--from", "since", metavar="DATE", help="Completed on or after this day (UTC).")
@click.option("--to", "until", metavar="DATE", help="Completed on or before this day (UTC).")
@click.option(
    "--where", multiple=True, metavar="SEGMENT=CHOICE", help="Only these responses; repeatable."
)
@click.option(
    "--reverse-coded", is_flag=True, help="Reverse-keyed items recoded (default: raw answers)."
)
@click.option("--scores", is_flag=True, help="Add dimension, outcome and gap scores.")
@click.option("--bom", is_flag=True, help="CSV for Excel: a byte-order mark, formulas defused.")
@click.option("--lang", help="Language of labels (default: the questionnaire's first).")
@click.option(
    "--version",
    type=int,
    help="The questionnaire version (and the versions compatible with it); default: the "
    "current one. Answers of incompatible versions are exported only this way.",
)
@click.option(
    "--missing-code",
    type=int,
    help="SPSS/Stata: store unanswered as this code, declared as missing (default: "
    "system-missing).",
)
@as_option
@localized
def export_command(
    survey_id: str,
    fmt: str,
    out: Path,
    layout: str,
    include_incomplete: bool,
    since: str | None,
    until: str | None,
    where: tuple[str, ...],
    reverse_coded: bool,
    scores: bool,
    bom: bool,
    lang: str | None,
    version: int | None,
    missing_code: int | None,
) -> None:
    """Export a survey's responses (or its codebook) to a file."""
    survey = get_survey(survey_id, "export")
    user = getattr(g, "as_user", None)
    try:
        options = make_options(
            survey.questionnaire,
            fmt,
            where=where,
            since=since,
            until=until,
            version=version,
            include_incomplete=include_incomplete,
            layout=layout,
            reverse_coded=reverse_coded,
            scores=scores,
            bom=bom,
            lang=lang,
            missing_code=missing_code,
        )
        plan = plan_export(survey, options, personal=user is None or sees_personal(user))
    except ExportError as exc:
        fail(str(exc))
    audit_export(plan, file=str(out))
    db.session.commit()
    try:
        with click.progressbar(
            length=max(plan.total, 1),
            label=_("%(survey)s: exporting", survey=survey_id),
            file=sys.stderr,
        ) as bar:
            rows = write_export(plan, out, progress=lambda read: bar.update(read - bar.pos))
    except (ExportError, OSError) as exc:
        fail(f"{out}: {exc}" if isinstance(exc, OSError) else str(exc))
    if options.codebook:
        done = _(
            "%(survey)s: %(rows)s columns written to %(file)s (%(format)s, version %(version)s)"
        )
    elif layout == "long":
        done = _(
            "%(survey)s: %(rows)s answers written to %(file)s (%(format)s, version %(version)s)"
        )
    else:
        done = _(
            "%(survey)s: %(rows)s responses written to %(file)s (%(format)s, version %(version)s)"
        )
    click.echo(
        done
        % {"survey": survey_id, "rows": rows, "file": out, "format": fmt, "version": plan.version}
    )


@click.command("export-questionnaire")
@click.argument("survey_id")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--version", type=int, help="The version (default: the current one).")
@as_option
@localized
def export_questionnaire(survey_id: str, out: Path, version: int | None) -> None:
    """Write a survey's questionnaire file back, exactly as it was loaded."""
    survey = get_survey(survey_id, "view_surveys")
    chosen = survey.current if version is None else survey.version(version)
    if chosen is None:
        numbers = ", ".join(map(str, version_numbers(survey.id)))
        fail(
            _(
                "survey %(survey)s has no version %(version)s (versions: %(versions)s)",
                survey=survey_id,
                version=version,
                versions=numbers,
            )
        )
    try:
        with out.open("w", encoding="utf-8", newline="") as handle:
            handle.write(chosen.source_text)
    except OSError as exc:
        fail(f"{out}: {exc}")
    audit.record("questionnaire.export", survey.id, {"version": chosen.number, "file": str(out)})
    db.session.commit()
    click.echo(
        _(
            "%(survey)s: version %(version)s written to %(file)s",
            survey=survey_id,
            version=chosen.number,
            file=out,
        )
    )
