"""NPS, comparisons between segments, and change from one wave to the next."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .data import AnalysisError


@dataclass(frozen=True)
class NPS:
    n: int
    nps: float
    ci: tuple[float, float]
    promoters: float
    passives: float
    detractors: float


def nps(scores: np.ndarray, level: float = 0.95) -> NPS:
    r"""Net Promoter Score (0-10 item: promoters 9-10, detractors 0-6) with a Wald interval.

    Notes
    -----
    :math:`NPS = 100(p_P - p_D)`, with standard error
    :math:`100\sqrt{(p_P + p_D - (p_P - p_D)^2)/n}` (the variance of a score taking
    +1, 0, -1).

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. Harvard Business Review,
    81(12), 46-54.
    """
    s = scores[np.isfinite(scores)]
    n = len(s)
    if n < 2:
        raise AnalysisError(f"too few NPS answers ({n})")
    promoters, detractors = float((s >= 9).mean()), float((s <= 6).mean())
    value = promoters - detractors
    se = np.sqrt(max(promoters + detractors - value**2, 0) / n)
    z = stats.norm.ppf(0.5 + level / 2)
    return NPS(
        n,
        100 * value,
        (100 * (value - z * se), 100 * (value + z * se)),
        promoters,
        1 - promoters - detractors,
        detractors,
    )


@dataclass(frozen=True)
class Encoded:
    """A score with its distinct values found once (for the rank test), reusable across
    segments: ``codes[i]`` is the index of ``values[i]`` in ``levels`` (-1 if missing)."""

    values: np.ndarray
    levels: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Encoded:
        y = np.asarray(values, dtype=np.float64)
        finite = np.isfinite(y)
        levels, inverse = np.unique(y[finite], return_inverse=True)
        codes = np.full(len(y), -1, dtype=np.int64)
        codes[finite] = inverse
        return cls(y, levels, codes)


def compare_segments(values: np.ndarray | Encoded, groups: pd.Series) -> dict:
    r"""Welch ANOVA and Kruskal-Wallis of a score across segment groups, with effect sizes
    and Holm-corrected pairwise Welch t tests, all from per-group sufficient statistics.

    Notes
    -----
    One pass gives each group's n, mean and variance and the table of (value, group)
    counts; everything else works on those, so the cost is that of a ``bincount``:

    * Welch (1951): :math:`w_g = n_g/s^2_g`, :math:`F = rac{\sum w_g(ar y_g -
      ar y_w)^2/(k-1)}{1 + rac{2(k-2)}{k^2-1}\sumrac{(1-w_g/W)^2}{n_g-1}}` on
      :math:`k-1` and :math:`rac{k^2-1}{3\sum(1-w_g/W)^2/(n_g-1)}` degrees of freedom;
      effect size :math:`\eta^2 = SS_{between}/SS_{total}` (pingouin's ``np2``).
    * Kruskal-Wallis with mid-ranks and the tie correction (scipy's ``kruskal``),
      :math:`\epsilon^2 = H(n+1)/(n^2-1)` (Tomczak & Tomczak, 2014).
    * Pairwise Welch t tests, Holm-adjusted, with Hedges' g (pingouin's
      ``pairwise_tests(parametric=True, correction=True, padjust="holm")``).

    Groups with fewer than 2 answers are left out.
    """
    score = values if isinstance(values, Encoded) else Encoded.of(values)
    category = (
        groups if isinstance(groups.dtype, pd.CategoricalDtype) else groups.astype("category")
    )
    names = np.asarray(category.cat.categories.astype(str))
    group_codes = category.cat.codes.to_numpy()
    keep = (score.codes >= 0) & (group_codes >= 0)
    y, codes, value_codes = score.values[keep], group_codes[keep], score.codes[keep]
    counts = np.bincount(codes, minlength=len(names))
    big = counts >= 2
    if big.sum() < 2:
        return {"note": "fewer than two groups with at least 2 answers"}
    if not big.all():
        mask = big[codes]
        y, value_codes = y[mask], value_codes[mask]
        codes = (np.cumsum(big) - 1)[codes[mask]]
        names, counts = names[big], counts[big]
    k, n = len(names), len(y)
    shift = y.mean()
    d = y - shift
    sums = np.bincount(codes, weights=d, minlength=k)
    squares = np.bincount(codes, weights=d * d, minlength=k)
    means = sums / counts
    var = (squares - counts * means**2) / (counts - 1)
    if (var <= 0).all():
        return {"note": "the score is the same within every group"}
    if (var <= 0).any():
        return {"note": "the score is constant within a group: Welch's test is undefined"}
    w = counts / var
    mean_w = (w * means).sum() / w.sum()
    a = (w * (means - mean_w) ** 2).sum() / (k - 1)
    lam = ((1 - w / w.sum()) ** 2 / (counts - 1)).sum()
    f = a / (1 + 2 * (k - 2) / (k**2 - 1) * lam)
    df2 = (k**2 - 1) / (3 * lam)
    ss_between = (counts * means**2).sum() - n * (sums.sum() / n) ** 2
    ss_total = (d * d).sum() - n * (d.mean()) ** 2
    h, kw_p = _kruskal(value_codes, len(score.levels), codes, k, counts)
    return {
        "n": int(n),
        "means": {str(g): float(m + shift) for g, m in zip(names, means, strict=True)},
        "welch_anova": {
            "F": float(f),
            "df1": float(k - 1),
            "df2": float(df2),
            "p": float(stats.f.sf(f, k - 1, df2)),
            "eta2_partial": float(ss_between / ss_total),
        },
        "kruskal": {"H": float(h), "p": float(kw_p), "epsilon2": float(h * (n + 1) / (n**2 - 1))},
        "pairwise": _pairwise(names, counts, means, var),
    }


def _kruskal(value_codes, n_levels, codes, k, counts):
    table = np.bincount(value_codes * k + codes, minlength=n_levels * k).reshape(n_levels, k)
    table = table[table.sum(axis=1) > 0].astype(np.float64)
    ties = table.sum(axis=1)
    n = ties.sum()
    midranks = np.cumsum(ties) - (ties - 1) / 2
    rank_sums = midranks @ table
    h = 12 / (n * (n + 1)) * (rank_sums**2 / counts).sum() - 3 * (n + 1)
    correction = 1 - (ties**3 - ties).sum() / (n**3 - n)
    h = h / correction if correction > 0 else 0.0
    return h, stats.chi2.sf(h, k - 1)


def _pairwise(names, counts, means, var):
    rows = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            se2 = var[i] / counts[i] + var[j] / counts[j]
            t = (means[i] - means[j]) / np.sqrt(se2)
            df = se2**2 / (
                (var[i] / counts[i]) ** 2 / (counts[i] - 1)
                + (var[j] / counts[j]) ** 2 / (counts[j] - 1)
            )
            pooled = np.sqrt(
                ((counts[i] - 1) * var[i] + (counts[j] - 1) * var[j]) / (counts[i] + counts[j] - 2)
            )
            g = (means[i] - means[j]) / pooled * (1 - 3 / (4 * (counts[i] + counts[j]) - 9))
            rows.append(
                {
                    "a": str(names[i]),
                    "b": str(names[j]),
                    "t": float(t),
                    "df": float(df),
                    "p": float(2 * stats.t.sf(abs(t), df)),
                    "hedges": float(g),
                }
            )
    adjusted = _holm([r["p"] for r in rows])
    for row, p in zip(rows, adjusted, strict=True):
        row["p_holm"] = p
    return rows


def _holm(p: list[float]) -> list[float]:
    order = np.argsort(p)
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min((m - rank) * p[i], 1.0))
        adjusted[i] = running
    return adjusted.tolist()


def wave_change(values: np.ndarray, waves: pd.Series, level: float = 0.95) -> list[dict]:
    """Mean change of a score from each wave to the next (Welch t interval).

    ``waves`` is categorical, its categories in wave order.
    """
    out = []
    codes = waves.cat.codes.to_numpy()
    order = list(waves.cat.categories)
    finite = np.isfinite(values)
    for i, (before, after) in enumerate(zip(order, order[1:], strict=False)):
        a = values[(codes == i) & finite]
        b = values[(codes == i + 1) & finite]
        if len(a) < 2 or len(b) < 2:
            out.append({"from": before, "to": after, "note": "fewer than 2 answers in a wave"})
            continue
        res = stats.ttest_ind(b, a, equal_var=False)
        ci = res.confidence_interval(level)
        out.append(
            {
                "from": before,
                "to": after,
                "n": [len(a), len(b)],
                "change": float(b.mean() - a.mean()),
                "ci": [float(ci.low), float(ci.high)],
                "p": float(res.pvalue),
            }
        )
    return out
