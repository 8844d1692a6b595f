"""The satisfaction -> loyalty link: linear, quadratic and ordinal models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from .data import AnalysisError
from .segments import Encoded, Grouped, table


@dataclass(frozen=True)
class LoyaltyModels:
    n: int
    linear_r2: float
    quadratic_r2: float
    quadratic_coef: float
    quadratic_p: float
    linear_coef: float


@dataclass(frozen=True)
class OrdinalLogit:
    n: int
    coef: float  # log-odds of a higher answer per satisfaction point
    thresholds: tuple[float, ...]
    levels: tuple[float, ...]


def _weighted_ols(x: np.ndarray, y: np.ndarray, w: np.ndarray, degree: int):
    """OLS of y on 1, x, ..., x^degree for points (x, y) seen w times: identical to the
    fit on the expanded rows, since every sum of the normal equations is the same."""
    design = np.column_stack([x**p for p in range(degree + 1)])
    xtx = design.T @ (design * w[:, None])
    b = np.linalg.solve(xtx, design.T @ (w * y))
    resid = y - design @ b
    n = w.sum()
    rss = (w * resid**2).sum()
    tss = (w * (y - (w * y).sum() / n) ** 2).sum()
    se = np.sqrt(np.diag(np.linalg.inv(xtx)) * rss / (n - degree - 1))
    return b, se, float(1 - rss / tss)


def loyalty_models(satisfaction: np.ndarray, loyalty: np.ndarray) -> LoyaltyModels:
    r"""Loyalty score on satisfaction score: linear and quadratic OLS.

    Notes
    -----
    A significant :math:`\beta_2` in :math:`L = \beta_0 + \beta_1 S + \beta_2 S^2` says
    the link is non-linear (e.g. loyalty rising steeply only at high satisfaction);
    its p-value is the classical t test (R's ``summary(lm(...))``). Both scores take few
    distinct values, so the fits run on their (S, L) count table.

    References
    ----------
    Mittal, V., & Kamakura, W. A. (2001). Satisfaction, repurchase intent, and
    repurchase behavior. Journal of Marketing Research, 38, 131-142.
    """
    sat = satisfaction if isinstance(satisfaction, Encoded) else Encoded.of(satisfaction)
    loy = Encoded.of(loyalty)
    counts = table(sat, Grouped(loy.levels.astype(str), loy.codes)).astype(np.float64)
    si, li = np.nonzero(counts)
    x, y, w = sat.levels[si], loy.levels[li], counts[si, li]
    n = int(w.sum())
    if n < 4:
        raise AnalysisError(f"too few complete responses ({n}) for the loyalty models")
    if len(np.unique(x)) < 3 or len(np.unique(y)) < 2:
        raise AnalysisError("satisfaction or loyalty takes too few distinct values for the models")
    b1, _, r2_lin = _weighted_ols(x, y, w, 1)
    b2, se2, r2_quad = _weighted_ols(x, y, w, 2)
    p = 2 * stats.t.sf(abs(b2[2] / se2[2]), n - 3)
    return LoyaltyModels(n, r2_lin, r2_quad, float(b2[2]), float(p), float(b1[1]))


def ordinal_logit(x, y: np.ndarray) -> OrdinalLogit:
    r"""Proportional-odds (cumulative logit) model of an ordinal item on one predictor.

    Notes
    -----
    :math:`P(Y \le j) = \operatorname{logit}^{-1}(\theta_j - \beta x)`, the
    parameterisation of R's ``MASS::polr`` and statsmodels' ``OrderedModel``. The
    likelihood is computed on the table of (x, y) counts, so the cost after one pass
    over the data depends on the number of distinct values, not on n (a satisfaction
    score takes a few dozen values); the fit equals ``OrderedModel`` on the raw rows.

    References
    ----------
    McCullagh, P. (1980). Regression models for ordinal data. Journal of the Royal
    Statistical Society B, 42, 109-142.
    """
    xs = x if isinstance(x, Encoded) else Encoded.of(x)
    ys = Encoded.of(y)
    if len(ys.levels) < 2:
        raise AnalysisError("the loyalty item has the same answer in every response")
    counts = table(xs, Grouped(ys.levels.astype(str), ys.codes)).astype(np.float64)
    keep = counts.sum(axis=1) > 0
    counts, values = counts[keep], xs.levels[keep]
    levels = ys.levels
    m = len(levels) - 1
    cumulative = np.cumsum(counts.sum(axis=0))[:-1] / counts.sum()
    start = np.concatenate([[0.0], special.logit(cumulative)])
    start[1:] = np.maximum.accumulate(start[1:] + np.arange(m) * 1e-6)

    def negloglik(params: np.ndarray) -> tuple[float, np.ndarray]:
        beta, theta = params[0], params[1:]
        inner = special.expit(theta[None, :] - beta * values[:, None])  # F_j, j = 1..m
        cdf = np.concatenate([np.zeros((len(values), 1)), inner, np.ones((len(values), 1))], axis=1)
        prob = np.clip(np.diff(cdf, axis=1), 1e-300, None)
        density = np.concatenate(
            [np.zeros((len(values), 1)), inner * (1 - inner), np.zeros((len(values), 1))], axis=1
        )  # f_j, 0 at the ends
        ratio = counts / prob
        # d p_j / d theta_j = f_j, d p_j / d theta_(j-1) = -f_(j-1),
        # d p_j / d beta = -x (f_j - f_(j-1))
        grad_theta = -(ratio[:, :-1] * density[:, 1:-1]).sum(axis=0) + (
            ratio[:, 1:] * density[:, 1:-1]
        ).sum(axis=0)
        grad_beta = (ratio * values[:, None] * np.diff(density, axis=1)).sum()
        return float(-(counts * np.log(prob)).sum()), np.concatenate([[grad_beta], grad_theta])

    result = optimize.minimize(negloglik, start, jac=True, method="BFGS", options={"gtol": 1e-8})
    if not np.all(np.diff(result.x[1:]) > 0):
        result = optimize.minimize(
            lambda p: negloglik(p)[0],
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
        )
    n = int(counts.sum())  # responses with both x and y answered
    return OrdinalLogit(
        n, float(result.x[0]), tuple(map(float, result.x[1:])), tuple(map(float, levels))
    )
