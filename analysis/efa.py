"""Exploratory factor analysis on a correlation matrix, as R's ``psych::fa``.

Everything here takes the p x p correlation matrix (and n where a test needs it), so
the cost does not grow with the number of responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, optimize, stats

from .data import AnalysisError
from .moments import Moments
from .options import EXTRACTIONS, ROTATIONS

EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Extraction:
    loadings: np.ndarray  # unrotated, p x k
    uniquenesses: np.ndarray
    converged: bool


@dataclass(frozen=True)
class Rotation:
    loadings: np.ndarray
    phi: np.ndarray  # factor correlations (identity for orthogonal rotations)
    rotmat: np.ndarray


@dataclass(frozen=True)
class EFAResult:
    n: int
    columns: tuple[str, ...]
    kmo: float
    kmo_items: dict[str, float]
    bartlett: dict[str, float]
    parallel_suggests: int
    n_factors: int
    extraction: str
    rotation: str
    loadings: np.ndarray
    communalities: np.ndarray
    phi: np.ndarray
    weights: np.ndarray  # regression factor-score weights, applied to z-scores
    # the scree: eigenvalues of the reduced correlation matrix, and the 95th percentile of
    # those of random data (parallel analysis); empty when not computed
    eigenvalues: np.ndarray = field(default_factory=lambda: np.zeros(0))
    parallel_threshold: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def improper(self) -> tuple[str, ...]:
        """Items whose communality is at or over 1 (a Heywood case)."""
        return tuple(c for c, h2 in zip(self.columns, self.communalities, strict=True) if h2 >= 1)

    def to_dict(self) -> dict:
        out = {
            "n": self.n,
            "kmo": self.kmo,
            "kmo_items": dict(self.kmo_items),
            "bartlett": dict(self.bartlett),
            "parallel_suggests": self.parallel_suggests,
            "n_factors": self.n_factors,
            "extraction": self.extraction,
            "rotation": self.rotation,
            "loadings": {c: list(self.loadings[i]) for i, c in enumerate(self.columns)},
            "communalities": dict(zip(self.columns, self.communalities, strict=True)),
            "factor_correlations": self.phi.tolist(),
            # regression (Thurstone) factor scores are z-scored items times these weights
            "score_weights": {c: list(self.weights[i]) for i, c in enumerate(self.columns)},
            "eigenvalues": self.eigenvalues.tolist(),
            "parallel_threshold": self.parallel_threshold.tolist(),
        }
        if self.improper:
            out["improper"] = list(self.improper)
            out["improper_note"] = (
                "improper solution (a Heywood case): the communality of "
                f"{', '.join(self.improper)} is at or over 1"
            )
        return out


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations, ``1 - 1 / diag(R^-1)``."""
    return 1 - 1 / np.diag(linalg.inv(r))


