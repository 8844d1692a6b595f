"""``flask create-token``, ``flask tokens`` and ``flask revoke-token``: personal API
tokens from the command line (audited as the operating-system user, or ``--as``)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..auth.services import find_user
from ..cli import fail
from ..extensions import db
from .tokens import TokenError, create_token, revoke_token, tokens_for, visible_token


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for (shown on the staff page).")
@with_appcontext
def create_token_command(email: str, name: str) -> None:
    """Make a personal API token for the account EMAIL; print it alone on the last line
    (it is stored hashed and cannot be shown again)."""
    user = find_user(email)
    if user is None:
        fail(f"no account {email}")
    try:
        row, token = create_token(user, name)
    except TokenError as exc:
        fail(str(exc))
    db.session.commit()
    click.echo(f"token {row.id} ({row.name}) for {user.email}; keep it secret:")
    click.echo(token)


@click.command("tokens")
@click.argument("email")
@with_appcontext
def list_tokens_command(email: str) -> None:
    """List the API tokens of the account EMAIL (an admin's: every account's)."""
    user = find_user(email)
    if user is None:
        fail(f"no account {email}")
    for row in tokens_for(user):
        state = "active" if row.active else "revoked"
        used = row.last_used_at.isoformat() if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.user.email}\t{row.name}\t{row.prefix}...\t{state}\t{used}")


@click.command("revoke-token")
@click.argument("email")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(email: str, token_id: int) -> None:
    """Revoke the API token TOKEN_ID of the account EMAIL (or any, for an admin's EMAIL)."""
    user = find_user(email)
    row = visible_token(user, token_id) if user is not None else None
    if row is None:
        fail(f"no token {token_id} of {email}")
    if revoke_token(row):
        db.session.commit()
        click.echo(f"token {token_id} revoked")
    else:
        click.echo(f"token {token_id} was revoked already")


COMMANDS = (create_token_command, list_tokens_command, revoke_token_command)
