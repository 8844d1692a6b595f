"""Commands of follow-ups (for people and cron): the list, overdue notices, at-risk
customers and the monthly complaint report."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import g

from .. import mail
from ..cli import as_option, fail
from ..extensions import db
from .services import as_json, listing, notify_overdue


@click.command("followups")
@click.option("--unit", "unit_id", help="Only this unit's follow-ups.")
@click.option("--overdue", is_flag=True, help="Only those past their due time, not resolved.")
@click.option("--json", "as_json_flag", is_flag=True, help="A JSON list on stdout, nothing else.")
@click.option("--notify", is_flag=True, help="With --overdue: mail the owners of overdue cases.")
@as_option
def followups_command(unit_id: str | None, overdue: bool, as_json_flag: bool, notify: bool) -> None:
    """List follow-ups, overdue first, then by due time: one per line (id, customer_id,
    state, owner, due time, overdue), or with --json a list of objects."""
    if notify and not overdue:
        fail("--notify goes with --overdue")
    if unit_id:
        from ..customers.cli import unit_for

        unit_for(unit_id, "follow_up")
    user = getattr(g, "as_user", None)
    cases = listing(user, unit_id=unit_id, overdue_only=overdue)
    if notify:
        from ..customers.cli import check_mail

        check_mail()
        messages = notify_overdue(cases)
        from .. import audit

        audit.record("follow_ups.notify", unit_id or "", {"messages": messages})
        db.session.commit()
        sent, failed = mail.deliver_pending()
        click.echo(f"{messages} overdue notices queued, {sent} sent, {failed} failed", err=True)
    items = [as_json(case) for case in cases]
    if as_json_flag:
        click.echo(json.dumps(items, ensure_ascii=False, indent=1))
        return
    for item in items:
        click.echo(
            "\t".join(
                [
                    str(item["id"]),
                    item["customer_id"] or "-",
                    item["state"],
                    item["owner"] or "-",
                    item["due_at"],
                    "overdue" if item["overdue"] else "",
                ]
            ).rstrip()
        )
    if not items:
        click.echo("no follow-ups", err=True)


@click.command("at-risk")
@click.option("--unit", "unit_id", required=True)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write CSV here.")
@click.option(
    "--threshold",
    type=float,
    help="At risk when the latest score is at or below this (default: the follow-up condition).",
)
@click.option(
    "--drop",
    type=float,
    default=1.0,
    show_default=True,
    help="At risk when the score fell by at least this since the previous response.",
)
@click.option(
    "--silent-after",
    default="14d",
    show_default=True,
    help="An unanswered invitation counts once it is this old.",
)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@as_option
def at_risk_command(
    unit_id: str,
    out: Path | None,
    threshold: float | None,
    drop: float,
    silent_after: str,
    lang: str,
) -> None:
    """Customers at risk, ranked by value at risk (revenue x risk), as CSV with the
    columns customer_id, name, tier, revenue, risk, value_at_risk, reason."""
    from ..admin.services import csv_text
    from ..customers.cli import parse_after, unit_for
    from ..customers.risk import CSV_COLUMNS, at_risk, csv_rows

    unit_for(unit_id, "follow_up")
    user = getattr(g, "as_user", None)
    customers = None
    if user is not None and user.role == "agent":  # an agent: its own customers only
        from ..models import Customer

        customers = list(
            db.session.scalars(
                db.select(Customer).where(
                    Customer.unit_id == unit_id, Customer.account_manager_id == user.id
                )
            )
        )
    found = at_risk(
        unit_id,
        customers=customers,
        threshold=threshold,
        drop=drop,
        silent_after=parse_after(silent_after),
    )
    text = csv_text(list(CSV_COLUMNS), csv_rows(found, lang))
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc}")
    click.echo(f"{len(found)} customers at risk written to {out}")


@click.command("complaint-report")
@click.option("--unit", "unit_id", required=True)
@click.option("--month", required=True, help="YYYY-MM, in the unit's time zone.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True)
@as_option
def complaint_report_command(unit_id: str, month: str, out: Path) -> None:
    """Write the month's complaint report (one self-contained HTML file, Chinese and
    English): follow-ups by category, response and resolution times against the due
    time, overdue share, recurring issues, solutions from the closing notes."""
    from ..customers.cli import unit_for
    from .complaints import ReportError, build_report, render_report

    unit_for(unit_id, "follow_up")
    try:
        report = build_report(unit_id, month)
    except ReportError as exc:
        fail(str(exc))
    from .. import audit

    html = render_report(report)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        fail(f"{out}: cannot write: {exc}")
    audit.record("report.complaints", unit_id, {"month": month, "cases": report.count})
    db.session.commit()
    click.echo(f"{unit_id} {month}: {report.count} follow-ups, report written to {out}")


COMMANDS = (followups_command, at_risk_command, complaint_report_command)
