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
    estimator: str = "ML"  # "FIML" with missing answers (lavaan's missing = "ml")

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("n", "chi2", "df", "p", "cfi", "tli", "rmsea")}
        out["rmsea_ci"] = list(self.rmsea_ci)
        out["srmr"] = self.srmr
        out["estimator"] = self.estimator
        out["std_loadings"] = dict(self.std_loadings)
        out["factor_correlations"] = self.factor_correlations.tolist()
        if not self.converged:
            out["warning"] = "the optimiser did not report convergence"
        return out


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
    s = cov * (n - 1) / n
    logdet_s, layout = _prepare(s, groups, n)
    free, tri = layout.free, layout.tri
    # start: loadings 1, factor variances from the markers, residuals half the variance
    marker_var = np.array([s[g[0], g[0]] for g in groups])
    phi0 = np.diag(marker_var / 2)
    theta0 = np.concatenate([np.ones(int(free.sum())), phi0[tri], np.diag(s) / 2])
    theta, fmin, converged = _minimise(theta0, s, logdet_s, layout)
    lam, phi, resid = layout.unpack(theta)
    sigma = lam @ phi @ lam.T + np.diag(resid)
    chi2 = n * float(fmin)
    chi2_base = n * float(np.log(np.diag(s)).sum() - logdet_s)
    d = 1 / np.sqrt(np.diag(s))
    residual = (s - sigma) * np.outer(d, d)
    srmr = float(np.sqrt(np.mean(residual[np.tril_indices(p)] ** 2)))
    return _result(n, chi2, chi2_base, srmr, theta, layout, columns, converged, "ML")


def _result(n, chi2, chi2_base, srmr, theta, layout: _Layout, columns, converged, estimator):
    """Fit indices and standardized loadings, as lavaan's ``fitMeasures`` and
    ``standardizedSolution``."""
    lam, phi, resid = layout.unpack(theta)
    sigma = lam @ phi @ lam.T + np.diag(resid)
    p = lam.shape[0]
    n_par = int(layout.free.sum()) + len(layout.tri[0]) + p
    df = p * (p + 1) // 2 - n_par
    df_base = p * (p - 1) // 2
    cfi_den = max(chi2 - df, chi2_base - df_base, 0)
    cfi = 1 - max(chi2 - df, 0) / cfi_den if cfi_den > 0 else 1.0
    tli = ((chi2_base / df_base) - (chi2 / df)) / ((chi2_base / df_base) - 1) if df > 0 else 1.0
    rmsea = float(np.sqrt(max(chi2 / n / df - 1 / n, 0))) if df > 0 else 0.0
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
        std_loadings={c: float(std[i, layout.pattern[i]].sum()) for i, c in enumerate(columns)},
        factor_correlations=phi / np.outer(sd_factor, sd_factor),
        converged=converged,
        estimator=estimator,
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


