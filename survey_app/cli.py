"""Command-line interface: ``flask --app survey_app <command>``.

The command names and their output are an interface that scripts rely on.
"""

from __future__ import annotations

import csv
import functools
import logging
import os
import sys
from pathlib import Path

import click
from flask import Flask, g
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import select

from questionnaires import QuestionnaireError, translate
from questionnaires.loader import read_source

from . import audit
from .extensions import db
from .links import external_url
from .models import ROLES, Survey

log = logging.getLogger(__name__)


def register_cli(app: Flask) -> None:
    from .exports.cli import export_command, export_questionnaire
    from .imports.cli import import_responses_command
    from .reports.cli import report_command

    for command in (
        init_db,
        load_questionnaire_command,
        seed_demo,
        surveys,
        invite,
        link,
        create_unit_command,
        create_user_command,
        disable_user_command,
        audit_verify,
        demo_accounts,
        export_command,
        export_questionnaire,
        import_responses_command,
        report_command,
    ):
        app.cli.add_command(command)
    from .api.cli import COMMANDS as api_commands
    from .customers.cli import COMMANDS as customer_commands
    from .followups.cli import COMMANDS as followup_commands

    for command in (*customer_commands, *followup_commands):
        app.cli.add_command(command)
    for command in api_commands:
        app.cli.add_command(command)


def terminal_language() -> str:
    """The interface language of a command's messages: Chinese when the terminal's
    locale says so (the first of ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` that is set starts
    with ``zh``), else the default language."""
    from flask import current_app

    value = next(filter(None, map(os.environ.get, ("LC_ALL", "LC_MESSAGES", "LANG"))), "")
    return "zh" if value.lower().startswith("zh") else current_app.config["BABEL_DEFAULT_LOCALE"]


def localized(command):
    """Run a command with its messages in :func:`terminal_language` (put it under the
    click decorators)."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        with force_locale(terminal_language()):
            return command(*args, **kwargs)

    return run


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def get_survey(survey_id: str, permission: str | None = None) -> Survey:
    """The survey; with ``--as``, only one that account may use for ``permission``."""
    survey = db.session.get(Survey, survey_id)
    user = getattr(g, "as_user", None)
    if survey is not None and user is not None and permission is not None:
        from .auth.policy import may, sees_unit

        if not sees_unit(user, survey.unit_id):
            survey = None
        elif not may(user, permission):
            fail(f"{user.email} may not do this ({permission})")
    if survey is None:
        fail(f"no survey '{survey_id}'; load its questionnaire first")
    return survey


def as_option(command):
    """``--as EMAIL``: act as that account, with its rights; the audit log names it.
    Without it the command is the operator's (unrestricted, audited as the OS user)."""

    def set_actor(ctx: click.Context, param: click.Parameter, email: str | None) -> None:
        if not email:
            # the operator: forget an account named by an earlier command in this context
            g.pop("as_user", None)
            g.pop("actor", None)
            return
        from .auth.services import find_user

        user = find_user(email)
        if user is None or not user.active:
            fail(f"--as {email}: no active account with this email")
        g.as_user = user
        g.actor = user.email

    return click.option(
        "--as",
        "as_email",
        metavar="EMAIL",
        expose_value=False,
        callback=set_actor,
        help="Act as this account, with its rights (default: the operator, unrestricted).",
    )(command)


@click.command("init-db")
def init_db() -> None:
    """Create the database tables, or upgrade them to the newest schema."""
    upgrade()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("load-questionnaire")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--unit",
    help="The unit a new survey belongs to (default: the default unit; a reloaded survey "
    "keeps its unit).",
)
@click.option(
    "--allow-incompatible",
    is_flag=True,
    help="Load a file that would read stored answers differently as a new version whose "
    "answers are kept apart from the earlier ones (default: refuse it).",
)
@as_option
def load_questionnaire_command(
    paths: tuple[Path, ...], unit: str | None, allow_incompatible: bool
) -> None:
    """Load or reload questionnaire files; all of them, or none if any is refused."""
    from .surveys.loading import LoadRefused, apply_load, plan_load

    user = getattr(g, "as_user", None)
    plans = []
    for path in paths:
        try:
            plan = plan_load(read_source(path), path.name, unit, source=str(path))
        except (QuestionnaireError, LoadRefused) as exc:
            fail(f"{path}: {exc}" if isinstance(exc, LoadRefused) else str(exc))
        if user is not None:
            from .auth.policy import may, sees_unit

            if not (may(user, "edit_questionnaire") and sees_unit(user, plan.unit_id)):
                fail(f"{user.email} may not load questionnaires into unit {plan.unit_id}")
        plans.append(plan)
    ids = [p.q.id for p in plans]
    if len(set(ids)) != len(ids):
        fail("two files define the same questionnaire id")
    refused = False
    for plan in plans:
        if not plan.check.compatible:
            click.echo(
                f"{plan.q.id}: this version would read stored answers differently ({plan.name}):",
                err=True,
            )
            for affected in plan.check.affected:
                click.echo(f"  {affected.describe()}", err=True)
            refused = refused or not allow_incompatible
    if refused:
        fail(
            "refused: nothing was loaded. Keep the old definitions of these questions, or "
            "load with --allow-incompatible to start a new version whose answers are kept "
            "apart from the earlier ones"
        )
    results = [apply_load(plan, allow_incompatible=allow_incompatible) for plan in plans]
    db.session.commit()
    for plan, (survey, added, new_series) in zip(plans, results, strict=True):
        state = f"version {survey.current.number}" if added else "unchanged"
        if new_series and added:
            state += (
                " (a new series: answers given under earlier versions are analysed and "
                f"exported with --version {survey.current.number - 1})"
            )
        click.echo(f"{plan.q.id}: {state} ({plan.name})")


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
@click.option(
    "--customers",
    is_flag=True,
    help="One invitation per customer of the register (segments tier and region from it).",
)
@click.option(
    "--tier", type=click.Choice(["A", "B", "C"]), help="With --customers: only this tier."
)
@click.option(
    "--unit", "unit_id", help="With --customers: whose register (default: the survey's unit)."
)
@click.option("--send", is_flag=True, help="With --customers: mail each customer its link.")
@as_option
def invite(
    survey_id: str,
    count: int,
    settings: tuple[str, ...],
    from_file: Path | None,
    base_url: str | None,
    customers: bool,
    tier: str | None,
    unit_id: str | None,
    send: bool,
) -> None:
    """Create invitation tokens (one response each) and print their links."""
    from .surveys.services import check_segments, create_invitations

    survey = get_survey(survey_id, "invite")
    if customers:
        if settings or from_file:
            fail("--customers takes the segments from the register: no --set or --from")
        _invite_customers(survey, unit_id or survey.unit_id, tier, send, base_url)
        return
    if tier or unit_id or send:
        fail("--tier, --unit and --send go with --customers")
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
    audit.record("invitations.create", survey.id, {"count": len(invitations)})
    db.session.commit()
    for invitation in invitations:
        click.echo(_link(base_url, survey_id, t=invitation.token))


