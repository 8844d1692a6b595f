"""The satisfaction -> loyalty link: linear, quadratic and ordinal models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from .data import AnalysisError
from .segments import Encoded


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


def _ols(design: np.ndarray, y: np.ndarray):
    b, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ b
    n, k = design.shape
    sigma2 = resid @ resid / (n - k)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    r2 = 1 - resid @ resid / ((y - y.mean()) ** 2).sum()
    return b, np.sqrt(np.diag(cov)), float(r2)


def loyalty_models(satisfaction: np.ndarray, loyalty: np.ndarray) -> LoyaltyModels:
    r"""Loyalty score on satisfaction score: linear and quadratic OLS.

    Notes
    -----
    A significant :math:`\beta_2` in :math:`L = \beta_0 + \beta_1 S + \beta_2 S^2` says
    the link is non-linear (e.g. loyalty rising steeply only at high satisfaction);
    its p-value is the classical t test (R's ``summary(lm(...))``).

    References
    ----------
    Mittal, V., & Kamakura, W. A. (2001). Satisfaction, repurchase intent, and
    repurchase behavior. Journal of Marketing Research, 38, 131-142.
    """
    rows = np.isfinite(satisfaction) & np.isfinite(loyalty)
    s, y = satisfaction[rows], loyalty[rows]
    n = len(s)
    if n < 4:
        raise AnalysisError(f"too few complete responses ({n}) for the loyalty models")
    if s.std() == 0 or y.std() == 0:
        raise AnalysisError("satisfaction or loyalty has the same score in every response")
    b1, _, r2_lin = _ols(np.column_stack([np.ones(n), s]), y)
    b2, se2, r2_quad = _ols(np.column_stack([np.ones(n), s, s**2]), y)
    t = b2[2] / se2[2]
    p = 2 * stats.t.sf(abs(t), n - 3)
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
    encoded = x if isinstance(x, Encoded) else Encoded.of(x)
    rows = (encoded.codes >= 0) & np.isfinite(y)
    y = y[rows]
    levels, codes = np.unique(y, return_inverse=True)
    if len(levels) < 2:
        raise AnalysisError("the loyalty item has the same answer in every response")
    values, x_codes = encoded.levels, encoded.codes[rows]
    m_levels = len(levels)
    counts = np.bincount(x_codes * m_levels + codes, minlength=len(values) * m_levels)
    counts = counts.reshape(len(values), m_levels).astype(np.float64)
    m = len(levels) - 1
    cumulative = np.cumsum(counts.sum(axis=0))[:-1] / len(y)
    start = np.concatenate([[0.0], special.logit(cumulative)])
    start[1:] = np.maximum.accumulate(start[1:] + np.arange(m) * 1e-6)

    def negloglik(params: np.ndarray) -> float:
        beta, theta = params[0], params[1:]
        eta = beta * values[:, None]
        cdf = special.expit(
            np.concatenate(
                [
                    np.full((len(values), 1), -np.inf),
                    theta[None, :] - eta,
                    np.full((len(values), 1), np.inf),
                ],
                axis=1,
            )
        )
        prob = np.clip(np.diff(cdf, axis=1), 1e-300, None)
        return float(-(counts * np.log(prob)).sum())

    result = optimize.minimize(negloglik, start, method="BFGS", options={"gtol": 1e-8})
    if not np.all(np.diff(result.x[1:]) > 0):
        result = optimize.minimize(
            negloglik,
            result.x,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
        )
    return OrdinalLogit(
        len(y), float(result.x[0]), tuple(map(float, result.x[1:])), tuple(map(float, levels))
    )
