"""Working time: when a follow-up is due, and how much working time a case took.

Working time is counted in the unit's zone, within its working periods (by default
09:00-12:00 and 13:00-17:00), on its working days. The ``cn`` calendar is Monday to
Friday plus the weekend days adjusted into working days, minus the public holidays, as
published by the State Council (the ``chinesecalendar`` package); for a year it has no
data for, Monday to Friday, with a warning in the log. The ``weekdays`` calendar is
Monday to Friday.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

log = logging.getLogger(__name__)
CALENDARS = ("cn", "weekdays")
_WARNED_YEARS: set[int] = set()
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_DAYS = 3700  # about ten years: a due time further away is a configuration error


class WorkTimeError(ValueError):
    """A working-time setting that cannot be used; the message says which and why."""


def parse_periods(text: str) -> tuple[tuple[time, time], ...]:
    """``"09:00-12:00,13:00-17:00"`` as ordered, non-overlapping (start, end) pairs."""
    periods = []
    for part in (text or "").split(","):
        match = _PERIOD.match(part)
        if not match:
            raise WorkTimeError(
                f"working hours {part.strip()!r}: write them as HH:MM-HH:MM, separated by "
                "commas (for example 09:00-12:00,13:00-17:00)"
            )
        h1, m1, h2, m2 = map(int, match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise WorkTimeError(f"working hours {part.strip()!r}: not a time of day")
        start = time(h1, m1)
        end = time.max if h2 == 24 else time(h2, m2)
        if end <= start:
            raise WorkTimeError(f"working hours {part.strip()!r}: the end is not after the start")
        if periods and start < periods[-1][1]:
            raise WorkTimeError(
                f"working hours {part.strip()!r}: the periods must be in order and not overlap"
            )
        periods.append((start, end))
    if not periods:
        raise WorkTimeError("no working hours given")
    return tuple(periods)


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkTimeError(f"{name!r} is not a time zone (for example Asia/Shanghai)") from None


@dataclass(frozen=True)
class WorkCalendar:
    zone: str = "Asia/Shanghai"
    hours: str = "09:00-12:00,13:00-17:00"
    calendar: str = "cn"

    def __post_init__(self) -> None:
        if self.calendar not in CALENDARS:
            raise WorkTimeError(
                f"calendar {self.calendar!r}: one of {', '.join(CALENDARS)} "
                "(cn: Chinese public holidays and adjusted working days)"
            )
        zone_of(self.zone)
        parse_periods(self.hours)

    @property
    def tz(self) -> ZoneInfo:
        return zone_of(self.zone)

    @property
    def periods(self) -> tuple[tuple[time, time], ...]:
        return parse_periods(self.hours)

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day of this calendar."""
        if self.calendar == "cn":
            try:
                return chinese_calendar.is_workday(day)
            except NotImplementedError:
                if day.year not in _WARNED_YEARS:
                    _WARNED_YEARS.add(day.year)
                    log.warning(
                        "the Chinese calendar has no data for %s: counting Monday to Friday "
                        "as working days (update the chinesecalendar package)",
                        day.year,
                    )
        return day.weekday() < 5

    def _intervals(self, start: datetime):
        """Working intervals (UTC start, UTC end) from the one containing ``start`` on."""
        tz = self.tz
        local = start.astimezone(tz)
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_workday(day):
                for begin, end in self.periods:
                    a = datetime.combine(day, begin, tzinfo=tz).astimezone(UTC)
                    b = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
                    if b > start:
                        yield max(a, start), b
            day += timedelta(days=1)
        raise WorkTimeError(f"no working time within {MAX_DAYS} days of {start.isoformat()}")

    def add(self, start: datetime, hours: float) -> datetime:
        """The earliest moment at which ``hours`` of working time have passed since
        ``start`` (an aware datetime), in the calendar's zone."""
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        start = start.astimezone(UTC)
        remaining = timedelta(hours=hours)
        if remaining <= timedelta(0):
            return start.astimezone(self.tz)
        for a, b in self._intervals(start):
            if remaining <= b - a:
                return (a + remaining).astimezone(self.tz)
            remaining -= b - a
        raise AssertionError("unreachable")  # pragma: no cover

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The working time between two aware moments (zero if ``end`` is not later)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta(0)
        if end <= start:
            return total
        for a, b in self._intervals(start):
            if a >= end:
                break
            total += min(b, end) - a
        return total
