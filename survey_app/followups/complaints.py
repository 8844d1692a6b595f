"""The monthly complaint report of a unit: the month's follow-ups classified, how fast
they were answered and resolved against their due time, what recurs from the previous
month, and the solutions from the closing notes.

Categories come from the questionnaire's own choice question (``follow_up.category``)
where it has one, and from keywords of the complaint texts (jieba's TF-IDF keywords,
which handle Chinese and English). The report quotes no complaint text (it is personal
data); it shows categories, keywords, times and the staff's closing notes.
"""

from __future__ import annotations

import logging
import re
import statistics
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup
from sqlalchemy import select

from questionnaires import translate

from ..extensions import db
from ..models import FollowUp, Response, Unit, aware, utcnow
from .services import complaint_text

log = logging.getLogger(__name__)
KEYWORDS_PER_TEXT = 3
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class ReportError(ValueError):
    """A report that cannot be made as asked; the message says why."""


def keywords(text: str | None) -> list[str]:
    """The main keywords of a complaint (jieba's TF-IDF keywords; Chinese and English)."""
    if not text or not text.strip():
        return []
    with warnings.catch_warnings():
        # jieba reads its dictionaries without closing the files (ResourceWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        import jieba
        import jieba.analyse

        jieba.setLogLevel(logging.WARNING)  # it announces building its dictionary otherwise
        found = jieba.analyse.extract_tags(text, topK=KEYWORDS_PER_TEXT)
    return [w.lower() for w in found]


@dataclass
class Case:
    id: int
    opened: datetime
    customer: str
    tier: str
    state: str
    categories: dict[str, list[str]]  # lang -> category labels
    keywords: list[str]
    first_response_hours: float | None
    resolution_hours: float | None
    in_time: bool | None
    overdue: bool
    closing_note: str | None


@dataclass
class Month:
    cases: list[Case]
    categories: dict[str, Counter]  # lang -> label -> count
    keywords: Counter


@dataclass
class ComplaintReport:
    unit_id: str
    unit_name: str
    month: str
    previous_month: str
    zone: str
    due_hours: float
    this: Month
    previous: Month
    made_at: datetime = field(default_factory=utcnow)

    @property
    def count(self) -> int:
        return len(self.this.cases)

    @property
    def resolved(self) -> list[Case]:
        return [c for c in self.this.cases if c.resolution_hours is not None]

    @property
    def in_time_share(self) -> float | None:
        done = self.resolved
        return sum(1 for c in done if c.in_time) / len(done) if done else None

    @property
    def overdue_share(self) -> float | None:
        """Cases resolved late or open past their due time, of all the month's cases."""
        cases = self.this.cases
        late = [c for c in cases if c.in_time is False or c.overdue]
        return len(late) / len(cases) if cases else None

    @property
    def first_response_median(self) -> float | None:
        hours = [
            c.first_response_hours for c in self.this.cases if c.first_response_hours is not None
        ]
        return statistics.median(hours) if hours else None

    @property
    def first_response_in_time(self) -> float | None:
        hours = [
            c.first_response_hours for c in self.this.cases if c.first_response_hours is not None
        ]
        return sum(1 for h in hours if h <= self.due_hours) / len(hours) if hours else None

    @property
    def resolution_median(self) -> float | None:
        hours = [c.resolution_hours for c in self.resolved]
        return statistics.median(hours) if hours else None

    def recurring(self, lang: str) -> list[tuple[str, int, int]]:
        """Categories and keywords found in both months: (label, this, previous)."""
        rows = []
        for label, n in self.this.categories[lang].most_common():
            if self.previous.categories[lang].get(label):
                rows.append((label, n, self.previous.categories[lang][label]))
        for word, n in self.this.keywords.most_common():
            if self.previous.keywords.get(word):
                rows.append((word, n, self.previous.keywords[word]))
        return rows

    @property
    def solutions(self) -> list[Case]:
        return [c for c in self.this.cases if c.closing_note]


