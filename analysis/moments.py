"""Listwise sufficient statistics: n, means and the covariance matrix of a column set.

The methods of this package work on the p x p covariance matrix, so the cost that grows
with the number of responses is one pass over the data. When the rows complete on a
requested column set are the rows complete on every item (the usual case for finished
surveys), the covariance is a sub-block of one matrix computed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import AnalysisError, SurveyData


@dataclass(frozen=True)
class Moments:
    columns: tuple[str, ...]
    n: int
    mean: np.ndarray
    cov: np.ndarray  # unbiased (n - 1) covariance, as R's cov()

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def corr(self) -> np.ndarray:
        sd = self.sd
        if (sd == 0).any():
            constant = self.columns[int(np.flatnonzero(sd == 0)[0])]
            raise AnalysisError(f"item {constant} has the same answer in every response")
        return self.cov / np.outer(sd, sd)

    def sub(self, columns: tuple[str, ...] | list[str]) -> Moments:
        index = [self.columns.index(c) for c in columns]
        return Moments(tuple(columns), self.n, self.mean[index], self.cov[np.ix_(index, index)])


def compute(x: np.ndarray, columns: tuple[str, ...]) -> Moments:
    """Moments of the complete rows of ``x`` (one pass: a centred cross-product)."""
    x = x[np.isfinite(x).all(axis=1)]
    n = len(x)
    if n < 2:
        raise AnalysisError(f"too few complete responses ({n}) for {', '.join(columns[:3])}...")
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / (n - 1)
    return Moments(tuple(columns), n, mean, cov)


class MomentCache:
    """Moments of any column set, sharing one covariance pass where the rows agree."""

    def __init__(self, data: SurveyData, all_columns: list[str]) -> None:
        self.data = data
        self.all_columns = tuple(all_columns)
        self._global: Moments | None = None
        self._global_rows: np.ndarray | None = None
        self._cache: dict[tuple[str, ...], Moments] = {}

    def _ensure_global(self) -> None:
        if self._global_rows is None:
            x = self.data.values(self.all_columns)
            self._global_rows = np.isfinite(x).all(axis=1)
            if self._global_rows.sum() >= 2:
                self._global = compute(x[self._global_rows], self.all_columns)

    def get(self, columns: tuple[str, ...] | list[str]) -> Moments:
        columns = tuple(columns)
        if columns in self._cache:
            return self._cache[columns]
        self._ensure_global()
        rows = self.data.complete(columns)
        if (
            self._global is not None
            and set(columns) <= set(self.all_columns)
            and np.array_equal(rows, self._global_rows)
        ):
            result = self._global.sub(columns)
        else:
            result = compute(self.data.values(columns), columns)
        self._cache[columns] = result
        return result
