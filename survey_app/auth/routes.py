"""Signing in and out, and changing one's password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from .. import audit
from ..extensions import db, limiter
from .forms import ForgotForm, LoginForm, PasswordForm, ResetForm
from .policy import public, requires
from .services import (
    AccountError,
    authenticate,
    normal_email,
    note_login,
    request_reset,
    set_password,
    user_for_reset,
)

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


def forgot_email() -> str:
    """The rate-limit key of a reset request: the email asked for, existing or not."""
    return "forgot:" + normal_email(request.form.get("email", ""))[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit("5 per minute", methods=["POST"])
@limiter.limit("3 per minute", methods=["POST"], key_func=forgot_email)
def forgot_password():
    """Ask for a reset link by mail: the same page whether or not the email has an account."""
    from .. import mail

    form = ForgotForm()
    if not mail.configured():
        return render_template("auth/forgot.html", form=form, available=False, sent=False)
    if form.validate_on_submit():
        request_reset(form.email.data)
        db.session.commit()
        mail.flush_if_queued()  # in the background: no timing difference either way
        return render_template("auth/forgot.html", form=form, available=True, sent=True)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form, available=True, sent=False), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str):
    """Choose a new password with an e-mailed link (once, before it expires)."""
    from flask import abort, current_app

    user = user_for_reset(token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    if user is None:
        abort(404, description=_("This link is not valid: it has expired or was used already."))
    form = ResetForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data, reset=True)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            audit.record("user.password_reset_link", user.email, actor=user.email)
            db.session.commit()
            flash(_("Your password has been changed. Please sign in."))
            return redirect(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/reset.html", form=form), status
