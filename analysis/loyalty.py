"""The satisfaction -> loyalty link: linear, quadratic and ordinal models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

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
    linear_fit: tuple[float, float] = ()  # intercept, slope
    quadratic_fit: tuple[float, float, float] = ()  # intercept, linear, quadratic term
    # the loyalty curve: mean loyalty at each satisfaction score, with its t interval
    bins: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        out = dict(vars(self))
        out["linear_fit"] = list(self.linear_fit)
        out["quadratic_fit"] = list(self.quadratic_fit)
        out["bins"] = [dict(b) for b in self.bins]
        return out


@dataclass(frozen=True)
class OrdinalLogit:
    n: int
    coef: float  # log-odds of a higher answer per satisfaction point
    thresholds: tuple[float, ...]
    levels: tuple[float, ...]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "coef": self.coef,
            "thresholds": list(self.thresholds),
            "levels": list(self.levels),
        }


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
    return LoyaltyModels(
        n,
        r2_lin,
        r2_quad,
        float(b2[2]),
        float(p),
        float(b1[1]),
        tuple(map(float, b1)),
        tuple(map(float, b2)),
        _bins(sat.levels, loy.levels, counts),
    )


def _bins(x_levels: np.ndarray, y_levels: np.ndarray, counts: np.ndarray, level: float = 0.95):
    """Mean loyalty at each satisfaction score (a row of the count table), with the t
    interval of the mean where at least 2 responses have that score."""
    out = []
    for x, row in zip(x_levels, counts, strict=True):
        m = row.sum()
        if m == 0:
            continue
        mean = float(row @ y_levels / m)
        entry = {"satisfaction": float(x), "n": int(m), "mean": mean, "ci": [None, None]}
        if m >= 2:
            var = float(row @ (y_levels - mean) ** 2 / (m - 1))
            half = stats.t.ppf(0.5 + level / 2, m - 1) * np.sqrt(var / m)
            entry["ci"] = [mean - half, mean + half]
        out.append(entry)
    return tuple(out)


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
    counts = table(xs, Grouped(ys.levels.astype(str), ys.codes)).astype(np.float64)
    # the levels of the rows used (both answered), not of every row: a level chosen only
    # where the predictor is missing would have no count and no threshold
    chosen = counts.sum(axis=0) > 0
    counts, levels = counts[:, chosen], ys.levels[chosen]
    n = int(counts.sum())
    if len(levels) < 2:
        answers = f" ({levels[0]:g})" if len(levels) else ""
        raise AnalysisError(
            f"only one answer{answers} among the {n} responses that answer the item and "
            "have a satisfaction score: an ordinal model needs two"
        )
    keep = counts.sum(axis=1) > 0
    counts, values = counts[keep], xs.levels[keep]
    m = len(levels) - 1
    cumulative = np.cumsum(counts.sum(axis=0))[:-1] / counts.sum()
    start = np.concatenate([[0.0], special.logit(cumulative)])
    start[1:] = np.maximum.accumulate(start[1:] + np.arange(m) * 1e-6)
    params = _newton(lambda p: _cumulative_logit(p, values, counts), start)
    return OrdinalLogit(
        n, float(params[0]), tuple(map(float, params[1:])), tuple(map(float, levels))
    )


def _cumulative_logit(params: np.ndarray, values: np.ndarray, counts: np.ndarray):
    r"""Log-likelihood, gradient and Hessian of the proportional-odds model on a count
    table (rows: the predictor's ``values``; columns: the ordered answers).

    Notes
    -----
    With :math:`\eta_t = \theta_t - \beta x`, :math:`F_t = \operatorname{logit}^{-1}
    (\eta_t)`, :math:`f_t = F_t(1 - F_t)` and :math:`p_j = F_j - F_{j-1}`:
    :math:`\partial \ell/\partial \eta_t = f_t(c_t/p_t - c_{t+1}/p_{t+1})`; the Hessian
    in :math:`\eta` is tridiagonal, :math:`f_t(1-2F_t)(c_t/p_t - c_{t+1}/p_{t+1}) -
    f_t^2(c_t/p_t^2 + c_{t+1}/p_{t+1}^2)` on the diagonal and
    :math:`c_{t+1}f_tf_{t+1}/p_{t+1}^2` beside it; :math:`\partial\eta_t/\partial\beta =
    -x`. The log-likelihood is concave (Pratt, 1981), so Newton's method suits it.
    """
    beta, theta = params[0], params[1:]
    g, m = len(values), len(theta)
    big_f = special.expit(theta[None, :] - beta * values[:, None])  # g x m
    prob = np.diff(np.hstack([np.zeros((g, 1)), big_f, np.ones((g, 1))]), axis=1)
    if (prob <= 0).any():  # thresholds out of order
        return -np.inf, None, None
    loglik = float((counts * np.log(prob)).sum())
    f = big_f * (1 - big_f)
    ratio, ratio2 = counts / prob, counts / prob**2
    d_eta = f * (ratio[:, :-1] - ratio[:, 1:])
    diag = f * (1 - 2 * big_f) * (ratio[:, :-1] - ratio[:, 1:]) - f**2 * (
        ratio2[:, :-1] + ratio2[:, 1:]
    )
    beside = ratio2[:, 1:-1] * f[:, :-1] * f[:, 1:]
    h_eta = np.zeros((g, m, m))
    t = np.arange(m)
    h_eta[:, t, t] = diag
    h_eta[:, t[:-1], t[1:]] = h_eta[:, t[1:], t[:-1]] = beside
    column = h_eta.sum(axis=1)  # g x m
    hessian = np.empty((m + 1, m + 1))
    hessian[1:, 1:] = h_eta.sum(axis=0)
    hessian[0, 1:] = hessian[1:, 0] = -(values[:, None] * column).sum(axis=0)
    hessian[0, 0] = (values**2 * column.sum(axis=1)).sum()
    gradient = np.concatenate([[-(values * d_eta.sum(axis=1)).sum()], d_eta.sum(axis=0)])
    return loglik, gradient, hessian


def _newton(fit, start: np.ndarray, tol: float = 1e-10, max_iter: int = 100) -> np.ndarray:
    """Maximise a concave log-likelihood by Newton steps, halved until it rises."""
    params = start
    loglik, gradient, hessian = fit(params)
    for _ in range(max_iter):
        step = -np.linalg.solve(hessian, gradient)
        size = 1.0
        while (new := fit(params + size * step))[0] < loglik - 1e-12 * abs(loglik):
            size /= 2
            if size < 1e-10:
                return params  # no step raises it: the maximum, to rounding
        params = params + size * step
        loglik, gradient, hessian = new
        if np.abs(size * step).max() < tol:
            return params
    raise AnalysisError("the ordinal logit did not converge")
