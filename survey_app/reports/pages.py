"""What each report page shows, from a report's JSON: its charts (built by
:mod:`.figures`) and tables, as plain data for the templates."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires import Questionnaire, translate

from . import figures, notes
from .narrative import coefficient_ci, summarise


def N_(text: str) -> str:
    """Mark a text for translation where it is defined; ``_()`` translates it when shown."""
    return text


PAGES = (  # endpoint suffix, URL path under /reports/<survey_id>, title (translated later)
    ("overview", "", N_("Overview")),
    ("service", "service-quality", N_("Service quality")),
    ("priorities", "priorities", N_("What to fix first")),
    ("satisfaction", "satisfaction", N_("Satisfaction and loyalty")),
    ("segments", "segments", N_("Segments and waves")),
    ("customers", "customers", N_("Customers and follow-ups")),
    ("methods", "methods", N_("Methods")),
    ("texts", "open-text", N_("Open text")),
)
RELIABLE = 0.70  # alpha and omega at or above this count as acceptable (Nunnally, 1978)
# Hu & Bentler (1999): good fit at CFI and TLI >= .95, RMSEA <= .06, SRMR <= .08
CFA_CUTOFFS = {
    "cfi": (">=", 0.95),
    "tli": (">=", 0.95),
    "rmsea": ("<=", 0.06),
    "srmr": ("<=", 0.08),
}


@dataclass(frozen=True)
class Chart:
    id: str
    figure: str  # the figure's JSON, for the page's script (a data- attribute)
    caption: str = ""
    # the chart's data as a table (figures.figure_table): its text alternative
    table: dict[str, Any] | None = None


@dataclass(frozen=True)
class Labels:
    """The questionnaire's names in the page's language."""

    dimensions: dict[str, str]  # dimension, outcome and segment ids -> title
    groups: dict[str, dict[str, str]]  # segment id -> choice id -> title
    items: dict[str, str]  # column -> "ID: text"
    wave: str | None  # the segment with role: wave
    lang: str = "en"

    @classmethod
    def of(cls, q: Questionnaire, lang: str) -> Labels:
        names: dict[str, str] = {}
        for section in (*q.dimensions, *q.outcomes):
            names[section.id] = translate(section.title, lang) if section.title else section.id
        groups: dict[str, dict[str, str]] = {}
        wave = None
        for section in q.segments:
            for item in section.items:
                names[item.id] = translate(item.text, lang) if item.text else item.id
                groups[item.id] = {
                    c.id: translate(c.title, lang) if c.title else c.id for c in item.choices
                }
                if item.role == "wave":
                    wave = item.id
        for item in q.items:
            if item.type.recommends:
                names[item.id] = "NPS"
        items = {}
        for column in q.columns:
            text = getattr(column.item, "text", None)
            items[column.name] = f"{column.name}: {translate(text, lang)}" if text else column.name
        return cls(names, groups, items, wave, lang)


def scale_name(q: Questionnaire, dimension: str, role: str = "perception") -> str:
    """The reliability key of a dimension under the measure with ``role``."""
    if len(q.measures) > 1:
        measure = q.measure_by_role(role)
        return f"{measure.id}_{dimension}"
    return dimension


def scale_label(q: Questionnaire, labels: Labels, name: str) -> str:
    """A reliability key (``P_tangibles``, ``satisfaction``) in words: the dimension's
    title, with the measure's when the questionnaire has several."""
    if name in labels.dimensions:
        return labels.dimensions[name]
    for measure in q.measures:
        prefix = f"{measure.id}_"
        if name.startswith(prefix) and name[len(prefix) :] in labels.dimensions:
            title = translate(measure.title, labels.lang) if measure.title else measure.id
            return f"{labels.dimensions[name[len(prefix) :]]} ({title})"
    return name


def unreliable_dimensions(
    report: Mapping[str, Any], q: Questionnaire, _: Callable[[str], str]
) -> dict[str, str]:
    """Dimensions whose perception scale has alpha or omega under .70, with the reason."""
    out = {}
    for dim in q.dimensions:
        rel = report.get("reliability", {}).get(scale_name(q, dim.id), {})
        reasons = []
        if rel.get("alpha") is not None and rel["alpha"] < RELIABLE:
            reasons.append(_("alpha %s") % f"{rel['alpha']:.2f}")
        if rel.get("omega_total") is not None and rel["omega_total"] < RELIABLE:
            reasons.append(_("omega %s") % f"{rel['omega_total']:.2f}")
        if reasons:
            out[dim.id] = _("unreliable: %s under .70") % ", ".join(reasons)
    return out


def _chart(chart_id: str, fig, caption: str = "", _: Callable[[str], str] | None = None) -> Chart:
    figure = fig.to_json()
    table = figures.figure_table(json.loads(figure), _ or _current())
    return Chart(chart_id, figure, caption, table)