def _top_eigen(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = linalg.eigh(s)
    order = np.argsort(values)[::-1][:k]
    return values[order], vectors[:, order]


def _minres_fit(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    s = r.copy()
    np.fill_diagonal(s, 1 - psi)
    values, vectors = _top_eigen(s, k)
    values = np.where(values < EPS, 100 * EPS, values)
    loadings = vectors * np.sqrt(values)
    residual = (s - loadings @ loadings.T)[np.tril_indices_from(s, -1)]
    return float((residual**2).sum())


def _minres_grad(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    values, vectors = _top_eigen(r - np.diag(psi), k)
    loadings = vectors * np.sqrt(np.maximum(values, 0))
    return np.diag(loadings @ loadings.T + np.diag(psi) - r)


def _ml_fit(psi: np.ndarray, r: np.ndarray, k: int) -> float:
    sc = 1 / np.sqrt(psi)
    values = np.sort(linalg.eigvalsh(r * np.outer(sc, sc)))[::-1][k:]
    return float(-(np.sum(np.log(values) - values) - k + r.shape[0]))


def _ml_loadings(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    sc = 1 / np.sqrt(psi)
    values, vectors = _top_eigen(r * np.outer(sc, sc), k)
    return np.sqrt(psi)[:, None] * vectors * np.sqrt(np.maximum(values - 1, 0))


def _ml_grad(psi: np.ndarray, r: np.ndarray, k: int) -> np.ndarray:
    loadings = _ml_loadings(psi, r, k)
    return np.diag(loadings @ loadings.T + np.diag(psi) - r) / psi**2


def _one_factor(r: np.ndarray) -> np.ndarray | None:
    r"""One-factor minres loadings by Newton's method on the loadings themselves.

    The minimum of :math:`\sum_{i<j}(r_{ij} - l_il_j)^2` over :math:`l` is psych's minres
    solution whenever no uniqueness :math:`1 - l_i^2` reaches psych's bound of 0.005.
    Newton's method finds any stationary point, and :math:`l = 0` is one: with an item
    nearly unrelated to the others it can stop there (omega 0.19 where psych gives
    0.57). So every step must be a descent with a positive definite Hessian, as a
    minimum needs; otherwise, with fewer than 3 items, at the bound, or if Newton does
    not settle, None: the bounded search (psych's own) takes over.
    """
    if len(r) < 3:  # one correlation, many solutions: the bounded search picks psych's
        return None
    off = r - np.diag(np.diag(r))
    s = r.copy()
    np.fill_diagonal(s, smc(r))
    values, vectors = _top_eigen(s, 1)
    loadings = vectors[:, 0] * np.sqrt(max(values[0], EPS))

    def misfit(loadings: np.ndarray) -> float:
        residual = off - np.outer(loadings, loadings)
        np.fill_diagonal(residual, 0.0)
        return float((residual**2).sum())

    current = misfit(loadings)
    for _ in range(50):
        outer = np.outer(loadings, loadings)
        np.fill_diagonal(outer, 0.0)
        gradient = -2 * (off - outer) @ loadings
        hessian = 2 * (2 * outer - off)
        np.fill_diagonal(hessian, 2 * ((loadings**2).sum() - loadings**2))
        try:
            np.linalg.cholesky(hessian)  # positive definite: heading for a minimum
        except np.linalg.LinAlgError:
            return None
        if np.linalg.cond(hessian) > 1e12:
            return None
        step = np.linalg.solve(hessian, gradient)
        if np.abs(step).max() < 1e-12:
            break
        trial = loadings - step
        value = misfit(trial)
        if value > current * (1 + 1e-12) + 1e-300:  # not a descent
            return None
        loadings, current = trial, value
    else:
        return None
    if (loadings**2 > 0.995).any() or not np.isfinite(loadings).all():
        return None
    return loadings


def _extract(r: np.ndarray, k: int, method: str) -> Extraction:
    p = r.shape[0]
    if k < 1 or k >= p:
        raise AnalysisError(f"the number of factors must be 1..{p - 1}, got {k}")
    if method == "minres" and k == 1 and (one := _one_factor(r)) is not None:
        loadings = one[:, None] * (-1.0 if one.sum() < 0 else 1.0)
        return Extraction(loadings, 1 - one**2, True)
    start = 1 - smc(r)
    fit, grad = (_minres_fit, _minres_grad) if method == "minres" else (_ml_fit, _ml_grad)
    # psych: L-BFGS-B from 1 - SMC, uniquenesses in [0.005, 1]; tighter tolerances than
    # R's defaults so that we land on the optimum R approaches.
    result = optimize.minimize(
        fit,
        start,
        jac=grad,
        args=(r, k),
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * p,
        options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 5000},
    )
    psi = result.x
    if method == "minres":
        values, vectors = _top_eigen(r - np.diag(psi), k)
        loadings = vectors * np.sqrt(np.maximum(values, 0))
    else:
        loadings = _ml_loadings(psi, r, k)
    loadings = loadings * np.where(loadings.sum(axis=0) < 0, -1.0, 1.0)
    return Extraction(loadings, psi, bool(result.success))


def minres(r: np.ndarray, k: int) -> Extraction:
    """Minimum-residual factor extraction (``psych::fa(fm = "minres")``).

    Notes
    -----
    Minimises the sum of squared off-diagonal residuals
    :math:`\\sum_{i<j} (r_{ij} - (\\Lambda\\Lambda^T)_{ij})^2` over the uniquenesses, the
    loadings being the leading eigenvectors of :math:`R - \\Psi` scaled by the root of
    their eigenvalues (Harman & Jones, 1966).
    """
    return _extract(r, k, "minres")


def varimax(loadings: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> Rotation:
    """Kaiser's varimax, the algorithm of R's ``stats::varimax``."""
    x = loadings.copy()
    p, k = x.shape
    if k < 2:
        return Rotation(x, np.eye(k), np.eye(k))
    sc = np.sqrt((x**2).sum(axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    rot = np.eye(k)
    d = 0.0
    for _ in range(1000):
        z = x @ rot
        b = x.T @ (z**3 - z @ np.diag((z**2).sum(axis=0)) / p)
        u, s, vt = linalg.svd(b)
        rot = u @ vt
        d_past, d = d, s.sum()
        if d < d_past * (1 + eps):
            break
    z = (x @ rot) * sc[:, None]
    return Rotation(z, np.eye(k), rot)


def oblimin(
    loadings: np.ndarray, gamma: float = 0.0, eps: float = 1e-5, maxit: int = 1000
) -> Rotation:
    """Direct oblimin by gradient projection, as ``GPArotation::oblimin`` (GPFoblq).

    References
    ----------
    Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and
    software for arbitrary rotation criteria in factor analysis. Educational and
    Psychological Measurement, 65, 676-696.
    """
    a = loadings
    p, k = a.shape

    def criterion(lam: np.ndarray) -> tuple[np.ndarray, float]:
        x = lam**2 @ (1 - np.eye(k))
        if gamma:
            x = (np.eye(p) - gamma / p) @ x
        return lam * x, float((lam**2 * x).sum() / 4)

    t = np.eye(k)
    al = 1.0
    lam = a @ linalg.inv(t).T
    gq, f = criterion(lam)
    g = -(lam.T @ gq @ linalg.inv(t)).T
    for _ in range(maxit + 1):
        gp = g - t @ np.diag((t * g).sum(axis=0))
        s = np.sqrt(np.trace(gp.T @ gp))
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            x = t - al * gp
            tt = x / np.sqrt((x**2).sum(axis=0))
            lam = a @ linalg.inv(tt).T
            gq_t, f_t = criterion(lam)
            if f - f_t > 0.5 * s**2 * al:
                break
            al /= 2
        t, f = tt, f_t
        g = -(lam.T @ gq_t @ linalg.inv(tt)).T
    return Rotation(lam, t.T @ t, t)


def promax(loadings: np.ndarray, m: int = 4) -> Rotation:
    """Promax after Kaiser normalisation, as ``psych::fa(rotate = "promax")``."""
    h2 = (loadings**2).sum(axis=1)
    weight = np.sqrt(h2)[:, None]
    base = varimax(loadings / weight)
    x = base.loadings
    q = x * np.abs(x) ** (m - 1)
    u = linalg.lstsq(x, q)[0]
    d = np.diag(linalg.inv(u.T @ u))
    u = u @ np.diag(np.sqrt(d))
    z = x @ u
    u = base.rotmat @ u
    ui = linalg.inv(u)
    return Rotation(z * weight, ui @ ui.T, u)


def rotate(loadings: np.ndarray, method: str) -> Rotation:
    k = loadings.shape[1]
    if method == "none" or k < 2:
        return Rotation(loadings, np.eye(k), np.eye(k))
    if method == "varimax":
        return varimax(loadings)
    if method == "oblimin":
        return oblimin(loadings)
    if method == "promax":
        return promax(loadings)
    raise AnalysisError(f"unknown rotation {method!r}; use one of {', '.join(ROTATIONS)}")


def kmo(r: np.ndarray) -> tuple[float, np.ndarray]:
    """Kaiser-Meyer-Olkin sampling adequacy, overall and per item (``psych::KMO``)."""
    q = linalg.inv(r)
    d = 1 / np.sqrt(np.diag(q))
    partial = q * np.outer(d, d)
    np.fill_diagonal(partial, 0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0)
    r2, q2 = (r0**2).sum(axis=0), (partial**2).sum(axis=0)
    return float(r2.sum() / (r2.sum() + q2.sum())), r2 / (r2 + q2)


def bartlett(r: np.ndarray, n: int) -> dict[str, float]:
    """Bartlett's test that R is an identity matrix (``psych::cortest.bartlett``).

    Notes
    -----
    :math:`\\chi^2 = -\\ln|R| \\, (n - 1 - (2p + 5)/6)` on :math:`p(p-1)/2` degrees of
    freedom.
    """
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    chi2 = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) / 2
    return {"chi2": float(chi2), "df": float(df), "p": float(stats.chi2.sf(chi2, df))}


def parallel_analysis(r: np.ndarray, n: int, iterations: int = 20, seed: int = 0) -> int:
    """Number of factors suggested by parallel analysis (Horn, 1965).

    Notes
    -----
    The eigenvalues of the reduced correlation matrix (SMC on the diagonal, the factor
    version of ``psych::fa.parallel``) are compared with the 95th percentile of those of
    random normal data of the same n and p (Glorfeld, 1995), over 20 draws as psych.
    The random correlation matrices are drawn from the Wishart distribution of their
    cross-products, so the cost does not grow with n. The count of leading observed
    eigenvalues above the random ones is the suggestion. Random, so not compared with R
    to the digit.
    """
    observed, threshold = parallel_eigenvalues(r, n, iterations, seed)
    above = observed > threshold
    return int(np.argmin(above)) if not above.all() else r.shape[0]


def parallel_eigenvalues(
    r: np.ndarray, n: int, iterations: int = 20, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The observed eigenvalues of the reduced correlation matrix and the 95th percentile
    of those of random data (:func:`parallel_analysis`), largest first: the scree."""
    p = r.shape[0]
    rng = np.random.default_rng(seed)
    observed = _reduced_eigenvalues(r)
    simulated = np.empty((iterations, p))
    wishart = stats.wishart(df=n - 1, scale=np.eye(p))
    for i in range(iterations):
        w = wishart.rvs(random_state=rng)
        d = 1 / np.sqrt(np.diag(w))
        simulated[i] = _reduced_eigenvalues(w * np.outer(d, d))
    return observed, np.percentile(simulated, 95, axis=0)


def _reduced_eigenvalues(r: np.ndarray) -> np.ndarray:
    reduced = r.copy()
    np.fill_diagonal(reduced, smc(r))
    return np.sort(linalg.eigvalsh(reduced))[::-1]


def efa(
    moments: Moments,
    n_factors: int | None = None,
    extraction: str = "minres",
    rotation: str = "oblimin",
) -> EFAResult:
    """KMO, Bartlett, parallel analysis, extraction, rotation and score weights.

    Parameters
    ----------
    moments : Moments
        Listwise moments of the items (their correlation matrix and n).
    n_factors : int, optional
        Factors to extract; by default the parallel-analysis suggestion (at least 1).
    extraction : {"minres", "ml"}
    rotation : {"oblimin", "varimax", "promax", "none"}
    """
    if extraction not in EXTRACTIONS:
        raise AnalysisError(f"unknown extraction {extraction!r}; use minres or ml")
    if rotation not in ROTATIONS:
        raise AnalysisError(f"unknown rotation {rotation!r}; use one of {', '.join(ROTATIONS)}")
    n, columns, p = moments.n, moments.columns, len(moments.columns)
    if n <= p:
        raise AnalysisError(f"too few responses ({n}) for a factor analysis of {p} items")
    corr = moments.corr
    if np.linalg.matrix_rank(corr) < p or np.linalg.cond(corr) > 1e12:
        raise AnalysisError(
            "the correlation matrix is singular (an item repeats or combines others)"
        )
    overall, per_item = kmo(corr)
    observed, threshold = parallel_eigenvalues(corr, n)
    above = observed > threshold
    suggested = int(np.argmin(above)) if not above.all() else p
    k = n_factors if n_factors is not None else max(suggested, 1)
    extracted = _extract(corr, k, extraction)
    rotated = rotate(extracted.loadings, rotation)
    # psych: after rotation, make every factor's loadings sum positive
    signs = np.where(rotated.loadings.sum(axis=0) < 0, -1.0, 1.0)
    loadings = rotated.loadings * signs
    phi = rotated.phi * np.outer(signs, signs)
    structure = loadings @ phi
    weights = linalg.solve(corr, structure, assume_a="pos")
    return EFAResult(
        n=n,
        columns=columns,
        kmo=overall,
        kmo_items=dict(zip(columns, map(float, per_item), strict=True)),
        bartlett=bartlett(corr, n),
        parallel_suggests=suggested,
        n_factors=k,
        extraction=extraction,
        rotation=rotation,
        loadings=loadings,
        communalities=(extracted.loadings**2).sum(axis=1),
        phi=phi,
        weights=weights,
        eigenvalues=observed,
        parallel_threshold=threshold,
    )


def factor_scores(z: np.ndarray, result: EFAResult) -> np.ndarray:
    """Regression (Thurstone) factor scores of standardised item values ``z``."""
    return z @ result.weights
