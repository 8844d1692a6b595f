"""Which responses an export, a report or an API answer covers: one set of filters.

The same filters everywhere: ``<segment id>=<choice id>`` (repeats of one segment are
OR, different segments AND), ``from``/``to`` (ISO dates, inclusive, by completion time in
UTC), ``version`` (a questionnaire version: that version's series), and whether
incomplete responses count. Read from query arguments or from the command line's
``--where SEG=CODE``, checked against the questionnaire, applied to a responses frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from questionnaires import Questionnaire


class SelectionError(ValueError):
    """A filter that does not fit the questionnaire; the message says which and why."""


@dataclass(frozen=True)
class Selection:
    segments: Mapping[str, frozenset[str]] = field(default_factory=dict)
    since: date | None = None  # first day included
    until: date | None = None  # last day included
    version: int | None = None
    include_incomplete: bool = False

    # -- reading --------------------------------------------------------------------------
    @classmethod
    def parse(
        cls,
        q: Questionnaire,
        pairs: Iterable[tuple[str, str]],
        *,
        since: str | None = None,
        until: str | None = None,
        version: str | int | None = None,
        include_incomplete: bool = False,
    ) -> Selection:
        """Build a selection from ``(segment id, choice id)`` pairs and the other filters,
        refusing unknown segments and choices with a message that lists the valid ones."""
        known = {item.id: item for section in q.segments for item in section.items}
        segments: dict[str, set[str]] = {}
        for name, value in pairs:
            item = known.get(name)
            if item is None:
                raise SelectionError(
                    f"'{name}' is not a segment of {q.id} (segments: {', '.join(known) or 'none'})"
                )
            if item.choice(value) is None:
                choices = ", ".join(c.id for c in item.choices)
                raise SelectionError(f"{name}={value!r}: not one of the choices ({choices})")
            segments.setdefault(name, set()).add(value)
        start, end = _date(since, "from"), _date(until, "to")
        if start and end and end < start:
            raise SelectionError("'to' is before 'from'")
        number = None
        if version not in (None, ""):
            try:
                number = int(version)
            except (TypeError, ValueError):
                raise SelectionError(f"version={version!r}: not a version number") from None
            if number < 1:
                raise SelectionError(f"version={version!r}: not a version number")
        return cls(
            {k: frozenset(v) for k, v in segments.items()}, start, end, number, include_incomplete
        )

    @classmethod
    def from_args(
        cls, q: Questionnaire, args: Mapping, *, reserved: Iterable[str] = ()
    ) -> Selection:
        """From query arguments: every argument named like a segment is a filter;
        ``from``, ``to``, ``version`` and ``all`` as described above. Other arguments
        (``reserved``: the page's own options) are left to the caller."""
        segment_ids = {item.id for section in q.segments for item in section.items}
        getlist = args.getlist if hasattr(args, "getlist") else lambda k: [args[k]]
        pairs = [(name, value) for name in args if name in segment_ids for value in getlist(name)]
        unknown = [
            name
            for name in args
            if name not in segment_ids
            and name not in {"from", "to", "version", "all", "lang", *reserved}
        ]
        if unknown:
            raise SelectionError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        return cls.parse(
            q,
            pairs,
            since=args.get("from"),
            until=args.get("to"),
            version=args.get("version"),
            include_incomplete=str(args.get("all", "")).lower() in ("1", "true", "yes"),
        )

    @classmethod
    def from_cli(
        cls,
        q: Questionnaire,
        where: Iterable[str],
        *,
        since: str | None = None,
        until: str | None = None,
        version: int | None = None,
        include_incomplete: bool = False,
    ) -> Selection:
        """From ``--where SEG=CODE`` options (and ``--from``, ``--to``, ``--version``,
        ``--all``)."""
        pairs = []
        for condition in where:
            name, sep, value = condition.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise SelectionError(f"--where {condition!r}: write it as SEGMENT=CHOICE")
            pairs.append((name.strip(), value.strip()))
        return cls.parse(
            q,
            pairs,
            since=since,
            until=until,
            version=version,
            include_incomplete=include_incomplete,
        )

    # -- using ------------------------------------------------------------------------------
    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a responses frame (``submitted_at`` and segment columns) selected."""
        keep = np.ones(len(frame), dtype=bool)
        for name, values in self.segments.items():
            keep &= _isin(frame[name], values)
        if self.since is not None or self.until is not None:
            moment = frame["submitted_at"]
            if self.since is not None:
                keep &= (moment >= _utc(self.since)).fillna(False).to_numpy()
            if self.until is not None:
                keep &= (moment < _utc(self.until + timedelta(days=1))).fillna(False).to_numpy()
        if bool(keep.all()):
            return frame
        return frame.loc[keep].reset_index(drop=True)

    @property
    def key(self) -> str:
        """A canonical text of the selection (a cache key)."""
        parts = [f"{k}={'|'.join(sorted(v))}" for k, v in sorted(self.segments.items())]
        parts += [f"from={self.since}", f"to={self.until}", f"version={self.version}"]
        parts.append(f"all={int(self.include_incomplete)}")
        return "&".join(parts)

    def describe(self) -> dict:
        """The selection as JSON-ready data (what a report or an audit entry records)."""
        return {
            "segments": {k: sorted(v) for k, v in sorted(self.segments.items())},
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
            "version": self.version,
            "all": self.include_incomplete,
        }


def _date(value: str | None, name: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SelectionError(f"{name}={value!r}: not a date (YYYY-MM-DD)") from None


def _isin(column: pd.Series, values: frozenset[str]) -> np.ndarray:
    """Whether each row's answer is one of ``values``; a categorical column (the frames of
    reports) by its codes: a lookup per row instead of pandas' ``isin`` (0.02 s at 1M)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        wanted = column.cat.categories.isin(sorted(values))
        return np.append(wanted, False)[column.cat.codes.to_numpy()]  # (code -1: no answer)
    return column.isin(sorted(values)).to_numpy()


def _utc(day: date) -> pd.Timestamp:
    return pd.Timestamp(datetime(day.year, day.month, day.day), tz="UTC")


def check_version(survey_id: str, version: int | None, numbers: Iterable[int]) -> None:
    """Refuse a ``version=`` the survey does not have (``numbers``), naming those it has."""
    numbers = list(numbers)
    if version is not None and version not in numbers:
        raise SelectionError(
            f"version={version}: survey {survey_id} has the versions {', '.join(map(str, numbers))}"
        )
