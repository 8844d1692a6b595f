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

from .kinds import KINDS, Kind
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
MAX_PAGE_ANSWERS = 14
"""No page asks more answers than this (a radio group, checkbox group or text box each)."""
DEFAULT_PAGE_ANSWERS = 12


def slot_name(item_id: str, measure_id: str | None, measure_count: int) -> str:
    """The one column-naming rule: ``<measure id>_<item id>`` when the questionnaire has
    more than one measure and the item is asked under one, else the item id.

    A multiple-choice item adds ``_<choice id>`` per option (see its kind).
    """
    if measure_id is not None and measure_count > 1:
        return f"{measure_id}_{item_id}"
    return item_id


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

    def reverse(self, value: Any) -> Any:
        """Recode a reverse-keyed answer (a number or an array): ``min + max - value``.

        The one place reverse keying is computed.
        """
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
        """Whether ``answers`` (column -> canonical value) meet the condition."""
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

    def mask(self, frame: Any) -> Any:
        """:meth:`holds` for every row of a wide DataFrame at once (a boolean array)."""
        import pandas as pd

        values = frame[self.column]
        answered = values.notna().to_numpy()
        if self.in_ is not None:
            return answered & values.isin(self.in_).to_numpy()
        if self.equals is not None:
            return answered & (values == self.equals).to_numpy()
        numeric = pd.to_numeric(values, errors="coerce").to_numpy()
        mask = answered.copy()
        if self.min is not None:
            mask &= numeric >= self.min
        if self.max is not None:
            mask &= numeric <= self.max
        return mask


