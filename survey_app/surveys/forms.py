"""WTForms forms built from the questionnaire, one class per page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from questionnaires import Column, Item, Page, Questionnaire, translate

FIELD_PREFIX = "q_"


def field_name(column_name: str) -> str:
    """Form field names are prefixed so that no column can shadow a Form attribute."""
    return FIELD_PREFIX + column_name


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Shown:
    """Validate an item only when its show-if condition holds; then apply ``required``.

    The condition reads the answers stored on earlier pages and those of this form, so a
    value posted for a hidden item is ignored rather than stored.
    """

    def __init__(self, item: Item, required: bool) -> None:
        self.item = item
        self.required = required
        self.field_flags = {"required": True} if required else {}

    def __call__(self, form: PageForm, field: Field) -> None:
        if self.item.show_if is not None and not self.item.show_if.holds(form.answers_so_far()):
            field.errors[:] = []
            field.data = [] if isinstance(field, SelectMultipleField) else None
            raise StopValidation()
        if self.required:
            message = _l("Please answer this question.")
            if isinstance(field, SelectMultipleField):
                if not field.data:
                    raise StopValidation(message)
                return
            InputRequired(message=message)(form, field)
        else:
            Optional()(form, field)


class ScaleField(RadioField):
    """A radio group of scale points whose errors name the allowed range."""

    def __init__(self, label: str, scale, **kwargs: Any) -> None:
        choices = [SelectChoice(v, str(v)) for v in scale.values]
        super().__init__(label, choices=choices, coerce=int, **kwargs)
        self.scale = scale

    def out_of_range(self) -> str:
        return _l(
            "Please choose one of the points from %(min)s to %(max)s.",
            min=self.scale.min,
            max=self.scale.max,
        )

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            try:
                self.data = int(valuelist[0])
            except ValueError:
                self.data = None
                raise ValueError(self.out_of_range()) from None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in self.scale.values:
            raise ValidationError(self.out_of_range())


class MaxChoices:
    def __call__(self, form: PageForm, field: Field) -> None:
        valid = {choice.value for choice in field.choices}
        if any(v not in valid for v in field.data or ()):
            raise ValidationError(_l("Not a valid choice."))


class PageForm(FlaskForm):
    """Base class of the generated page forms."""

    rk = HiddenField()  # the response key: makes a replayed first submission idempotent
    page = HiddenField()

    questionnaire: Questionnaire
    page_def: Page
    prior: Mapping[str, Any]

    def columns(self) -> list[Column]:
        return [c for item in self.page_def.items for c in self.questionnaire.columns_of(item)]

    def answers(self) -> dict[str, Any]:
        """This page's answers as column -> canonical value (``None`` where unanswered)."""
        result: dict[str, Any] = {}
        for column in self.columns():
            if column.kind == "option":
                chosen = self.field_of(column).data or []
                shown = bool(chosen) or self.shown(column.item)
                result[column.name] = (1 if column.choice.id in chosen else 0) if shown else None
            else:
                value = self.field_of(column).data
                if column.kind == "text":
                    value = (value or "").strip() or None
                result[column.name] = value if value not in ("", []) else None
        return result

    def valid_answers(self) -> dict[str, Any]:
        """The answers of the fields that passed validation (to keep a partial page)."""
        answers = self.answers()
        return {
            c.name: answers[c.name]
            for c in self.columns()
            if not self.field_of(c).errors and answers[c.name] is not None
        }

    def answers_so_far(self) -> dict[str, Any]:
        merged = dict(self.prior)
        for column in self.columns():
            if column.kind in ("scale", "nps", "single"):
                merged[column.name] = self[field_name(column.name)].data
        return merged

    def shown(self, item: Item) -> bool:
        return item.show_if is None or item.show_if.holds(self.answers_so_far())

    def field_of(self, column: Column) -> Field:
        """The field holding ``column``: its own, or its multiple-choice item's."""
        name = self.base_name(column) if column.kind == "option" else column.name
        return self[field_name(name)]

    def base_name(self, column: Column) -> str:
        return self.questionnaire.column_name(column.item, column.measure)


def initial_data(q: Questionnaire, page: Page, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Field data that shows ``answers`` (column -> value) on the fields of ``page``."""
    data: dict[str, Any] = {}
    for item in page.items:
        for column in q.columns_of(item):
            if column.kind == "option":
                chosen = data.setdefault(field_name(q.column_name(item, column.measure)), [])
                if answers.get(column.name) == 1:
                    chosen.append(column.choice.id)
            else:
                data[field_name(column.name)] = answers.get(column.name)
    return data


def make_page_form(
    q: Questionnaire, page: Page, lang: str, prior: Mapping[str, Any]
) -> type[PageForm]:
    """Build the form class of one page; ``prior`` holds the answers stored so far."""
    attrs: dict[str, Any] = {"questionnaire": q, "page_def": page, "prior": dict(prior)}
    for item in page.items:
        for column in q.columns_of(item):
            if column.kind == "option":
                name = q.column_name(column.item, column.measure)
                if field_name(name) not in attrs:
                    attrs[field_name(name)] = _field(item, lang, translate(item.text, lang))
            else:
                label = translate(item.text, lang)
                if column.measure is not None and len(q.measures) > 1:
                    label = f"{label} ({translate(column.measure.title, lang)})"
                attrs[field_name(column.name)] = _field(item, lang, label)
    return type(f"Page{page.number}Form", (PageForm,), attrs)


def _field(item: Item, lang: str, label: str) -> Field:
    shown = Shown(item, item.required)
    if item.kind in ("scale", "nps"):
        return ScaleField(label, item.scale, validators=[shown])
    choices = [SelectChoice(c.id, translate(c.title, lang)) for c in item.choices]
    if item.kind == "single":
        return RadioField(label, choices=choices, validators=[shown])
    if item.kind == "multiple":
        return MultiCheckboxField(
            label, choices=choices, validators=[shown, MaxChoices()], validate_choice=False
        )
    return TextAreaField(label, validators=[shown, Length(max=item.max_length)])
