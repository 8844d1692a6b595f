"""The analysis on messy data: each defect found on real data sets, checked against R.

Expected values are in tests/reference/messy.r.json, written by tests/reference/messy.R
from the shipped samples (made by make_messy.py); ``test_messy_r_reference_is_current``
reruns R when it is installed (always in CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cfa import cfa
from analysis.data import SurveyData, read_csv
from analysis.moments import Moments
from analysis.reliability import reliability
from analysis.report import build_report
from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
EXPECTED = json.loads((REFERENCE / "messy.r.json").read_text())
SERVQUAL = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")


def moments_of(x: np.ndarray, columns: tuple[str, ...]) -> Moments:
    return Moments(columns, len(x), x.mean(axis=0), np.cov(x, rowvar=False))


def messy_data() -> SurveyData:
    return SurveyData(SERVQUAL, read_csv(REFERENCE / "messy-servqual.csv", SERVQUAL))


def close(actual, expected, tol, path=""):
    """Compare nested JSON-like values to an absolute tolerance."""
    if isinstance(expected, dict):
        for key, value in expected.items():
            close(actual[key], value, tol, f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            close(a, e, tol, f"{path}[{i}]")
    else:
        assert actual == pytest.approx(expected, abs=tol), path


def test_omega_on_a_heywood_scale_falls_back_to_psychs_search():
    """Newton's one-factor solve stopped at the saddle l = 0 (omega 0.19)."""
    x = np.loadtxt(REFERENCE / "heywood.csv", delimiter=",", skiprows=1)
    result = reliability(moments_of(x, ("A", "B", "C")))
    e = EXPECTED["heywood"]
    assert result.omega_total == pytest.approx(e["omega_total"], abs=1e-3)
    assert not result.omega_improper  # the largest communality, .997, stays under 1


def test_an_improper_omega_solution_is_flagged():
    e = EXPECTED["improper"]
    r = np.array(e["correlations"])
    result = reliability(Moments(("A", "B", "C"), 130, np.zeros(3), r))
    assert result.omega_total == pytest.approx(e["omega_total"], abs=1e-3)
    assert max(e["communalities"]) > 1
    assert result.omega_improper
    assert "improper" in result.omega_note and "A" in result.omega_note


def test_ordinal_levels_come_from_the_rows_used():
    """Level 1 of LOY1 is chosen only by respondents without a satisfaction score."""
    report = build_report(messy_data())
    got = report["loyalty"]["ordinal"]["LOY1"]
    e = EXPECTED["listwise"]["loyalty"]["ordinal"]["LOY1"]
    assert got["n"] == e["n"]
    assert got["levels"] == e["levels"]
    close(got["coef"], e["coef"], 1e-6)  # messy.R tightens polr's optimiser (reltol)
    close(got["thresholds"], e["thresholds"], 1e-6)


def test_an_ordinal_item_with_one_level_in_the_rows_used_says_why():
    from analysis.loyalty import ordinal_logit

    x = np.array([1.0, 2.0, 3.0, np.nan, 4.0])
    y = np.array([5.0, 5.0, 5.0, 2.0, 5.0])
    with pytest.raises(ValueError, match="only one answer .5. among the 4 responses"):
        ordinal_logit(x, y)


def test_rank_tests_treat_equal_decimal_scores_as_ties():
    from scipy import stats

    from analysis.segments import compare_segments

    rng = np.random.default_rng(4)
    n = 300
    items = rng.choice([0.1, 0.2, 0.3, 0.7], size=(n, 3))
    # the same scores summed in two orders: equal as decimals, not always in the last bit
    first = (items[:, 0] + items[:, 1] + items[:, 2]) / 3
    second = (items[:, 2] + items[:, 1] + items[:, 0]) / 3
    y = np.where(np.arange(n) % 2 == 0, first, second)
    assert (first != second).any() and np.allclose(first, second)
    groups = pd.Series(rng.choice(["a", "b", "c"], size=n))
    ours = compare_segments(y, groups).to_dict()
    rounded = np.round(y, 9)
    h, p = stats.kruskal(*[rounded[(groups == g).to_numpy()] for g in ("a", "b", "c")])
    assert ours["kruskal"]["H"] == pytest.approx(h, rel=1e-9)
    assert ours["kruskal"]["p"] == pytest.approx(p, rel=1e-6)


