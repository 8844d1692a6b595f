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


CHUNK_ROWS = 65_536


def compute(arrays: list[np.ndarray], columns: tuple[str, ...], rows: np.ndarray) -> Moments:
    """Moments of the ``rows`` of the item ``arrays``: one pass, in row chunks.

    Works column-wise and chunk by chunk, so no n x k copy of the data is made; the
    cross-products are taken about a provisional mean (the first complete row's
    values), which keeps them numerically safe.
    """
    n = int(rows.sum())
    if n < 2:
        raise AnalysisError(f"too few complete responses ({n}) for {', '.join(columns[:3])}...")
    k = len(arrays)
    first = int(np.argmax(rows))
    shift = np.array([a[first] for a in arrays])
    sums = np.zeros(k)
    cross = np.zeros((k, k))
    total = len(rows)
    for start in range(0, total, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, total)
        keep = rows[start:stop]
        # column-major, so that each column is copied in contiguously
        block = np.empty((stop - start, k), order="F")
        for j, a in enumerate(arrays):
            block[:, j] = a[start:stop]
        if not keep.all():
            block = np.asfortranarray(block[keep])
        block -= shift
        sums += block.sum(axis=0)
        cross += block.T @ block
    mean_shifted = sums / n
    cov = (cross - n * np.outer(mean_shifted, mean_shifted)) / (n - 1)
    return Moments(tuple(columns), n, mean_shifted + shift, cov)


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
            self._global_rows = self.data.complete(self.all_columns)
            if self._global_rows.sum() >= 2:
                arrays = self.data.columns(self.all_columns)
                self._global = compute(arrays, self.all_columns, self._global_rows)

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
            result = compute(self.data.columns(columns), columns, rows)
        self._cache[columns] = result
        return result
