"""SERVQUAL gaps and the zone of tolerance, per dimension."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from questionnaires import Section

from .data import AnalysisError, SurveyData
from .moments import MomentCache, TooFewResponses


@dataclass(frozen=True)
class Gap:
    n: int
    expectation: float
    perception: float
    gap: float
    gap_ci: tuple[float, float]
    expectation_ci: tuple[float, float] = (float("nan"), float("nan"))
    perception_ci: tuple[float, float] = (float("nan"), float("nan"))
    # per item pair (perception column): expectation, perception, gap and its interval
    items: dict[str, dict] | None = None

    def to_dict(self) -> dict:
        out = {
            "n": self.n,
            "expectation": self.expectation,
            "perception": self.perception,
            "gap": self.gap,
            "gap_ci": list(self.gap_ci),
            "expectation_ci": list(self.expectation_ci),
            "perception_ci": list(self.perception_ci),
        }
        if self.items is not None:
            out["items"] = {k: dict(v) for k, v in self.items.items()}
        return out


def _t_interval(mean: float, var: float, n: int, level: float) -> tuple[float, float]:
    """The one-sample t interval of a mean with variance ``var`` over ``n`` rows."""
    half = stats.t.ppf(0.5 + level / 2, n - 1) * np.sqrt(max(var, 0.0) / n)
    return (float(mean - half), float(mean + half))


def _item_gaps(
    e_cols: list[str], p_cols: list[str], mean: np.ndarray, cov: np.ndarray, n, level: float
) -> dict[str, dict]:
    """Each item's expectation, perception and gap P - E (paired t interval) from the
    means and covariance of the columns ``e_cols + p_cols`` (n may differ per item)."""
    k = len(e_cols)
    out = {}
    for i, (e, p) in enumerate(zip(e_cols, p_cols, strict=True)):
        rows = n[i] if isinstance(n, (list, tuple, np.ndarray)) else n
        diff = mean[k + i] - mean[i]
        var = cov[i, i] + cov[k + i, k + i] - 2 * cov[i, k + i]
        out[p] = {
            "expectation_column": e,
            "n": int(rows),
            "expectation": float(mean[i]),
            "perception": float(mean[k + i]),
            "gap": float(diff),
            "gap_ci": list(_t_interval(diff, var, rows, level)),
        }
    return out


@dataclass(frozen=True)
class Zone:
    n: int
    adequate: float
    desired: float
    perception: float
    msa: float  # measure of service adequacy: perception - adequate
    mss: float  # measure of service superiority: perception - desired
    position: str  # below, within or above the zone
    share_within: float  # respondents whose perception lies in their own zone

    def to_dict(self) -> dict:
        return dict(vars(self))


def _scores(data: SurveyData, dimension, roles: list[str]) -> tuple[int, list[np.ndarray]]:
    """The dimension's scores under each measure role, on the rows that have all."""
    scores = [data.score(data.scale_of(dimension, role)) for role in roles]
    total = scores[0].copy()
    for s in scores[1:]:
        total += s  # NaN wherever any score is missing: one check instead of a mask each
    if not np.isnan(total).any():
        return len(total), scores
    rows = np.isfinite(total)
    return int(rows.sum()), [s[rows] for s in scores]


def gap_of_scores(data: SurveyData, dimension: Section, level: float = 0.95) -> Gap:
    """:func:`gap` from the scale scores (``--missing available``): the rows that have
    both an expectation and a perception score, R's ``t.test(P - E)`` on them."""
    n, (e, p) = _scores(data, dimension, ["expectation", "perception"])
    if n < 2:
        raise AnalysisError(f"dimension {dimension.id}: fewer than 2 responses with both scores")
    diff = p - e
    mean = float(diff.mean())
    half = stats.t.ppf(0.5 + level / 2, n - 1) * diff.std(ddof=1) / np.sqrt(n)
    q = data.q
    e_cols = [q.column_name(i, q.measure_by_role("expectation")) for i in dimension.items]
    p_cols = [q.column_name(i, q.measure_by_role("perception")) for i in dimension.items]
    items = {}
    for e_col, p_col in zip(e_cols, p_cols, strict=True):  # each pair on the rows answering it
        e_item, p_item = data.columns([e_col, p_col])
        both = np.isfinite(e_item) & np.isfinite(p_item)
        m = int(both.sum())
        if m < 2:
            continue
        d = p_item[both] - e_item[both]
        items.update(
            _item_gaps(
                [e_col],
                [p_col],
                np.array([e_item[both].mean(), p_item[both].mean()]),
                np.array([[0.0, 0.0], [0.0, d.var(ddof=1)]]),
                m,
                level,
            )
        )
    return Gap(
        n,
        float(e.mean()),
        float(p.mean()),
        mean,
        (mean - half, mean + half),
        _t_interval(float(e.mean()), float(e.var(ddof=1)), n, level),
        _t_interval(float(p.mean()), float(p.var(ddof=1)), n, level),
        items,
    )


