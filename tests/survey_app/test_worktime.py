"""Due times in working time: 09:00-12:00 and 13:00-17:00 Asia/Shanghai on the working
days of the Chinese calendar (dates from the State Council's published schedules)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from survey_app.followups.worktime import WorkCalendar, WorkTimeError, parse_periods

SH = ZoneInfo("Asia/Shanghai")
CN = WorkCalendar()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        # across a weekend: Friday 16:00 + 4 h = 1 h Friday + 3 h Monday morning
        (at(2024, 11, 8, 16), at(2024, 11, 11, 12)),
        # a public holiday: Monday 30 September 2024, then the National Day holiday
        # 1-7 October; work resumes Tuesday 8 October
        (at(2024, 9, 30, 16), at(2024, 10, 8, 12)),
        # an adjusted working Saturday: 12 October 2024 was a working day
        (at(2024, 10, 11, 16), at(2024, 10, 12, 12)),
        # an adjusted working Sunday: 29 September 2024
        (at(2024, 9, 27, 16), at(2024, 9, 29, 12)),
        # opened before hours, and across lunch
        (at(2024, 11, 8, 7, 30), at(2024, 11, 8, 14)),
        (at(2024, 11, 8, 11, 30), at(2024, 11, 8, 16, 30)),
        # opened at lunch on the Friday before the 2025 Spring Festival holiday (28
        # January - 4 February); Saturday 8 February 2025 was a working day
        (at(2025, 1, 24, 12, 15), at(2025, 1, 24, 17)),
        (at(2025, 1, 27, 16), at(2025, 2, 5, 12)),
    ],
)
def test_four_working_hours(start, due):
    assert CN.add(start, 4) == due
    assert CN.between(start, due) == timedelta(hours=4)


def test_the_earliest_moment_ends_a_period_rather_than_starting_the_next():
    assert CN.add(at(2024, 11, 8, 9), 3) == at(2024, 11, 8, 12)  # not 13:00
    assert CN.add(at(2024, 11, 8, 9), 7) == at(2024, 11, 8, 17)


def test_a_year_without_data_falls_back_to_monday_to_friday_with_a_warning(caplog, monkeypatch):
    import survey_app.followups.worktime as worktime

    monkeypatch.setattr(logging.getLogger(worktime.__name__), "disabled", False)
    monkeypatch.setattr(worktime, "_WARNED_YEARS", set())
    with caplog.at_level(logging.WARNING, logger=worktime.__name__):
        # 1 January 2100 is a Friday: the Chinese calendar has no data for that year
        due = CN.add(at(2100, 1, 1, 16), 4)
    assert due == at(2100, 1, 4, 12)
    assert "no data for 2100" in caplog.text


def test_hours_zone_and_calendar_are_configurable():
    berlin = ZoneInfo("Europe/Berlin")
    cal = WorkCalendar(zone="Europe/Berlin", hours="08:00-16:00", calendar="weekdays")
    # 1 October 2024 is a Chinese holiday, an ordinary Tuesday here
    assert cal.add(datetime(2024, 10, 1, 15, tzinfo=berlin), 4) == datetime(
        2024, 10, 2, 11, tzinfo=berlin
    )
    # the answer is the same moment whichever zone the start is given in
    utc_start = datetime(2024, 10, 1, 13, tzinfo=UTC)
    assert cal.add(utc_start, 4) == datetime(2024, 10, 2, 11, tzinfo=berlin)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9-12", "write them as HH:MM-HH:MM"),
        ("12:00-09:00", "the end is not after the start"),
        ("09:00-12:00,11:00-17:00", "must be in order and not overlap"),
        ("25:00-26:00", "not a time of day"),
    ],
)
def test_bad_working_hours_are_refused(text, message):
    with pytest.raises(WorkTimeError, match=message):
        parse_periods(text)


def test_bad_zone_and_calendar_are_refused():
    with pytest.raises(WorkTimeError, match="not a time zone"):
        WorkCalendar(zone="Mars/Olympus")
    with pytest.raises(WorkTimeError, match="one of cn, weekdays"):
        WorkCalendar(calendar="lunar")