def test_cfa_has_no_false_non_convergence_where_lavaan_converges():
    """Fisher scoring stalls at the start (a two-item factor); the fit is still found."""
    x = pd.read_csv(REFERENCE / "cfa-two-item.csv")
    factors = json.loads((REFERENCE / "cfa-two-item.spec.json").read_text())["factors"]
    columns = tuple(x.columns)
    groups = [[columns.index(c) for c in items] for items in factors.values()]
    result = cfa(np.cov(x.to_numpy(), rowvar=False), len(x), groups, columns)
    e = EXPECTED["cfa_two_item"]
    assert e["converged"] and e["warnings"] == 0
    assert result.converged
    assert result.chi2 == pytest.approx(e["chi2"], rel=1e-4)
    close(vars(result), {k: e[k] for k in ("cfi", "tli", "rmsea", "rmsea_ci", "srmr")}, 1e-4)
    close(result.std_loadings, e["std_loadings"], 1e-3)


TWO_ITEM = """
id: two-item
title: {en: Two items, zh: 两项}
scale: {min: 1, max: 5}
dimensions:
  - id: pair
    title: {en: A pair, zh: 一对}
    items:
      - {id: A1, text: {en: One, zh: 一}}
      - {id: A2, text: {en: Two, zh: 二}}
  - id: trio
    title: {en: A trio, zh: 三}
    items:
      - {id: B1, text: {en: One, zh: 一}}
      - {id: B2, text: {en: Two, zh: 二}}
      - {id: B3, text: {en: Three, zh: 三}}
"""


def test_alpha_if_deleted_is_null_on_a_two_item_scale():
    q = parse_questionnaire(TWO_ITEM)
    rng = np.random.default_rng(3)
    common = rng.normal(size=(200, 1))
    x = np.clip(np.rint(3 + common + rng.normal(size=(200, 5))), 1, 5)
    frame = pd.DataFrame(x, columns=["A1", "A2", "B1", "B2", "B3"])
    report = build_report(SurveyData(q, frame))
    pair = report["reliability"]["pair"]
    assert all(s["alpha_if_deleted"] is None for s in pair["items"].values())
    assert "two items" in pair["items_note"]
    assert all(
        s["alpha_if_deleted"] is not None for s in report["reliability"]["trio"]["items"].values()
    )
    json.dumps(report, allow_nan=False)


