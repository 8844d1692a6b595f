"""Commands of the customer register: import customers and orders, tiers, unit settings,
invitations per customer, reminders and the mail outbox."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import g

from .. import mail
from ..cli import as_option, fail
from ..extensions import db
from ..models import TIERS
from .csvfile import ImportRefused
from .services import (
    CustomerError,
    find_customer,
    get_unit,
    import_customers,
    import_orders,
    parse_customers,
    parse_orders,
    set_tier,
    tier_customers,
    update_settings,
)


def unit_for(unit_id: str, permission: str) -> str:
    """The unit, checked against the ``--as`` account's units and rights."""
    try:
        get_unit(unit_id)
    except CustomerError as exc:
        fail(str(exc))
    user = getattr(g, "as_user", None)
    if user is not None:
        from ..auth.policy import may, sees_unit

        if not sees_unit(user, unit_id):
            fail(f"no unit {unit_id!r}")
        if not may(user, permission):
            fail(f"{user.email} may not do this ({permission})")
    return unit_id


def read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read the file: {exc}")


@click.command("import-customers")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--unit", "unit_id", required=True, help="The unit whose register this is.")
@as_option
def import_customers_command(path: Path, unit_id: str) -> None:
    """Import or update (by customer_id) a unit's customers from CSV: customer_id, name,
    region, account_manager (a staff email), email, phone, revenue[, lang][, tier]; other
    columns are kept as attributes. Nothing is imported if any row is bad."""
    unit_for(unit_id, "invite")
    try:
        rows = parse_customers(read_file(path), unit_id, str(path))
    except (ImportRefused, CustomerError) as exc:
        fail(str(exc))
    added, updated = import_customers(unit_id, rows, path.name)
    db.session.commit()
    click.echo(f"{unit_id}: {added} customers added, {updated} updated")


@click.command("import-orders")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--unit", "unit_id", required=True)
@as_option
def import_orders_command(path: Path, unit_id: str) -> None:
    """Import or update (by order_id, never twice) a unit's orders from CSV: order_id,
    customer_id, date (YYYY-MM-DD), amount."""
    unit_for(unit_id, "invite")
    try:
        rows = parse_orders(read_file(path), unit_id, str(path))
    except (ImportRefused, CustomerError) as exc:
        fail(str(exc))
    added, updated = import_orders(unit_id, rows, path.name)
    db.session.commit()
    click.echo(f"{unit_id}: {added} orders added, {updated} updated")


@click.command("tier-customers")
@click.option("--unit", "unit_id", required=True)
@click.option("--method", type=click.Choice(["abc", "rfm"]), default="abc", show_default=True)
@click.option(
    "--a-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.8,
    show_default=True,
    help="ABC: a customer is A while the revenue share of those ranked above it is under this.",
)
@click.option(
    "--b-share",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.95,
    show_default=True,
    help="ABC: ... and B while it is under this; C after.",
)
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="RFM: count recency to this day.")
@click.option("--override-manual", is_flag=True, help="Also regrade tiers that were set by hand.")
@as_option
def tier_customers_command(
    unit_id: str, method: str, a_share: float, b_share: float, as_of, override_manual: bool
) -> None:
    """Grade a unit's customers A/B/C: by cumulative revenue share (abc) or by RFM scores
    from the orders (rfm). Tiers set by hand are kept unless --override-manual."""
    unit_for(unit_id, "invite")
    try:
        counts = tier_customers(
            unit_id,
            method,
            a=a_share,
            b=b_share,
            today=as_of.date() if as_of else date.today(),
            keep_manual=not override_manual,
        )
    except (CustomerError, ValueError) as exc:
        fail(str(exc))
    db.session.commit()
    summary = ", ".join(f"{t}: {counts[t]}" for t in TIERS)
    click.echo(f"{unit_id}: {summary} ({method}; {counts['manual']} set by hand kept)")


