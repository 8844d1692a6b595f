"""The analysis agrees with R (psych, lavaan, GPArotation, sandwich, car, MASS).

Expected values are in tests/reference/*.r.json, written by tests/reference/reference.R
from the shipped samples; ``test_r_reference_is_current`` reruns R when it is installed
(always in CI) and checks that those files are what R produces.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis.data import SurveyData, read_csv
from analysis.efa import efa
from analysis.moments import MomentCache
from analysis.report import build_report
from questionnaires import SHIPPED_DIR, load_questionnaire

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
NAMES = ["servqual-22", "genetic-lab"]


def load(name: str):
    q = load_questionnaire(SHIPPED_DIR / f"{name}.yaml")
    data = SurveyData(q, read_csv(REFERENCE / f"{name}.csv", q))
    expected = json.loads((REFERENCE / f"{name}.r.json").read_text())
    return q, data, expected


@pytest.fixture(scope="module", params=NAMES)
def case(request):
    q, data, expected = load(request.param)
    k = len(q.dimensions)
    return data, expected, build_report(data, factors=k)


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


def test_reliability_matches_psych(case):
    _, expected, report = case
    for scale, r in expected["reliability"].items():
        got = report["reliability"][scale]
        assert got["n"] == r["n"]
        items = r["items"]
        if len(items) == 2:  # psych reports a one-item "alpha"; we report null (README)
            assert all(s["alpha_if_deleted"] is None for s in got["items"].values())
            items = {c: {"r_drop": s["r_drop"]} for c, s in items.items()}
        expected = {k: r[k] for k in ("alpha", "std_alpha", "alpha_ci")} | {"items": items}
        close(got, expected, 1e-6, scale)
        assert got["omega_total"] == pytest.approx(r["omega_total"], abs=1e-3)


def test_kmo_and_bartlett_match_psych(case):
    _, expected, report = case
    e, got = expected["efa"], report["efa"]
    assert got["n"] == e["n"]
    close(got, {k: e[k] for k in ("kmo", "kmo_items", "bartlett")}, 1e-6)


@pytest.mark.parametrize(
    "variant", ["minres_oblimin", "ml_varimax", "minres_promax", "ml_oblimin", "minres_none"]
)
@pytest.mark.parametrize("name", NAMES)
def test_factor_loadings_match_psych_up_to_order_and_sign(name, variant):
    _, data, expected = load(name)
    e = expected["efa"]
    columns = tuple(e["kmo_items"])
    m = MomentCache(data, list(columns)).get(columns)
    want = np.array(e[variant]["loadings"])
    k = want.shape[1]
    extraction, rotation = variant.split("_")
    got = efa(m, k, extraction, rotation)
    best = min(
        itertools.permutations(range(k)),
        key=lambda p: np.abs(np.abs(got.loadings[:, p]) - np.abs(want)).max(),
    )
    aligned = got.loadings[:, best] * np.sign((got.loadings[:, best] * want).sum(axis=0))
    assert np.abs(aligned - want).max() < 1e-3
    h2 = [e[variant]["communalities"][c] for c in columns]
    np.testing.assert_allclose(got.communalities, h2, atol=1e-3)
    signs = np.sign((got.loadings[:, best] * want).sum(axis=0))
    weights = got.weights[:, best] * signs
    np.testing.assert_allclose(weights, np.array(e[variant]["weights"]), atol=1e-3)
    if rotation in ("oblimin", "promax"):
        phi = got.phi[np.ix_(best, best)] * np.outer(
            *[np.sign((got.loadings[:, best] * want).sum(0))] * 2
        )
        np.testing.assert_allclose(phi, np.array(e[variant]["phi"]), atol=1e-3)


def test_cfa_matches_lavaan(case):
    _, expected, report = case
    e, got = expected["cfa"], report["cfa"]
    assert got["n"] == e["n"] and got["df"] == e["df"]
    assert got["chi2"] == pytest.approx(e["chi2"], rel=1e-4)
    close(got, {k: e[k] for k in ("p", "cfi", "tli", "rmsea", "rmsea_ci", "srmr")}, 1e-4)
    close(got["std_loadings"], e["std_loadings"], 1e-3)


def test_gaps_match_t_test(case):
    _, expected, report = case
    close(report["gaps"], expected["gaps"], 1e-6)


def test_regression_matches_lm_sandwich_and_car(case):
    _, expected, report = case
    e = dict(expected["regression"])
    shapley = e.pop("shapley")
    close(report["regression"], e, 1e-6)
    close(report["regression"]["shapley"], shapley, 1e-6)
    weights = report["regression"]["relative_weights"]
    assert sum(weights.values()) == pytest.approx(report["regression"]["r2"], abs=1e-9)


def test_loyalty_models_match_lm_and_polr(case):
    _, expected, report = case
    e = dict(expected["loyalty"])
    ordinal = e.pop("ordinal")
    close(report["loyalty"], e, 1e-6)
    for item, fit in ordinal.items():
        got = report["loyalty"]["ordinal"][item]
        assert got["n"] == fit["n"]
        # polr stops at its optimiser's default tolerance, about 1e-4 here
        close(got["coef"], fit["coef"], 1e-3)
        close(got["thresholds"], fit["thresholds"], 1e-3)


@pytest.mark.skipif(
    not shutil.which("Rscript") and not os.environ.get("CI"),
    reason="R is not installed (scripts/test.sh installs it as root)",
)
def test_r_reference_is_current(tmp_path):
    """Rerun the R script; the shipped expectations must be exactly what R computes."""
    if not shutil.which("Rscript"):
        pytest.fail("CI must run the R comparison: apt-get install r-base-core r-cran-psych ...")
    subprocess.run(
        ["Rscript", str(REFERENCE / "reference.R"), str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    for name in NAMES:
        fresh = json.loads((tmp_path / f"{name}.r.json").read_text())
        shipped = json.loads((REFERENCE / f"{name}.r.json").read_text())
        close(fresh, shipped, 1e-9)
