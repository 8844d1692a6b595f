"""The page form: CSRF and the posted answers of one page, read through WTForms.

Answers are checked by the questionnaire's kinds (:mod:`questionnaires.answers`), the
same code the JSON API and the import use; the form only carries them in. Each page's
form class is built once per questionnaire version and page, then reused.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField

from questionnaires import Page, Questionnaire
from questionnaires.kinds import Problem

FIELD_PREFIX = "q_"

MESSAGES = {
    "required": _l("Please answer this question."),
    "range": _l("Please choose one of the points from %(min)s to %(max)s."),
    "choice": _l("Not a valid choice."),
    "length": _l("Please write at most %(max)s characters."),
    "format": _l("This answer has the wrong form."),
}


def message(problem: Problem) -> str:
    """A problem with an answer in the page's language."""
    return (
        str(MESSAGES[problem.code]) % problem.params
        if problem.params
        else str(MESSAGES[problem.code])
    )


def field_name(slot_name: str) -> str:
    """Form field names are prefixed so that no column can shadow a Form attribute."""
    return FIELD_PREFIX + slot_name


class AnswerField(Field):
    """The posted values of one answer, as given (a list of strings); rendered by the
    kind's template, checked by the kind."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = [v for v in valuelist if isinstance(v, str)]

    def process_data(self, value: Any) -> None:
        self.data = list(value or [])


class PageForm(FlaskForm):
    """Base class of the page forms: ``rk`` the signed response key, ``page``, ``nav``;
    each page's class adds its answer fields. The form reads a posted page; the page
    itself writes its few hidden inputs (``surveys/page.html``) and the kinds'
    templates its answers, without building a form.
    """

    rk = HiddenField()
    page = HiddenField()
    nav = HiddenField()
    page_def: Page

    class Meta:
        def get_translations(self, form: Any) -> None:
            # WTForms' own messages are never shown (a bad form is a 400 page of ours,
            # answers are checked by the kinds), so its catalogue is not loaded, which
            # Flask-WTF would otherwise do on every request to translate field labels.
            return None

    def raw(self) -> dict[str, list[str]]:
        """Slot -> posted values, for :func:`questionnaires.answers.check_slots`."""
        return {slot.name: self[field_name(slot.name)].data or [] for slot in self.page_def.slots}


_FORMS: dict[tuple[str, frozenset[str], int], type[PageForm]] = {}


def page_form_class(
    sha256: str, q: Questionnaire, preset: frozenset[str], number: int
) -> type[PageForm]:
    """The form class of page ``number`` of questionnaire text ``sha256`` for a customer
    with ``preset`` slots (built once: making form classes is most of a form's cost)."""
    key = (sha256, preset, number)
    form = _FORMS.get(key)
    if form is None:
        page = q.pages_for(preset)[number - 1]
        attrs: dict[str, Any] = {"page_def": page}
        for slot in page.slots:
            attrs[field_name(slot.name)] = AnswerField()
        form = type(f"Page{number}Form", (PageForm,), attrs)
        if len(_FORMS) > 4096:
            _FORMS.clear()
        _FORMS[key] = form
    return form
