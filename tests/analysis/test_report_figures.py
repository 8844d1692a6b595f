"""What the report pages draw, in the report's JSON: the intervals of every mean, the
loyalty curve, the scree and the bootstrap of both importance-performance axes.

Expected values come from independent computations (scipy's t tests, numpy's polyfit
and eigvalsh, a brute-force bootstrap that gathers rows), never from the code under test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.data import SurveyData
from analysis.drivers import relative_weights
from analysis.report import build_report
from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire


@pytest.fixture(scope="module")
def servqual():
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    frame = simulate_responses(q, 700, seed=11)
    return q, frame, build_report(SurveyData(q, frame), bootstrap=40, seed=3)


def t_ci(values):
    values = np.asarray(values, dtype=float)
    ci = stats.ttest_1samp(values, 0).confidence_interval()
    return [ci.low, ci.high]


def score(frame, columns):
    return frame[list(columns)].mean(axis=1).to_numpy()


def test_gaps_carry_intervals_of_expectation_perception_and_each_item(servqual):
    q, frame, report = servqual
    dim = q.dimensions[1]
    e_cols = [f"E_{i.id}" for i in dim.items]
    p_cols = [f"P_{i.id}" for i in dim.items]
    g = report["gaps"][dim.id]
    assert g["expectation_ci"] == pytest.approx(t_ci(score(frame, e_cols)), abs=1e-10)
    assert g["perception_ci"] == pytest.approx(t_ci(score(frame, p_cols)), abs=1e-10)
    for e, p in zip(e_cols, p_cols, strict=True):
        item = g["items"][p]
        assert item["expectation_column"] == e
        diff = frame[p] - frame[e]
        assert item["gap"] == pytest.approx(diff.mean(), abs=1e-12)
        assert item["gap_ci"] == pytest.approx(t_ci(diff), abs=1e-10)


def test_segment_groups_have_counts_and_intervals(servqual):
    q, frame, report = servqual
    sat = score(frame, ["SAT1", "SAT2", "SAT3"])
    tier = report["segments"]["tier"]["satisfaction"]
    for group in ("A", "B", "C"):
        values = sat[(frame["tier"] == group).to_numpy()]
        assert tier["counts"][group] == len(values)
        assert tier["ci"][group] == pytest.approx(t_ci(values), abs=1e-9)


def test_loyalty_curve_bins_and_fits(servqual):
    q, frame, report = servqual
    sat = score(frame, ["SAT1", "SAT2", "SAT3"])
    loy = score(frame, ["LOY1", "LOY2", "LOY3"])
    data = pd.DataFrame({"s": np.round(sat, 9), "l": loy})
    expected = data.groupby("s")["l"].agg(["mean", "count"])
    bins = report["loyalty"]["bins"]
    assert [b["satisfaction"] for b in bins] == pytest.approx(list(expected.index), abs=1e-9)
    assert [b["n"] for b in bins] == list(expected["count"])
    assert [b["mean"] for b in bins] == pytest.approx(list(expected["mean"]), abs=1e-12)
    for b in bins:
        values = data.loc[np.isclose(data["s"], b["satisfaction"]), "l"]
        if len(values) >= 2 and values.std() > 0:
            assert b["ci"] == pytest.approx(t_ci(values), abs=1e-9)
    assert report["loyalty"]["linear_fit"] == pytest.approx(np.polyfit(sat, loy, 1)[::-1])
    assert report["loyalty"]["quadratic_fit"] == pytest.approx(np.polyfit(sat, loy, 2)[::-1])


def test_scree_eigenvalues_are_those_of_the_reduced_matrix(servqual):
    q, frame, report = servqual
    efa = report["efa"]
    r = np.corrcoef(frame[list(efa["loadings"])].to_numpy(), rowvar=False)
    reduced = r.copy()
    np.fill_diagonal(reduced, 1 - 1 / np.diag(np.linalg.inv(r)))
    expected = np.sort(np.linalg.eigvalsh(reduced))[::-1]
    assert efa["eigenvalues"] == pytest.approx(expected, abs=1e-9)
    above = np.array(efa["eigenvalues"]) > np.array(efa["parallel_threshold"])
    suggested = int(np.argmin(above)) if not above.all() else len(above)
    assert efa["parallel_suggests"] == suggested


def test_outcome_scores_with_interval_and_thirds(servqual):
    q, frame, report = servqual
    sat = score(frame, ["SAT1", "SAT2", "SAT3"])
    o = report["outcomes"]["satisfaction"]
    assert o["mean"] == pytest.approx(sat.mean()) and o["n"] == len(sat)
    assert o["ci"] == pytest.approx(t_ci(sat), abs=1e-10)
    assert o["thirds"] == pytest.approx(
        [(sat <= 3).mean(), ((sat > 3) & (sat < 5)).mean(), (sat >= 5).mean()]
    )


def brute_force_ipa(q, frame, times, seed):
    """Resample rows by gathering them, recompute each axis: the textbook bootstrap."""
    dims = [d.id for d in q.dimensions]
    p = np.column_stack([score(frame, [f"P_{i.id}" for i in d.items]) for d in q.dimensions])
    e = np.column_stack([score(frame, [f"E_{i.id}" for i in d.items]) for d in q.dimensions])
    y = score(frame, ["SAT1", "SAT2", "SAT3"])
    rng = np.random.default_rng(seed)
    n, k = len(y), len(dims)
    imp, perf, gap = (np.empty((times, k)) for _ in range(3))
    for b in range(times):
        rows = rng.integers(0, n, n)
        corr = np.corrcoef(np.column_stack([p[rows], y[rows]]), rowvar=False)
        imp[b] = relative_weights(corr[:k, :k], corr[:k, k])
        perf[b] = p[rows].mean(axis=0)
        gap[b] = (p[rows] - e[rows]).mean(axis=0)
    return dims, imp, perf, gap


def test_importance_performance_bootstrap_on_both_axes(servqual):
    q, frame, report = servqual
    ipa = report["importance_performance"]
    dims, imp, perf, gap = brute_force_ipa(q, frame, 40, 3)
    assert ipa["bootstrap"] == {"resamples": 40, "level": 0.95}
    imp_mean = np.array([ipa[d]["importance"] for d in dims]).mean()
    perf_mean = np.array([ipa[d]["performance"] for d in dims]).mean()
    for j, d in enumerate(dims):
        v = ipa[d]
        assert v["importance_ci"] == pytest.approx(np.percentile(imp[:, j], [2.5, 97.5]))
        assert v["performance_ci"] == pytest.approx(np.percentile(perf[:, j], [2.5, 97.5]))
        assert ipa["by_gap"][d]["performance_ci"] == pytest.approx(
            np.percentile(gap[:, j], [2.5, 97.5])
        )
        same = ((imp[:, j] >= imp.mean(axis=1)) == (v["importance"] >= imp_mean)) & (
            (perf[:, j] >= perf.mean(axis=1)) == (v["performance"] >= perf_mean)
        )
        assert v["quadrant_share"] == pytest.approx(same.mean())
        # complete data: the same draws as the drivers' bootstrap, the same intervals
        assert v["importance_ci"] == pytest.approx(
            report["regression"]["bootstrap"]["relative_weights"][d], abs=1e-10
        )


def test_without_bootstrap_the_matrix_has_no_intervals():
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    report = build_report(SurveyData(q, simulate_responses(q, 200, seed=1)))
    ipa = report["importance_performance"]
    assert "bootstrap" not in ipa and "importance_ci" not in ipa["tangibles"]
