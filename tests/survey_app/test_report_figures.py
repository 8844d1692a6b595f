"""The report's charts and summary, checked through the figures' data against the
analysis JSON (no database, no Flask)."""

from __future__ import annotations

import json

import pytest

from analysis.data import SurveyData
from analysis.report import build_report
from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire
from survey_app.reports import figures, narrative, pages


@pytest.fixture(scope="module")
def servqual():
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    report = build_report(SurveyData(q, simulate_responses(q, 600, seed=2)), bootstrap=40, seed=1)
    return q, report, pages.Labels.of(q, "en")


def every_figure(q, report, labels):
    for name in ("overview", "service", "priorities", "satisfaction", "segments", "methods"):
        yield from pages.BUILDERS[name](report, q, labels, str)["charts"]


def test_every_chart_has_titles_and_okabe_ito_colours(servqual):

    q, report, labels = servqual
    okabe = {c.lower() for c in (*figures.PALETTE, figures.GREY, "#ffffff")}
    charts = list(every_figure(q, report, labels))
    assert len(charts) >= 12
    for chart in charts:
        fig = json.loads(chart.figure)
        layout = fig["layout"]
        assert layout["title"]["text"], chart.id
        assert layout["xaxis"]["title"]["text"] or layout["yaxis"]["title"]["text"], chart.id
        # an axis of numbers or dates always says what they are (and their unit); an axis
        # of names (dimensions, groups) may go without
        for axis in ("x", "y"):
            values = [v for t in fig["data"] for v in (t.get(axis) or []) if v is not None]
            dates = layout[f"{axis}axis"].get("type") == "date"
            if dates or (values and all(isinstance(v, (int, float)) for v in values)):
                assert layout[f"{axis}axis"]["title"]["text"], (chart.id, axis)
        for trace in fig["data"]:
            colours = trace.get("marker", {}).get("color", [])
            for colour in [colours] if isinstance(colours, str) else colours:
                assert colour.lower() in okabe, (chart.id, colour)


def test_gap_bars_are_the_gaps_with_their_intervals(servqual):
    q, report, labels = servqual
    gaps = report["gaps"]
    fig = figures.gap_bars(gaps, labels.dimensions)
    bar = fig.data[0]
    for label, d in zip(bar.y, gaps, strict=True):  # the name, the gap and its interval
        g = gaps[d]
        ci = f"[{g['gap_ci'][0]:.2f}, {g['gap_ci'][1]:.2f}]"
        assert label == f"{labels.dimensions[d]}<br>{g['gap']:.2f} {ci}"
    assert list(bar.x) == [gaps[d]["gap"] for d in gaps]
    for i, d in enumerate(gaps):
        assert bar.x[i] - bar.error_x.arrayminus[i] == pytest.approx(gaps[d]["gap_ci"][0])
        assert bar.x[i] + bar.error_x.array[i] == pytest.approx(gaps[d]["gap_ci"][1])
        # below zero for sure: vermillion and hatched, never colour alone
        if gaps[d]["gap_ci"][1] < 0:
            assert bar.marker.color[i] == figures.VERMILLION and bar.marker.pattern.shape[i] == "/"


def test_ipa_has_intervals_on_both_axes_and_greys_unreliable_dimensions(servqual):
    q, report, labels = servqual
    ipa = report["importance_performance"]
    fig = figures.ipa_matrix(ipa, labels.dimensions, {"empathy": "alpha 0.61"})
    points = {}
    for trace in fig.data:
        for i, text in enumerate(trace.text):
            points[text] = (trace, i)
    trace, i = points["Empathy (alpha 0.61)"]
    assert trace.marker.color == figures.GREY and trace.marker.symbol.endswith("-open")
    for d in ("tangibles", "reliability"):
        trace, i = points[labels.dimensions[d]]
        v = ipa[d]
        assert trace.x[i] - trace.error_x.arrayminus[i] == pytest.approx(v["importance_ci"][0])
        assert trace.x[i] + trace.error_x.array[i] == pytest.approx(v["importance_ci"][1])
        assert trace.y[i] - trace.error_y.arrayminus[i] == pytest.approx(v["performance_ci"][0])
        assert trace.y[i] + trace.error_y.array[i] == pytest.approx(v["performance_ci"][1])
    dims = [d for d in ipa if isinstance(ipa[d], dict) and "quadrant" in ipa[d]]
    lines = {s.type + ("v" if s.x0 == s.x1 else "h"): s for s in fig.layout.shapes}
    assert lines["linev"].x0 == pytest.approx(sum(ipa[d]["importance"] for d in dims) / len(dims))
    assert lines["lineh"].y0 == pytest.approx(sum(ipa[d]["performance"] for d in dims) / len(dims))


