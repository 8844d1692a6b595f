"""Confirmatory factor analysis by maximum likelihood, as lavaan's ``cfa()`` defaults.

The model: each item loads on its own dimension's factor only; the first loading of
each factor is fixed to 1; factor variances and covariances and the residual variances
are free. Everything works on the p x p covariance matrix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, stats

from .data import AnalysisError

GRADIENT_TOL = 1e-6  # at a minimum the discrepancy's gradient is zero up to rounding


@dataclass(frozen=True)
class CFAResult:
    n: int
    chi2: float
    df: int
    p: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple[float, float]
    srmr: float
    std_loadings: dict[str, float]
    factor_correlations: np.ndarray
    converged: bool


@dataclass(frozen=True)
class _Layout:
    """Where each free parameter sits: free loadings, then the lower triangle of the
    factor covariance matrix, then the residual variances."""

    pattern: np.ndarray  # p x k, True where an item loads
    free: np.ndarray  # the loadings that are estimated (not a factor's marker)
    tri: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, pattern: np.ndarray) -> _Layout:
        markers = np.zeros_like(pattern)
        for j in range(pattern.shape[1]):
            markers[np.flatnonzero(pattern[:, j])[0], j] = True
        return cls(pattern, pattern & ~markers, np.tril_indices(pattern.shape[1]))

    def unpack(self, theta: np.ndarray):
        n_load, n_phi = int(self.free.sum()), len(self.tri[0])
        lam = self.pattern.astype(float)  # markers stay 1
        lam[self.free] = theta[:n_load]
        k = self.pattern.shape[1]
        phi = np.zeros((k, k))
        phi[self.tri] = theta[n_load : n_load + n_phi]
        phi = phi + np.tril(phi, -1).T
        return lam, phi, theta[n_load + n_phi :]


def _objective(theta, s, logdet_s, layout: _Layout):
    lam, phi, resid = layout.unpack(theta)
    sigma = lam @ phi @ lam.T + np.diag(resid)
    try:
        chol = linalg.cho_factor(sigma)
    except linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    inv = linalg.cho_solve(chol, np.eye(len(s)))
    logdet = 2 * np.log(np.diag(chol[0])).sum()
    f = logdet + np.trace(s @ inv) - logdet_s - len(s)
    w = inv - inv @ s @ inv  # dF/dSigma
    g_lam = 2 * w @ lam @ phi
    g_phi = lam.T @ w @ lam
    g_phi = 2 * g_phi - np.diag(np.diag(g_phi))  # off-diagonal entries appear twice
    grad = np.concatenate([g_lam[layout.free], g_phi[layout.tri], np.diag(w)])
    return f, grad


def _sigma_derivatives(theta: np.ndarray, layout: _Layout) -> np.ndarray:
    """d Sigma / d theta_a for every parameter, as a (q, p, p) array."""
    lam, phi, _ = layout.unpack(theta)
    p = lam.shape[0]
    lam_phi = lam @ phi
    mats = []
    for i, j in zip(*np.nonzero(layout.free), strict=True):  # e_i (L Phi e_j)' + transpose
        d = np.zeros((p, p))
        d[i] += lam_phi[:, j]
        d[:, i] += lam_phi[:, j]
        mats.append(d)
    for j, m in zip(*layout.tri, strict=True):  # L (e_j e_m' + e_m e_j') L'
        d = np.outer(lam[:, j], lam[:, m])
        mats.append(d + d.T if j != m else d)
    for i in range(p):
        d = np.zeros((p, p))
        d[i, i] = 1.0
        mats.append(d)
    return np.array(mats)


def _fisher_scoring(theta, s, logdet_s, layout: _Layout, tol=1e-9, max_iter=500):
    r"""Minimise the ML discrepancy by Fisher scoring: Newton steps with the expected
    Hessian :math:`\operatorname{tr}(\Sigma^{-1}\dot\Sigma_a\Sigma^{-1}\dot\Sigma_b)`,
    halved until the discrepancy falls. Returns (theta, F), or None if it stalls."""
    f, grad = _objective(theta, s, logdet_s, layout)
    for _ in range(max_iter):
        lam, phi, resid = layout.unpack(theta)
        inv = np.linalg.inv(lam @ phi @ lam.T + np.diag(resid))
        m = inv @ _sigma_derivatives(theta, layout)
        q = len(m)
        information = m.reshape(q, -1) @ m.transpose(0, 2, 1).reshape(q, -1).T  # tr(M_a M_b)
        try:
            step = -linalg.solve(information, grad, assume_a="pos")
        except (linalg.LinAlgError, linalg.LinAlgWarning):
            return None
        size = 1.0
        while (new := _objective(theta + size * step, s, logdet_s, layout))[0] > f + 1e-14 * f:
            if np.abs(size * step).max() < 1e-7:
                return theta, f  # a tiny step that does not lower it: the minimum, to rounding
            size /= 2
        theta = theta + size * step
        f, grad = new
        if np.abs(size * step).max() < tol:
            return theta, f
    return None


def _scored(theta0, s, logdet_s, layout: _Layout):
    with warnings.catch_warnings():
        warnings.simplefilter("error", linalg.LinAlgWarning)  # an ill-conditioned step
        return _fisher_scoring(theta0, s, logdet_s, layout)


def _minimise(theta0, s, logdet_s, layout: _Layout) -> tuple[np.ndarray, float, bool]:
    """The ML estimates, their discrepancy and whether the minimum was reached.

    Fisher scoring first; where it stalls (its information matrix is singular at the
    start when a two-item factor starts uncorrelated with the rest, where only the
    product of its loading and variance is identified) a quasi-Newton search takes
    over and Fisher scoring polishes its end point. BFGS itself often ends on
    "precision loss" at the optimum, so convergence is judged as lavaan does, by the
    gradient at the end point, not by BFGS's flag.
    """
    scored = _scored(theta0, s, logdet_s, layout)
    if scored is not None:
        return *scored, True
    result = optimize.minimize(
        _objective,
        theta0,
        args=(s, logdet_s, layout),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-9, "maxiter": 10_000},
    )
    polished = _scored(result.x, s, logdet_s, layout)
    if polished is not None and polished[1] <= result.fun + 1e-12:
        return *polished, True
    gradient = _objective(result.x, s, logdet_s, layout)[1]
    return result.x, float(result.fun), bool(np.abs(gradient).max() < GRADIENT_TOL)


def cfa(cov: np.ndarray, n: int, groups: list[list[int]], columns: tuple[str, ...]) -> CFAResult:
    r"""Fit a simple-structure CFA by maximum likelihood.

    Parameters
    ----------
    cov : ndarray
        Unbiased (n - 1) covariance matrix of the items, listwise.
    n : int
        Number of responses.
    groups : list of list of int
        The item indices of each factor, in ``columns`` order.

    Notes
    -----
    As lavaan (``likelihood = "normal"``) the sample covariance is rescaled to divisor
    n, :math:`F = \ln|\Sigma| + \operatorname{tr}(S\Sigma^{-1}) - \ln|S| - p` is minimised,
    and :math:`\chi^2 = nF`. The baseline model is :math:`\Sigma_0 = \operatorname{diag}(S)`.
    RMSEA is :math:`\sqrt{\max(\chi^2/(n\,df) - 1/n, 0)}` with the 90% interval from the
    noncentral :math:`\chi^2`; SRMR is Bentler's: the root mean square of
    :math:`(s_{ij} - \sigma_{ij})/\sqrt{s_{ii}s_{jj}}` over :math:`i \le j`.

    References
    ----------
    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. Journal
    of Statistical Software, 48(2). Hu, L., & Bentler, P. M. (1999). Cutoff criteria for
    fit indexes in covariance structure analysis. Structural Equation Modeling, 6, 1-55.
    """
    p = cov.shape[0]
    k = len(groups)
    if any(len(g) < 2 for g in groups) and k == 1:
        raise AnalysisError("a one-factor CFA needs at least 3 items")
    if n <= p:
        raise AnalysisError(f"too few responses ({n}) for a CFA of {p} items")
    s = cov * (n - 1) / n
    sign, logdet_s = np.linalg.slogdet(s)
    if sign <= 0 or np.linalg.cond(s) > 1e12:
        raise AnalysisError(
            "the covariance matrix is singular (an item repeats or combines others); "
            "the CFA cannot be fitted"
        )
    pattern = np.zeros((p, k), dtype=bool)
    for j, items in enumerate(groups):
        pattern[items, j] = True
    layout = _Layout.of(pattern)
    free, tri = layout.free, layout.tri
    # start: loadings 1, factor variances from the markers, residuals half the variance
    marker_var = np.array([s[g[0], g[0]] for g in groups])
    phi0 = np.diag(marker_var / 2)
    theta0 = np.concatenate([np.ones(int(free.sum())), phi0[tri], np.diag(s) / 2])
    theta, fmin, converged = _minimise(theta0, s, logdet_s, layout)
    lam, phi, resid = layout.unpack(theta)
    sigma = lam @ phi @ lam.T + np.diag(resid)
    n_par = int(free.sum()) + len(tri[0]) + p
    df = p * (p + 1) // 2 - n_par
    chi2 = n * float(fmin)
    chi2_base = n * float(np.log(np.diag(s)).sum() - logdet_s)
    df_base = p * (p - 1) // 2
    cfi_den = max(chi2 - df, chi2_base - df_base, 0)
    cfi = 1 - max(chi2 - df, 0) / cfi_den if cfi_den > 0 else 1.0
    tli = ((chi2_base / df_base) - (chi2 / df)) / ((chi2_base / df_base) - 1) if df > 0 else 1.0
    rmsea = float(np.sqrt(max(chi2 / n / df - 1 / n, 0))) if df > 0 else 0.0
    d = 1 / np.sqrt(np.diag(s))
    residual = (s - sigma) * np.outer(d, d)
    srmr = float(np.sqrt(np.mean(residual[np.tril_indices(p)] ** 2)))
    sd_factor = np.sqrt(np.diag(phi))
    std = lam * sd_factor / np.sqrt(np.diag(sigma))[:, None]
    return CFAResult(
        n=n,
        chi2=chi2,
        df=df,
        p=float(stats.chi2.sf(chi2, df)) if df > 0 else float("nan"),
        cfi=float(min(max(cfi, 0.0), 1.0)),
        tli=float(tli),
        rmsea=rmsea,
        rmsea_ci=rmsea_ci(chi2, df, n),
        srmr=srmr,
        std_loadings={c: float(std[i, pattern[i]].sum()) for i, c in enumerate(columns)},
        factor_correlations=phi / np.outer(sd_factor, sd_factor),
        converged=converged,
    )


def rmsea_ci(chi2: float, df: int, n: int, level: float = 0.90) -> tuple[float, float]:
    """RMSEA confidence interval by inverting the noncentral chi-square (as lavaan)."""
    if df < 1:
        return 0.0, 0.0
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(ncp: float) -> float:
        return stats.ncx2.cdf(chi2, df, ncp) if ncp > 0 else stats.chi2.cdf(chi2, df)

    if cdf(0) < upper_p:
        low = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - upper_p, 0, chi2, xtol=1e-12)
        low = float(np.sqrt(lam / (n * df)))
    n_rmsea = max(n, chi2 * 4)
    if cdf(n_rmsea) > lower_p or cdf(0) < lower_p:
        high = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - lower_p, 0, n_rmsea, xtol=1e-12)
        high = float(np.sqrt(lam / (n * df)))
    return low, high
