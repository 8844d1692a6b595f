"""Command-line interface: ``flask --app survey_app <command>``.

The command names and their output are an interface that scripts rely on.
"""

from __future__ import annotations

import csv
import logging
import sys
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from questionnaires import QuestionnaireError, load_questionnaire, translate
from questionnaires.loader import read_source

from .extensions import db
from .links import external_url
from .models import Survey

log = logging.getLogger(__name__)


def register_cli(app: Flask) -> None:
    for command in (init_db, load_questionnaire_command, seed_demo, surveys, invite, link):
        app.cli.add_command(command)


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def get_survey(survey_id: str) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        fail(f"no survey '{survey_id}'; load its questionnaire first")
    return survey


@click.command("init-db")
def init_db() -> None:
    """Create the database tables, or upgrade them to the newest schema."""
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("load-questionnaire")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--allow-incompatible",
    is_flag=True,
    help="Load a file that would read stored answers differently as a new version whose "
    "answers are kept apart from the earlier ones (default: refuse it).",
)
def load_questionnaire_command(paths: tuple[Path, ...], allow_incompatible: bool) -> None:
    """Load or reload questionnaire files; all of them, or none if any is refused."""
    from .surveys.services import store_questionnaire
    from .versions import check_reload

    loaded = []
    for path in paths:
        try:
            q = load_questionnaire(path)
            text = read_source(path)
        except QuestionnaireError as exc:
            fail(str(exc))
        loaded.append((q, text, path.name))
    ids = [q.id for q, _, _ in loaded]
    if len(set(ids)) != len(ids):
        fail("two files define the same questionnaire id")
    plans = []
    refused = False
    for q, text, name in loaded:
        survey = db.session.get(Survey, q.id)
        check = check_reload(survey, q)
        series = None
        if not check.compatible:
            click.echo(
                f"{q.id}: this version would read stored answers differently ({name}):", err=True
            )
            for affected in check.affected:
                click.echo(f"  {affected.describe()}", err=True)
            if allow_incompatible:
                series = survey.current.number + 1
            else:
                refused = True
        plans.append((q, text, name, series))
    if refused:
        fail(
            "refused: nothing was loaded. Keep the old definitions of these questions, or "
            "load with --allow-incompatible to start a new version whose answers are kept "
            "apart from the earlier ones"
        )
    results = [store_questionnaire(q, text, name, series=series) for q, text, name, series in plans]
    db.session.commit()
    for (q, _, name, series), (survey, added) in zip(plans, results, strict=True):
        state = f"version {survey.current.number}" if added else "unchanged"
        if series is not None and added:
            state += (
                " (a new series: answers given under earlier versions are analysed and "
                f"exported with --version {series - 1})"
            )
        click.echo(f"{q.id}: {state} ({name})")


@click.command("seed-demo")
@click.argument("survey_id")
@click.option(
    "--responses",
    "count",
    type=click.IntRange(1, 5_000_000),
    default=300,
    show_default=True,
    help="How many complete responses to add.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the survey has responses.")
def seed_demo(survey_id: str, count: int, seed: int, if_empty: bool) -> None:
    """Add realistic, correlated demo responses to a loaded survey."""
    from .demo import add_demo_responses

    survey = get_survey(survey_id)
    if if_empty and survey.response_count() > 0:
        click.echo(f"{survey_id}: has responses already, nothing added")
        return
    added = add_demo_responses(survey, count, seed=seed)
    click.echo(f"{survey_id}: {added} demo responses added")


@click.command("surveys")
def surveys() -> None:
    """One line per survey: id, title, number of complete responses (tab-separated)."""
    for survey in db.session.scalars(select(Survey).order_by(Survey.id)):
        title = translate(survey.questionnaire.title, "en")
        click.echo(f"{survey.id}\t{title}\t{survey.response_count()}")


def parse_settings(settings: tuple[str, ...]) -> dict[str, str]:
    values = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name.strip():
            fail(f"--set {setting!r}: write it as SEGMENT=CHOICE, for example tier=A")
        values[name.strip()] = value.strip()
    return values


def read_invitation_rows(path: Path, segments: set[str]) -> list[dict]:
    """One invitation per CSV row: a column per segment, optional ``email``, ``name``."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            unknown = [c for c in header if c not in segments | {"email", "name"}]
            if unknown:
                fail(
                    f"{path}, line 1: unknown column(s) {', '.join(unknown)}; the columns are "
                    f"segments ({', '.join(sorted(segments)) or 'none'}), email and name"
                )
            rows = []
            for line, record in enumerate(reader, start=2):
                if None in record:
                    fail(f"{path}, line {line}: more cells than columns")
                rows.append(
                    {
                        "line": line,
                        "segments": {k: v for k, v in record.items() if k in segments},
                        "email": (record.get("email") or "").strip(),
                        "name": (record.get("name") or "").strip(),
                    }
                )
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        fail(f"{path}: cannot read the CSV file: {exc}")
    if not rows:
        fail(f"{path}: no rows")
    return rows


@click.command("invite")
@click.argument("survey_id")
@click.option("--count", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="SEGMENT=CHOICE",
    help="A segment value the organisation knows (stored, not asked); repeatable.",
)
@click.option(
    "--from",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A CSV file: one invitation per row, a column per segment, optional email, name.",
)
@click.option("--base-url", help="Where the service is reachable (default: SURVEY_BASE_URL).")
def invite(
    survey_id: str,
    count: int,
    settings: tuple[str, ...],
    from_file: Path | None,
    base_url: str | None,
) -> None:
    """Create invitation tokens (one response each) and print their links."""
    from .surveys.services import check_segments, create_invitations

    survey = get_survey(survey_id)
    q = survey.questionnaire
    values = parse_settings(settings)
    rows = None
    if from_file is not None:
        segments = {item.id for section in q.segments for item in section.items}
        rows = read_invitation_rows(from_file, segments)
        for row in rows:
            try:
                row["segments"] = check_segments(q, {**values, **row["segments"]})
            except ValueError as exc:
                fail(f"{from_file}, line {row['line']}: {exc}")
    try:
        invitations = create_invitations(survey, count, segments=values, rows=rows)
    except ValueError as exc:
        fail(str(exc))
    db.session.commit()
    for invitation in invitations:
        click.echo(_link(base_url, survey_id, t=invitation.token))


@click.command("link")
@click.argument("survey_id")
@click.option("--set", "settings", multiple=True, metavar="SEGMENT=CHOICE", required=True)
@click.option("--base-url", help="Where the service is reachable (default: SURVEY_BASE_URL).")
def link(survey_id: str, settings: tuple[str, ...], base_url: str | None) -> None:
    """Print an open link whose segment values (a branch, a QR code) are signed."""
    from .surveys.services import check_segments, sign_segments

    survey = get_survey(survey_id)
    try:
        values = check_segments(survey.questionnaire, parse_settings(settings))
    except ValueError as exc:
        fail(str(exc))
    click.echo(_link(base_url, survey_id, s=sign_segments(survey_id, values)))


def _link(base_url: str | None, survey_id: str, **args: str) -> str:
    return external_url("surveys.take", base_url=base_url, survey_id=survey_id, **args)