@dataclass(frozen=True)
class _Patterns:
    """The rows grouped by which items they answer: per pattern its count, the sums and
    the cross-products of the answers (0 where missing), centred on ``centre``."""

    masks: np.ndarray  # (P, p) bool
    counts: np.ndarray  # (P,)
    sums: np.ndarray  # (P, p)
    cross: np.ndarray  # (P, p, p)
    centre: np.ndarray  # (p,)

    @classmethod
    def of(cls, x: np.ndarray) -> _Patterns:
        seen = ~np.isnan(x)
        centre = np.nanmean(x, axis=0)
        x0 = np.where(seen, x - centre, 0.0)
        masks, inverse = np.unique(seen, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(masks) + 1))
        p = x.shape[1]
        sums = np.empty((len(masks), p))
        cross = np.empty((len(masks), p, p))
        for g in range(len(masks)):
            rows = x0[order[bounds[g] : bounds[g + 1]]]
            sums[g] = rows.sum(axis=0)
            cross[g] = rows.T @ rows
        return cls(masks, np.diff(bounds).astype(np.float64), sums, cross, centre)

    def deviations(self, mu: np.ndarray) -> np.ndarray:
        """Per pattern the sum of (x - mu)(x - mu)' over its rows, on its answered items."""
        m = self.masks * mu  # mu on the answered items only
        outer_sum = self.sums[:, :, None] * m[:, None, :]
        return (
            self.cross
            - outer_sum
            - outer_sum.transpose(0, 2, 1)
            + self.counts[:, None, None] * m[:, :, None] * m[:, None, :]
        )

    def inverses(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pattern the inverse of Sigma's answered block (embedded, 0 elsewhere) and
        its log-determinant: the block's inverse is that of Sigma with the unanswered
        rows and columns replaced by the identity's."""
        both = self.masks[:, :, None] & self.masks[:, None, :]
        eye = np.eye(sigma.shape[0])
        filled = np.where(both, sigma, eye)
        chol = np.linalg.cholesky(filled)
        logdet = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        inv = np.linalg.inv(filled)
        return np.where(both, inv, 0.0), logdet


def _fiml(sigma: np.ndarray, mu: np.ndarray, data: _Patterns, gradient: bool = True):
    r"""Minus twice the log-likelihood per response (constants dropped) and its gradient
    in Sigma and mu: :math:`F = \frac1N\sum_g n_g\ln|\Sigma_g| + \operatorname{tr}
    (\Sigma_g^{-1}A_g)` with :math:`A_g = \sum_{r\in g}(x_r-\mu)(x_r-\mu)^T` on the
    pattern's answered items."""
    try:
        inv, logdet = data.inverses(sigma)
    except np.linalg.LinAlgError:
        return np.inf, None, None
    dev = data.deviations(mu)
    total = data.counts.sum()
    f = float((data.counts * logdet).sum() + (inv * dev).sum()) / total  # dev is symmetric
    if not gradient:
        return f, None, None
    g_sigma = (np.einsum("g,gij->ij", data.counts, inv) - (inv @ dev @ inv).sum(axis=0)) / total
    resid = data.sums - data.counts[:, None] * (data.masks * mu)
    g_mu = -2 * np.einsum("gij,gj->i", inv, resid) / total
    return f, g_sigma, g_mu


def em_moments(data: _Patterns, tol: float = 1e-12, max_iter: int = 5000):
    """Means and covariance of the unrestricted model by EM (as lavaan's h1 with
    ``missing = "ml"``), in the data's centred coordinates."""
    total = data.counts.sum()
    answered = np.maximum((data.counts[:, None] * data.masks).sum(axis=0), 1)
    mu = data.sums.sum(axis=0) / answered
    sigma = np.diag(np.einsum("gii->i", data.cross) / answered - mu**2)
    for _ in range(max_iter):
        inv, _ = data.inverses(sigma)
        t = sigma @ inv  # (P, p, p): regression of every item on the answered ones
        resid = data.sums - data.counts[:, None] * (data.masks * mu)  # sum of (x - mu)_o
        yy = data.deviations(mu)  # sum of (x - mu)(x - mu)' on the answered block
        # E[x - mu] and E[(x - mu)(x - mu)'] summed over each pattern's rows
        e1 = np.einsum("gij,gj->gi", t, resid)
        e2 = t @ yy @ t.transpose(0, 2, 1) + data.counts[:, None, None] * (sigma - t @ sigma)
        s1 = e1.sum(axis=0) / total
        new_mu = mu + s1
        new_sigma = e2.sum(axis=0) / total - np.outer(s1, s1)
        change = max(np.abs(new_mu - mu).max(), np.abs(new_sigma - sigma).max())
        mu, sigma = new_mu, (new_sigma + new_sigma.T) / 2
        if change < tol:
            break
    return mu, sigma


def cfa_fiml(x: np.ndarray, groups: list[list[int]], columns: tuple[str, ...]) -> CFAResult:
    r"""The same CFA by full-information maximum likelihood, as lavaan's
    ``cfa(..., missing = "ml")``.

    Parameters
    ----------
    x : ndarray
        (n, p) answers, NaN where missing; rows that answer none of the items are left
        out (lavaan ignores empty cases), so n is the respondents who answered any.

    Notes
    -----
    The means are free. :math:`\chi^2 = 2(\ell_1 - \ell_0)` with :math:`\ell_1` the
    log-likelihood of the unrestricted moments found by EM; the baseline is the
    independence model (each item's own mean and variance over the rows answering it);
    CFI, TLI and RMSEA (with N) as in :func:`cfa`; SRMR with the means, each residual
    standardized by the EM variances (lavaan's ``srmr``):
    :math:`\sqrt{(\sum_{i\le j} ((s_{ij}-\sigma_{ij})/\sqrt{s_{ii}s_{jj}})^2 +
    \sum_i ((m_i - \mu_i)/\sqrt{s_{ii}})^2) / (p(p+1)/2 + p)}`.

    References
    ----------
    Arbuckle, J. L. (1996). Full information estimation in the presence of incomplete
    data. In Marcoulides & Schumacker (Eds.), Advanced structural equation modeling.
    """
    x = x[~np.isnan(x).all(axis=1)]
    n, p = x.shape
    _check_size(groups, n, p)
    data = _Patterns.of(x)
    mu1, s1 = em_moments(data)
    logdet_s, layout = _prepare(s1, groups, n)
    # start: the complete-data ML fit to the EM moments
    marker_var = np.array([s1[g[0], g[0]] for g in groups])
    theta0 = np.concatenate(
        [np.ones(int(layout.free.sum())), np.diag(marker_var / 2)[layout.tri], np.diag(s1) / 2]
    )
    theta0 = _minimise(theta0, s1, logdet_s, layout)[0]

    def objective(params: np.ndarray):
        theta, mu = params[:-p], params[-p:]
        lam, phi, resid = layout.unpack(theta)
        f, g_sigma, g_mu = _fiml(lam @ phi @ lam.T + np.diag(resid), mu, data)
        if g_sigma is None:
            return 1e10, np.zeros_like(params)
        g_lam = 2 * g_sigma @ lam @ phi
        g_phi = lam.T @ g_sigma @ lam
        g_phi = 2 * g_phi - np.diag(np.diag(g_phi))
        grad = np.concatenate([g_lam[layout.free], g_phi[layout.tri], np.diag(g_sigma), g_mu])
        return f, grad

    result = optimize.minimize(
        objective,
        np.concatenate([theta0, mu1]),
        jac=True,
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 10_000},
    )
    gradient = objective(result.x)[1]
    converged = bool(np.abs(gradient).max() < 1e-5)
    theta, mu0 = result.x[:-p], result.x[-p:]
    f1 = _fiml(s1, mu1, data, gradient=False)[0]
    chi2 = n * (float(result.fun) - f1)
    # the independence model: each item's own mean and variance (divisor n_i)
    answered = ~np.isnan(x)
    n_i = answered.sum(axis=0)
    var_i = np.nanvar(x, axis=0)
    chi2_base = float((n_i * (np.log(var_i) + 1)).sum()) - n * f1
    lam, phi, resid = layout.unpack(theta)
    sigma = lam @ phi @ lam.T + np.diag(resid)
    d = 1 / np.sqrt(np.diag(s1))
    cov_res = ((s1 - sigma) * np.outer(d, d))[np.tril_indices(p)]
    mean_res = (mu1 - mu0) * d
    srmr = float(np.sqrt(((cov_res**2).sum() + (mean_res**2).sum()) / (len(cov_res) + p)))
    return _result(n, chi2, chi2_base, srmr, theta, layout, columns, converged, "FIML")


def _check_size(groups: list[list[int]], n: int, p: int) -> None:
    if any(len(g) < 2 for g in groups) and len(groups) == 1:
        raise AnalysisError("a one-factor CFA needs at least 3 items")
    if n <= p:
        raise AnalysisError(f"too few responses ({n}) for a CFA of {p} items")


def _prepare(s: np.ndarray, groups: list[list[int]], n: int) -> tuple[float, _Layout]:
    """Check the model against the moments ``s``; its log-determinant and parameter layout."""
    p = s.shape[0]
    _check_size(groups, n, p)
    sign, logdet_s = np.linalg.slogdet(s)
    if sign <= 0 or np.linalg.cond(s) > 1e12:
        raise AnalysisError(
            "the covariance matrix is singular (an item repeats or combines others); "
            "the CFA cannot be fitted"
        )
    pattern = np.zeros((p, len(groups)), dtype=bool)
    for j, items in enumerate(groups):
        pattern[items, j] = True
    return logdet_s, _Layout.of(pattern)
