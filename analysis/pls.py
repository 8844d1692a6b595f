"""A satisfaction index: PLS path modelling (PLS-PM) as SmartPLS and seminr compute it.

The questionnaire declares the structural model (``analysis: paths:``); each construct is
measured by a block of items: a dimension's perception items, another measure's items
(``E_<dimension>``) or an outcome's scale items. Each construct is also reported as an
index from 0 to 100, the way the American and European Customer Satisfaction Indexes
(ACSI, ECSI) report theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from questionnaires import Questionnaire

from .data import AnalysisError, SurveyData

MAX_ITERATIONS = 300
TOLERANCE = 1e-7  # on the summed absolute change of the outer weights, as seminr


def construct_columns(q: Questionnaire, construct: str) -> tuple[str, ...]:
    """The item columns measuring a construct id of ``analysis: paths:``."""
    columns = q.construct_columns(construct)
    if columns is None:
        raise AnalysisError(f"unknown construct {construct!r} in analysis: paths:")
    return columns


@dataclass(frozen=True)
class _Fit:
    weights: np.ndarray  # (k,) standardized outer weights, each block's scores unit variance
    loadings: np.ndarray  # (k,)
    paths: np.ndarray  # (m, m): [i, j] the coefficient of i -> j
    r2: np.ndarray  # (m,), NaN for exogenous constructs
    iterations: int


def _standardize(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)


def _estimate(z: np.ndarray, block: np.ndarray, adjacency: np.ndarray) -> _Fit:
    """PLS-PM on standardized indicators ``z`` (n x k); ``block[i]`` is the construct of
    indicator i; ``adjacency[i, j]`` is True for a path i -> j."""
    n, k = z.shape
    m = adjacency.shape[0]
    mask = np.zeros((k, m))
    mask[np.arange(k), block] = 1.0
    weights = mask.copy()
    dependent = [j for j in range(m) if adjacency[:, j].any()]
    linked = (adjacency | adjacency.T).astype(np.float64)
    iterations = 0
    while True:
        scores = _standardize(z @ weights)
        inner = np.corrcoef(scores, rowvar=False) * linked  # successors: correlations
        for j in dependent:  # predecessors: the regression of j on them
            pred = np.flatnonzero(adjacency[:, j])
            xp = scores[:, pred]
            inner[pred, j] = np.linalg.solve(xp.T @ xp, xp.T @ scores[:, j])
        proxies = _standardize(scores @ inner)
        last = weights
        weights = mask * (z.T @ proxies) / (n - 1)  # mode A: covariances with the proxy
        weights = weights / (z @ weights).std(axis=0, ddof=1)  # unit-variance scores
        diff = np.abs(weights - last).sum()
        if diff < TOLERANCE or iterations >= MAX_ITERATIONS:
            break
        iterations += 1
    if diff >= TOLERANCE:
        raise AnalysisError(f"PLS did not converge in {MAX_ITERATIONS} iterations")
    scores = z @ weights
    loadings = ((z.T @ scores) / (n - 1) * mask).sum(axis=1)
    corr = np.corrcoef(scores, rowvar=False)
    paths = np.zeros((m, m))
    r2 = np.full(m, np.nan)
    for j in dependent:
        pred = np.flatnonzero(adjacency[:, j])
        beta = np.linalg.solve(corr[np.ix_(pred, pred)], corr[pred, j])
        paths[pred, j] = beta
        r2[j] = float(corr[pred, j] @ beta)
    return _Fit((weights * mask).sum(axis=1), loadings, paths, r2, iterations)


def _effects(paths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total and indirect effects: the sum of the products along every path."""
    m = len(paths)
    total = np.linalg.solve(np.eye(m) - paths.T, np.eye(m)).T - np.eye(m)
    return total, total - paths


def _index(
    weights: np.ndarray, x: np.ndarray, block: np.ndarray, m: int, low: float, high: float
) -> np.ndarray:
    """Each construct's index, ACSI's way: the outer weights rescaled to the original units
    and to sum 1 (v_i = (w_i / sd_i) / sum_k (w_k / sd_k)), then 100 x (weighted mean -
    scale min) / (scale max - scale min)."""
    sd = x.std(axis=0, ddof=1)
    mean = x.mean(axis=0)
    raw = weights / sd
    out = np.empty(m)
    for j in range(m):
        inside = block == j
        v = raw[inside] / raw[inside].sum()
        out[j] = 100 * (v @ mean[inside] - low) / (high - low)
    return out


