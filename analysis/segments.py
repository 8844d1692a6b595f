"""NPS, comparisons between segments, and change from one wave to the next."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .data import AnalysisError
from .moments import row_chunks


@dataclass(frozen=True)
class NPS:
    n: int
    nps: float
    ci: tuple[float, float]
    promoters: float
    passives: float
    detractors: float

    def to_dict(self) -> dict:
        out = dict(vars(self))
        out["ci"] = list(self.ci)
        return out


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
    segments: ``codes[i]`` is the index of the i-th value in ``levels`` (-1 if missing)."""

    levels: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> Encoded:
        y = np.asarray(values, dtype=np.float64)
        head = y[:4096]
        sample = head[np.isfinite(head)][:1000]
        if not len(sample) and not np.isfinite(y).any():
            return cls(np.zeros(0), np.full(len(y), -1, dtype=np.intp))
        # Scores are means of k integer answers: y * k is a whole number, so the distinct
        # values come from a bincount instead of a sort of n values.
        for k in range(1, 13):
            if len(sample) and np.abs(sample * k - np.rint(sample * k)).max() >= 1e-9:
                continue  # rejected on a sample, without a pass over all n values
            encoded = cls._on_grid(y, k)
            if encoded is not None:
                return encoded
        finite = np.isfinite(y)
        # Scores equal as decimals but summed in another order can differ in the last
        # bit; rounded to 1e-9 they tie, as they should for ranks and count tables.
        levels, inverse = np.unique(np.round(y[finite], 9), return_inverse=True)
        codes = np.full(len(y), -1, dtype=np.intp)
        codes[finite] = inverse
        return cls(levels, codes)

    @classmethod
    def _on_grid(cls, y: np.ndarray, k: int) -> Encoded | None:
        """Codes on the grid of multiples of 1/k, or None if a value is off the grid."""
        low, high = np.rint(np.fmin.reduce(y) * k), np.rint(np.fmax.reduce(y) * k)
        size = int(high - low) + 1
        if size > max(1024, len(y)):
            return None
        codes = np.empty(len(y), dtype=np.intp)
        present = np.zeros(size + 1, dtype=np.intp)  # [0] counts the missing
        # chunk by chunk, so that the temporaries stay in cache (light work per chunk:
        # threads would only contend)
        for start, stop in row_chunks(0, len(y)):
            scaled = y[start:stop] * k
            whole = np.rint(scaled)
            off = np.abs(np.subtract(scaled, whole, out=scaled), out=scaled)
            if not off.max() < 1e-9:  # off the grid, or missing (NaN)
                finite = np.isfinite(whole)
                if off[finite].max(initial=0.0) >= 1e-9:
                    return None
                whole[~finite] = low - 1  # code -1
            whole -= low
            chunk = codes[start:stop]
            np.copyto(chunk, whole, casting="unsafe")
            present += np.bincount(chunk + 1, minlength=size + 1)
        present = present[1:]
        steps = np.flatnonzero(present)
        if len(steps) < size:  # some grid points are never seen: number the seen ones
            lookup = np.full(size, -1, dtype=np.intp)
            lookup[steps] = np.arange(len(steps))
            codes = np.where(codes >= 0, lookup[codes], -1)
        return cls((steps + low) / k, codes)


@dataclass(frozen=True)
class Grouped:
    """A segment's groups as codes (-1 missing), with their names in order."""

    names: np.ndarray
    codes: np.ndarray

    @classmethod
    def of(cls, groups: pd.Series) -> Grouped:
        category = (
            groups if isinstance(groups.dtype, pd.CategoricalDtype) else groups.astype("category")
        )
        return cls(np.asarray(category.cat.categories.astype(str)), category.cat.codes.to_numpy())