def test_unreliable_dimensions_are_those_under_70(servqual):
    q, report, labels = servqual
    changed = {**report, "reliability": dict(report["reliability"])}
    changed["reliability"]["P_empathy"] = {**report["reliability"]["P_empathy"], "alpha": 0.61}
    assert set(pages.unreliable_dimensions(changed, q, str)) == {"empathy"}
    assert pages.unreliable_dimensions(report, q, str) == {}
    # omega under .70 with alpha above it is as unreliable, and both reasons are named
    omega = {**report, "reliability": dict(report["reliability"])}
    tangibles = {**report["reliability"]["P_tangibles"], "alpha": 0.74, "omega_total": 0.66}
    omega["reliability"]["P_tangibles"] = tangibles
    omega["reliability"]["P_empathy"] = {**changed["reliability"]["P_empathy"], "omega_total": 0.5}
    reasons = pages.unreliable_dimensions(omega, q, str)
    assert reasons == {
        "tangibles": "unreliable: omega 0.66 under .70",
        "empathy": "unreliable: alpha 0.61, omega 0.50 under .70",
    }


def test_profile_keeps_each_measures_colour_and_marker(servqual):
    q, report, labels = servqual
    means = {
        d: {"expectation": g["expectation"], "perception": g["perception"]}
        for d, g in report["gaps"].items()
    }
    e, p = figures.profile(means, labels.dimensions).data
    assert (e.line.color, e.marker.symbol, e.line.dash) == (figures.ORANGE, "square", "dash")
    assert (p.line.color, p.marker.symbol) == (figures.BLUE, "circle")
    assert list(p.y) == [g["perception"] for g in report["gaps"].values()]


def test_loyalty_curve_draws_the_bins_and_both_fits(servqual):
    q, report, labels = servqual
    loy = report["loyalty"]
    fig = figures.loyalty_curve(loy)
    points, linear, quadratic = fig.data
    assert list(points.x) == [b["satisfaction"] for b in loy["bins"]]
    assert list(points.y) == [b["mean"] for b in loy["bins"]]
    b0, b1 = loy["linear_fit"]
    assert linear.y[0] == pytest.approx(b0 + b1 * linear.x[0])
    c0, c1, c2 = loy["quadratic_fit"]
    assert quadratic.y[-1] == pytest.approx(c0 + c1 * quadratic.x[-1] + c2 * quadratic.x[-1] ** 2)
    assert linear.line.dash != quadratic.line.dash


def test_names_are_escaped_in_charts():
    fig = figures.keyword_bars([("<img src=x onerror=alert(1)>", 4)], "<b>t</b>")
    assert fig.data[0].y[0] == "&lt;img src=x onerror=alert(1)&gt;"
    assert fig.layout.title.text == "&lt;b&gt;t&lt;/b&gt;"


def test_segments_trend_and_methods_charts_follow_the_json(servqual):
    q, report, labels = servqual
    tier = report["segments"]["tier"]["satisfaction"]
    fig = figures.segment_means(tier, labels.groups["tier"], "t")
    assert list(fig.data[0].x) == [tier["means"][g] for g in tier["means"]]
    assert fig.data[0].y[0] == f"{labels.groups['tier']['A']}<br>n = {tier['counts']['A']}"
    wave = report["segments"]["wave"]
    fig = figures.wave_trend(wave["satisfaction"], wave["change"]["satisfaction"], {}, "t")
    assert fig.layout.annotations[0].text.startswith(
        f"{wave['change']['satisfaction'][0]['change']:+.2f}"
    )
    fig = figures.scree(report["efa"])
    assert list(fig.data[0].y) == report["efa"]["eigenvalues"]
    assert list(fig.data[1].y) == report["efa"]["parallel_threshold"]
    fig = figures.loadings_heatmap(report["efa"], {})
    assert [list(r) for r in fig.data[0].z] == list(report["efa"]["loadings"].values())


