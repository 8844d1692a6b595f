from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.data import AnalysisError, SurveyData, read_csv
from analysis.loyalty import ordinal_logit
from analysis.report import build_report
from analysis.segments import nps
from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire

SERVQUAL = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
REQUIRED = {
    "reliability": {"n", "alpha", "std_alpha", "alpha_ci", "omega_total", "items"},
    "efa": {
        "n",
        "kmo",
        "kmo_items",
        "bartlett",
        "parallel_suggests",
        "n_factors",
        "extraction",
        "rotation",
        "loadings",
        "communalities",
    },
    "cfa": {"n", "chi2", "df", "p", "cfi", "tli", "rmsea", "rmsea_ci", "srmr"},
    "regression": {"n", "coef", "se_hc3", "std_beta", "r2", "adj_r2", "vif", "relative_weights"},
    "loyalty": {"n", "linear_r2", "quadratic_r2", "quadratic_coef", "quadratic_p"},
}


def report_of(name: str, n: int = 400, seed: int = 1, **kw):
    q = load_questionnaire(SHIPPED_DIR / f"{name}.yaml")
    return q, build_report(SurveyData(q, simulate_responses(q, n, seed=seed)), **kw)


def test_cli_writes_every_documented_key(tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(
        [
            "report",
            str(SHIPPED_DIR.parent / "tests/reference/servqual-22.csv"),
            "--questionnaire",
            str(SHIPPED_DIR / "servqual-22.yaml"),
            "--factors",
            "5",
            "--extraction",
            "ml",
            "--rotation",
            "varimax",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "Reliability" in printed and "RMSEA" in printed
    result = json.loads(out.read_text())  # strict JSON: no NaN
    assert result["n_responses"] == 600
    for section, keys in REQUIRED.items():
        body = result[section]
        if section == "reliability":
            for scale in ("E_tangibles", "P_empathy", "satisfaction", "loyalty"):
                assert keys <= set(body[scale])
                assert set(
                    body[scale]["items"][
                        "SAT1" if scale == "satisfaction" else next(iter(body[scale]["items"]))
                    ]
                ) == {"r_drop", "alpha_if_deleted"}
        else:
            assert keys <= set(body), section
    assert len(result["efa"]["loadings"]["P_TA1"]) == 5
    assert result["efa"]["extraction"] == "ml" and result["efa"]["rotation"] == "varimax"
    assert set(result["gaps"]["tangibles"]) >= {"n", "expectation", "perception", "gap", "gap_ci"}
    assert set(result["regression"]["coef"]) == {
        "intercept",
        "tangibles",
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
    }


def test_cli_runs_as_a_module(tmp_path):
    csv = tmp_path / "data.csv"
    simulate_responses(SERVQUAL, 300, seed=3).to_csv(csv, index=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            str(csv),
            "-q",
            str(SHIPPED_DIR / "servqual-22.yaml"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "servqual-22: 300 responses" in done.stdout


def test_bad_csv_cell_is_named_by_column_and_row(tmp_path, capsys):
    frame = simulate_responses(SERVQUAL, 20, seed=3).astype({"P_TA2": object})
    frame.loc[6, "P_TA2"] = "five"
    csv = tmp_path / "bad.csv"
    frame.to_csv(csv, index=False)
    assert main(["report", str(csv), "-q", str(SHIPPED_DIR / "servqual-22.yaml")]) == 1
    assert "column P_TA2, row 8: 'five' is not a number" in capsys.readouterr().err


def test_value_outside_the_scale_is_refused():
    frame = simulate_responses(SERVQUAL, 50, seed=3)
    frame.loc[4, "E_RE1"] = 9
    with pytest.raises(AnalysisError, match="column E_RE1, row 5: 9 lies outside the scale 1..7"):
        build_report(SurveyData(SERVQUAL, frame))


@pytest.mark.parametrize(
    ("name", "column", "row", "value", "scale"),
    [
        ("servqual-22", "P_EM5", 777, 0, "1..7"),  # a later worker's share, low
        ("servqual-22", "SAT2", 1, 8, "1..7"),  # an outcome, in the first chunk
        ("genetic-lab", "P_RE4", 900, 0, "1..7"),  # reverse-keyed: the raw value is named
    ],
)
def test_value_outside_the_scale_is_found_by_the_pass(monkeypatch, name, column, row, value, scale):
    from analysis import moments

    monkeypatch.setattr(moments, "CHUNK_ROWS", 64)  # many chunks over two threads
    q = load_questionnaire(SHIPPED_DIR / f"{name}.yaml")
    frame = simulate_responses(q, 1000, seed=3)
    frame.loc[row, column] = value
    frame.loc[row, q.columns[0].name] = np.nan  # the bad row is also incomplete
    frame.loc[row + 3, column] = np.nan
    message = f"column {column}, row {row + 1}: {value} lies outside the scale {scale}"
    with pytest.raises(AnalysisError, match=message):
        build_report(SurveyData(q, frame))


@pytest.mark.parametrize("bad_loyalty", [True, False])
def test_first_bad_column_in_questionnaire_order_is_named(bad_loyalty):
    frame = simulate_responses(SERVQUAL, 300, seed=3)
    frame.loc[10, "NPS"] = 11  # read by no scale: checked after the pass
    if bad_loyalty:
        frame.loc[20, "LOY2"] = 0  # read by the pass; before NPS in the questionnaire
    message = "column LOY2, row 21: 0" if bad_loyalty else "column NPS, row 11: 11"
    with pytest.raises(AnalysisError, match=message):
        build_report(SurveyData(SERVQUAL, frame))


def test_csv_without_questionnaire_columns_is_refused(tmp_path):
    csv = tmp_path / "other.csv"
    csv.write_text("a,b\n1,2\n")
    with pytest.raises(AnalysisError, match="none of the questionnaire's columns"):
        read_csv(csv, SERVQUAL)


def test_truncated_csv_is_refused(tmp_path):
    csv = tmp_path / "cut.csv"
    csv.write_bytes(b'P_TA1,P_TA2\n1,2\n3,"4')
    with pytest.raises(AnalysisError, match="cannot read the CSV file"):
        read_csv(csv, SERVQUAL)


def test_reverse_keyed_item_is_recoded_once():
    q = load_questionnaire(SHIPPED_DIR / "genetic-lab.yaml")
    frame = simulate_responses(q, 30, seed=2)
    data = SurveyData(q, frame)
    raw = frame["P_RE4"].to_numpy()
    np.testing.assert_array_equal(data.columns(["P_RE4"])[0], 8 - raw)
    np.testing.assert_array_equal(data.columns(["P_RE4"])[0], 8 - raw)  # cached, not twice
    assert data.columns(["P_RE1"])[0][0] == frame["P_RE1"][0]


def test_too_few_responses_give_notes_not_crashes():
    _, report = report_of("servqual-22", n=3)
    assert "too few" in report["efa"]["note"]
    assert "too few" in report["cfa"]["note"]
    assert "too few" in report["regression"]["note"]
    json.dumps(report, allow_nan=False)


def test_constant_item_gives_clear_notes():
    frame = simulate_responses(SERVQUAL, 300, seed=5)
    frame["P_TA1"] = 4.0
    report = build_report(SurveyData(SERVQUAL, frame))
    message = "item P_TA1 has the same answer in every response"
    assert report["reliability"]["P_tangibles"]["note"] == message
    assert report["efa"]["note"] == message
    assert "alpha" in report["reliability"]["E_tangibles"]  # the rest is still computed
    json.dumps(report, allow_nan=False)


def test_duplicated_item_makes_a_singular_matrix_note():
    frame = simulate_responses(SERVQUAL, 300, seed=5)
    frame["P_RE2"] = frame["P_RE1"]
    report = build_report(SurveyData(SERVQUAL, frame))
    assert "singular" in report["efa"]["note"]
    assert "singular" in report["cfa"]["note"]
    json.dumps(report, allow_nan=False)


def test_sections_the_questionnaire_cannot_support_say_why():
    _, report = report_of("servperf-short")
    assert "no expectation and perception" in report["gaps"]["note"]
    assert "satisfaction and loyalty" in report["loyalty"]["note"]
    assert report["regression"]["r2"] > 0
    assert set(report["reliability"]) == {
        "tangibles",
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "satisfaction",
    }


def test_zone_of_tolerance_positions():
    _, report = report_of("zone-of-tolerance", n=500)
    zone = report["zone_of_tolerance"]
    for dim in zone.values():
        assert dim["adequate"] < dim["desired"]
        assert dim["msa"] == pytest.approx(dim["perception"] - dim["adequate"])
        expected = (
            "below"
            if dim["perception"] < dim["adequate"]
            else "above"
            if dim["perception"] > dim["desired"]
            else "within"
        )
        assert dim["position"] == expected and 0 <= dim["share_within"] <= 1


def test_nps_by_hand():
    # 3 promoters (9, 10, 10), 2 passives (7, 8), 3 detractors (0, 5, 6) of 8
    result = nps(np.array([9, 10, 10, 7, 8, 0, 5, 6, np.nan]))
    assert result.n == 8 and result.nps == pytest.approx(0.0)
    se = np.sqrt((3 / 8 + 3 / 8 - 0) / 8) * 100
    assert result.ci == pytest.approx((-1.959964 * se, 1.959964 * se), abs=1e-4)


def test_ordinal_logit_equals_statsmodels_ordered_model():
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    rng = np.random.default_rng(0)
    x = np.round(rng.uniform(1, 7, 400) * 3) / 3
    latent = 0.8 * x + rng.logistic(size=400)
    y = np.digitize(latent, [2.0, 3.5, 5.0]) + 1.0
    ours = ordinal_logit(x, y)
    model = OrderedModel(pd.Series(pd.Categorical(y, ordered=True)), x[:, None], distr="logit")
    fit = model.fit(method="bfgs", disp=False, maxiter=2000, gtol=1e-10)
    thresholds = model.transform_threshold_params(np.asarray(fit.params))[1:-1]
    assert ours.coef == pytest.approx(np.asarray(fit.params)[0], abs=1e-6)
    np.testing.assert_allclose(ours.thresholds, thresholds, atol=1e-6)


def test_segments_and_waves_are_compared():
    _, report = report_of("servqual-22", n=900, seed=8)
    tier = report["segments"]["tier"]["satisfaction"]
    assert set(tier["means"]) == {"A", "B", "C"}
    assert 0 <= tier["welch_anova"]["p"] <= 1 and tier["kruskal"]["epsilon2"] >= 0
    assert len(tier["pairwise"]) == 3
    change = report["segments"]["wave"]["change"]["satisfaction"][0]
    assert (change["from"], change["to"]) == ("2026H1", "2026H2")
    assert change["ci"][0] <= change["change"] <= change["ci"][1]


def test_bootstrap_intervals_cover_the_estimates():
    _, report = report_of("servqual-22", n=600, bootstrap=60, seed=2)
    boot = report["regression"]["bootstrap"]
    for dim, weight in report["regression"]["relative_weights"].items():
        low, high = boot["relative_weights"][dim]
        assert low <= weight <= high
    assert boot["resamples"] == 60


def test_importance_performance_quadrants():
    _, report = report_of("servqual-22", n=600)
    ipa = report["importance_performance"]
    weights = report["regression"]["relative_weights"]
    mean_w = np.mean(list(weights.values()))
    for dim, w in weights.items():
        high = w >= mean_w
        assert ipa[dim]["quadrant"] in (
            ("concentrate here", "keep up the good work")
            if high
            else ("low priority", "possible overkill")
        )


@pytest.mark.parametrize("seed", [0, 1])
def test_segment_statistics_equal_pingouin_and_scipy(seed):
    import pingouin as pg
    from scipy import stats

    from analysis.segments import compare_segments

    rng = np.random.default_rng(seed)
    groups = pd.Series(
        rng.choice(["north", "east", "south", "west"], size=500, p=[0.4, 0.3, 0.2, 0.1])
    )
    shift = groups.map({"north": 0.0, "east": 0.3, "south": 0.1, "west": -0.4}).to_numpy()
    y = np.clip(np.round(4 + shift + rng.normal(0, 1.2, 500) * (1 + (groups == "west"))), 1, 7)
    ours = compare_segments(y, groups).to_dict()
    frame = pd.DataFrame({"y": y, "g": groups})
    welch = pg.welch_anova(data=frame, dv="y", between="g").iloc[0]
    assert ours["welch_anova"]["F"] == pytest.approx(welch["F"], rel=1e-9)
    assert ours["welch_anova"]["df2"] == pytest.approx(welch["ddof2"], rel=1e-9)
    assert ours["welch_anova"]["p"] == pytest.approx(welch["p_unc"], rel=1e-6, abs=1e-300)
    assert ours["welch_anova"]["eta2_partial"] == pytest.approx(welch["np2"], rel=1e-9)
    h, p = stats.kruskal(*[y[(groups == g).to_numpy()] for g in sorted(set(groups))])
    assert ours["kruskal"]["H"] == pytest.approx(h, rel=1e-9)
    assert ours["kruskal"]["p"] == pytest.approx(p, rel=1e-6)
    pairs = pg.pairwise_tests(
        data=frame, dv="y", between="g", parametric=True, correction=True, padjust="holm"
    )
    for ours_row, (_, theirs) in zip(ours["pairwise"], pairs.iterrows(), strict=True):
        assert (ours_row["a"], ours_row["b"]) == (theirs["A"], theirs["B"])
        assert ours_row["t"] == pytest.approx(theirs["T"], rel=1e-9)
        assert ours_row["p_holm"] == pytest.approx(theirs["p_corr"], rel=1e-6)
        assert ours_row["hedges"] == pytest.approx(theirs["hedges"], rel=1e-6)


def test_wave_change_equals_scipy_welch_t_test():
    from scipy import stats

    from analysis.segments import wave_change

    rng = np.random.default_rng(3)
    waves = pd.Series(
        pd.Categorical(rng.choice(["w1", "w2", "w3"], 600), categories=["w1", "w2", "w3"])
    )
    y = np.round(rng.normal(4, 1, 600) + (waves == "w3") * 0.5) / 3  # thirds, like a score
    for step, (a, b) in zip(
        wave_change(y, waves).to_dict(), [("w1", "w2"), ("w2", "w3")], strict=True
    ):
        before, after = y[(waves == a).to_numpy()], y[(waves == b).to_numpy()]
        res = stats.ttest_ind(after, before, equal_var=False)
        ci = res.confidence_interval(0.95)
        assert step["change"] == pytest.approx(after.mean() - before.mean(), abs=1e-12)
        assert step["ci"] == pytest.approx([ci.low, ci.high], abs=1e-9)
        assert step["p"] == pytest.approx(res.pvalue, rel=1e-6)


@pytest.mark.parametrize("divisor", [1, 3, 5, 7])
def test_score_encoding_without_sorting_equals_unique(divisor):
    from analysis.segments import Encoded

    rng = np.random.default_rng(divisor)
    y = rng.integers(5, 36, 1000) / divisor
    y[::17] = np.nan
    encoded = Encoded.of(y)
    levels, inverse = np.unique(y[np.isfinite(y)], return_inverse=True)
    np.testing.assert_allclose(encoded.levels, levels, rtol=0, atol=1e-12)
    assert (encoded.codes[np.isfinite(y)] == inverse).all()
    assert (encoded.codes[~np.isfinite(y)] == -1).all()
    irrational = Encoded.of(np.array([np.pi, np.e, np.pi]))  # falls back to a sort
    assert irrational.codes.tolist() == [1, 0, 1]


def test_score_encoding_past_the_sample_and_with_unseen_grid_points(monkeypatch):
    from analysis import moments
    from analysis.segments import Encoded

    monkeypatch.setattr(moments, "CHUNK_ROWS", 1000)
    y = np.where(np.arange(10_000) % 2, 1.0, 7.0)  # grid 1..7, only its ends seen
    y[9_000] = 2.5  # a half, long after the sample: 1/1 fails, halves fit
    y[9_500] = np.nan
    encoded = Encoded.of(y)
    assert encoded.levels.tolist() == [1.0, 2.5, 7.0]
    expected = np.searchsorted(encoded.levels, np.nan_to_num(y, nan=0))
    expected[9_500] = -1
    assert (encoded.codes == expected).all()


def test_chunked_moments_equal_numpy_cov_of_the_complete_rows(monkeypatch):
    from analysis import moments

    rng = np.random.default_rng(9)
    x = rng.normal(3, 1, (1000, 4)) @ rng.normal(size=(4, 4))
    x[rng.random((1000, 4)) < 0.03] = np.nan
    monkeypatch.setattr(moments, "CHUNK_ROWS", 64)  # many chunks, some partly missing
    weights = np.array([[0.5, 0], [0.5, 0], [0, 1], [0, 0]])  # mean of a, b; c alone
    result = moments.compute([x[:, j] for j in range(4)], ("a", "b", "c", "d"), weights=weights)
    got, used, means = result.moments, result.used, result.projected
    complete = np.isfinite(x).all(axis=1)
    assert (used == complete).all() and got.n == complete.sum()
    np.testing.assert_allclose(got.mean, x[complete].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(got.cov, np.cov(x[complete], rowvar=False), rtol=1e-10)
    # scale means of every row, NaN only where one of the scale's own items is missing
    np.testing.assert_allclose(means[0], x[:, :2].mean(axis=1), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(means[1], x[:, 2], rtol=1e-12, equal_nan=True)


def test_items_only_data_skips_nps_and_segments():
    frame = simulate_responses(SERVQUAL, 200, seed=4)
    items = [c.name for c in SERVQUAL.columns if c.section.kind in ("dimension", "outcome")]
    report = build_report(SurveyData(SERVQUAL, frame[items]))
    assert "nps" not in report
    assert report["segments"] == {"note": "the data has no segment columns"}
    assert report["regression"]["r2"] > 0


@pytest.mark.parametrize("p", [3, 4, 6, 9])
def test_one_factor_newton_equals_the_bounded_minres_search(monkeypatch, p):
    from analysis import efa

    rng = np.random.default_rng(p)
    x = rng.normal(size=(300, 1)) @ rng.uniform(0.3, 0.9, (1, p)) + rng.normal(size=(300, p))
    r = np.corrcoef(x, rowvar=False)
    fast = efa.minres(r, 1)
    monkeypatch.setattr(efa, "_one_factor", lambda r: None)
    searched = efa.minres(r, 1)
    np.testing.assert_allclose(fast.loadings, searched.loadings, atol=1e-6)
    np.testing.assert_allclose(fast.uniquenesses, searched.uniquenesses, atol=1e-6)


def test_one_factor_newton_leaves_heywood_cases_to_the_bounded_search():
    from analysis.efa import _one_factor

    r = np.array([[1.0, 0.95, 0.9], [0.95, 1.0, 0.99], [0.9, 0.99, 1.0]])
    assert _one_factor(r) is None  # the middle item's loading squared exceeds 0.995


def test_regression_from_the_pass_moments_equals_the_regression_on_rows():
    from analysis.drivers import regression

    frame = simulate_responses(SERVQUAL, 600, seed=12)
    rng = np.random.default_rng(12)
    for column in ("P_TA1", "P_RE3", "SAT2", "E_EM1"):
        frame.loc[rng.random(600) < 0.05, column] = np.nan
    data = SurveyData(SERVQUAL, frame)
    report = build_report(data)["regression"]
    scores = data.dimension_scores("perception")
    satisfaction = frame[["SAT1", "SAT2", "SAT3"]].mean(axis=1, skipna=False).to_numpy()
    direct = regression(list(scores.values()), satisfaction, tuple(scores))
    assert report["n"] == direct.n < 600
    for key in ("coef", "se_hc3", "std_beta", "vif", "relative_weights"):
        for name, value in getattr(direct, key).items():
            assert report[key][name] == pytest.approx(value, rel=1e-9), (key, name)
    assert report["r2"] == pytest.approx(direct.r2, rel=1e-9)


def test_cfa_fisher_scoring_equals_the_quasi_newton_search(monkeypatch):
    from analysis import cfa as cfa_module

    frame = simulate_responses(SERVQUAL, 2000, seed=5)
    columns = [f"P_{i.id}" for d in SERVQUAL.dimensions for i in d.items]
    cov = np.cov(frame[columns].to_numpy(), rowvar=False)
    groups, start = [], 0
    for d in SERVQUAL.dimensions:
        groups.append(list(range(start, start + len(d.items))))
        start += len(d.items)
    scored = cfa_module.cfa(cov, 2000, groups, tuple(columns))
    monkeypatch.setattr(cfa_module, "_fisher_scoring", lambda *args: None)
    searched = cfa_module.cfa(cov, 2000, groups, tuple(columns))
    assert scored.converged  # BFGS often stops on "precision loss" at its optimum
    assert scored.chi2 == pytest.approx(searched.chi2, rel=1e-8)
    for column, loading in searched.std_loadings.items():
        assert scored.std_loadings[column] == pytest.approx(loading, abs=1e-5)


def test_singular_scale_keeps_alpha_and_says_why_omega_is_missing():
    frame = simulate_responses(SERVQUAL, 300, seed=6)
    frame["P_TA4"] = frame["P_TA1"]  # an item repeated: its correlation matrix is singular
    report = build_report(SurveyData(SERVQUAL, frame))
    tangibles = report["reliability"]["P_tangibles"]
    assert 0 < tangibles["alpha"] < 1
    assert tangibles["omega_total"] is None
    assert "singular" in tangibles["omega_note"]
    assert report["reliability"]["P_reliability"]["omega_total"] > 0
    json.dumps(report, allow_nan=False)


def test_dimension_without_complete_responses_has_its_own_gap_note(tmp_path, capsys):
    frame = simulate_responses(SERVQUAL, 300, seed=7)
    frame["E_TA2"] = np.nan  # nobody answered one expectation item
    report = build_report(SurveyData(SERVQUAL, frame))
    assert "tangibles: fewer than 2 complete responses" in report["gaps"]["tangibles"]["note"]
    assert report["gaps"]["reliability"]["n"] == 300  # the other dimensions stand
    assert "by_gap" not in report["importance_performance"]
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    assert main(["report", str(csv), "-q", str(SHIPPED_DIR / "servqual-22.yaml")]) == 0
    assert "fewer than 2 complete responses" in capsys.readouterr().out


def test_the_wave_is_the_segment_declared_so_not_the_one_named_wave():
    text = (SHIPPED_DIR / "servqual-22.yaml").read_text()
    renamed = text.replace("  - id: wave\n", "  - id: period\n").replace("    role: wave\n", "")
    renamed = renamed.replace("  - id: tier\n", "  - id: tier\n    role: wave\n")
    q = parse_questionnaire(renamed)
    frame = simulate_responses(q, 300, seed=8)
    segments = build_report(SurveyData(q, frame))["segments"]
    assert "change" in segments["tier"] and "change" not in segments["period"]
    steps = segments["tier"]["change"]["satisfaction"]
    assert [(s["from"], s["to"]) for s in steps] == [("A", "B"), ("B", "C")]


def test_blas_is_held_to_one_thread_by_one_controller_per_process(monkeypatch):
    """The report holds BLAS to one thread; the controller that does it is made once (each
    one scans the process's libraries: 10 ms, four times a report)."""
    from threadpoolctl import threadpool_info

    from analysis import moments

    made = []
    real = moments.ThreadpoolController
    monkeypatch.setattr(moments, "_controller", None)
    monkeypatch.setattr(moments, "ThreadpoolController", lambda: made.append(1) or real())
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas, "numpy has a BLAS"
    for _ in range(3):
        with moments.one_blas_thread():
            inside = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
            assert inside and set(inside) == {1}
    assert len(made) == 1
    after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    assert after == [i["num_threads"] for i in blas]  # given back as it was