def _current() -> Callable[[str], str]:
    """gettext of the request (the column headings of a chart's table), else English."""
    from flask import has_request_context

    if has_request_context():
        from flask_babel import gettext

        return gettext
    return str


def overview(report, q, labels: Labels, _) -> dict[str, Any]:
    charts = []
    by_day = report.get("overview", {}).get("responses_by_day", [])
    if by_day:
        charts.append(_chart("responses", figures.responses_over_time(by_day, _)))
    for name, o in report.get("outcomes", {}).items():
        if "mean" in o and name == "satisfaction":
            charts.append(
                _chart(
                    f"outcome-{name}", figures.score_thirds(o, labels.dimensions.get(name, name), _)
                )
            )
    for item, v in report.get("nps", {}).items():
        if "nps" in v:
            charts.append(_chart(f"nps-{item}", figures.nps_bar(v, _)))
    if "note" in report:  # the engine's English note, in the page's language
        report = {**report, "note": notes.translate(report["note"], _named(_))}
    sentences = summarise(report, labels.dimensions, labels.groups, labels.wave, _named(_))
    return {"charts": charts, "sentences": sentences}


def _named(_: Callable[[str], str]) -> Callable[..., str]:
    """gettext with named values (flask_babel's ``gettext(text, **values)``)."""

    def translate_and_fill(text: str, **values: Any) -> str:
        translated = _(text)
        return translated % values if values else translated

    return translate_and_fill


def service(report, q, labels: Labels, _) -> dict[str, Any]:
    charts, items = [], []
    gaps = report.get("gaps", {})
    measured = {d: g for d, g in gaps.items() if isinstance(g, dict) and "gap" in g}
    if measured:
        charts.append(
            _chart(
                "expectation-perception",
                figures.expectation_perception(measured, labels.dimensions, _),
            )
        )
        charts.append(_chart("gaps", figures.gap_bars(measured, labels.dimensions, _)))
        means = {
            d: {"expectation": g["expectation"], "perception": g["perception"]}
            for d, g in measured.items()
        }
        charts.append(
            _chart(
                "profile",
                figures.profile(
                    means,
                    labels.dimensions,
                    _,
                    {"expectation": _("Expectation"), "perception": _("Perception")},
                ),
            )
        )
        for d, g in measured.items():
            for column, i in g.get("items", {}).items():
                items.append({"dimension": d, "column": column, **i})
        items.sort(key=lambda i: i["gap"])
    else:
        ipa = report.get("importance_performance", {})
        means = {
            d: {"perception": v["performance"]}
            for d, v in ipa.items()
            if isinstance(v, dict) and "performance" in v
        }
        if means:
            charts.append(
                _chart(
                    "profile",
                    figures.profile(means, labels.dimensions, _, {"perception": _("Perception")}),
                )
            )
    zone = report.get("zone_of_tolerance", {})
    if zone and "note" not in zone:
        charts.append(_chart("zone", figures.zone_chart(zone, labels.dimensions, _)))
    notes = {d: g["note"] for d, g in gaps.items() if isinstance(g, dict) and "note" in g}
    if "note" in gaps:
        notes = {"": gaps["note"]}
    return {"charts": charts, "items": items, "gap_notes": notes, "zone": zone}


def priorities(report, q, labels: Labels, _) -> dict[str, Any]:
    charts = []
    ipa = report.get("importance_performance", {})
    unreliable = unreliable_dimensions(report, q, _)
    if ipa:
        charts.append(_chart("ipa", figures.ipa_matrix(ipa, labels.dimensions, unreliable, _)))
        if "by_gap" in ipa:
            charts.append(
                _chart(
                    "ipa-gap",
                    figures.ipa_matrix(
                        ipa["by_gap"],
                        labels.dimensions,
                        unreliable,
                        _,
                        _("Performance: gap (perception minus expectation)"),
                        _("Importance and gap (95% bootstrap intervals on both axes)"),
                    ),
                )
            )
    reg = report.get("regression", {})
    if "coef" in reg:
        charts.append(_chart("drivers", figures.drivers_chart(reg, labels.dimensions, _)))
    rows = []
    for d, v in ipa.items():
        if isinstance(v, dict) and "quadrant" in v:
            rows.append({"dimension": d, **v, "unreliable": unreliable.get(d)})
    rows.sort(key=lambda r: (r["quadrant"] != "concentrate here", -r["importance"]))
    return {
        "charts": charts,
        "rows": rows,
        "unreliable": unreliable,
        "bootstrap": ipa.get("bootstrap"),
        "regression_note": reg.get("note"),
    }


