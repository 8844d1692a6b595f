"""Staff forms (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..models import ROLES


class UploadForm(FlaskForm):
    file = FileField(_l("Questionnaire file (YAML)"), validators=[FileRequired()])
    unit = SelectField(_l("Unit"), validators=[InputRequired()])
    open_now = BooleanField(_l("Open it at once"), default=True)


class ConfirmUploadForm(FlaskForm):
    """The second step: the checked text comes back with the operator's decision."""

    text = HiddenField(validators=[InputRequired(), Length(max=1024 * 1024)])
    name = HiddenField(validators=[InputRequired(), Length(max=255)])
    unit = HiddenField(validators=[InputRequired(), Length(max=63)])
    open_now = HiddenField()
    allow_incompatible = BooleanField(
        _l("Load it anyway as a new version whose answers are kept apart")
    )


class StateForm(FlaskForm):
    state = SelectField(
        _l("State"),
        choices=[
            SelectChoice("draft", _l("draft")),
            SelectChoice("open", _l("open")),
            SelectChoice("closed", _l("closed")),
        ],
    )
    opens_at = DateTimeLocalField(_l("Opens at (UTC)"), validators=[Optional()])
    closes_at = DateTimeLocalField(_l("Closes at (UTC)"), validators=[Optional()])


class InviteForm(FlaskForm):
    count = IntegerField(_l("How many"), default=1, validators=[NumberRange(1, 10_000)])
    # one optional select per segment is added by the view


class InviteFileForm(FlaskForm):
    file = FileField(
        _l("CSV file: a column per segment, optional email and name"), validators=[FileRequired()]
    )


class DeleteResponseForm(FlaskForm):
    reference = StringField(
        _l("Invitation token or response id"), validators=[InputRequired(), Length(max=64)]
    )


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[InputRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, r) for r in ROLES])
    units = SelectMultipleField(_l("Units"))
    personal = BooleanField(_l("May see personal data"))
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=10, max=1024)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[InputRequired(), Length(min=10, max=1024)]
    )


class ButtonForm(FlaskForm):
    """A form that is only a button (disable, enable...): the CSRF token is the content."""


class UnitForm(FlaskForm):
    id = StringField(_l("Unit id"), validators=[InputRequired(), Length(max=63)])
    name = StringField(_l("Name"), validators=[InputRequired(), Length(max=200)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    actor = StringField(_l("Who"), validators=[Optional(), Length(max=300)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=64)])
    target = StringField(_l("Target"), validators=[Optional(), Length(max=300)])
    since = DateTimeLocalField(_l("From"), validators=[Optional()])
    until = DateTimeLocalField(_l("To"), validators=[Optional()])
