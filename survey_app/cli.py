"""Command-line interface: ``flask --app survey_app <command>``.

The command names and their output are an interface that scripts rely on.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from questionnaires import QuestionnaireError, load_questionnaire, translate

from .extensions import db
from .models import Survey

log = logging.getLogger(__name__)


def register_cli(app: Flask) -> None:
    for command in (init_db, load_questionnaire_command, seed_demo, surveys, invite):
        app.cli.add_command(command)


@click.command("init-db")
def init_db() -> None:
    """Create the database tables, or upgrade them to the newest schema."""
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("load-questionnaire")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def load_questionnaire_command(paths: tuple[Path, ...]) -> None:
    """Load or reload questionnaire files; all of them, or none if any is malformed."""
    from .surveys.services import store_questionnaire

    loaded = []
    for path in paths:
        try:
            q = load_questionnaire(path)
        except QuestionnaireError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        loaded.append((q, path.read_text(encoding="utf-8"), path.name))
    ids = [q.id for q, _, _ in loaded]
    if len(set(ids)) != len(ids):
        click.echo("error: two files define the same questionnaire id", err=True)
        sys.exit(1)
    results = [store_questionnaire(q, text, name) for q, text, name in loaded]
    db.session.commit()
    for (q, _, name), (survey, added) in zip(loaded, results, strict=True):
        state = f"version {survey.current.number}" if added else "unchanged"
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

    survey = db.session.get(Survey, survey_id)
    if survey is None:
        click.echo(f"error: no survey '{survey_id}'; load its questionnaire first", err=True)
        sys.exit(1)
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


@click.command("invite")
@click.argument("survey_id")
@click.option("--count", type=click.IntRange(1, 100_000), default=1, show_default=True)
@click.option(
    "--base-url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the service is reachable, for the printed links.",
)
def invite(survey_id: str, count: int, base_url: str) -> None:
    """Create invitation tokens (one response each) and print their links."""
    from .surveys.services import create_invitations

    survey = db.session.get(Survey, survey_id)
    if survey is None:
        click.echo(f"error: no survey '{survey_id}'", err=True)
        sys.exit(1)
    invitations = create_invitations(survey, count)
    db.session.commit()
    for invitation in invitations:
        click.echo(f"{base_url.rstrip('/')}/s/{survey_id}?t={invitation.token}")