@dataclass(frozen=True)
class FollowUpRule:
    """When a completed response needs a follow-up (the questionnaire's ``follow_up:``):
    any of the ``when`` conditions holds, or the ``complaint`` text is not empty.
    ``category`` names a choice question whose answer classifies the complaint."""

    when: tuple[Condition, ...] = ()
    complaint: str | None = None  # a text column
    category: str | None = None  # a single or multiple choice item id

    def reasons(self, answers: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Why ``answers`` (column -> canonical value) need a follow-up (empty: they do not)."""
        found: list[dict[str, Any]] = []
        for condition in self.when:
            if condition.holds(answers):
                reason: dict[str, Any] = {
                    "column": condition.column,
                    "value": answers.get(condition.column),
                }
                for name in ("equals", "min", "max"):
                    if getattr(condition, name) is not None:
                        reason[name] = getattr(condition, name)
                if condition.in_ is not None:
                    reason["in"] = list(condition.in_)
                found.append(reason)
        text = answers.get(self.complaint) if self.complaint else None
        if isinstance(text, str) and text.strip():
            found.append({"complaint": self.complaint})
        return found


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
    hidden: bool = False  # segments: never shown, set by an invitation, a link or default
    default: str | None = None  # segments: the choice stored when nothing else sets it
    line: int = 0  # where the item is defined, for messages
    role: str | None = None  # segments: "wave" marks the survey wave
    # Personal data (a name, a phone, free text that may identify): masked for staff
    # without the personal-data grant. Open text is personal unless declared otherwise.
    personal: bool = False

    @property
    def type(self) -> Kind:
        """The item's kind: everything that differs between question types."""
        return KINDS[self.kind]

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

    base: str = ""  # the answer slot (form field) holding this column

    @property
    def type(self) -> Kind:
        return self.item.type

    @property
    def numeric(self) -> bool:
        """Whether the answer is stored as a small integer (everything but open text)."""
        return self.item.type.numeric


@dataclass(frozen=True)
class ScoredScale:
    """Items scored together (a score is the mean of its items): a dimension under one
    measure, or an outcome. Not to be confused with :class:`Scale`, the points an answer
    is given on."""

    name: str  # named like a column: <measure id>_<dimension id> with several measures
    section: Section
    columns: tuple[str, ...]
    measure_role: str | None = None  # expectation, perception, ... for dimensions


def construct_names(
    measures: tuple[Measure, ...], dimensions: tuple[Section, ...], outcomes: tuple[Section, ...]
) -> dict[str, tuple[Section, Measure | None]]:
    """The construct ids a path model (``analysis: paths:``) may use: a dimension's id (its
    perception items), ``<measure id>_<dimension id>`` (another measure's), an outcome's id."""
    perception = next((m for m in measures if m.role == "perception"), None)
    names: dict[str, tuple[Section, Measure | None]] = {}
    for dim in dimensions:
        names[dim.id] = (dim, perception)
        for measure in measures:
            names[f"{measure.id}_{dim.id}"] = (dim, measure)
    for outcome in outcomes:
        names[outcome.id] = (outcome, None)
    return names


@dataclass(frozen=True)
class Slot:
    """One answer the customer gives: an item under one measure (one form field)."""

    name: str  # the column name of a single-column item; the prefix of option columns
    item: Item
    section: Section
    measure: Measure | None
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    sections: tuple[Section, ...]  # each holding the items shown on this page
    slots: tuple[Slot, ...] = ()  # the answers asked on this page, in order

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def answer_count(self) -> int:
        return len(self.slots)


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
    page_size: int = DEFAULT_PAGE_ANSWERS  # answers per page, at most MAX_PAGE_ANSWERS
    source: str = ""  # the file it was read from
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    # Responses are never linked to the customer an invitation was made for.
    anonymous: bool = False
    follow_up: FollowUpRule | None = None

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
        """The name of the answer slot of ``item`` under ``measure`` (:func:`slot_name`)."""
        return slot_name(item.id, measure.id if measure is not None else None, len(self.measures))

    @cached_property
    def slots(self) -> tuple[Slot, ...]:
        """Every answer slot, in questionnaire order."""
        return _slots(self)

    @cached_property
    def slot_index(self) -> Mapping[str, Slot]:
        return {s.name: s for s in self.slots}

    def slots_of(self, item: Item) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.item is item)

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return tuple(c for slot in self.slots for c in slot.columns)

    @cached_property
    def scales(self) -> tuple[ScoredScale, ...]:
        """Every set of items scored together: each dimension under each measure (named by
        the column rule, :func:`slot_name`), then each outcome."""
        result = []
        for dim in self.dimensions:
            for measure in self.measures or (None,):
                columns = tuple(self.column_name(item, measure) for item in dim.items)
                name = slot_name(dim.id, measure.id if measure else None, len(self.measures))
                role = measure.role if measure else "perception"
                result.append(ScoredScale(name, dim, columns, role))
        for outcome in self.outcomes:  # outcome items are scale items
            if outcome.items:
                result.append(ScoredScale(outcome.id, outcome, tuple(i.id for i in outcome.items)))
        return tuple(result)

    def construct_columns(self, construct: str) -> tuple[str, ...] | None:
        """The item columns measuring a construct of the path model (None: no such)."""
        found = construct_names(self.measures, self.dimensions, self.outcomes).get(construct)
        if found is None:
            return None
        section, measure = found
        return tuple(self.column_name(item, measure) for item in section.items)

    @cached_property
    def numeric_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.numeric)

    @cached_property
    def text_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.numeric)

    def columns_of(self, item: Item) -> tuple[Column, ...]:
        return tuple(c for slot in self.slots_of(item) for c in slot.columns)

    @cached_property
    def column_index(self) -> Mapping[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column:
        return self.column_index[name]

    @cached_property
    def pages(self) -> tuple[Page, ...]:
        """The pages of a customer for whom nothing is set in advance."""
        return self.pages_for(frozenset())

    def pages_for(self, preset: frozenset[str]) -> tuple[Page, ...]:
        """The pages of a customer whose answers to the ``preset`` slots are known already
        (segments set by an invitation or link): those, and hidden segments, are not asked.
        """
        cache: dict[frozenset[str], tuple[Page, ...]] = self.__dict__.setdefault("_pages_cache", {})
        if preset not in cache:
            cache[preset] = _paginate(self, preset)
        return cache[preset]

    @cached_property
    def hidden_slots(self) -> frozenset[str]:
        return frozenset(s.name for s in self.slots if s.item.hidden)

    def visible(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """``answers`` without those to items that their show-if condition hides."""
        result = dict(answers)
        for slot in self.slots:
            condition = slot.item.show_if
            if condition is not None and not condition.holds(result):
                for column in slot.columns:
                    result[column.name] = None
        return result


def _slots(q: Questionnaire) -> tuple[Slot, ...]:
    slots = []
    for section in q.sections:
        measures = q.measures if section.kind == "dimension" and q.measures else (None,)
        for item in section.items:
            for measure in measures:
                name = q.column_name(item, measure)
                columns = tuple(
                    Column(column, kind, item, section, measure, choice, name)
                    for column, kind, choice in item.type.column_specs(item, name)
                )
                slots.append(Slot(name, item, section, measure, columns))
    return tuple(slots)


def _paginate(q: Questionnaire, preset: frozenset[str]) -> tuple[Page, ...]:
    """Pack whole sections into pages of at most ``page_size`` answers, in order.

    An item is never split (an expectation/perception pair is two answers on one page);
    a section longer than a page is split between items; a page is never empty. Slots in
    ``preset`` and hidden segments are not asked, so they take no room.
    """
    skip = preset | q.hidden_slots
    asked: dict[int, list[Slot]] = {}
    for slot in q.slots:
        if slot.name not in skip:
            asked.setdefault(id(slot.item), []).append(slot)
    pages: list[list[tuple[Section, list[Item], list[Slot]]]] = [[]]
    used = 0
    for section in q.sections:
        for item in section.items:
            slots = asked.get(id(item))
            if not slots:
                continue
            size = len(slots)
            if used and used + size > q.page_size:
                pages.append([])
                used = 0
            if not pages[-1] or pages[-1][-1][0] is not section:
                # a new section starts on a new page if the whole of it does not fit here
                remaining = sum(len(asked.get(id(i), ())) for i in _from(section, item))
                if used and used + remaining > q.page_size:
                    pages.append([])
                    used = 0
                pages[-1].append((section, [], []))
            pages[-1][-1][1].append(item)
            pages[-1][-1][2].extend(slots)
            used += size
    return tuple(
        Page(
            number,
            tuple(_replace_items(section, tuple(items)) for section, items, _ in page),
            tuple(slot for _, _, slots in page for slot in slots),
        )
        for number, page in enumerate((p for p in pages if p), start=1)
    )


def _from(section: Section, item: Item) -> tuple[Item, ...]:
    index = next(i for i, it in enumerate(section.items) if it is item)
    return section.items[index:]


def _replace_items(section: Section, items: tuple[Item, ...]) -> Section:
    if items == section.items:
        return section
    return Section(section.id, section.kind, section.title, items, section.role)