def table(score: Encoded, groups: Grouped) -> np.ndarray:
    """Counts of (score value, group) pairs: bincounts of chunks, the basis of every test
    below.

    Missing values (code -1) on either side land in an extra row or column that is
    dropped, which avoids a masking pass.
    """
    k = len(groups.names) + 1
    size = (len(score.levels) + 1) * k
    counts = np.zeros(size, dtype=np.intp)
    for start, stop in row_chunks(0, len(score.codes)):  # temporaries that stay in cache
        joint = score.codes[start:stop] + 1
        joint *= k
        joint += groups.codes[start:stop]
        joint += 1
        counts += np.bincount(joint, minlength=size)
    return counts.reshape(len(score.levels) + 1, k)[1:, 1:]


@dataclass(frozen=True)
class SegmentComparison:
    """A score compared across the groups of a segment."""

    n: int
    means: dict[str, float]
    welch_anova: dict[str, float]
    kruskal: dict[str, float]
    pairwise: tuple[dict, ...]
    counts: dict[str, int] = field(default_factory=dict)  # answers per group
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)  # t interval of each mean

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "means": dict(self.means),
            "counts": dict(self.counts),
            "ci": {g: list(v) for g, v in self.ci.items()},
            "welch_anova": dict(self.welch_anova),
            "kruskal": dict(self.kruskal),
            "pairwise": [dict(row) for row in self.pairwise],
        }


@dataclass(frozen=True)
class WaveChange:
    """The change of a score from each wave to the next."""

    steps: tuple[dict, ...]

    def to_dict(self) -> list[dict]:
        return [dict(step) for step in self.steps]


def compare_segments(
    values: np.ndarray | Encoded,
    groups: pd.Series | Grouped,
    counts_table: np.ndarray | None = None,
) -> SegmentComparison:
    r"""Welch ANOVA and Kruskal-Wallis of a score across segment groups, with effect sizes
    and Holm-corrected pairwise Welch t tests, all from per-group sufficient statistics.

    Notes
    -----
    One pass gives each group's n, mean and variance and the table of (value, group)
    counts; everything else works on those, so the cost is that of a ``bincount``:

    * Welch (1951): :math:`w_g = n_g/s^2_g`, :math:`F = \frac{\sum w_g(\bar y_g -
      \bar y_w)^2/(k-1)}{1 + \frac{2(k-2)}{k^2-1}\sum\frac{(1-w_g/W)^2}{n_g-1}}` on
      :math:`k-1` and :math:`\frac{k^2-1}{3\sum(1-w_g/W)^2/(n_g-1)}` degrees of freedom;
      effect size :math:`\eta^2 = SS_{between}/SS_{total}` (pingouin's ``np2``).
    * Kruskal-Wallis with mid-ranks and the tie correction (scipy's ``kruskal``),
      :math:`\epsilon^2 = H(n+1)/(n^2-1)` (Tomczak & Tomczak, 2014).
    * Pairwise Welch t tests, Holm-adjusted, with Hedges' g (pingouin's
      ``pairwise_tests(parametric=True, correction=True, padjust="holm")``).

    Groups with fewer than 2 answers are left out; where no test is defined an
    :class:`AnalysisError` says why.
    """
    score = values if isinstance(values, Encoded) else Encoded.of(values)
    grouped = groups if isinstance(groups, Grouped) else Grouped.of(groups)
    if counts_table is None:
        counts_table = table(score, grouped)
    counts_table = counts_table.astype(np.float64)
    big = counts_table.sum(axis=0) >= 2
    if big.sum() < 2:
        raise AnalysisError("fewer than two groups with at least 2 answers")
    names, counts_table = grouped.names[big], counts_table[:, big]
    counts, means, var = _group_stats(score.levels, counts_table)
    k, n = len(names), counts.sum()
    grand = (counts * means).sum() / n
    if (var <= 1e-12).all():
        raise AnalysisError("the score is the same within every group")
    if (var <= 1e-12).any():
        raise AnalysisError("the score is constant within a group: Welch's test is undefined")
    w = counts / var
    mean_w = (w * means).sum() / w.sum()
    a = (w * (means - mean_w) ** 2).sum() / (k - 1)
    lam = ((1 - w / w.sum()) ** 2 / (counts - 1)).sum()
    f = a / (1 + 2 * (k - 2) / (k**2 - 1) * lam)
    df2 = (k**2 - 1) / (3 * lam)
    ss_between = (counts * (means - grand) ** 2).sum()
    ss_total = ((score.levels - grand) ** 2 @ counts_table).sum()
    h, kw_p = _kruskal(counts_table, counts)
    return SegmentComparison(
        n=int(n),
        means={str(g): float(m) for g, m in zip(names, means, strict=True)},
        welch_anova={
            "F": float(f),
            "df1": float(k - 1),
            "df2": float(df2),
            "p": float(stats.f.sf(f, k - 1, df2)),
            "eta2_partial": float(ss_between / ss_total),
        },
        kruskal={"H": float(h), "p": float(kw_p), "epsilon2": float(h * (n + 1) / (n**2 - 1))},
        pairwise=tuple(_pairwise(names, counts, means, var)),
        counts={str(g): int(c) for g, c in zip(names, counts, strict=True)},
        ci={
            str(g): _mean_ci(m, v, c) for g, m, v, c in zip(names, means, var, counts, strict=True)
        },
    )


