"""Reliability of a scale: Cronbach's alpha, its Feldt interval, McDonald's omega."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .data import AnalysisError
from .efa import minres
from .moments import Moments


@dataclass(frozen=True)
class ItemStats:
    r_drop: float
    alpha_if_deleted: float | None  # None on a two-item scale: one item has no alpha

    def to_dict(self) -> dict:
        return {"r_drop": self.r_drop, "alpha_if_deleted": self.alpha_if_deleted}


@dataclass(frozen=True)
class Reliability:
    n: int
    alpha: float
    std_alpha: float
    alpha_ci: tuple[float, float]
    omega_total: float | None  # None when the items' correlation matrix is singular
    items: dict[str, ItemStats]
    omega_note: str | None = None  # why omega is missing, or that its solution is improper
    omega_improper: bool = False  # a communality of the one-factor solution at or over 1
    items_note: str | None = None  # why alpha if item deleted is missing

    def to_dict(self) -> dict:
        out = {
            "n": self.n,
            "alpha": self.alpha,
            "std_alpha": self.std_alpha,
            "alpha_ci": list(self.alpha_ci),
            "omega_total": self.omega_total,
            "omega_improper": self.omega_improper,
            "items": {c: s.to_dict() for c, s in self.items.items()},
        }
        if self.omega_note:
            out["omega_note"] = self.omega_note
        if self.items_note:
            out["items_note"] = self.items_note
        return out


def cronbach_alpha(cov: np.ndarray) -> float:
    r"""Cronbach's alpha from a covariance matrix.

    Notes
    -----
    :math:`\alpha = \frac{k}{k-1}\left(1 - \frac{\operatorname{tr} C}{\sum_{ij} C_{ij}}\right)`,
    as ``psych::alpha``'s ``raw_alpha``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    """
    k = cov.shape[0]
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def feldt_ci(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    r"""Feldt's confidence interval for alpha, as ``psych::alpha.ci``.

    Notes
    -----
    With :math:`F` the F distribution on :math:`n-1` and :math:`(n-1)(k-1)` degrees of
    freedom and :math:`p = 1 - \text{level}`, the interval is
    :math:`1 - (1-\alpha) F_{1-p/2}` to :math:`1 - (1-\alpha) F_{p/2}`.

    References
    ----------
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
    coefficient alpha. Applied Psychological Measurement, 11, 93-103.
    """
    p = 1 - level
    df1, df2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha) * stats.f.ppf(1 - p / 2, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(p / 2, df1, df2)
    return float(low), float(high)


def omega_total(corr: np.ndarray) -> tuple[float, np.ndarray]:
    r"""McDonald's omega total from a one-factor minres solution.

    Notes
    -----
    As ``psych::omega(x, nfactors = 1)$omega.tot``: items with a negative loading are
    flipped, then :math:`\omega_t = (V_t - \sum u^2_i) / V_t` with :math:`V_t` the sum of
    all entries of the correlation matrix and :math:`u^2_i = 1 - h^2_i` the uniquenesses.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Erlbaum.

    Returns omega and the communalities :math:`h^2_i`; one at or over 1 makes the
    solution improper (a Heywood case), which ``psych::fa`` warns about.
    """
    if np.linalg.cond(corr) > 1e12:
        raise AnalysisError(
            "the items' correlation matrix is singular (an item repeats or combines others)"
        )
    loadings = minres(corr, 1).loadings[:, 0]
    signs = np.where(loadings < 0, -1.0, 1.0)
    flipped = corr * np.outer(signs, signs)
    uniqueness = 1 - loadings**2
    vt = flipped.sum()
    return float((vt - uniqueness.sum()) / vt), loadings**2


def reliability(m: Moments, omega_corr: np.ndarray | None = None) -> Reliability:
    """Alpha, standardized alpha, Feldt 95% CI, omega total and item statistics of a scale.

    Parameters
    ----------
    m : Moments
        Moments of the scale's items (reverse-keyed items already recoded): listwise, or
        the pairwise-complete covariance matrix with n the respondents who answered any
        of the items (``--missing available``).
    omega_corr : ndarray, optional
        The correlation matrix for omega; by default that of ``m``. With pairwise moments
        it is R's ``cor(use = "pairwise")``, which is not ``cov2cor`` of the pairwise
        covariance matrix (each pair has its own standard deviations).

    Notes
    -----
    Standardized alpha is alpha of ``cov2cor`` of the covariance matrix. ``r_drop`` is the
    correlation of an item with the sum of the other items; ``alpha_if_deleted`` the
    alpha of the other items (``psych::alpha``'s ``item.stats$r.drop`` and
    ``alpha.drop$raw_alpha``), null on a two-item scale, where one item is left.
    """
    k = len(m.columns)
    if k < 2:
        raise AnalysisError(f"a scale needs at least 2 items ({', '.join(m.columns)})")
    if m.n <= k:
        raise AnalysisError(f"too few complete responses ({m.n}) for a scale of {k} items")
    cov, corr = m.cov, m.corr  # corr refuses a constant item
    alpha = cronbach_alpha(cov)
    std_alpha = cronbach_alpha(corr)
    items = {}
    for i, name in enumerate(m.columns):
        rest = [j for j in range(k) if j != i]
        rest_cov = cov[np.ix_(rest, rest)]
        r_drop = (cov[i].sum() - cov[i, i]) / np.sqrt(cov[i, i] * rest_cov.sum())
        deleted = cronbach_alpha(rest_cov) if k > 2 else None
        items[name] = ItemStats(float(r_drop), deleted)
    items_note = (
        "alpha if item deleted is not defined on a scale of two items (one item is left)"
        if k == 2
        else None
    )
    omega, omega_note, improper = None, None, False
    try:
        omega, communalities = omega_total(corr if omega_corr is None else omega_corr)
    except AnalysisError as exc:  # alpha and the item statistics stand without it
        omega_note = f"omega not computed: {exc}"
    else:
        heywood = [c for c, h2 in zip(m.columns, communalities, strict=True) if h2 >= 1]
        if heywood:
            improper = True
            omega_note = (
                "improper one-factor solution (a Heywood case): the communality of "
                f"{', '.join(heywood)} is at or over 1"
            )
    return Reliability(
        n=m.n,
        alpha=alpha,
        std_alpha=std_alpha,
        alpha_ci=feldt_ci(alpha, m.n, k),
        omega_total=omega,
        items=items,
        omega_note=omega_note,
        omega_improper=improper,
        items_note=items_note,
    )