def gaps(
    data: SurveyData, level: float = 0.95, moments: MomentCache | None = None
) -> dict[str, Gap]:
    """:func:`gap` of every dimension (the first one without 2 complete responses raises)."""
    return {dim.id: gap(data, dim, level, moments) for dim in data.q.dimensions}


def gap(
    data: SurveyData, dimension: Section, level: float = 0.95, moments: MomentCache | None = None
) -> Gap:
    """Mean expectation, mean perception and the gap P - E with a t interval, of a dimension.

    Notes
    -----
    Respondents who answered every item of the dimension under both measures; a score
    is the mean of its items; the interval is the one-sample t interval of the paired
    differences (R's ``t.test(P - E)``). The gap is a linear combination :math:`w^T x`
    of the items, so its mean and variance come from the items' listwise moments:
    :meth:`Moments.of_means` (``moments`` shares the report's pass).

    References
    ----------
    Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1988). SERVQUAL: A multiple-item
    scale for measuring consumer perceptions of service quality. Journal of Retailing,
    64(1), 12-40.
    """
    q = data.q
    expectation, perception = q.measure_by_role("expectation"), q.measure_by_role("perception")
    e_cols = [q.column_name(item, expectation) for item in dimension.items]
    p_cols = [q.column_name(item, perception) for item in dimension.items]
    try:
        m = (moments or MomentCache(data, e_cols + p_cols)).get(e_cols + p_cols)
    except TooFewResponses as exc:
        raise AnalysisError(f"dimension {dimension.id}: fewer than 2 complete responses") from exc
    (e_mean, p_mean), cov = m.of_means([tuple(e_cols), tuple(p_cols)])
    mean = float(p_mean - e_mean)
    sd = np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
    half = stats.t.ppf(0.5 + level / 2, m.n - 1) * sd / np.sqrt(m.n)
    pairs = m.sub(e_cols + p_cols)
    return Gap(
        m.n,
        float(e_mean),
        float(p_mean),
        mean,
        (mean - half, mean + half),
        _t_interval(float(e_mean), cov[0, 0], m.n, level),
        _t_interval(float(p_mean), cov[1, 1], m.n, level),
        _item_gaps(e_cols, p_cols, pairs.mean, pairs.cov, m.n, level),
    )


def zone_of_tolerance(data: SurveyData) -> dict[str, Zone]:
    """Where perception lies against the adequate and desired service, per dimension.

    References
    ----------
    Zeithaml, V. A., Berry, L. L., & Parasuraman, A. (1993). The nature and
    determinants of customer expectations of service. Journal of the Academy of
    Marketing Science, 21, 1-12.
    """
    result = {}
    for dim in data.q.dimensions:
        n, (a, d, p) = _scores(data, dim, ["adequate", "desired", "perception"])
        if n < 1:
            raise AnalysisError(f"dimension {dim.id}: no complete responses")
        pa, pd_, pp = float(a.mean()), float(d.mean()), float(p.mean())
        position = "below" if pp < pa else "above" if pp > pd_ else "within"
        within = float(((p >= a) & (p <= d)).mean())
        result[dim.id] = Zone(n, pa, pd_, pp, pp - pa, pp - pd_, position, within)
    return result


@dataclass(frozen=True)
class ScoreSummary:
    """The mean of a scale score (an outcome such as overall satisfaction) with its t
    interval, and how the respondents spread over the scale."""

    n: int
    mean: float
    sd: float
    ci: tuple[float, float]
    scale: tuple[int, int]
    # share of respondents whose score lies in each third of the scale (low, middle, high)
    thirds: tuple[float, float, float]

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "ci": list(self.ci),
            "scale": list(self.scale),
            "thirds": list(self.thirds),
        }


def score_summary(score: np.ndarray, scale, level: float = 0.95) -> ScoreSummary:
    """Mean, sd and t interval of a score over the respondents who have it (R's
    ``t.test(x)``), and the shares of scores in the low, middle and high third of the
    scale (cut at min + (max - min) / 3 and max - (max - min) / 3, ends included)."""
    values = score[np.isfinite(score)]
    n = len(values)
    if n < 2:
        raise AnalysisError(f"too few responses with this score ({n})")
    mean, var = float(values.mean()), float(values.var(ddof=1))
    third = (scale.max - scale.min) / 3
    low = float((values <= scale.min + third).mean())
    high = float((values >= scale.max - third).mean())
    return ScoreSummary(
        n,
        mean,
        float(np.sqrt(var)),
        _t_interval(mean, var, n, level),
        (scale.min, scale.max),
        (low, 1 - low - high, high),
    )