def _mean_ci(mean: float, var: float, count: float, level: float = 0.95) -> tuple[float, float]:
    """The t interval of a group mean (R's ``t.test(x)$conf.int``)."""
    half = stats.t.ppf(0.5 + level / 2, count - 1) * np.sqrt(var / count)
    return (float(mean - half), float(mean + half))


def _group_stats(levels: np.ndarray, counts_table: np.ndarray):
    """Each group's n, mean and unbiased variance from its column of the count table
    (NaN where a group has too few answers)."""
    counts = counts_table.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (levels @ counts_table) / counts
        var = ((levels[:, None] - means) ** 2 * counts_table).sum(axis=0) / (counts - 1)
    return counts, means, var


def _kruskal(counts_table: np.ndarray, counts: np.ndarray):
    t = counts_table[counts_table.sum(axis=1) > 0]
    ties = t.sum(axis=1)
    n = ties.sum()
    k = t.shape[1]
    midranks = np.cumsum(ties) - (ties - 1) / 2
    rank_sums = midranks @ t
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


def wave_change(
    values: np.ndarray | Encoded,
    waves: pd.Series | Grouped,
    level: float = 0.95,
    counts_table: np.ndarray | None = None,
) -> WaveChange:
    """Mean change of a score from each wave to the next, with a Welch t interval.

    ``waves`` lists the waves in order (a categorical's categories). Computed from the
    (value, wave) count table, as R's ``t.test(after, before)``.
    """
    score = values if isinstance(values, Encoded) else Encoded.of(values)
    grouped = waves if isinstance(waves, Grouped) else Grouped.of(waves)
    t = (table(score, grouped) if counts_table is None else counts_table).astype(np.float64)
    counts, means, var = _group_stats(score.levels, t)
    out = []
    for i, (before, after) in enumerate(zip(grouped.names, grouped.names[1:], strict=False)):
        na, nb = counts[i], counts[i + 1]
        if na < 2 or nb < 2:
            out.append(
                {"from": str(before), "to": str(after), "note": "fewer than 2 answers in a wave"}
            )
            continue
        va, vb = var[i], var[i + 1]
        se2 = va / na + vb / nb
        change = means[i + 1] - means[i]
        df = se2**2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
        half = stats.t.ppf(0.5 + level / 2, df) * np.sqrt(se2)
        p = 2 * stats.t.sf(abs(change) / np.sqrt(se2), df)
        out.append(
            {
                "from": str(before),
                "to": str(after),
                "n": [int(na), int(nb)],
                "change": float(change),
                "ci": [float(change - half), float(change + half)],
                "p": float(p),
            }
        )
    return WaveChange(tuple(out))
