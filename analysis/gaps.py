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

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "expectation": self.expectation,
            "perception": self.perception,
            "gap": self.gap,
            "gap_ci": list(self.gap_ci),
        }


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
    return Gap(n, float(e.mean()), float(p.mean()), mean, (mean - half, mean + half))


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
    return Gap(m.n, float(e_mean), float(p_mean), mean, (mean - half, mean + half))


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
