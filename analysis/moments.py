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


def compute(
    arrays: list[np.ndarray],
    columns: tuple[str, ...],
    rows: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> tuple[Moments, np.ndarray, np.ndarray | None]:
    """Moments of the complete rows of the item ``arrays``: one pass, in row chunks.

    Works column-wise and chunk by chunk, so no n x k copy of the data is made; the
    cross-products are taken about a provisional mean (the first complete row's
    values), which keeps them numerically safe. ``rows`` restricts the rows used; by
    default the rows where every column is answered are found during the same pass.
    ``weights`` (k x m) asks for m linear combinations of every row (scale means), made
    from the same chunks: NaN where any item with a non-zero weight is missing.
    Returns the moments, the mask of the rows used and the (m x n) combinations.
    """
    k = len(arrays)
    total = len(arrays[0])
    used = np.zeros(total, dtype=bool)
    sums = np.zeros(k)
    cross = np.zeros((k, k))
    shift = None
    # (m x n), so that each chunk's combinations are written as contiguous row pieces
    projected = np.empty((weights.shape[1], total)) if weights is not None else None
    uses = (weights != 0).astype(np.float64).T if weights is not None else None
    for start in range(0, total, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, total)
        # column-major, so that each column is copied in contiguously
        block = np.empty((stop - start, k), order="F")
        for j, a in enumerate(arrays):
            block[:, j] = a[start:stop]
        missing = np.isnan(block.T)  # C-ordered view: rows are columns
        keep = ~missing.any(axis=0)
        if projected is not None:
            if keep.all():
                np.matmul(weights.T, block.T, out=projected[:, start:stop])
            else:
                part = weights.T @ np.where(missing, 0.0, block.T)
                part[(uses @ missing) > 0] = np.nan
                projected[:, start:stop] = part
        if rows is not None:
            keep &= rows[start:stop]
        used[start:stop] = keep
        if not keep.all():
            block = np.asfortranarray(block[keep])
        if not len(block):
            continue
        if shift is None:
            shift = block[0].copy()
        block -= shift
        sums += block.sum(axis=0)
        cross += block.T @ block
    n = int(used.sum())
    if n < 2:
        raise AnalysisError(f"too few complete responses ({n}) for {', '.join(columns[:3])}...")
    mean_shifted = sums / n
    cov = (cross - n * np.outer(mean_shifted, mean_shifted)) / (n - 1)
    return Moments(tuple(columns), n, mean_shifted + shift, cov), used, projected


class MomentCache:
    """Moments of any column set, sharing one covariance pass where the rows agree."""

    def __init__(
        self, data: SurveyData, all_columns: list[str], means_of: list[tuple[str, ...]] = ()
    ) -> None:
        self.data = data
        self.all_columns = tuple(all_columns)
        self.means_of = list(means_of)  # column sets whose row means the pass also makes
        self._global: Moments | None = None
        self._global_rows: np.ndarray | None = None
        self._all_complete = False
        self._cache: dict[tuple[str, ...], Moments] = {}

    def _ensure_global(self) -> None:
        if self._global_rows is None:
            weights = np.zeros((len(self.all_columns), len(self.means_of)))
            for j, cols in enumerate(self.means_of):
                for c in cols:
                    weights[self.all_columns.index(c), j] = 1 / len(cols)
            try:
                self._global, self._global_rows, means = compute(
                    self.data.columns(self.all_columns), self.all_columns, weights=weights
                )
                for j, cols in enumerate(self.means_of):
                    self.data.remember_mean(cols, means[j])
            except AnalysisError:
                self._global_rows = np.zeros(len(self.data.frame), dtype=bool)
            self._all_complete = bool(self._global_rows.all())

    def get(self, columns: tuple[str, ...] | list[str]) -> Moments:
        columns = tuple(columns)
        if columns in self._cache:
            return self._cache[columns]
        self._ensure_global()
        inside = set(columns) <= set(self.all_columns)
        if self._global is not None and inside and self._all_complete:
            result = self._global.sub(columns)  # every row answers every item
        else:
            rows = self.data.complete(columns)
            if self._global is not None and inside and np.array_equal(rows, self._global_rows):
                result = self._global.sub(columns)
            else:
                result, _, _ = compute(self.data.columns(columns), columns, rows)
        self._cache[columns] = result
        return result