@pytest.mark.skipif(
    not shutil.which("Rscript") and not os.environ.get("CI"),
    reason="R is not installed (scripts/test.sh installs it as root)",
)
def test_messy_r_reference_is_current(tmp_path):
    """Rerun the R script; the shipped expectations must be exactly what R computes."""
    if not shutil.which("Rscript"):
        pytest.fail("CI must run the R comparison: apt-get install r-base-core r-cran-psych ...")
    subprocess.run(
        ["Rscript", str(REFERENCE / "messy.R"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    fresh = json.loads((tmp_path / "messy.r.json").read_text())
    close(fresh, EXPECTED, 1e-9)


@pytest.fixture(scope="module")
def available():
    return build_report(messy_data(), factors=5, missing="available")


def test_listwise_stays_the_default_and_uses_few_rows():
    report = build_report(messy_data(), factors=5)
    assert report["missing"] == "listwise"
    raw = pd.read_csv(REFERENCE / "messy-servqual.csv")
    perception = [c for c in raw.columns if c.startswith("P_")]
    complete = int(raw[perception].notna().all(axis=1).sum())
    assert complete == 19  # of 800
    assert f"too few responses ({complete})" in report["efa"]["note"]
    used = raw[[*perception, "SAT1", "SAT2", "SAT3"]].notna().all(axis=1).sum()
    assert report["regression"]["n"] == used


def test_available_reliability_matches_psych_pairwise(available):
    assert available["missing"] == "available"
    for scale, e in EXPECTED["available"]["reliability"].items():
        got = available["reliability"][scale]
        assert got["n"] == e["n"], scale
        close(got, {k: e[k] for k in ("alpha", "std_alpha", "alpha_ci", "items")}, 1e-6, scale)
        assert got["omega_total"] == pytest.approx(e["omega_total"], abs=1e-3), scale


def test_available_kmo_bartlett_and_efa_match_psych_pairwise(available):
    e, got = EXPECTED["available"]["efa"], available["efa"]
    assert got["n"] == e["n"]
    close(got, {k: e[k] for k in ("kmo", "kmo_items", "bartlett")}, 1e-6)
    columns = list(e["kmo_items"])
    want = np.array(e["loadings"])
    ours = np.array([got["loadings"][c] for c in columns])
    # the same factors up to order and sign
    for j in range(want.shape[1]):
        best = np.argmax(np.abs(ours.T @ want[:, j]))
        sign = np.sign(ours[:, best] @ want[:, j])
        assert np.abs(sign * ours[:, best] - want[:, j]).max() < 1e-3
    close(got["communalities"], e["communalities"], 1e-3)


def test_available_cfa_is_fiml_as_lavaan(available):
    e, got = EXPECTED["available"]["cfa"], available["cfa"]
    assert got["estimator"] == "FIML" and "warning" not in got
    assert got["n"] == e["n"] and got["df"] == e["df"]
    assert got["chi2"] == pytest.approx(e["chi2"], rel=1e-4)
    close(got, {k: e[k] for k in ("p", "cfi", "tli", "rmsea", "rmsea_ci", "srmr")}, 1e-4)
    close(got["std_loadings"], e["std_loadings"], 1e-3)


def test_available_scores_feed_gaps_regression_and_loyalty_as_in_r(available):
    e = EXPECTED["available"]
    close(available["gaps"], e["gaps"], 1e-6)
    close(available["regression"], e["regression"], 1e-6)
    loyalty = dict(e["loyalty"])
    ordinal = loyalty.pop("ordinal")
    close(available["loyalty"], loyalty, 1e-6)
    for item, fit in ordinal.items():
        got = available["loyalty"]["ordinal"][item]
        assert got["n"] == fit["n"] and got["levels"] == fit["levels"]
        close(got["coef"], fit["coef"], 1e-6)
        close(got["thresholds"], fit["thresholds"], 1e-6)


def test_available_scores_need_half_of_a_scales_items():
    q = SERVQUAL
    frame = pd.DataFrame({"SAT1": [4.0, 4.0, np.nan, 6.0], "SAT2": [5.0, np.nan, np.nan, 2.0]})
    frame["SAT3"] = [np.nan, np.nan, np.nan, 7.0]
    data = SurveyData(q, frame, missing="available")
    scale = next(s for s in data.scales if s.name == "satisfaction")
    got = data.score(scale)
    np.testing.assert_array_equal(got[[0, 3]], [4.5, 5.0])  # 2 of 3 answered, all 3
    assert np.isnan(got[1]) and np.isnan(got[2])  # 1 of 3, none


def test_the_questionnaire_setting_chooses_the_method():
    text = (SHIPPED_DIR / "servqual-22.yaml").read_text() + "analysis:\n  missing: available\n"
    q = parse_questionnaire(text)
    data = SurveyData(q, read_csv(REFERENCE / "messy-servqual.csv", q))
    report = build_report(data, factors=5)
    assert report["missing"] == "available"
    assert report["cfa"]["estimator"] == "FIML"
    assert build_report(data, factors=5, missing="listwise")["missing"] == "listwise"


def test_available_drivers_match_r_relative_weights_and_shapley(available):
    e = EXPECTED["available"]["regression"]
    close(available["regression"]["relative_weights"], e["relative_weights"], 1e-6)
    close(available["regression"]["shapley"], e["shapley"], 1e-6)


def test_available_segments_and_waves_match_r(available):
    """Welch ANOVA (``oneway.test``), Kruskal-Wallis, Holm-adjusted Welch pairs and the
    wave change (``t.test(after, before)``) on the available-item scores."""
    expected = EXPECTED["available"]["segments"]
    assert set(expected) == {"tier", "region", "wave"}
    for segment, by_score in expected.items():
        for name, e in by_score.items():
            got = available["segments"][segment][name]
            where = f"{segment}.{name}"
            assert got["n"] == e["n"], where
            assert got["counts"] == e["counts"], where
            close(got["means"], e["means"], 1e-9, where)
            close(got["welch_anova"], e["welch_anova"], 1e-6, where)
            close(got["kruskal"], e["kruskal"], 1e-6, where)
            pairs = {f"{row['a']}|{row['b']}": row for row in got["pairwise"]}
            assert set(pairs) == set(e["pairwise"]), where
            close(pairs, e["pairwise"], 1e-6, where)
            if segment == "wave":
                close(available["segments"]["wave"]["change"][name], e["change"], 1e-6, where)


def test_cli_missing_option_chooses_the_method(tmp_path, capsys):
    from analysis.__main__ import main

    out = tmp_path / "out.json"
    csv, q = str(REFERENCE / "messy-servqual.csv"), str(SHIPPED_DIR / "servqual-22.yaml")
    args = ["report", csv, "-q", q, "--factors", "5", "--json", str(out)]
    assert main([*args, "--missing", "available"]) == 0
    report = json.loads(out.read_text())
    assert report["missing"] == "available" and report["cfa"]["estimator"] == "FIML"
    assert (
        report["reliability"]["P_tangibles"]["n"]
        == (EXPECTED["available"]["reliability"]["P_tangibles"]["n"])
    )
    assert "(missing answers: available)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([*args, "--missing", "pairwise"])
    assert info.value.code == 2
    assert "invalid choice: 'pairwise'" in capsys.readouterr().err