@click.command("link")
@click.argument("survey_id")
@click.option("--set", "settings", multiple=True, metavar="SEGMENT=CHOICE", required=True)
@click.option("--base-url", help="Where the service is reachable (default: SURVEY_BASE_URL).")
@as_option
def link(survey_id: str, settings: tuple[str, ...], base_url: str | None) -> None:
    """Print an open link whose segment values (a branch, a QR code) are signed."""
    from .surveys.services import check_segments, sign_segments

    survey = get_survey(survey_id, "invite")
    try:
        values = check_segments(survey.questionnaire, parse_settings(settings))
    except ValueError as exc:
        fail(str(exc))
    click.echo(_link(base_url, survey_id, s=sign_segments(survey_id, values)))


def _invite_customers(
    survey: Survey, unit_id: str, tier: str | None, send: bool, base_url: str | None
) -> None:
    from . import mail
    from .customers.cli import check_mail, unit_for
    from .customers.invitations import invite_customers, mail_invitations, survey_link
    from .customers.services import CustomerError

    unit_for(unit_id, "invite")
    if send:
        check_mail()
    try:
        invited = invite_customers(survey, unit_id, tier)
    except CustomerError as exc:
        fail(f"{exc}; nothing was created")
    counts = mail_invitations(survey, invited) if send else None
    db.session.commit()
    for item in invited:
        click.echo(survey_link(survey, item.invitation, base_url))
    if counts is not None:
        sent, failed = mail.deliver_pending()
        click.echo(
            f"{counts['queued']} mails queued, {sent} sent, {failed} failed; "
            f"{counts['no_email']} without email, {counts['suppressed']} unsubscribed",
            err=True,
        )
        if failed:
            fail(f"{failed} messages were not sent; they stay in the outbox (send-mail retries)")


def _link(base_url: str | None, survey_id: str, **args: str) -> str:
    return external_url("surveys.take", base_url=base_url, survey_id=survey_id, **args)


# -- accounts and units --------------------------------------------------------------------
@click.command("create-unit")
@click.argument("unit_id")
@click.option("--name", required=True, help="The unit's name, as staff pages show it.")
def create_unit_command(unit_id: str, name: str) -> None:
    """Create a business unit."""
    from .auth.services import AccountError, create_unit

    try:
        create_unit(unit_id, name)
    except AccountError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"unit {unit_id} created")


def read_password() -> str:
    """From a prompt on a terminal; else one line of standard input (for scripts)."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--unit", "units", multiple=True, help="A unit the account works in; repeatable.")
@click.option("--personal", is_flag=True, help="May see personal data (contact details, texts).")
def create_user_command(email: str, role: str, units: tuple[str, ...], personal: bool) -> None:
    """Create a staff account; the password is read from standard input."""
    from .auth.services import AccountError, create_user

    try:
        create_user(email, read_password(), role, units, personal)
    except AccountError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"account {email.strip().lower()} created ({role})")


@click.command("disable-user")
@click.argument("email")
def disable_user_command(email: str) -> None:
    """Disable an account at once (its sessions end), as the admin page's button does."""
    from .auth.services import disable_user, find_user

    user = find_user(email)
    if user is None:
        fail(f"no account {email}")
    disable_user(user)
    db.session.commit()
    click.echo(f"account {user.email} disabled")


@click.command("audit-verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 naming the first entry that does not match."""
    result = audit.verify()
    if not result.ok:
        fail(f"audit log entry {result.first_bad} does not match: {result.reason}")
    click.echo(f"audit log intact: {result.entries} entries")


@click.command("demo-accounts")
def demo_accounts() -> None:
    """Create (or give new random passwords to) one demo account per role, in the default
    unit, and print their logins. Only accounts of the reserved domain demo.invalid."""
    import secrets

    from .auth.services import create_user, find_user, set_password

    click.echo(f"Staff pages: {external_url('auth.login')}")
    for role in ROLES:
        email = f"{role.replace('_', '-')}@demo.invalid"
        password = secrets.token_urlsafe(12)
        user = find_user(email)
        if user is None:
            units = () if role in ("admin", "executive") else ("default",)
            create_user(email, password, role, units, personal=role in ("admin", "researcher"))
        else:
            set_password(user, password, reset=True)
        click.echo(f"  {role:<11} {email:<28} {password}")
    db.session.commit()