def named(text, **values):
    return text % values if values else text


def test_the_summary_claims_only_what_the_intervals_support(servqual):
    q, report, labels = servqual
    sentences = narrative.summarise(report, labels.dimensions, labels.groups, "wave", named)
    kinds = [s.kind for s in sentences]
    assert kinds[0] == "n" and "satisfaction" in kinds and "nps" in kinds
    for s in sentences:
        if s.kind == "gap":
            assert report["gaps"][s.facts["dimension"]]["gap_ci"][1] < 0
            assert f"{-report['gaps'][s.facts['dimension']]['gap']:.2f}" in s.text
        if s.kind == "driver":
            low, _high = narrative.coefficient_ci(report["regression"], s.facts["dimension"])
            assert low > 0
        if s.kind == "segment":
            assert s.facts["p_holm"] < 0.05
    # an interval that crosses zero is never a claim
    crossing = {
        **report,
        "gaps": {d: {**g, "gap_ci": [-0.1, 0.1]} for d, g in report["gaps"].items()},
    }
    reg = dict(report["regression"])
    reg["se_hc3"] = {k: 10.0 for k in reg["se_hc3"]}
    reg["ci_hc3"] = {k: [-1.0, 1.0] for k in reg["ci_hc3"]}
    crossing["regression"] = reg
    kinds = [
        s.kind
        for s in narrative.summarise(crossing, labels.dimensions, labels.groups, "wave", named)
    ]
    assert "gap" not in kinds and "no_gap" in kinds
    assert "driver" not in kinds and "no_driver" in kinds


def test_every_summary_sentence_gives_its_number_with_its_uncertainty(servqual):
    """Each estimate the summary states comes with its 95% interval (or, for a segment
    difference, its effect size and corrected p) in the sentence itself; a kind of
    sentence not listed here fails the test until its uncertainty is checked."""
    q, report, labels = servqual
    sentences = narrative.summarise(report, labels.dimensions, labels.groups, "wave", named)
    for s in sentences:
        f = s.facts
        if s.kind == "satisfaction":
            assert f"{f['mean']:.2f} on a scale" in s.text, s.text
            assert f"95% CI {f['ci'][0]:.2f} to {f['ci'][1]:.2f}" in s.text, s.text
        elif s.kind == "wave":
            assert f"{f['ci'][0]:.2f} to {f['ci'][1]:.2f}" in s.text, s.text
        elif s.kind == "nps":
            assert f"is {f['nps']:.0f} (95% CI {f['ci'][0]:.0f} to {f['ci'][1]:.0f}" in s.text
        elif s.kind == "gap":  # a shortfall, stated as a positive distance
            assert f"{-f['gap']:.2f} points below" in s.text, s.text
            assert f"95% CI {-f['ci'][1]:.2f} to {-f['ci'][0]:.2f}" in s.text, s.text
        elif s.kind == "driver":
            low, high = f["weight_ci"]
            assert f"95% CI {low:.3f} to {high:.3f}" in s.text, s.text
        elif s.kind == "segment":
            assert f"Hedges' g {f['hedges']:.2f}" in s.text and "Holm-corrected p" in s.text
        elif s.kind == "n":
            assert str(f["n"]) in s.text
        else:  # statements of uncertainty themselves, without an estimate
            assert s.kind in ("driver_order", "no_gap", "no_driver"), s.kind
    assert {s.kind for s in sentences} >= {"satisfaction", "nps", "gap", "driver", "segment"}


# -- customers and follow-ups (the JSON of data.json's tier_pyramid and follow_ups) ----------
PYRAMID = [
    {"tier": "A", "customers": 3, "revenue": 820.0, "revenue_share": 0.82, "invited": 6},
    {"tier": "B", "customers": 2, "revenue": 130.0, "revenue_share": 0.13, "invited": 4},
    {"tier": "C", "customers": 5, "revenue": 50.0, "revenue_share": 0.05, "invited": 3},
]