@dataclass(frozen=True)
class PLSResult:
    """A PLS path model: estimates and, with a bootstrap, percentile intervals."""

    n: int
    constructs: tuple[str, ...]
    columns: tuple[str, ...]
    block: tuple[int, ...]  # the construct of each column
    paths: tuple[tuple[str, str], ...]
    fit: _Fit
    rho_a: np.ndarray
    rho_c: np.ndarray
    ave: np.ndarray
    index: np.ndarray
    htmt: dict[str, float]
    resamples: int
    used: int  # resamples that gave a solution (one with a constant item has none)
    level: float
    intervals: dict[str, np.ndarray]  # name -> (2, ...) low and high, when bootstrapped

    def _ci(self, name: str, *where) -> tuple[float | None, float | None]:
        if name not in self.intervals:
            return None, None
        low, high = self.intervals[name]
        return float(low[where]), float(high[where])

    def _effect(self, values: np.ndarray, name: str, i: int, j: int) -> dict:
        low, high = self._ci(name, i, j)
        return {"estimate": float(values[i, j]), "ci_low": low, "ci_high": high}

    def to_dict(self) -> dict:
        idx = {c: j for j, c in enumerate(self.constructs)}
        total, indirect = _effects(self.fit.paths)
        by_construct = {c: {} for c in self.constructs}
        weights, loadings, loading_ci = {}, {}, {}
        for c in self.constructs:
            weights[c], loadings[c], loading_ci[c] = {}, {}, {}
        for i, (column, j) in enumerate(zip(self.columns, self.block, strict=True)):
            c = self.constructs[j]
            weights[c][column] = float(self.fit.weights[i])
            loadings[c][column] = float(self.fit.loadings[i])
            loading_ci[c][column] = list(self._ci("loadings", i))
        for j, c in enumerate(self.constructs):
            low, high = self._ci("index", j)
            by_construct[c] = {
                "rho_a": float(self.rho_a[j]),
                "rho_c": float(self.rho_c[j]),
                "ave": float(self.ave[j]),
                "index": float(self.index[j]),
                "index_ci_low": low,
                "index_ci_high": high,
            }
        ordered = [(a, b) for a in self.constructs for b in self.constructs]
        reachable = [(a, b) for a, b in ordered if total[idx[a], idx[b]] != 0]
        indirect_pairs = [(a, b) for a, b in reachable if indirect[idx[a], idx[b]] != 0]
        return {
            "n": self.n,
            "paths": {
                f"{a}->{b}": self._effect(self.fit.paths, "paths", idx[a], idx[b])
                for a, b in self.paths
            },
            "r2": {
                c: float(self.fit.r2[j])
                for j, c in enumerate(self.constructs)
                if np.isfinite(self.fit.r2[j])
            },
            "outer_weights": weights,
            "outer_loadings": loadings,
            "outer_loadings_ci": loading_ci,
            "constructs": by_construct,
            "htmt": dict(self.htmt),
            "total_effects": {
                f"{a}->{b}": self._effect(total, "total", idx[a], idx[b]) for a, b in reachable
            },
            "indirect_effects": {
                f"{a}->{b}": self._effect(indirect, "indirect", idx[a], idx[b])
                for a, b in indirect_pairs
            },
            "iterations": self.fit.iterations,
            "bootstrap": {"resamples": self.resamples, "used": self.used, "level": self.level},
        }


def _reliabilities(z: np.ndarray, fit: _Fit, block: np.ndarray, m: int):
    r"""rho_A (Dijkstra & Henseler, 2015, as seminr), rho_C and AVE of each block.

    :math:`\rho_A = (w^Tw)^2 \frac{w^T(S - \operatorname{diag}S)w}
    {w^T(ww^T - \operatorname{diag}(ww^T))w}`; :math:`\rho_C = (\sum\lambda)^2 /
    ((\sum\lambda)^2 + \sum(1 - \lambda^2))`; AVE the mean of :math:`\lambda^2`. A single
    item: all three are 1.
    """
    rho_a, rho_c, ave = np.ones(m), np.ones(m), np.ones(m)
    s = np.corrcoef(z, rowvar=False)
    for j in range(m):
        inside = np.flatnonzero(block == j)
        if len(inside) < 2:
            continue
        w = fit.weights[inside]
        off = s[np.ix_(inside, inside)] - np.eye(len(inside))
        ww = np.outer(w, w)
        np.fill_diagonal(ww, 0.0)
        rho_a[j] = (w @ w) ** 2 * (w @ off @ w) / (w @ ww @ w)
        lam = fit.loadings[inside]
        rho_c[j] = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
        ave[j] = (lam**2).mean()
    return rho_a, rho_c, ave


def htmt(x: np.ndarray, block: np.ndarray, constructs: tuple[str, ...]) -> dict[str, float]:
    """Heterotrait-monotrait ratio of every pair of constructs, as seminr: the mean |r|
    between two blocks over the root of the product of the mean |r| within each block (a
    single item's within-block mean counts as 1). Henseler, Ringle & Sarstedt (2015)."""
    r = np.abs(np.corrcoef(x, rowvar=False))
    within = []
    for j in range(len(constructs)):
        inside = np.flatnonzero(block == j)
        k = len(inside)
        within.append(1.0 if k < 2 else (r[np.ix_(inside, inside)].sum() - k) / (k * (k - 1)))
    out = {}
    for a in range(len(constructs)):
        for b in range(a + 1, len(constructs)):
            between = r[np.ix_(np.flatnonzero(block == a), np.flatnonzero(block == b))].mean()
            out[f"{constructs[a]}|{constructs[b]}"] = float(
                between / np.sqrt(within[a] * within[b])
            )
    return out


