"""Listwise sufficient statistics: n, means and the covariance matrix of a column set.

The methods of this package work on the p x p covariance matrix, so the cost that grows
with the number of responses is one pass over the data. When the rows complete on a
requested column set are the rows complete on every item (the usual case for finished
surveys), the covariance is a sub-block of one matrix computed once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

from .data import AnalysisError, SurveyData


class TooFewResponses(AnalysisError):
    """Fewer than two rows answer every column asked for."""


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

    def of_means(self, sets: list[tuple[str, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Means and covariance of the row means of each column set (scale scores), over
        the same rows: a score is w'x, so its moments are w'mean and w'Sw."""
        w = mean_weights(self.columns, sets)
        return self.mean @ w, w.T @ self.cov @ w


def mean_weights(columns: tuple[str, ...], sets: list[tuple[str, ...]]) -> np.ndarray:
    """(k x m) weights that turn a row of ``columns`` into the means of the m ``sets``."""
    weights = np.zeros((len(columns), len(sets)))
    for j, cols in enumerate(sets):
        for c in cols:
            weights[columns.index(c), j] = 1 / len(cols)
    return weights


def row_chunks(first: int, last: int):
    """(start, stop) of the chunks of rows from ``first`` to ``last``."""
    for start in range(first, last, CHUNK_ROWS):
        yield start, min(start + CHUNK_ROWS, last)


CHUNK_ROWS = 8_192  # a chunk of 50 items stays in a core's L2 cache through every step
MAX_WORKERS = 8
T = TypeVar("T")


@dataclass(frozen=True)
class Pass:
    """What one pass over the rows gives: the moments of the complete rows, which rows
    those were, linear combinations of every row, and each column's observed range."""

    moments: Moments
    used: np.ndarray
    projected: np.ndarray | None  # (m x n) combinations, NaN where an item is missing
    low: np.ndarray  # smallest and largest value of each column, over every row
    high: np.ndarray


_controller: ThreadpoolController | None = None


def one_blas_thread() -> AbstractContextManager:
    """BLAS held to one thread while the context lasts (threadpoolctl's ``limit``). One
    controller serves the process: making one scans the loaded libraries, 10 ms each
    time, which ``threadpool_limits`` did on every call (four times a report)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def in_shares(total: int, work: Callable[[int, int], T]) -> list[T]:
    """``work(first, last)`` on one contiguous share of the rows per core, in threads.

    numpy's loops and BLAS release the GIL, so the shares run in parallel; BLAS is held
    to one thread meanwhile (its own threads and ours would oversubscribe the cores).
    Shares are whole chunks; small data runs as one share in the calling thread.
    """
    workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1, total // (4 * CHUNK_ROWS)))
    if workers == 1:
        return [work(0, total)]
    step = -(-total // workers // CHUNK_ROWS) * CHUNK_ROWS
    bounds = [(i, min(i + step, total)) for i in range(0, total, step)]
    with one_blas_thread(), ThreadPoolExecutor(len(bounds)) as pool:
        return list(pool.map(lambda b: work(*b), bounds))


def _shift(a: np.ndarray) -> float:
    """A whole number near the column's first answers, subtracted before the products."""
    head = a[:1024]
    head = head[np.isfinite(head)]
    return float(np.rint(head.mean())) if len(head) else 0.0


