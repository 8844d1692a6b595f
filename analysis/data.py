"""From a wide frame to analysis-ready numbers: reverse keying, scales and scores.

Every analysis reads its columns through :class:`SurveyData`, so reverse-keyed items are
recoded (``min + max - x``) exactly once, here, before anything else happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from questionnaires import Questionnaire
from questionnaires.model import ScoredScale, Section

KEPT_COLUMNS = ("response_id", "respondent_id", "respondent", "id", "started_at", "submitted_at")


class AnalysisError(ValueError):
    """The data cannot be analysed as asked; the message says what is wrong."""


def scales(q: Questionnaire) -> list[ScoredScale]:
    """Every scale of the questionnaire: each dimension under each measure, each outcome."""
    return list(q.scales)


def read_csv(path: str | Path, q: Questionnaire) -> pd.DataFrame:
    """Read a wide CSV with the questionnaire's column names (blank cells are missing).

    Columns the questionnaire does not define are ignored, except the response id and
    the timestamps the quality checks read (:data:`KEPT_COLUMNS`); a numeric column with
    a value that is not a number names the column and the row.
    """
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{path}: cannot read the CSV file: {exc}") from exc
    known = [c for c in q.columns if c.name in raw.columns]
    kept = [c for c in KEPT_COLUMNS if c in raw.columns and c not in q.column_index]
    if not known:
        raise AnalysisError(
            f"{path}: none of the questionnaire's columns ({q.columns[0].name}, ...) is in the file"
        )
    frame = pd.DataFrame(index=raw.index)
    for name in kept:  # ids and timestamps, for the response-quality checks
        frame[name] = raw[name]
    for column in known:
        values = raw[column.name]
        if column.type.frame_dtype != "float":  # choice ids and texts stay text
            frame[column.name] = values
            continue
        numbers = pd.to_numeric(values.str.strip(), errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise AnalysisError(
                f"{path}: column {column.name}, row {row + 2}: {values.iloc[row]!r} is not a number"
            )
        frame[column.name] = numbers.astype(np.float64)
    return frame


@dataclass
class SurveyData:
    """A wide frame with its questionnaire; numeric item values with reverse keying applied."""

    q: Questionnaire
    frame: pd.DataFrame
    missing: str = "listwise"  # or "available": scores of the answered items
    _cache: dict = field(default_factory=dict, repr=False)
    _checked: set = field(default_factory=set, repr=False)  # columns found within their scale

    @cached_property
    def scales(self) -> list[ScoredScale]:
        return scales(self.q)

    def validate(self, columns: tuple[str, ...] | list[str] | None = None) -> None:
        """Refuse answers outside their scale before any analysis runs (names the cell).

        Checks ``columns`` (default: every scale column), in questionnaire order, skipping
        those already checked; the first bad cell raises.
        """
        wanted = None if columns is None else set(columns)
        for column in self.q.columns:
            name = column.name
            if (
                column.item.scale is not None
                and name in self.frame
                and (wanted is None or name in wanted)
                and name not in self._checked
            ):
                self._check_range(name)

    def accept_ranges(self, columns, low: np.ndarray, high: np.ndarray) -> None:
        """Take each column's observed range (from a pass that read the recoded values)
        as its range check; if any lies outside its scale, the full check names the cell.
        """
        for name, lo, hi in zip(columns, low, high, strict=True):
            scale = self.q.column(name).item.scale
            if scale is not None and (lo < scale.min or hi > scale.max):
                self.validate()  # in questionnaire order: the first bad cell raises
        self._checked.update(columns)

    def _check_range(self, name: str) -> None:
        scale = self.q.column(name).item.scale
        values = self._numbers(name)
        # fmin/fmax skip NaN: two reductions, no n-sized temporaries
        if len(values) and (
            np.fmin.reduce(values) < scale.min or np.fmax.reduce(values) > scale.max
        ):
            outside = (values < scale.min) | (values > scale.max)  # NaN compares False
            row = int(np.flatnonzero(outside)[0])
            raise AnalysisError(
                f"column {name}, row {row + 1}: {values[row]:g} lies outside the "
                f"scale {scale.min}..{scale.max}"
            )
        self._checked.add(name)

    def _numbers(self, name: str) -> np.ndarray:
        """A column's answers as float64 (as given: no reverse keying)."""
        if name not in self.frame:
            raise AnalysisError(f"column {name} is not in the data")
        series = self.frame[name]
        if series.dtype == np.float64:
            return series.to_numpy()  # no copy
        return pd.to_numeric(series, errors="coerce").to_numpy(np.float64)

    def _item(self, name: str, check: bool = True) -> np.ndarray:
        key = ("item", name)
        if key not in self._cache:
            values = self._numbers(name)
            item = self.q.column(name).item
            if item.reverse:  # the one place reverse keying happens (a new array)
                values = item.scale.reverse(values)
            self._cache[key] = values
        if check and name not in self._checked and self.q.column(name).item.scale is not None:
            self._check_range(name)
        return self._cache[key]

    def categorical(self, name: str) -> pd.Series:
        """A single-choice column as a categorical of its choice ids, in questionnaire order."""
        key = ("categorical", name)
        if key not in self._cache:
            order = [c.id for c in self.q.column(name).item.choices]
            series = self.frame[name]
            if isinstance(series.dtype, pd.CategoricalDtype):
                if list(series.cat.categories) != order:
                    series = series.cat.set_categories(order)
            else:  # text labels (a CSV): one hash pass; unknown labels become missing
                series = pd.Series(pd.Categorical(series, categories=order), index=series.index)
            self._cache[key] = series
        return self._cache[key]

    def columns(self, columns: tuple[str, ...] | list[str], check: bool = True) -> list[np.ndarray]:
        """The item arrays (reverse-keyed items recoded), without copying them.

        ``check=False`` skips the range check: for a caller that checks the values it
        reads and reports them through :meth:`accept_ranges`.
        """
        return [self._item(c, check) for c in columns]

    def complete(self, columns: tuple[str, ...] | list[str]) -> np.ndarray:
        """Rows answered on every one of ``columns`` (listwise deletion)."""
        key = ("complete", tuple(columns))
        if key not in self._cache:
            self._cache[key] = np.isfinite(self.mean_of(columns))
        return self._cache[key]

    def mean_of(self, columns: tuple[str, ...] | list[str]) -> np.ndarray:
        """Row means of ``columns``; NaN where any of them is missing."""
        key = ("mean", tuple(columns))
        if key not in self._cache:
            arrays = self.columns(columns)
            total = arrays[0].copy()
            for a in arrays[1:]:
                total += a
            self._cache[key] = total / len(arrays)
        return self._cache[key]

    def remember_mean(self, columns: tuple[str, ...], values: np.ndarray) -> None:
        """Keep row means made elsewhere (the covariance pass) for :meth:`mean_of`."""
        self._cache.setdefault(("mean", tuple(columns)), values)

    def available_mean(self, columns: tuple[str, ...] | list[str]) -> np.ndarray:
        """Row means of the answered ``columns``; NaN unless at least half are answered.

        As ``psych::scoreItems(impute = "none")`` with the rule 2 x answered >= k.
        """
        key = ("available", tuple(columns))
        if key not in self._cache:
            arrays = self.columns(columns)
            total = np.zeros(len(arrays[0]))
            count = np.zeros(len(arrays[0]))
            for a in arrays:
                seen = ~np.isnan(a)
                total += np.where(seen, a, 0.0)
                count += seen
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = total / count
            mean[2 * count < len(arrays)] = np.nan
            self._cache[key] = mean
        return self._cache[key]

    def score(self, scale: ScoredScale) -> np.ndarray:
        """A scale score, the one place the missing-data rule for scores lives: the mean
        of its items; with ``missing="listwise"`` NaN unless every item is answered, with
        ``"available"`` the mean of the answered items when at least half are."""
        if self.missing == "available":
            return self.available_mean(scale.columns)
        return self.mean_of(scale.columns)

    def scale_of(self, section: Section, role: str | None) -> ScoredScale:
        """The scale of a dimension under the measure with ``role``, or of an outcome."""
        return next(
            s
            for s in self.scales
            if s.section is section and (section.kind != "dimension" or s.measure_role == role)
        )

    def dimension_scales(self, role: str) -> list[ScoredScale]:
        """The dimension scales under the measure with ``role``, in questionnaire order."""
        return [s for s in self.scales if s.section.kind == "dimension" and s.measure_role == role]

    def dimension_scores(self, role: str) -> dict[str, np.ndarray]:
        """One score per dimension (dimension id -> array), under the measure with ``role``."""
        return {s.section.id: self.score(s) for s in self.dimension_scales(role)}
