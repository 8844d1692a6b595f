"""Sign-in and password forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import EqualTo, InputRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[InputRequired(), Length(max=1024)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[InputRequired()])
    password = PasswordField(
        _l("New password"), validators=[InputRequired(), Length(min=10, max=1024)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class ForgotForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[InputRequired(), Length(min=10, max=1024)]
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
