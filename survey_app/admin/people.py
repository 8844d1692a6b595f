"""Staff pages of accounts, units and the audit log."""

from __future__ import annotations

from datetime import UTC

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from ..auth.policy import may_grant, may_manage, requires, visible_units, within_units
from ..auth.services import (
    AccountError,
    create_unit,
    create_user,
    disable_user,
    enable_user,
    set_password,
    update_user,
)
from ..extensions import db
from ..models import ROLES, AuditEntry, Unit, User, user_unit
from . import bp
from .forms import AuditFilterForm, ButtonForm, ResetPasswordForm, UnitForm, UserForm


def manageable_users() -> list[User]:
    query = select(User).order_by(User.email)
    if visible_units(current_user) is not None:
        query = within_units(query.join(user_unit), current_user, user_unit.c.unit_id).distinct()
    return [u for u in db.session.scalars(query) if may_manage(current_user, u)]


def get_user_or_404(user_id: int) -> User:
    """An account this user may manage, or 404 (as if it did not exist)."""
    user = db.session.get(User, user_id)
    if user is None or not may_manage(current_user, user):
        abort(404)
    return user


def user_form(**kwargs) -> UserForm:
    form = UserForm(**kwargs)
    units = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    allowed = visible_units(current_user)
    form.units.choices = [
        SelectChoice(u.id, u.name) for u in units if allowed is None or u.id in allowed
    ]
    if current_user.role != "admin":
        form.role.choices = [
            SelectChoice(r, r) for r in ROLES if may_grant(current_user, r, allowed)
        ]
    return form


@bp.get("/users")
@requires("manage_users")
def users():
    """The accounts this user may manage."""
    return render_template("admin/users.html", users=manageable_users(), button=ButtonForm())


@bp.route("/users/new", methods=["GET", "POST"])
@requires("manage_users")
def new_user():
    """Create an account (an initial password is set here and told to its owner)."""
    form = user_form()
    if form.validate_on_submit():
        units = frozenset(form.units.data or [])
        if not may_grant(current_user, form.role.data, units):
            abort(403)
        try:
            if not form.password.data:
                raise AccountError(_("Give an initial password of at least 10 characters."))
            create_user(
                form.email.data, form.password.data, form.role.data, units, form.personal.data
            )
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The account %(email)s was created.", email=form.email.data.lower()))
            return redirect(url_for(".users"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/user.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires("manage_users")
def edit_user(user_id: int):
    """Change an account's role, units and personal-data grant (recorded)."""
    user = get_user_or_404(user_id)
    form = user_form(
        email=user.email,
        role=user.role,
        units=sorted(user.unit_ids),
        personal=user.personal,
        formdata=request.form if request.method == "POST" else None,
    )
    if request.method == "POST" and form.validate():
        units = frozenset(form.units.data or [])
        if not may_grant(current_user, form.role.data, units):
            abort(403)
        if user.id == current_user.id and form.role.data != user.role:
            form.role.errors.append(_("You cannot change your own role."))
        else:
            try:
                update_user(user, form.role.data, units, form.personal.data)
            except AccountError as exc:
                db.session.rollback()
                form.role.errors.append(str(exc))
            else:
                db.session.commit()
                flash(_("The account %(email)s was saved.", email=user.email))
                return redirect(url_for(".users"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/user.html",
        form=form,
        user=user,
        reset=ResetPasswordForm(formdata=None),
        button=ButtonForm(formdata=None),
    ), status


@bp.post("/users/<int:user_id>/password")
@requires("manage_users")
def reset_password(user_id: int):
    """Give an account a new password; its sessions end."""
    user = get_user_or_404(user_id)
    form = ResetPasswordForm()
    if not form.validate():
        abort(400, description=_("The new password needs at least 10 characters."))
    set_password(user, form.password.data, reset=True)
    db.session.commit()
    flash(_("The password of %(email)s was reset.", email=user.email))
    return redirect(url_for(".edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/disable")
@requires("manage_users")
def disable(user_id: int):
    """Freeze an account at once (a leaver): its sessions end on their next request."""
    user = get_user_or_404(user_id)
    ButtonForm().validate() or abort(400)
    if user.id == current_user.id:
        abort(400, description=_("You cannot disable your own account."))
    disable_user(user)
    db.session.commit()
    flash(_("The account %(email)s was disabled.", email=user.email))
    return redirect(url_for(".users"))


@bp.post("/users/<int:user_id>/enable")
@requires("manage_users")
def enable(user_id: int):
    """Let a disabled account sign in again."""
    user = get_user_or_404(user_id)
    ButtonForm().validate() or abort(400)
    enable_user(user)
    db.session.commit()
    return redirect(url_for(".users"))


@bp.route("/units", methods=["GET", "POST"])
@requires("manage_units")
def units():
    """The business units; create one."""
    form = UnitForm()
    if form.validate_on_submit():
        try:
            create_unit(form.id.data, form.name.data)
        except AccountError as exc:
            db.session.rollback()
            form.id.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The unit %(id)s was created.", id=form.id.data))
            return redirect(url_for(".units"))
    all_units = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    status = 422 if request.method == "POST" else 200
    return render_template("admin/units.html", form=form, units=all_units), status


@bp.get("/audit")
@requires("view_audit")
def audit_log():
    """The audit log, newest first, filtered by who, what, target and time."""
    form = AuditFilterForm(request.args)
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if form.validate():
        if form.actor.data:
            query = query.where(AuditEntry.actor.contains(form.actor.data.strip().lower()))
        if form.action.data:
            query = query.where(AuditEntry.action.startswith(form.action.data.strip()))
        if form.target.data:
            query = query.where(AuditEntry.target.contains(form.target.data.strip()))
        if form.since.data:
            query = query.where(AuditEntry.at >= form.since.data.replace(tzinfo=UTC))
        if form.until.data:
            query = query.where(AuditEntry.at <= form.until.data.replace(tzinfo=UTC))
    entries = db.session.scalars(query.limit(500)).all()
    return render_template("admin/audit.html", form=form, entries=entries)
