"""Staff pages of API tokens: an account lists, makes and revokes its own tokens; an
admin sees and may revoke every account's."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from ..admin.forms import ButtonForm
from ..auth.policy import requires
from ..extensions import db
from .tokens import MAX_NAME, TokenError, create_token, revoke_token, tokens_for, visible_token

bp = Blueprint("tokens", __name__, url_prefix="/staff/tokens")


class NewTokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[Optional(), Length(max=MAX_NAME)])


def _list(form: NewTokenForm, made: str | None = None, status: int = 200):
    return render_template(
        "api/tokens.html",
        tokens=tokens_for(current_user),
        form=form,
        button=ButtonForm(formdata=None),
        made=made,
    ), status


@bp.get("/")
@requires("account")
def index():
    """The account's API tokens (an admin: everyone's)."""
    return _list(NewTokenForm(formdata=None))


@bp.post("/")
@requires("account")
def create():
    """Make a token for this account; it is shown once, on this page."""
    form = NewTokenForm()
    if not form.validate():
        return _list(form, status=422)
    try:
        _row, token = create_token(current_user, form.name.data or "")
    except TokenError as exc:
        db.session.rollback()
        flash(str(exc))
        return _list(form, status=422)
    db.session.commit()
    return _list(NewTokenForm(formdata=None), made=token, status=201)


@bp.post("/<int:token_id>/revoke")
@requires("account")
def revoke(token_id: int):
    """Revoke a token at once (audited)."""
    if not ButtonForm().validate():
        abort(400)
    row = visible_token(current_user, token_id)
    if row is None:
        abort(404)
    if revoke_token(row):
        db.session.commit()
        flash(_("The token was revoked."))
    return redirect(url_for(".index"))
