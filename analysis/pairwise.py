"""Moments for ``--missing available``: pairwise-complete covariances and correlations.

As R's ``cov(x, use = "pairwise")`` and ``cor(x, use = "pairwise")``: each pair of items
uses the rows that answer both, with that pair's own means (and, for the correlation, its
own standard deviations). One chunked pass of four small matrix products gives every
pair's count, sums and sums of squares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import AnalysisError
from .moments import Moments, _shift, in_shares, row_chunks


@dataclass(frozen=True)
class Pairwise:
    """Pairwise-complete moments of a column set."""

    columns: tuple[str, ...]
    n: int  # respondents who answered at least one of the columns
    pairs: np.ndarray  # p x p: rows answering both items
    mean: np.ndarray  # each item's mean over the rows that answer it
    cov: np.ndarray  # cov(use = "pairwise")
    cor: np.ndarray  # cor(use = "pairwise")

    def covariance_moments(self) -> Moments:
        """The pairwise covariance as :class:`Moments` (alpha, r.drop; ``corr`` is
        ``cov2cor`` of it, the standardized alpha's matrix)."""
        return Moments(self.columns, self.n, self.mean, self.cov)

    def correlation_moments(self) -> Moments:
        """The pairwise correlation as :class:`Moments` (omega, KMO, Bartlett, EFA)."""
        return Moments(self.columns, self.n, np.zeros(len(self.columns)), self.cor)


def pairwise(arrays: list[np.ndarray], columns: tuple[str, ...]) -> Pairwise:
    r"""Pairwise-complete moments of the item ``arrays`` (NaN = missing), in one pass.

    Notes
    -----
    With :math:`M` the answered indicator and :math:`X_0` the items (shifted by a whole
    number near their mean, missing set to 0): :math:`N = M^TM` counts the rows of each
    pair, :math:`S = X_0^TM` holds the sum of item i over the rows that answer j,
    :math:`Q = (X_0^{\circ 2})^TM` the sums of squares and :math:`P = X_0^TX_0` the
    cross-products. Then :math:`c_{ij} = (P_{ij} - S_{ij}S_{ji}/N_{ij})/(N_{ij}-1)`,
    :math:`v_{i(j)} = (Q_{ij} - S_{ij}^2/N_{ij})/(N_{ij}-1)` and
    :math:`r_{ij} = c_{ij}/\sqrt{v_{i(j)}v_{j(i)}}`.
    """
    k = len(arrays)
    total = len(arrays[0])
    shift = np.array([_shift(a) for a in arrays])

    def share(first: int, last: int):
        sums = np.zeros((4, k, k))
        answered = 0
        for start, stop in row_chunks(first, last):
            x = np.empty((stop - start, k))
            for j, a in enumerate(arrays):
                np.subtract(a[start:stop], shift[j], out=x[:, j])
            seen = ~np.isnan(x)
            answered += int(seen.any(axis=1).sum())
            m = seen.astype(np.float64)
            x[~seen] = 0.0
            sums[0] += m.T @ m
            sums[1] += x.T @ m
            sums[2] += (x * x).T @ m
            sums[3] += x.T @ x
        return sums, answered

    parts = in_shares(total, share)
    count, s, q, p = sum(part[0] for part in parts)
    n = sum(part[1] for part in parts)
    if (count < 2).any():
        i, j = np.argwhere(count < 2)[0]
        raise AnalysisError(
            f"items {columns[i]} and {columns[j]} are answered together by fewer than 2 respondents"
        )
    cov = (p - s * s.T / count) / (count - 1)
    var = (q - s**2 / count) / (count - 1)  # var[i, j]: item i over the rows answering j
    if (np.diag(var) <= 0).any():
        constant = columns[int(np.flatnonzero(np.diag(var) <= 0)[0])]
        raise AnalysisError(f"item {constant} has the same answer in every response")
    with np.errstate(invalid="ignore", divide="ignore"):
        cor = cov / np.sqrt(var * var.T)
    if not np.isfinite(cor).all():
        i, j = np.argwhere(~np.isfinite(cor))[0]
        raise AnalysisError(
            f"items {columns[i]} and {columns[j]} have no variance over the rows that answer both"
        )
    np.fill_diagonal(cor, 1.0)
    mean = np.diag(s) / np.diag(count) + shift
    return Pairwise(tuple(columns), int(n), count.astype(np.int64), mean, cov, cor)
