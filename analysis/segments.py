"""NPS, comparisons between segments, and change from one wave to the next."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pingouin as pg
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


def compare_segments(values: np.ndarray, groups: pd.Series) -> dict:
    """Welch ANOVA and Kruskal-Wallis of a score across segment groups, effect sizes and
    Holm-corrected pairwise Welch t tests.

    Notes
    -----
    Effect sizes: partial eta squared of the Welch ANOVA (pingouin) and
    :math:`\\epsilon^2 = H(n+1)/(n^2-1)` for Kruskal-Wallis (Tomczak & Tomczak, 2014).
    Groups with fewer than 2 answers are left out.
    """
    frame = pd.DataFrame({"y": values, "g": groups.astype("object")}).dropna()
    sizes = frame["g"].value_counts()
    keep = sizes[sizes >= 2].index
    frame = frame[frame["g"].isin(keep)]
    if len(keep) < 2:
        return {"note": "fewer than two groups with at least 2 answers"}
    if frame.groupby("g")["y"].std().fillna(0).max() == 0:
        return {"note": "the score is the same in every group"}
    welch = pg.welch_anova(data=frame, dv="y", between="g")
    samples = [grp["y"].to_numpy() for _, grp in frame.groupby("g")]
    h, kw_p = stats.kruskal(*samples)
    n = len(frame)
    pairs = pg.pairwise_tests(
        data=frame, dv="y", between="g", parametric=True, correction=True, padjust="holm"
    )
    return {
        "n": int(n),
        "means": {str(g): float(v) for g, v in frame.groupby("g")["y"].mean().items()},
        "welch_anova": {
            "F": float(welch["F"].iloc[0]),
            "df1": float(welch["ddof1"].iloc[0]),
            "df2": float(welch["ddof2"].iloc[0]),
            "p": float(welch["p_unc"].iloc[0]),
            "eta2_partial": float(welch["np2"].iloc[0]),
        },
        "kruskal": {"H": float(h), "p": float(kw_p), "epsilon2": float(h * (n + 1) / (n**2 - 1))},
        "pairwise": [
            {
                "a": str(r["A"]),
                "b": str(r["B"]),
                "t": float(r["T"]),
                # with two groups there is one test and nothing to correct
                "p_holm": float(r.get("p_corr", r["p_unc"])),
                "hedges": float(r["hedges"]),
            }
            for _, r in pairs.iterrows()
        ],
    }


def wave_change(values: np.ndarray, waves: pd.Series, order: list[str], level: float = 0.95):
    """Mean change of a score from each wave to the next (Welch t interval)."""
    out = []
    for before, after in zip(order, order[1:], strict=False):
        a = values[(waves == before).to_numpy() & np.isfinite(values)]
        b = values[(waves == after).to_numpy() & np.isfinite(values)]
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