def rates(k, n, ci):
    return {"recovered": k, "with_next_response": n, "rate": k / n if n else None, "ci": ci}


def in_time(k, n, ci):
    return {"in_time": k, "resolved": n, "share": k / n if n else None, "ci": ci}


FOLLOW_UPS = {
    "recovery": rates(2, 4, [0.15, 0.85]),
    "resolved_in_time": in_time(2, 3, [0.21, 0.94]),
    "by_tier": {
        "A": {"recovery": rates(1, 2, [0.09, 0.91]), "resolved_in_time": in_time(1, 2, [0.1, 0.9])},
        "B": {"recovery": rates(1, 2, [0.09, 0.91]), "resolved_in_time": in_time(1, 1, [0.2, 1])},
        "C": {"recovery": rates(0, 0, None), "resolved_in_time": in_time(0, 0, None)},
    },
}


def test_tier_pyramid_draws_the_shares_of_customers_and_revenue():
    fig = figures.tier_pyramid(PYRAMID, {"A": "A (key)", "B": "B", "C": "C"})
    customers, revenue = fig.data
    assert list(customers.y) == ["A (key)", "B", "C"]
    assert list(customers.x) == pytest.approx([30.0, 20.0, 50.0])  # of 10 customers
    assert list(revenue.x) == pytest.approx([82.0, 13.0, 5.0])
    assert list(customers.text) == ["30% (3)", "20% (2)", "50% (5)"]
    assert customers.marker.pattern.shape != revenue.marker.pattern.shape  # not colour only
    assert "n = 10" in fig.layout.title.text


def test_recovery_and_in_time_charts_follow_the_json_and_skip_empty_groups():
    names = {"A": "A", "B": "B", "C": "C"}
    fig = figures.recovery_chart(FOLLOW_UPS, names)
    (points,) = fig.data
    # C: nobody answered again
    assert list(points.y) == ["All customers<br>2 of 4", "Tier A<br>1 of 2", "Tier B<br>1 of 2"]
    assert list(points.x) == pytest.approx([50.0, 50.0, 50.0])
    assert points.x[0] - points.error_x.arrayminus[0] == pytest.approx(15.0)
    assert points.x[0] + points.error_x.array[0] == pytest.approx(85.0)
    assert list(points.customdata) == ["2 of 4", "1 of 2", "1 of 2"]
    fig = figures.in_time_chart(FOLLOW_UPS, names)
    (points,) = fig.data
    assert list(points.x) == pytest.approx([200 / 3, 50.0, 100.0])
    assert points.x[2] - points.error_x.arrayminus[2] == pytest.approx(20.0)
    assert points.error_x.array[2] == pytest.approx(0.0)
    assert list(points.customdata) == ["2 of 3", "1 of 2", "1 of 1"]


# -- every chart's text alternative ------------------------------------------------------------
def test_every_chart_has_its_data_as_a_table(servqual):
    q, report, labels = servqual
    for chart in every_figure(q, report, labels):
        table = chart.table
        fig = json.loads(chart.figure)
        assert table["title"] and "<br>" not in table["title"], chart.id
        points = 0
        for trace in fig["data"]:
            if trace["type"] == "heatmap":
                points += len(trace["z"]) * len(trace["z"][0])
            elif "markers" in trace.get("mode", "markers"):
                points += sum(1 for v in trace["x"] if v is not None)
        assert len(table["rows"]) == points, chart.id
        assert all(len(row) == len(table["columns"]) for row in table["rows"]), chart.id


def digits(value: float) -> str:
    """2 decimals, 3 under 1 (how a chart's table writes a number)."""
    return f"{value:.{3 if abs(value) < 1 else 2}f}"


