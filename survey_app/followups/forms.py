"""Forms of the follow-up pages (Flask-WTF: every POST carries a CSRF token)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from .services import ACTIONS, MAX_NOTE


class StepForm(FlaskForm):
    """One step of a case: the pressed button names the action."""

    action = StringField(validators=[InputRequired(), AnyOf(list(ACTIONS))])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])
    owner = SelectField(_l("New owner"), choices=[], validate_choice=False)


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    state = SelectField(_l("State"), validators=[Optional()], validate_choice=True)
    owner = StringField(_l("Owner"), validators=[Optional(), Length(max=254)])
    tier = SelectField(_l("Tier"), validators=[Optional()], validate_choice=True)
    unit = SelectField(_l("Unit"), validators=[Optional()], validate_choice=True)