@click.command("set-tier")
@click.argument("customer_id")
@click.argument("tier", type=click.Choice([*TIERS, "none"]))
@click.option("--unit", "unit_id", required=True)
@as_option
def set_tier_command(customer_id: str, tier: str, unit_id: str) -> None:
    """Set a customer's tier by hand (``none`` clears it); automatic tiering keeps it."""
    unit_for(unit_id, "invite")
    customer = find_customer(unit_id, customer_id)
    if customer is None:
        fail(f"no customer {customer_id!r} in unit {unit_id}")
    set_tier(customer, None if tier == "none" else tier)
    db.session.commit()
    click.echo(f"{customer_id}: tier {tier}")


@click.command("unit-settings")
@click.argument("unit_id")
@click.option("--zone", help="Time zone of the unit (default Asia/Shanghai).")
@click.option("--hours", "work_hours", help="Working hours, e.g. 09:00-12:00,13:00-17:00.")
@click.option(
    "--calendar",
    type=click.Choice(["cn", "weekdays"]),
    help="cn: Chinese public holidays and adjusted working days; weekdays: Monday to Friday.",
)
@click.option("--due-hours", type=float, help="Working hours a follow-up is due in (default 4).")
@click.option(
    "--default-agent",
    help="Email of the staff account that owns follow-ups of customers without an account manager.",
)
@click.option(
    "--lang",
    "default_lang",
    type=click.Choice(["en", "zh"]),
    help="Language of customers whose register row gives none.",
)
def unit_settings_command(unit_id: str, **options) -> None:
    """Show or change a unit's follow-up settings."""
    from .services import settings_of

    try:
        changed = update_settings(unit_id, **options)
    except CustomerError as exc:
        fail(str(exc))
    db.session.commit()
    s = settings_of(unit_id)
    agent = s.default_agent.email if s.default_agent else "-"
    click.echo(
        f"{unit_id}: zone {s.zone}, hours {s.work_hours}, calendar {s.calendar}, due in "
        f"{s.due_hours:g} working hours, default agent {agent}, language {s.default_lang}"
        + (f" (changed: {', '.join(sorted(changed))})" if changed else "")
    )


def parse_after(text: str):
    from .invitations import parse_duration

    try:
        return parse_duration(text)
    except CustomerError as exc:
        fail(str(exc))


@click.command("remind")
@click.argument("survey_id")
@click.option("--after", required=True, help="Remind those last contacted this long ago (3d).")
@click.option("--send", is_flag=True, help="Mail them (default: list them only).")
@as_option
def remind_command(survey_id: str, after: str, send: bool) -> None:
    """List (or with --send, mail) the invited customers who have not finished."""
    from ..cli import get_survey
    from .invitations import due_reminders, mail_invitations, survey_link

    survey = get_survey(survey_id, "invite")
    if survey.questionnaire.anonymous:
        fail(f"{survey_id} is anonymous: who has answered is not known, so no one is reminded")
    due = due_reminders(survey, parse_after(after))
    if not send:
        for item in due:
            click.echo(f"{item.customer.customer_id}\t{survey_link(survey, item.invitation)}")
        click.echo(f"{len(due)} to remind (add --send to mail them)", err=True)
        return
    check_mail()
    counts = mail_invitations(survey, due, reminder=True)
    from .. import audit

    audit.record("invitations.remind", survey.id, counts)
    db.session.commit()
    sent, failed = mail.deliver_pending()
    click.echo(
        f"{survey_id}: {counts['queued']} reminders queued, {sent} sent, {failed} failed; "
        f"{counts['no_email']} without email, {counts['suppressed']} unsubscribed"
    )
    if failed:
        fail(f"{failed} messages were not sent; they stay in the outbox (send-mail retries)")


def check_mail() -> None:
    if not mail.configured():
        fail("mail is not configured: set MAIL_SERVER (and MAIL_PORT, MAIL_FROM)")


@click.command("send-mail")
def send_mail_command() -> None:
    """Send the messages waiting in the outbox (for cron: retries failed ones)."""
    check_mail()
    sent, failed = mail.deliver_pending()
    click.echo(f"{sent} sent, {failed} failed")
    if failed:
        fail(f"{failed} messages were not sent; they stay in the outbox")


COMMANDS = (
    import_customers_command,
    import_orders_command,
    tier_customers_command,
    set_tier_command,
    unit_settings_command,
    remind_command,
    send_mail_command,
)