def test_the_tables_carry_the_json_values_and_intervals(servqual):
    q, report, labels = servqual
    gaps = report["gaps"]
    table = figures.figure_table(figures.gap_bars(gaps, labels.dimensions))
    for row, (d, g) in zip(table["rows"], gaps.items(), strict=True):
        low, high = g["gap_ci"]
        assert row[1].startswith(labels.dimensions[d])
        assert row[2] == f"{digits(g['gap'])} [{digits(low)}, {digits(high)}]"
    ipa = report["importance_performance"]
    table = figures.figure_table(figures.ipa_matrix(ipa, labels.dimensions, {}))
    assert len(table["columns"]) == 4  # both axes are values, each with its interval
    by_name = {row[1]: row for row in table["rows"]}
    v = ipa["tangibles"]
    row = by_name[labels.dimensions["tangibles"]]
    assert row[2].startswith(f"{v['performance']:.2f} [{v['performance_ci'][0]:.2f}, ")
    assert row[3].startswith(f"{v['importance']:.3f} [{v['importance_ci'][0]:.3f}, ")
    loadings = figures.figure_table(figures.loadings_heatmap(report["efa"], {}))
    first_item = next(iter(report["efa"]["loadings"]))
    assert loadings["rows"][0][:2] == [first_item, "F1"]
    assert float(loadings["rows"][0][2]) == pytest.approx(
        report["efa"]["loadings"][first_item][0], abs=0.0005
    )
    zone = figures.figure_table(
        figures.zone_chart(
            {"x": {"adequate": 4.5, "desired": 6.25, "perception": 5.0, "position": "within"}}, {}
        )
    )
    assert zone["rows"][0][2] == "4.50 – 6.25" and zone["rows"][1][2] == "5"
    loyalty = figures.figure_table(figures.loyalty_curve(report["loyalty"]))
    assert len(loyalty["lines"]) == 2  # the fits are named, not listed


# -- charts and tables of issue 11 not covered above ----------------------------------------
def test_zone_of_tolerance_band_and_perception_follow_the_json():
    q = load_questionnaire(SHIPPED_DIR / "zone-of-tolerance.yaml")
    report = build_report(SurveyData(q, simulate_responses(q, 300, seed=2)), seed=1)
    labels = pages.Labels.of(q, "en")
    charts = {c.id: c for c in pages.service(report, q, labels, str)["charts"]}
    assert "zone" in charts  # the questionnaire has adequate and desired measures
    zone = report["zone_of_tolerance"]
    band, perceived = figures.zone_chart(zone, labels.dimensions).data
    dims = [d for d, z in zone.items() if isinstance(z, dict) and "adequate" in z]
    assert list(band.base) == [zone[d]["adequate"] for d in dims]
    ends = [b + w for b, w in zip(band.base, band.x, strict=True)]
    assert ends == pytest.approx([zone[d]["desired"] for d in dims])
    assert list(perceived.x) == [zone[d]["perception"] for d in dims]
    assert list(perceived.text) == [
        {"below": "below the zone", "within": "within", "above": "above"}[zone[d]["position"]]
        for d in dims
    ]


def test_no_zone_chart_without_adequate_and_desired_measures(servqual):
    q, report, labels = servqual
    assert "zone" not in {c.id for c in pages.service(report, q, labels, str)["charts"]}


def test_drivers_are_ranked_by_relative_weight_with_bootstrap_intervals(servqual):
    q, report, labels = servqual
    reg = report["regression"]
    (bars,) = figures.drivers_chart(reg, labels.dimensions).data
    ranked = sorted(reg["relative_weights"], key=reg["relative_weights"].get, reverse=True)
    assert list(bars.x) == [reg["relative_weights"][d] for d in ranked]
    boot = reg["bootstrap"]["relative_weights"]
    for i, d in enumerate(ranked):
        assert bars.y[i].startswith(labels.dimensions[d])
        assert bars.x[i] - bars.error_x.arrayminus[i] == pytest.approx(boot[d][0])
        assert bars.x[i] + bars.error_x.array[i] == pytest.approx(boot[d][1])


def test_nps_bar_parts_and_title(servqual):
    q, report, labels = servqual
    nps = report["nps"]["NPS"]
    fig = figures.nps_bar(nps)
    assert [t.x[0] for t in fig.data] == pytest.approx(
        [100 * nps["detractors"], 100 * nps["passives"], 100 * nps["promoters"]]
    )
    assert sum(t.x[0] for t in fig.data) == pytest.approx(100)
    assert f"{nps['nps']:.0f}, 95% CI [{nps['ci'][0]:.0f}, {nps['ci'][1]:.0f}]" in (
        fig.layout.title.text.replace("<br>", " ")
    )
    assert len({t.marker.pattern.shape for t in fig.data}) == 3  # not colour alone


