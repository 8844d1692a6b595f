"""Key-driver analysis: satisfaction regressed on the perception dimension scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from math import factorial

import numpy as np
from scipy import linalg, stats

from .data import AnalysisError
from .moments import in_shares, row_chunks

MAX_SHAPLEY_DRIVERS = 15


@dataclass(frozen=True)
class Regression:
    n: int
    names: tuple[str, ...]
    coef: dict[str, float]
    se_hc3: dict[str, float]
    std_beta: dict[str, float]
    r2: float
    adj_r2: float
    vif: dict[str, float]
    relative_weights: dict[str, float]
    relative_weights_pct: dict[str, float]
    shapley: dict[str, float] | None
    bootstrap: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    resamples: int = 0
    level: float = 0.95
    # the t interval (n - k - 1 degrees of freedom) of each coefficient from its HC3
    # standard error, at ``level``
    ci_hc3: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {
            "n": self.n,
            "coef": dict(self.coef),
            "se_hc3": dict(self.se_hc3),
            "ci_hc3": {name: list(pair) for name, pair in self.ci_hc3.items()},
            "ci_level": self.level,
            "std_beta": dict(self.std_beta),
            "r2": self.r2,
            "adj_r2": self.adj_r2,
            "vif": dict(self.vif),
            "relative_weights": dict(self.relative_weights),
            "relative_weights_pct": dict(self.relative_weights_pct),
            "shapley": dict(self.shapley)
            if self.shapley is not None
            else {
                "note": f"more than {MAX_SHAPLEY_DRIVERS} drivers: "
                "exact Shapley values not computed"
            },
        }
        if self.bootstrap:
            out["bootstrap"] = {
                "resamples": self.resamples,
                "level": self.level,
                **{k: {d: list(ci) for d, ci in v.items()} for k, v in self.bootstrap.items()},
            }
        return out


def relative_weights(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    r"""Johnson's relative weights; they sum to :math:`R^2`.

    Notes
    -----
    With :math:`R_{xx} = V \operatorname{diag}(\lambda) V^T` and
    :math:`\Lambda = V \operatorname{diag}(\sqrt{\lambda}) V^T`, the weights are
    :math:`(\Lambda \circ \Lambda)(\Lambda^{-1} r_{xy})^{\circ 2}`.

    References
    ----------
    Johnson, J. W. (2000). A heuristic method for estimating the relative weight of
    predictor variables in multiple regression. Multivariate Behavioral Research, 35, 1-19.
    """
    values, vectors = linalg.eigh(rxx)
    lam = vectors @ np.diag(np.sqrt(np.maximum(values, 0))) @ vectors.T
    beta = linalg.solve(lam, rxy)
    return (lam**2) @ beta**2


def shapley_r2(rxx: np.ndarray, rxy: np.ndarray) -> np.ndarray:
    r"""Shapley value decomposition of :math:`R^2` (LMG general dominance), exactly.

    Notes
    -----
    :math:`\phi_j = \sum_{S \subseteq N \setminus j} \frac{|S|!(k-|S|-1)!}{k!}
    (R^2_{S \cup j} - R^2_S)` with :math:`R^2_S = r_S^T R_{SS}^{-1} r_S`, over all
    :math:`2^k` subsets (Lindeman, Merenda & Gold, 1980).

    References
    ----------
    Thomas, D. R., Zumbo, B. D., Kwan, E., & Schweitzer, L. (2014). On Johnson's (2000)
    relative weights method for assessing variable importance. Educational and
    Psychological Measurement, 74, 1047-1070.
    """
    k = len(rxy)
    r2 = np.zeros(1 << k)
    for mask in range(1, 1 << k):
        idx = [j for j in range(k) if mask >> j & 1]
        r2[mask] = rxy[idx] @ linalg.solve(rxx[np.ix_(idx, idx)], rxy[idx], assume_a="pos")
    weights = [factorial(s) * factorial(k - s - 1) / factorial(k) for s in range(k)]
    phi = np.zeros(k)
    for j in range(k):
        bit = 1 << j
        for mask in range(1 << k):
            if not mask & bit:
                phi[j] += weights[bin(mask).count("1")] * (r2[mask | bit] - r2[mask])
    return phi


def regression(
    x: np.ndarray | Sequence[np.ndarray],
    y: np.ndarray,
    names: tuple[str, ...],
    bootstrap: int = 0,
    seed: int = 0,
    level: float = 0.95,
    moments: tuple[int, np.ndarray, np.ndarray] | None = None,
) -> Regression:
    r"""OLS of ``y`` on ``x`` (listwise) with HC3 standard errors and importance measures.

    Parameters
    ----------
    x : ndarray or sequence of ndarray
        (n, k) driver scores, or the k score columns; y : ndarray, (n,) outcome score.
    bootstrap : int
        Resamples for percentile intervals of the relative weights and Shapley values
        (0 for none).
    moments : (n, means, covariance) of (x_1..x_k, y), optional
        Over the complete rows, when the caller already has them (the report's pass):
        then only the pass for the residuals reads the data.

    Notes
    -----
    HC3: :math:`(X^TX)^{-1} X^T \operatorname{diag}(e_i^2/(1-h_i)^2) X (X^TX)^{-1}`
    (MacKinnon & White, 1985; R's ``sandwich::vcovHC(type = "HC3")``). Standardized betas
    are :math:`b_j s_{x_j}/s_y`; VIF is the diagonal of :math:`R_{xx}^{-1}`.
    """
    columns = [x[:, j] for j in range(x.shape[1])] if isinstance(x, np.ndarray) else list(x)
    k = len(columns)

    # first pass: the cross-products of (1, x, y) over the complete rows
    def products(first: int, last: int) -> np.ndarray:
        cross = np.zeros((k + 2, k + 2))
        for block in _blocks(columns, y, first, last):
            cross += block @ block.T
        return cross

    if moments is None:
        cross = sum(in_shares(len(y), products))
    else:
        n, mean, cov = moments
        cross = np.empty((k + 2, k + 2))
        cross[0, 0] = n
        cross[0, 1:] = cross[1:, 0] = n * mean
        cross[1:, 1:] = (n - 1) * cov + n * np.outer(mean, mean)
    n = int(cross[0, 0])
    if n <= k + 1:
        raise AnalysisError(f"too few complete responses ({n}) for a regression on {k} drivers")
    xtx, xty = cross[: k + 1, : k + 1], cross[: k + 1, k + 1]
    means, y_mean = xtx[0] / n, xty[0] / n
    cov_x = (xtx - n * np.outer(means, means))[1:, 1:] / (n - 1)
    sd_x = np.sqrt(np.diag(cov_x))
    if (sd_x == 0).any():
        constant = names[int(np.flatnonzero(sd_x == 0)[0])]
        raise AnalysisError(f"driver {constant} has the same score in every response")
    try:
        xtx_inv = linalg.inv(xtx)
    except linalg.LinAlgError as exc:
        raise AnalysisError("the drivers are collinear (singular matrix)") from exc
    b = xtx_inv @ xty

    # second pass: residuals and leverages, chunk by chunk, for HC3's middle term
    def residuals(first: int, last: int) -> tuple[np.ndarray, float, float]:
        meat = np.zeros((k + 1, k + 1))
        rss = tss = 0.0
        for block in _blocks(columns, y, first, last):
            design, outcome = block[: k + 1], block[k + 1]
            resid = outcome - b @ design
            leverage = np.einsum("ij,ij->j", xtx_inv @ design, design)
            meat += (design * (resid / (1 - leverage)) ** 2) @ design.T
            rss += resid @ resid
            centred = outcome - y_mean
            tss += centred @ centred
        return meat, rss, tss

    parts = in_shares(len(y), residuals)
    meat = sum(p[0] for p in parts)
    rss, tss = sum(p[1] for p in parts), sum(p[2] for p in parts)
    if tss == 0:
        raise AnalysisError("the outcome has the same score in every response")
    sd_y = np.sqrt(tss / (n - 1))
    hc3 = xtx_inv @ meat @ xtx_inv
    r2 = 1 - rss / tss
    # correlations from the cross-products already formed, not another pass
    cov_xy = (xty[1:] - n * means[1:] * y_mean) / (n - 1)
    corr_xx = cov_x / np.outer(sd_x, sd_x)
    rxx, rxy = corr_xx, cov_xy / (sd_x * sd_y)
    rw = relative_weights(rxx, rxy)
    shap = shapley_r2(rxx, rxy) if k <= MAX_SHAPLEY_DRIVERS else None
    labels = ("intercept", *names)
    intervals = {}
    if bootstrap:
        rows = np.isfinite(y)
        for c in columns:
            rows &= np.isfinite(c)
        complete = np.column_stack([c[rows] for c in columns])
        intervals = _bootstrap(complete, y[rows], names, bootstrap, seed, level, shap is not None)
    se = np.sqrt(np.diag(hc3))
    t = stats.t.ppf(0.5 + level / 2, n - k - 1)
    return Regression(
        n=n,
        names=names,
        coef=dict(zip(labels, map(float, b), strict=True)),
        se_hc3=dict(zip(labels, map(float, se), strict=True)),
        ci_hc3={
            name: (float(coef - t * error), float(coef + t * error))
            for name, coef, error in zip(labels, b, se, strict=True)
        },
        std_beta=dict(zip(names, map(float, b[1:] * sd_x / sd_y), strict=True)),
        r2=float(r2),
        adj_r2=float(1 - (1 - r2) * (n - 1) / (n - k - 1)),
        vif=dict(zip(names, map(float, np.diag(linalg.inv(rxx))), strict=True)),
        relative_weights=dict(zip(names, map(float, rw), strict=True)),
        relative_weights_pct=dict(zip(names, map(float, 100 * rw / rw.sum()), strict=True)),
        shapley=dict(zip(names, map(float, shap), strict=True)) if shap is not None else None,
        bootstrap=intervals,
        resamples=bootstrap,
        level=level,
    )


def _blocks(columns: list[np.ndarray], y: np.ndarray, first: int, last: int):
    """(k + 2) x c blocks of the complete rows of (1, x_1..x_k, y) between ``first`` and
    ``last``, one chunk at a time, gathered into one buffer that stays in cache."""
    buffer = None
    for start, stop in row_chunks(first, last):
        if buffer is None:  # the first chunk is the longest
            buffer = np.empty((len(columns) + 2, stop - start))
            buffer[0] = 1.0
        block = buffer[:, : stop - start]
        for j, c in enumerate((*columns, y), start=1):
            block[j] = c[start:stop]
        if np.isfinite(block.sum()):
            yield block
        else:  # listwise deletion
            yield block[:, np.isfinite(block).all(axis=0)]


def _bootstrap(x, y, names, times, seed, level, with_shapley):
    """Percentile intervals of the importance measures over row resamples."""
    rng = np.random.default_rng(seed)
    n, k = x.shape
    data = np.column_stack([x, y])
    rws, shaps = np.empty((times, k)), np.empty((times, k))
    for i in range(times):
        sample = data[rng.integers(0, n, n)]
        corr = np.corrcoef(sample, rowvar=False)
        rws[i] = relative_weights(corr[:k, :k], corr[:k, k])
        if with_shapley:
            shaps[i] = shapley_r2(corr[:k, :k], corr[:k, k])
    tail = (1 - level) / 2 * 100
    out = {"relative_weights": _intervals(rws, names, tail)}
    if with_shapley:
        out["shapley"] = _intervals(shaps, names, tail)
    return out


def _intervals(draws, names, tail):
    low, high = np.percentile(draws, [tail, 100 - tail], axis=0)
    return {name: (float(lo), float(hi)) for name, lo, hi in zip(names, low, high, strict=True)}


def importance_performance(importance: dict[str, float], performance: dict[str, float]):
    """Importance-performance quadrants (Martilla & James, 1977), split at the means.

    Returns, per dimension, its importance, performance and quadrant: ``concentrate
    here`` (important, performing below average), ``keep up the good work``, ``low
    priority``, ``possible overkill``.
    """
    names = list(importance)
    imp_mean = float(np.mean([importance[d] for d in names]))
    perf_mean = float(np.mean([performance[d] for d in names]))
    result = {}
    for d in names:
        high_imp, high_perf = importance[d] >= imp_mean, performance[d] >= perf_mean
        quadrant = {
            (True, False): "concentrate here",
            (True, True): "keep up the good work",
            (False, False): "low priority",
            (False, True): "possible overkill",
        }[(high_imp, high_perf)]
        result[d] = {
            "importance": importance[d],
            "performance": performance[d],
            "quadrant": quadrant,
        }
    return result


@dataclass(frozen=True)
class ImportancePerformance:
    """Importance-performance quadrants by mean perception and, when every dimension has
    a gap, by the gap P - E."""

    by_perception: dict[str, dict]
    by_gap: dict[str, dict] | None = None
    # bootstrap intervals of both axes (IPAIntervals), or {"note": why not}, or None
    intervals: IPAIntervals | dict | None = None

    def to_dict(self) -> dict:
        out = {"performance_is": "mean perception"}
        by_perception = {d: dict(v) for d, v in self.by_perception.items()}
        by_gap = {d: dict(v) for d, v in self.by_gap.items()} if self.by_gap else None
        iv = self.intervals
        if isinstance(iv, IPAIntervals):
            for d, v in by_perception.items():
                v["importance_ci"] = list(iv.importance[d])
                v["performance_ci"] = list(iv.performance[d])
                v["quadrant_share"] = iv.quadrant_share[d]
            if by_gap is not None and iv.gap is not None:
                for d, v in by_gap.items():
                    v["importance_ci"] = list(iv.importance[d])
                    v["performance_ci"] = list(iv.gap[d])
                    v["quadrant_share"] = iv.gap_quadrant_share[d]
        out.update(by_perception)
        if by_gap is not None:
            out["by_gap"] = by_gap
        if isinstance(iv, IPAIntervals):
            out["bootstrap"] = {"resamples": iv.resamples, "level": iv.level}
        elif isinstance(iv, dict):
            out["bootstrap"] = dict(iv)
        return out


@dataclass(frozen=True)
class IPAIntervals:
    """Bootstrap intervals of both importance-performance axes and how often each
    dimension lands in the quadrant of the point estimates."""

    resamples: int
    level: float
    importance: dict[str, tuple[float, float]]
    performance: dict[str, tuple[float, float]]
    quadrant_share: dict[str, float]
    gap: dict[str, tuple[float, float]] | None = None
    gap_quadrant_share: dict[str, float] | None = None


def ipa_bootstrap(
    drivers: dict[str, np.ndarray],
    outcome: np.ndarray,
    performance: dict[str, np.ndarray],
    gaps: dict[str, np.ndarray] | None,
    times: int,
    point: dict[str, dict[str, float]],
    seed: int = 0,
    level: float = 0.95,
    batch: int = 8,
) -> IPAIntervals:
    r"""Percentile bootstrap of the importance-performance matrix: respondents are
    resampled with replacement; in each resample the importance of every dimension (its
    relative weight, :func:`relative_weights`, on the resample's rows with every score),
    its performance (the mean of ``performance[d]`` over the resample's rows that have
    it) and its gap (likewise) are recomputed, and so is its quadrant (split at the
    resample's means).

    Parameters
    ----------
    drivers : dict of ndarray
        The driver scores (perception dimension scores), NaN where missing.
    outcome : ndarray
        The satisfaction score.
    performance, gaps : dict of ndarray
        Per dimension, the per-respondent values whose mean is the performance axis
        (perception score) and the gap axis (perception minus expectation score).
    times : int
        Resamples.
    point : dict
        The point estimates the quadrants are judged against: ``importance``,
        ``performance`` and (with ``gaps``) ``gap``, each dimension -> value.

    Notes
    -----
    A resample is a multinomial count vector :math:`w` (``bincount`` of n uniform row
    draws), so every statistic is a weighted sum: :math:`\sum_i w_i m_i` for the columns
    :math:`m` of 1, the centred scores, their products and the performance and gap
    values. Resamples are taken ``batch`` at a time as one matrix product with the
    column matrix, which reads the data once per batch instead of gathering rows. With
    complete data the draws are those of :func:`regression`'s bootstrap with the same
    seed, so the importance intervals equal the drivers' (to rounding).

    ``quadrant_share`` is the share of resamples that put the dimension in the quadrant
    of the point estimates: near 1, the placement is certain; near .5, the dimension sits
    on a dividing line.

    References
    ----------
    Martilla, J. A., & James, J. C. (1977). Importance-performance analysis. Journal of
    Marketing, 41(1), 77-79. Efron, B., & Tibshirani, R. J. (1993). An introduction to
    the bootstrap. Chapman & Hall, ch. 13 (percentile intervals).
    """
    names = list(drivers)
    k = len(names)
    x = np.column_stack([drivers[d] for d in names] + [outcome])
    n = len(outcome)
    complete = np.isfinite(x).all(axis=1)
    if complete.sum() <= k + 1:
        raise AnalysisError("too few complete responses for bootstrap intervals")
    centre = x[complete].mean(axis=0)
    z = np.where(complete[:, None], x - centre, 0.0)
    upper = np.triu_indices(k + 1)
    blocks = [complete[:, None].astype(np.float64), z, z[:, upper[0]] * z[:, upper[1]]]
    axes = {"performance": performance, **({"gap": gaps} if gaps else {})}
    for values in axes.values():
        for d in names:
            v = values[d]
            seen = np.isfinite(v)
            blocks += [seen[:, None].astype(np.float64), np.where(seen, v, 0.0)[:, None]]
    columns = np.hstack(blocks)
    del blocks, z
    rng = np.random.default_rng(seed)
    importance = np.full((times, k), np.nan)
    means = {axis: np.full((times, k), np.nan) for axis in axes}
    n_products = len(upper[0])
    done = 0
    while done < times:
        b = min(batch, times - done)
        weights = np.empty((b, n))
        for i in range(b):
            weights[i] = np.bincount(rng.integers(0, n, n), minlength=n)
        sums = weights @ columns
        for i in range(b):
            s = sums[i]
            m = s[0]
            if m > k + 1:
                mean = s[1 : k + 2] / m
                second = np.zeros((k + 1, k + 1))
                second[upper] = s[k + 2 : k + 2 + n_products] / m
                second = second + np.triu(second, 1).T
                cov = second - np.outer(mean, mean)
                sd = np.sqrt(np.diag(cov))
                if (sd > 0).all():
                    corr = cov / np.outer(sd, sd)
                    importance[done + i] = relative_weights(corr[:k, :k], corr[:k, k])
            at = k + 2 + n_products
            for axis in axes:
                for j in range(k):
                    seen, total = s[at], s[at + 1]
                    means[axis][done + i, j] = total / seen if seen > 0 else np.nan
                    at += 2
        done += b
    tail = (1 - level) / 2 * 100

    def intervals(draws: np.ndarray) -> dict[str, tuple[float, float]]:
        low, high = np.nanpercentile(draws, [tail, 100 - tail], axis=0)
        return {d: (float(lo), float(hi)) for d, lo, hi in zip(names, low, high, strict=True)}

    point_imp = np.array([point["importance"][d] for d in names])

    def shares(axis_draws: np.ndarray, axis: str) -> dict[str, float]:
        point_perf = np.array([point[axis][d] for d in names])
        want = (point_imp >= point_imp.mean(), point_perf >= point_perf.mean())
        ok = np.isfinite(importance).all(axis=1) & np.isfinite(axis_draws).all(axis=1)
        imp, perf = importance[ok], axis_draws[ok]
        same = (imp >= imp.mean(axis=1, keepdims=True)) == want[0]
        same &= (perf >= perf.mean(axis=1, keepdims=True)) == want[1]
        return {
            d: float(same[:, j].mean()) if len(same) else float("nan") for j, d in enumerate(names)
        }

    return IPAIntervals(
        resamples=times,
        level=level,
        importance=intervals(importance),
        performance=intervals(means["performance"]),
        quadrant_share=shares(means["performance"], "performance"),
        gap=intervals(means["gap"]) if gaps else None,
        gap_quadrant_share=shares(means["gap"], "gap") if gaps else None,
    )
