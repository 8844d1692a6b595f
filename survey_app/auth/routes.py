"""Signing in and out, and changing one's password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..extensions import db, limiter
from .forms import LoginForm, PasswordForm
from .policy import public, requires
from .services import AccountError, authenticate, normal_email, note_login, set_password

bp = Blueprint("auth", __name__)


def submitted_email() -> str:
    """The rate-limit key of a login: the email asked for, whether or not it exists."""
    return "login:" + normal_email(request.form.get("email", ""))[:254]


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=submitted_email)
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user)
            note_login(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")))
        email = normal_email(form.email.data)
        audit.record("login.failed", email, actor=email or "anonymous")
        db.session.commit()
        # the same page, status and text whether the email or the password was wrong
        return render_template("auth/login.html", form=form, failed=True)
    return render_template("auth/login.html", form=form, failed=False), (
        400 if request.method == "POST" else 200
    )


@bp.post("/logout")
@requires("account")
def logout():
    """Sign out (a POST with the CSRF token, so that no link can sign anyone out)."""
    audit.record("logout", current_user.email)
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/staff/password", methods=["GET", "POST"])
@requires("account")
def password():
    """Change one's own password (every other session ends)."""
    form = PasswordForm()
    if form.validate_on_submit():
        if authenticate(current_user.email, form.current.data) is None:
            form.current.errors.append(_("This is not your current password."))
        else:
            try:
                set_password(current_user, form.password.data)
            except AccountError as exc:
                form.password.errors.append(str(exc))
            else:
                db.session.commit()
                login_user(current_user)  # this session continues under the new version
                flash(_("Your password has been changed."))
                return redirect(url_for("admin.home"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form), status