def month_bounds(month: str, tz) -> tuple[datetime, datetime]:
    match = _MONTH.match(month or "")
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportError(f"--month {month!r}: write it as YYYY-MM, for example 2026-05")
    year, number = int(match.group(1)), int(match.group(2))
    start = datetime(year, number, 1, tzinfo=tz)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=tz)
    return start, end


def _categories(case: FollowUp, response: Response | None) -> dict[str, list[str]]:
    labels: dict[str, list[str]] = {"zh": [], "en": []}
    if response is None:
        return labels
    q = response.version.questionnaire
    rule = q.follow_up
    if rule is None or rule.category is None:
        return labels
    from ..surveys.services import stored_answers

    item = next(i for i in q.items if i.id == rule.category)
    answers = stored_answers(response)
    for slot in q.slots_of(item):
        chosen = item.type.form_values(item.type.from_columns(item, slot.name, answers))
        for choice_id in chosen:
            choice = item.choice(choice_id)
            if choice is not None:
                for lang in labels:
                    labels[lang].append(translate(choice.title, lang))
    return labels


def _month(unit_id: str, start: datetime, end: datetime, calendar, now: datetime) -> Month:
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # SQLite compares wall times
    cases = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.unit_id == unit_id, FollowUp.opened_at >= start, FollowUp.opened_at < end)
        .order_by(FollowUp.opened_at, FollowUp.id)
    ).all()
    rows = []
    categories: dict[str, Counter] = {"zh": Counter(), "en": Counter()}
    words: Counter = Counter()
    for case in cases:
        response = db.session.get(Response, case.response_id) if case.response_id else None
        labels = _categories(case, response)
        found = keywords(complaint_text(case))
        for lang in categories:
            categories[lang].update(set(labels[lang]))
        words.update(set(found))
        opened = aware(case.opened_at)

        def hours(moment, opened=opened):
            if moment is None:
                return None
            return calendar.between(opened, aware(moment)) / timedelta(hours=1)

        resolved = aware(case.resolved_at)
        rows.append(
            Case(
                id=case.id,
                opened=opened.astimezone(calendar.tz),
                customer=case.customer.name if case.customer else "",
                tier=(case.customer.tier or "") if case.customer else "",
                state=case.state,
                categories=labels,
                keywords=found,
                first_response_hours=hours(case.first_response_at),
                resolution_hours=hours(resolved),
                in_time=None if resolved is None else resolved <= aware(case.due_at),
                overdue=resolved is None and aware(case.due_at) < now,
                closing_note=case.closing_note,
            )
        )
    return Month(rows, categories, words)


def build_report(unit_id: str, month: str, now: datetime | None = None) -> ComplaintReport:
    """The report of ``month`` (YYYY-MM, in the unit's zone) for ``unit_id``."""
    from ..customers.services import calendar_of, settings_of

    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise ReportError(f"no unit {unit_id!r}")
    calendar = calendar_of(unit_id)
    start, end = month_bounds(month, calendar.tz)
    previous_start = (start - timedelta(days=1)).replace(day=1)
    now = now or utcnow()
    return ComplaintReport(
        unit_id=unit_id,
        unit_name=unit.name,
        month=month,
        previous_month=previous_start.strftime("%Y-%m"),
        zone=calendar.zone,
        due_hours=settings_of(unit_id).due_hours,
        this=_month(unit_id, start, end, calendar, now),
        previous=_month(unit_id, previous_start, start, calendar, now),
        made_at=now,
    )


def render_report(report: ComplaintReport) -> str:
    """One self-contained HTML file: the Chinese report, then the English one."""
    parts = []
    for lang in ("zh", "en"):
        with force_locale(lang):
            section = render_template("followups/complaint_section.html", r=report, lang=lang)
            parts.append(Markup(section))  # our template's output, escaped as it was rendered
    return render_template("followups/complaint_report.html", r=report, sections=parts)