def satisfaction(report, q, labels: Labels, _) -> dict[str, Any]:
    charts, model = [], []
    reg = report.get("regression", {})
    if "coef" in reg:
        boot = reg.get("bootstrap", {}).get("relative_weights", {})
        for d in reg["std_beta"]:
            low, high = coefficient_ci(reg, d)
            model.append(
                {
                    "dimension": d,
                    "coef": reg["coef"][d],
                    "se": reg["se_hc3"][d],
                    "low": low,
                    "high": high,
                    "beta": reg["std_beta"][d],
                    "vif": reg["vif"][d],
                    "weight": reg["relative_weights"][d],
                    "weight_pct": reg["relative_weights_pct"][d],
                    "weight_ci": boot.get(d),
                }
            )
    loyalty = report.get("loyalty", {})
    if "bins" in loyalty:
        charts.append(_chart("loyalty", figures.loyalty_curve(loyalty, _)))
    return {"charts": charts, "model": model, "regression": reg, "loyalty": loyalty}


def segments(report, q, labels: Labels, _) -> dict[str, Any]:
    charts, tables, trend = [], [], []
    segs = report.get("segments", {})
    if "note" in segs:
        return {"charts": [], "tables": [], "trend": [], "note": segs["note"]}
    for segment, tests in segs.items():
        title = labels.dimensions.get(segment, segment)
        for score, comparison in tests.items():
            if score == "change" or "means" not in comparison:
                if score != "change" and "note" in comparison:
                    tables.append({"segment": segment, "score": score, "note": comparison["note"]})
                continue
            score_name = labels.dimensions.get(score, score)
            if score == "satisfaction" or (score == "NPS" and segment != labels.wave):
                charts.append(
                    _chart(
                        f"segment-{segment}-{score}",
                        figures.segment_means(
                            comparison,
                            labels.groups.get(segment, {}),
                            _("%s by %s (mean, 95%% CI)") % (score_name, title),
                            _,
                        ),
                    )
                )
            tables.append({"segment": segment, "score": score, **comparison})
        if segment == labels.wave:
            for score, steps in tests.get("change", {}).items():
                comparison = tests.get(score, {})
                if "means" in comparison and score == "satisfaction":
                    charts.append(
                        _chart(
                            f"trend-{score}",
                            figures.wave_trend(
                                comparison,
                                steps,
                                labels.groups.get(segment, {}),
                                _("Trend of %s across waves (mean, 95%% CI)")
                                % labels.dimensions.get(score, score),
                                _,
                            ),
                        )
                    )
                for step in steps:
                    trend.append({"score": score, **step})
    return {"charts": charts, "tables": tables, "trend": trend, "note": None}


def methods(report, q, labels: Labels, _) -> dict[str, Any]:
    charts = []
    efa = report.get("efa", {})
    if efa.get("eigenvalues"):
        charts.append(_chart("scree", figures.scree(efa, _)))
    if "loadings" in efa:
        charts.append(_chart("loadings", figures.loadings_heatmap(efa, labels.items, _)))
    n = report.get("n_responses", 0)
    used = []
    for name, section in (
        ("reliability", None),
        ("efa", efa),
        ("cfa", report.get("cfa", {})),
        ("regression", report.get("regression", {})),
        ("loyalty", report.get("loyalty", {})),
    ):
        if section is None:
            for scale, r in report.get("reliability", {}).items():
                used.append({"analysis": scale, "n": r.get("n"), "note": r.get("note")})
        else:
            used.append({"analysis": name, "n": section.get("n"), "note": section.get("note")})
    for d, g in report.get("gaps", {}).items():
        if isinstance(g, dict):
            used.append({"analysis": f"gap {d}", "n": g.get("n"), "note": g.get("note")})
    analyses = {
        "efa": _("Exploratory factor analysis"),
        "cfa": _("Confirmatory factor analysis"),
        "regression": _("Satisfaction model"),
        "loyalty": _("Loyalty curve"),
    }
    for row in used:
        row["left_out"] = None if row["n"] is None else n - row["n"]
        name = row["analysis"]
        if name in analyses:
            row["label"] = analyses[name]
        elif name.startswith("gap "):
            row["label"] = _("Gap") + ": " + labels.dimensions.get(name[4:], name[4:])
        else:
            row["label"] = _("Reliability") + ": " + scale_label(q, labels, name)
    cfa = report.get("cfa", {})
    fit = []
    for index, (op, cut) in CFA_CUTOFFS.items():
        value = cfa.get(index)
        if value is None:
            continue
        ok = value >= cut if op == ">=" else value <= cut
        fit.append({"index": index, "value": value, "cutoff": f"{op} {cut:.2f}", "ok": ok})
    flagged_alpha = {}
    for scale, r in report.get("reliability", {}).items():
        for column, s in r.get("items", {}).items():
            deleted, alpha = s.get("alpha_if_deleted"), r.get("alpha")
            if deleted is not None and alpha is not None and deleted > alpha:
                flagged_alpha.setdefault(scale, []).append(column)
    missing = report.get("missing")
    return {
        "scale_labels": {
            name: scale_label(q, labels, name) for name in report.get("reliability", {})
        },
        "missing_text": {
            "listwise": _(
                "listwise (a response that lacks an item an analysis needs is left out of it)"
            ),
            "available": _(
                "available cases (each statistic uses every response that answered its items)"
            ),
        }.get(missing, missing),
        "charts": charts,
        "reliability": report.get("reliability", {}),
        "lowers_alpha": flagged_alpha,
        "efa": efa,
        "cfa": cfa,
        "fit": fit,
        "used": used,
        "quality": report.get("quality", {}),
        "missing": report.get("missing"),
        "n": n,
    }