def pls(
    data: SurveyData,
    paths: tuple[tuple[str, str], ...] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    level: float = 0.95,
) -> PLSResult:
    r"""Estimate the questionnaire's path model by PLS, with percentile bootstrap intervals.

    Parameters
    ----------
    data : SurveyData
        Reverse-keyed items are recoded; the rows that answer every indicator are used.
    paths : sequence of (from, to), optional
        Default: the questionnaire's ``analysis: paths:``.
    bootstrap : int
        Resamples of the rows (seeded by ``seed``) for percentile intervals of the
        paths, loadings, total and indirect effects and indexes; 0 for none. A resample
        with a constant item (or no solution) is left out; ``used`` counts the rest.

    Notes
    -----
    As SmartPLS and seminr by default: standardized indicators (sd with n - 1), outer
    weights started at 1, mode A outer weights, the path weighting inner scheme
    (regression weights on a construct's predecessors, correlations with its
    successors), stop when the weights change by under 1e-7 in sum (at most 300
    iterations); then OLS path coefficients and R² on the construct scores, loadings as
    indicator-score correlations, total effects :math:`(I - B)^{-1} - I`. The index of a
    construct (Fornell et al., 1996) uses the weights rescaled to the original units:
    :math:`v_i = (w_i/s_i)/\sum_k(w_k/s_k)`, index :math:`= 100(\sum v_i\bar x_i -
    \min)/(\max - \min)`.

    References
    ----------
    Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M., & Lauro, C. (2005). PLS path
    modeling. Computational Statistics & Data Analysis, 48, 159-205. Fornell, C., Johnson,
    M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996). The American Customer
    Satisfaction Index. Journal of Marketing, 60(4), 7-18.
    """
    q = data.q
    paths = tuple(paths if paths is not None else q.analysis.paths)
    if not paths:
        raise AnalysisError("the questionnaire declares no analysis: paths:")
    constructs = tuple(dict.fromkeys(c for p in paths for c in p))
    blocks = [construct_columns(q, c) for c in constructs]
    columns = tuple(c for b in blocks for c in b)
    if len(set(columns)) != len(columns):
        raise AnalysisError("an item measures two constructs of the path model")
    block = np.repeat(np.arange(len(constructs)), [len(b) for b in blocks])
    adjacency = np.zeros((len(constructs), len(constructs)), dtype=bool)
    for a, b in paths:
        adjacency[constructs.index(a), constructs.index(b)] = True
    x = np.column_stack(data.columns(columns))
    x = x[np.isfinite(x).all(axis=1)]
    n = len(x)
    if n <= len(constructs) + 1:
        raise AnalysisError(f"too few complete responses ({n}) for the path model")
    sd = x.std(axis=0, ddof=1)
    if (sd == 0).any():
        raise AnalysisError(f"item {columns[int(np.argmin(sd))]} has the same answer in every row")
    low, high = q.scale.min, q.scale.max
    m = len(constructs)

    def estimate(sample: np.ndarray) -> tuple[_Fit, np.ndarray]:
        fit = _estimate(_standardize(sample), block, adjacency)
        return fit, _index(fit.weights, sample, block, m, low, high)

    fit, index = estimate(x)
    rho_a, rho_c, ave = _reliabilities(_standardize(x), fit, block, m)
    intervals = {}
    used = 0
    if bootstrap:
        rng = np.random.default_rng(seed)
        draws = {k: [] for k in ("paths", "loadings", "total", "indirect", "index")}
        for _ in range(bootstrap):
            sample = x[rng.integers(0, n, n)]
            if (sample.std(axis=0, ddof=1) == 0).any():
                continue  # a resample with a constant item has no standardized solution
            try:
                f, idx = estimate(sample)
            except (AnalysisError, np.linalg.LinAlgError):
                continue
            total, indirect = _effects(f.paths)
            for key, value in (
                ("paths", f.paths),
                ("loadings", f.loadings),
                ("total", total),
                ("indirect", indirect),
                ("index", idx),
            ):
                draws[key].append(value)
            used += 1
        tail = (1 - level) / 2 * 100
        intervals = {
            k: np.percentile(np.array(v), [tail, 100 - tail], axis=0) for k, v in draws.items() if v
        }
    return PLSResult(
        n=n,
        constructs=constructs,
        columns=columns,
        block=tuple(int(b) for b in block),
        paths=paths,
        fit=fit,
        rho_a=rho_a,
        rho_c=rho_c,
        ave=ave,
        index=index,
        htmt=htmt(x, block, constructs),
        resamples=bootstrap,
        used=used,
        level=level,
        intervals=intervals,
    )