def test_methods_judges_cfa_fit_by_hu_and_bentler_and_flags_items_lowering_alpha(servqual):
    q, report, labels = servqual
    changed = {**report, "cfa": {**report["cfa"], "cfi": 0.94, "tli": 0.96, "rmsea": 0.07}}
    changed["cfa"]["srmr"] = 0.05
    scale = next(iter(report["reliability"]))
    rel = report["reliability"][scale]
    first, *rest = rel["items"]
    items = {first: {**rel["items"][first], "alpha_if_deleted": rel["alpha"] + 0.01}}
    items.update({c: {**rel["items"][c], "alpha_if_deleted": rel["alpha"] - 0.01} for c in rest})
    changed["reliability"] = {scale: {**rel, "items": items}}
    content = pages.methods(changed, q, labels, str)
    verdicts = {f["index"]: f["ok"] for f in content["fit"]}
    # Hu & Bentler (1999): CFI, TLI >= .95; RMSEA <= .06; SRMR <= .08
    assert verdicts == {"cfi": False, "tli": True, "rmsea": False, "srmr": True}
    assert content["lowers_alpha"] == {scale: [first]}
    used = {u["analysis"]: u for u in content["used"]}
    assert used["efa"]["n"] == report["efa"]["n"]
    assert used["efa"]["left_out"] == report["n_responses"] - report["efa"]["n"]


def test_expectation_and_perception_are_drawn_with_their_intervals(servqual):
    q, report, labels = servqual
    measured = {d: g for d, g in report["gaps"].items() if "gap" in g}
    fig = figures.expectation_perception(measured, labels.dimensions)
    assert [t.name for t in fig.data] == ["Expectation", "Perception"]
    for trace, key in zip(fig.data, ("expectation", "perception"), strict=True):
        assert list(trace.y) == [labels.dimensions[d] for d in measured]
        for i, g in enumerate(measured.values()):
            low, high = g[f"{key}_ci"]
            assert trace.x[i] == g[key]
            assert trace.x[i] - trace.error_x.arrayminus[i] == pytest.approx(low)
            assert trace.x[i] + trace.error_x.array[i] == pytest.approx(high)
    assert fig.layout.xaxis.title.text == "Mean score"


def test_responses_over_time_are_the_counts_of_each_completion_day():
    import pandas as pd

    from survey_app.reports.services import responses_by_day

    moments = ["2026-03-01T23:59Z", "2026-03-01T00:00Z", "2026-03-03T12:00Z", None]
    frame = pd.DataFrame({"submitted_at": pd.to_datetime(moments, utc=True)})
    by_day = responses_by_day(frame)
    assert by_day == [["2026-03-01", 2], ["2026-03-03", 1]]  # (no bar for an empty day)
    fig = figures.responses_over_time(by_day)
    (bars,) = fig.data
    assert list(bars.x) == ["2026-03-01", "2026-03-03"] and list(bars.y) == [2, 1]
    assert fig.layout.xaxis.type == "date"
    assert fig.layout.xaxis.title.text == "Completion date (UTC)"
    assert fig.layout.yaxis.title.text == "Responses per day"


def test_the_satisfaction_thirds_are_shares_in_percent_with_the_mean_in_the_title(servqual):
    q, report, labels = servqual
    outcome = report["outcomes"]["satisfaction"]
    fig = figures.score_thirds(outcome, "Overall satisfaction")
    (bars,) = fig.data
    assert list(bars.y) == pytest.approx([100 * share for share in outcome["thirds"]])
    assert sum(bars.y) == pytest.approx(100)
    low, high = outcome["scale"]
    assert list(bars.x)[0] == f"Low ({low + (high - low) / 3:.1f} or less)"
    title = fig.layout.title.text
    assert f"mean {outcome['mean']:.2f}" in title and f"(n = {outcome['n']})" in title
    assert f"{outcome['ci'][0]:.2f}" in title and f"{outcome['ci'][1]:.2f}" in title
    assert fig.layout.yaxis.title.text == "Share of respondents (%)"
