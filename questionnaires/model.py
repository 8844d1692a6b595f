"""The typed, frozen model of a questionnaire.

A questionnaire file is read once by :mod:`questionnaires.loader` into these classes;
forms, storage, exports, analysis and charts all read the same object, so ids, texts,
scales and reverse keying are defined in exactly one place: the YAML file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from .settings import AnalysisSettings

Text = Mapping[str, str]
"""A translated text: language code -> text."""

ItemKind = Literal["scale", "nps", "single", "multiple", "text"]
SectionKind = Literal["dimension", "outcome", "questions", "segments"]
MeasureRole = Literal["expectation", "perception", "adequate", "desired"]

MEASURE_ROLES: tuple[str, ...] = ("expectation", "perception", "adequate", "desired")
OUTCOME_ROLES: tuple[str, ...] = (
    "satisfaction",
    "loyalty",
    "repurchase",
    "recommendation",
    "word_of_mouth",
    "complaint",
    "value",
    "trust",
    "other",
)
NPS_SCALE_MIN, NPS_SCALE_MAX = 0, 10


def translate(text: Text, lang: str, fallback: str = "en") -> str:
    """Return ``text`` in ``lang``, else in ``fallback``, else in any language it has."""
    if lang in text:
        return text[lang]
    if fallback in text:
        return text[fallback]
    return next(iter(text.values()), "")


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    labels: Mapping[int, Text] = field(default_factory=dict)

    @property
    def values(self) -> range:
        return range(self.min, self.max + 1)

    def reverse(self, value: float) -> float:
        """Recode a reverse-keyed answer: ``min + max - value``."""
        return self.min + self.max - value


NPS_SCALE = Scale(NPS_SCALE_MIN, NPS_SCALE_MAX)


@dataclass(frozen=True)
class Choice:
    id: str
    code: int  # 1-based position, the number stored and exported to SPSS/Stata
    title: Text


@dataclass(frozen=True)
class Condition:
    """Show an item only when an earlier answer meets this condition.

    ``column`` is a wide column name (``P_TA1``, ``NPS``, ``tier``). Exactly one of
    ``equals``, ``in_`` or a ``min``/``max`` bound is set. An unanswered column never
    meets a condition.
    """

    column: str
    equals: Any = None
    in_: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None

    def holds(self, answers: Mapping[str, Any]) -> bool:
        value = answers.get(self.column)
        if value is None:
            return False
        if self.in_ is not None:
            return value in self.in_
        if self.equals is not None:
            return value == self.equals
        if self.min is not None and value < self.min:
            return False
        return not (self.max is not None and value > self.max)


@dataclass(frozen=True)
class Item:
    id: str
    text: Text
    kind: ItemKind
    required: bool
    scale: Scale | None = None  # scale and nps items
    choices: tuple[Choice, ...] = ()  # single and multiple items
    reverse: bool = False
    show_if: Condition | None = None
    max_length: int = 2000  # text items
    line: int = 0  # where the item is defined, for messages
    role: str | None = None  # segments: "wave" marks the survey wave

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(frozen=True)
class Measure:
    id: str
    role: MeasureRole
    title: Text


@dataclass(frozen=True)
class Section:
    """A titled group of items shown together: a dimension, an outcome, extra questions."""

    id: str
    kind: SectionKind
    title: Text
    items: tuple[Item, ...]
    role: str | None = None  # outcomes: satisfaction, loyalty, ...


ColumnKind = Literal["scale", "nps", "single", "option", "text"]


@dataclass(frozen=True)
class Column:
    """One column of the wide data frame, the database layer and every export."""

    name: str
    kind: ColumnKind
    item: Item
    section: Section
    measure: Measure | None = None
    choice: Choice | None = None  # the option of a multiple-choice item

    @property
    def numeric(self) -> bool:
        """Whether the answer is stored as a small integer (everything but open text)."""
        return self.kind != "text"


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    sections: tuple[Section, ...]  # each holding the items shown on this page

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)


@dataclass(frozen=True)
class Questionnaire:
    id: str
    title: Text
    languages: tuple[str, ...]
    scale: Scale
    measures: tuple[Measure, ...]
    dimensions: tuple[Section, ...]
    outcomes: tuple[Section, ...]
    questions: tuple[Section, ...]
    segments: tuple[Section, ...]
    intro: Text | None = None
    access: Literal["open", "invitation"] = "open"
    page_size: int = 8
    source: str = ""  # the file it was read from
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)

    # -- structure ---------------------------------------------------------------
    @cached_property
    def sections(self) -> tuple[Section, ...]:
        return self.dimensions + self.outcomes + self.questions + self.segments

    @cached_property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    def measure_by_role(self, role: str) -> Measure | None:
        return next((m for m in self.measures if m.role == role), None)

    def column_name(self, item: Item, measure: Measure | None = None) -> str:
        """``<measure id>_<item id>`` when there is more than one measure, else the item id."""
        if measure is not None and len(self.measures) > 1:
            return f"{measure.id}_{item.id}"
        return item.id

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return _columns(self)

    @cached_property
    def numeric_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.numeric)

    @cached_property
    def text_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.numeric)

    def columns_of(self, item: Item) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.item is item)

    @cached_property
    def column_index(self) -> Mapping[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        return self.column_index[name]

    @cached_property
    def pages(self) -> tuple[Page, ...]:
        return _paginate(self)


def _item_measures(q: Questionnaire, section: Section) -> tuple[Measure | None, ...]:
    if section.kind == "dimension" and q.measures:
        return q.measures
    return (None,)


def _columns(q: Questionnaire) -> tuple[Column, ...]:
    columns: list[Column] = []
    for section in q.sections:
        for item in section.items:
            for measure in _item_measures(q, section):
                name = q.column_name(item, measure)
                if item.kind == "multiple":
                    columns.extend(
                        Column(f"{name}_{c.id}", "option", item, section, measure, c)
                        for c in item.choices
                    )
                else:
                    columns.append(Column(name, item.kind, item, section, measure))
    return tuple(columns)


def _paginate(q: Questionnaire) -> tuple[Page, ...]:
    """Pack whole sections into pages of at most ``page_size`` items, in order.

    A section longer than a page is split over several pages; a page is never empty.
    """
    pages: list[list[Section]] = [[]]
    used = 0
    for section in q.sections:
        items = section.items
        if used and used + len(items) > q.page_size:
            pages.append([])
            used = 0
        while len(items) > q.page_size:
            head, items = items[: q.page_size], items[q.page_size :]
            pages[-1].append(_replace_items(section, head))
            pages.append([])
        pages[-1].append(_replace_items(section, items))
        used += len(items)
    return tuple(Page(n, tuple(p)) for n, p in enumerate(pages, start=1) if p)


def _replace_items(section: Section, items: tuple[Item, ...]) -> Section:
    if items == section.items:
        return section
    return Section(section.id, section.kind, section.title, items, section.role)