def tier_names(q: Questionnaire, labels: Labels) -> dict[str, str]:
    """The tiers' names: the questionnaire's ``tier`` segment choices, else the letters."""
    return {t: labels.groups.get("tier", {}).get(t, t) for t in ("A", "B", "C")}


def customers(report, q, labels: Labels, _) -> dict[str, Any]:
    """The customer pyramid, the recovery rate and the share resolved in time (overall
    and by tier), and satisfaction by tier where the questionnaire has the segment."""
    charts, pyramid_charts = [], []
    names = tier_names(q, labels)
    pyramid = report.get("tier_pyramid")
    follow_ups = report.get("follow_ups")
    if pyramid and any(r["customers"] for r in pyramid):
        pyramid_charts.append(_chart("tier-pyramid", figures.tier_pyramid(pyramid, names, _)))
    tier_satisfaction = report.get("segments", {}).get("tier", {}).get("satisfaction", {})
    if "means" in tier_satisfaction:
        pyramid_charts.append(
            _chart(
                "segment-tier-satisfaction",
                figures.segment_means(
                    tier_satisfaction,
                    labels.groups.get("tier", {}),
                    _("%s by %s (mean, 95%% CI)")
                    % (
                        labels.dimensions.get("satisfaction", "satisfaction"),
                        labels.dimensions.get("tier", "tier"),
                    ),
                    _,
                ),
            )
        )
    rows = []
    if follow_ups:
        if follow_ups["recovery"]["with_next_response"]:
            charts.append(_chart("recovery", figures.recovery_chart(follow_ups, names, _)))
        if follow_ups["resolved_in_time"]["resolved"]:
            charts.append(_chart("in-time", figures.in_time_chart(follow_ups, names, _)))
        rows.append({"group": _("All customers"), **follow_ups})
        for tier, part in follow_ups["by_tier"].items():
            rows.append({"group": _("Tier %s") % names[tier], **part})
    return {
        "pyramid": pyramid,
        "pyramid_charts": pyramid_charts,
        "charts": charts,
        "rows": rows,
        "tier_names": names,
        "follow_ups": follow_ups,
        "has_tier_segment": "tier" in labels.groups,
    }


# pages shown even when there are too few responses for the analysis
WITHOUT_ANALYSIS = ("customers",)

BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {
    "overview": overview,
    "service": service,
    "priorities": priorities,
    "satisfaction": satisfaction,
    "segments": segments,
    "customers": customers,
    "methods": methods,
}


def keyword_charts(keywords: Mapping[str, Any], q: Questionnaire, labels: Labels, _) -> list[Chart]:
    """Keyword charts of each open-text question: overall, low and high scorers, and each
    segment group."""
    charts = []
    for column, entry in keywords.get("columns", {}).items():
        item = labels.items.get(column, column)
        groups: list[tuple[str, str, list | None]] = [
            ("all", _("All respondents"), entry.get("all"))
        ]
        scorers = entry.get("scorers")
        if scorers:
            basis = _("satisfaction") if scorers["basis"] == "satisfaction" else "NPS"
            groups.append(("low", _("Low %s") % basis, scorers.get("low")))
            groups.append(("high", _("High %s") % basis, scorers.get("high")))
        for segment, choices in entry.get("segments", {}).items():
            for choice, words in choices.items():
                group = labels.groups.get(segment, {}).get(choice, choice)
                name = f"{labels.dimensions.get(segment, segment)}: {group}"
                groups.append((f"{segment}-{choice}", name, words))
        for key, name, words in groups:
            if words:
                title = f"{item} – {name}"
                charts.append(
                    _chart(
                        f"keywords-{column}-{key}",
                        figures.keyword_bars([tuple(w) for w in words], title, _),
                    )
                )
    return charts


def template_values(_) -> dict[str, Any]:
    """What every report template uses besides the report (pages and offline file)."""
    return {
        "report_pages": PAGES,
        "without_analysis": WITHOUT_ANALYSIS,
        "quadrant_names": {
            "concentrate here": _("Concentrate here"),
            "keep up the good work": _("Keep up the good work"),
            "low priority": _("Low priority"),
            "possible overkill": _("Possible overkill"),
        },
    }