def compute(
    arrays: list[np.ndarray],
    columns: tuple[str, ...],
    rows: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> Pass:
    """Moments of the complete rows of the item ``arrays``: one pass, in row chunks.

    Each chunk is gathered once into a small (k + 1) x c block that stays in cache for
    every step: the items shifted by a whole number near their mean (so the
    cross-products stay numerically safe, and exact for whole-number answers) and a row
    of ones, whose cross-products are the column sums. ``rows`` restricts the rows used;
    by default the rows where every column is answered are found during the same pass
    (a NaN shows in the chunk's minimum, which the range check takes anyway).
    ``weights`` (k x m) asks for m linear combinations of every row (scale means) from
    the same chunks: NaN where any item with a non-zero weight is missing.

    Large data is cut into one share of rows per core (:func:`in_shares`), added up after.
    """
    k = len(arrays)
    total = len(arrays[0])
    used = np.zeros(total, dtype=bool)
    shift = np.array([_shift(a) for a in arrays])
    projected = project = uses = None
    if weights is not None:
        # (m x n), so that each chunk's combinations are written as contiguous row pieces;
        # the ones row adds back what the shift took away
        projected = np.empty((weights.shape[1], total))
        project = np.vstack([weights, shift @ weights]).T
        uses = (weights != 0).astype(np.float64).T

    def share(first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cross = np.zeros((k + 1, k + 1))
        low, high = np.full(k, np.inf), np.full(k, -np.inf)
        buffer = np.empty((k + 1, min(CHUNK_ROWS, last - first)))
        buffer[k] = 1.0
        for start, stop in row_chunks(first, last):
            block = buffer[:, : stop - start]
            items = block[:k]
            for j, a in enumerate(arrays):
                np.subtract(a[start:stop], shift[j], out=items[j])
            chunk_low = np.minimum.reduce(items, axis=1)  # NaN if the column misses a value
            if np.isnan(chunk_low).any():
                missing = np.isnan(items)
                keep = ~missing.any(axis=0)
                chunk_low = np.fmin.reduce(items, axis=1)
                np.fmax(high, np.fmax.reduce(items, axis=1), out=high)
                if project is not None:
                    part = project[:, :k] @ np.where(missing, 0.0, items) + project[:, k:]
                    part[(uses @ missing) > 0] = np.nan
                    projected[:, start:stop] = part
                if rows is not None:
                    keep &= rows[start:stop]
                block = block[:, keep]
            else:
                keep = rows[start:stop] if rows is not None else True
                np.maximum(high, np.maximum.reduce(items, axis=1), out=high)
                if project is not None:
                    np.matmul(project, block, out=projected[:, start:stop])
                if rows is not None and not keep.all():
                    block = block[:, keep]
            np.fmin(low, chunk_low, out=low)
            used[start:stop] = keep
            cross += block @ block.T
        return cross, low, high

    parts = in_shares(total, share)
    cross = sum(p[0] for p in parts)
    low = np.min([p[1] for p in parts], axis=0)
    high = np.max([p[2] for p in parts], axis=0)
    n = int(used.sum())
    if n < 2:
        raise TooFewResponses(f"too few complete responses ({n}) for {', '.join(columns[:3])}...")
    mean_shifted = cross[k, :k] / n
    cov = (cross[:k, :k] - n * np.outer(mean_shifted, mean_shifted)) / (n - 1)
    moments = Moments(tuple(columns), n, mean_shifted + shift, cov)
    return Pass(moments, used, projected, low + shift, high + shift)


class MomentCache:
    """Moments of any column set, sharing one covariance pass where the rows agree."""

    def __init__(
        self,
        data: SurveyData,
        all_columns: list[str],
        means_of: list[tuple[str, ...]] = (),
        extra: np.ndarray | None = None,
    ) -> None:
        self.data = data
        self.all_columns = tuple(all_columns)
        self.means_of = list(means_of)  # column sets whose row means the pass also makes
        self.extra = extra  # (k x e) more linear combinations of every row, for the caller
        self.extra_projected: np.ndarray | None = None  # (e x n), NaN where one is missing
        self._global: Moments | None = None
        self._global_rows: np.ndarray | None = None
        self._all_complete = False
        self._cache: dict[tuple[str, ...], Moments] = {}

    def run(self) -> None:
        """The pass over every column, once; it also checks each column's range."""
        if self._global_rows is not None:
            return
        weights = mean_weights(self.all_columns, self.means_of)
        if self.extra is not None:
            weights = np.hstack([weights, self.extra])
        arrays = self.data.columns(self.all_columns, check=False)  # checked by the pass
        try:
            result = compute(arrays, self.all_columns, weights=weights)
        except TooFewResponses:  # no moments: check the answers directly
            self.data.validate(self.all_columns)
            self._global_rows = np.zeros(len(self.data.frame), dtype=bool)
        else:
            self.data.accept_ranges(self.all_columns, result.low, result.high)
            self._global, self._global_rows = result.moments, result.used
            for j, cols in enumerate(self.means_of):
                self.data.remember_mean(cols, result.projected[j])
            if self.extra is not None:
                self.extra_projected = result.projected[len(self.means_of) :]
        self._all_complete = bool(self._global_rows.all())

    def get(self, columns: tuple[str, ...] | list[str]) -> Moments:
        columns = tuple(columns)
        if columns in self._cache:
            return self._cache[columns]
        self.run()
        inside = set(columns) <= set(self.all_columns)
        if self._global is not None and inside and self._all_complete:
            result = self._global.sub(columns)  # every row answers every item
        else:
            rows = self.data.complete(columns)
            if self._global is not None and inside and np.array_equal(rows, self._global_rows):
                result = self._global.sub(columns)
            else:
                result = compute(self.data.columns(columns), columns, rows).moments
        self._cache[columns] = result
        return result
