"""The plain-language summary of a report: a few sentences, each with the number and the
uncertainty behind it, and nothing the data do not support.

Rules (the README's Reports section repeats them):

* a dimension "falls short" only when its gap's 95% interval lies wholly below zero;
* a dimension is a "driver" only when its regression coefficient's 95% interval (HC3) lies
  wholly above zero; drivers are ordered by relative weight, and when the two leading
  weights' bootstrap intervals overlap the sentence says the order is uncertain;
* a segment "differs" only when a pair of its groups differs with a Holm-corrected
  p < .05; the pair with the largest difference is named, with Hedges' g;
* a wave-to-wave change is a rise or fall only when its interval excludes zero.

Each sentence keeps the numbers it states in ``facts`` so that tests can compare them
with the report's JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Translate = Callable[..., str]


def _keep(text: str, **values: Any) -> str:
    return text % values if values else text


@dataclass(frozen=True)
class Sentence:
    kind: str
    text: str
    facts: dict[str, Any] = field(default_factory=dict)


def _f(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def _p(value: float) -> str:
    return "< .001" if value < 0.001 else f"{value:.3f}".lstrip("0")


def coefficient_ci(reg: Mapping[str, Any], name: str, level: float = 0.95) -> tuple[float, float]:
    """The t interval of a regression coefficient from its HC3 standard error (the
    report's own when it has it at ``level``: SciPy's import took 2.2 s of a fresh
    process's first page)."""
    given = reg.get("ci_hc3", {}).get(name)
    if given is not None and level == reg.get("ci_level"):
        return given[0], given[1]
    k = len(reg["std_beta"])
    from scipy import stats  # loaded with the report, not with the app

    t = stats.t.ppf(0.5 + level / 2, reg["n"] - k - 1)
    b, se = reg["coef"][name], reg["se_hc3"][name]
    return b - t * se, b + t * se


def summarise(
    report: Mapping[str, Any],
    names: Mapping[str, str],
    group_names: Mapping[str, Mapping[str, str]],
    wave_segment: str | None,
    _: Translate = _keep,
) -> list[Sentence]:
    """The sentences of the overview's summary (``_`` translates and fills them)."""
    n = report.get("n", report.get("n_responses", 0))
    if "note" in report:
        return [Sentence("note", _("No summary: %(why)s.", why=report["note"]), {"n": n})]
    out = [Sentence("n", _("This report covers %(n)s complete responses.", n=n), {"n": n})]
    out += _satisfaction(report, _)
    out += _nps(report, _)
    out += _gaps(report, names, _)
    out += _drivers(report, names, _)
    out += _segments(report, names, group_names, wave_segment, _)
    return out


def _satisfaction(report, _) -> list[Sentence]:
    o = report.get("outcomes", {}).get("satisfaction")
    if not o or "mean" not in o:
        return []
    facts = {"mean": o["mean"], "ci": o["ci"], "n": o["n"]}
    text = _(
        "Overall satisfaction averages %(mean)s on a scale of %(low_end)s to %(high_end)s "
        "(95%% CI %(low)s to %(high)s).",
        mean=_f(o["mean"]),
        low_end=o["scale"][0],
        high_end=o["scale"][1],
        low=_f(o["ci"][0]),
        high=_f(o["ci"][1]),
    )
    return [Sentence("satisfaction", text, facts)]


def _nps(report, _) -> list[Sentence]:
    out = []
    for item, v in report.get("nps", {}).items():
        if "nps" not in v:
            continue
        text = _(
            "The Net Promoter Score is %(nps)s (95%% CI %(low)s to %(high)s; %(n)s answers).",
            nps=_f(v["nps"], 0),
            low=_f(v["ci"][0], 0),
            high=_f(v["ci"][1], 0),
            n=v["n"],
        )
        out.append(Sentence("nps", text, {"item": item, "nps": v["nps"], "ci": v["ci"]}))
    return out


def _gaps(report, names, _) -> list[Sentence]:
    gaps = report.get("gaps", {})
    if "note" in gaps or not gaps:
        return []
    measured = {d: g for d, g in gaps.items() if "gap" in g}
    short = sorted(
        (d for d, g in measured.items() if g["gap_ci"][1] < 0), key=lambda d: measured[d]["gap"]
    )
    if not short:
        return [
            Sentence(
                "no_gap",
                _(
                    "No dimension falls clearly short of expectations: every gap's "
                    "%(level)s%% interval includes zero or lies above it.",
                    level=95,
                ),
                {},
            )
        ]
    out = []
    for d in short[:2]:
        g = measured[d]
        text = _(
            "Service falls short of expectations on %(dimension)s: perception is %(gap)s "
            "points below expectation (95%% CI %(low)s to %(high)s).",
            dimension=names.get(d, d),
            gap=_f(-g["gap"]),
            low=_f(-g["gap_ci"][1]),
            high=_f(-g["gap_ci"][0]),
        )
        out.append(Sentence("gap", text, {"dimension": d, "gap": g["gap"], "ci": g["gap_ci"]}))
    return out


def _drivers(report, names, _) -> list[Sentence]:
    reg = report.get("regression", {})
    if "coef" not in reg:
        return []
    clear = [d for d in reg["std_beta"] if coefficient_ci(reg, d)[0] > 0]
    if not clear:
        return [
            Sentence(
                "no_driver",
                _(
                    "No dimension has a clear effect on satisfaction: every coefficient's "
                    "%(level)s%% interval includes zero.",
                    level=95,
                ),
                {},
            )
        ]
    ranked = sorted(clear, key=lambda d: reg["relative_weights"][d], reverse=True)
    boot = reg.get("bootstrap", {}).get("relative_weights", {})
    out = []
    for d in ranked[:2]:
        low, high = coefficient_ci(reg, d)
        facts = {
            "dimension": d,
            "weight_pct": reg["relative_weights_pct"][d],
            "coef": reg["coef"][d],
            "coef_ci": [low, high],
        }
        if d in boot:
            facts["weight_ci"] = boot[d]
            text = _(
                "%(dimension)s drives satisfaction: it accounts for %(pct)s%% of the explained "
                "variance (relative weight %(weight)s, 95%% CI %(low)s to %(high)s).",
                dimension=names.get(d, d),
                pct=_f(reg["relative_weights_pct"][d], 0),
                weight=_f(reg["relative_weights"][d], 3),
                low=_f(boot[d][0], 3),
                high=_f(boot[d][1], 3),
            )
        else:
            text = _(
                "%(dimension)s drives satisfaction: it accounts for %(pct)s%% of the explained "
                "variance (one point more predicts %(coef)s more satisfaction, 95%% CI %(low)s "
                "to %(high)s).",
                dimension=names.get(d, d),
                pct=_f(reg["relative_weights_pct"][d], 0),
                coef=_f(reg["coef"][d]),
                low=_f(low),
                high=_f(high),
            )
        out.append(Sentence("driver", text, facts))
    overlap = len(ranked) >= 2 and ranked[0] in boot and ranked[1] in boot
    if overlap and boot[ranked[0]][0] <= boot[ranked[1]][1]:
        text = _(
            "Which of %(first)s and %(second)s matters more is not certain: "
            "their intervals overlap.",
            first=names.get(ranked[0], ranked[0]),
            second=names.get(ranked[1], ranked[1]),
        )
        out.append(Sentence("driver_order", text, {"first": ranked[0], "second": ranked[1]}))
    return out


def _segments(report, names, group_names, wave_segment, _) -> list[Sentence]:
    segments = report.get("segments", {})
    if not segments or "note" in segments:
        return []
    out = []
    differing = False
    for segment, tests in segments.items():
        comparison = tests.get("satisfaction", {})
        if segment == wave_segment:
            out += _wave(segment, tests, names, group_names, _)
            continue
        rows = [r for r in comparison.get("pairwise", []) if r["p_holm"] < 0.05]
        if not rows:
            continue
        differing = True
        means = comparison["means"]
        row = max(rows, key=lambda r: abs(means[r["a"]] - means[r["b"]]))
        a, b = (row["a"], row["b"]) if means[row["a"]] >= means[row["b"]] else (row["b"], row["a"])
        labels = group_names.get(segment, {})
        text = _(
            "Satisfaction differs by %(segment)s: %(a)s %(mean_a)s against %(b)s %(mean_b)s "
            "(Hedges' g %(g)s, Holm-corrected p %(p)s).",
            segment=names.get(segment, segment),
            a=labels.get(a, a),
            b=labels.get(b, b),
            mean_a=_f(means[a]),
            mean_b=_f(means[b]),
            g=_f(abs(row["hedges"])),
            p=_p(row["p_holm"]),
        )
        out.append(
            Sentence(
                "segment",
                text,
                {
                    "segment": segment,
                    "a": a,
                    "b": b,
                    "p_holm": row["p_holm"],
                    "hedges": row["hedges"],
                },
            )
        )
    if not differing and any(s != wave_segment for s in segments):
        out.append(
            Sentence(
                "no_segment",
                _("No segment differs clearly in satisfaction (no Holm-corrected p below .05)."),
                {},
            )
        )
    return out


def _wave(segment, tests, names, group_names, _) -> list[Sentence]:
    steps = [s for s in tests.get("change", {}).get("satisfaction", []) if "change" in s]
    if not steps:
        return []
    s = steps[-1]
    labels = group_names.get(segment, {})
    values = {
        "before": labels.get(s["from"], s["from"]),
        "after": labels.get(s["to"], s["to"]),
        "change": _f(abs(s["change"])),
        "low": _f(s["ci"][0]),
        "high": _f(s["ci"][1]),
    }
    if s["ci"][0] > 0:
        text = _(
            "Satisfaction rose by %(change)s from %(before)s to %(after)s (95%% CI of the "
            "change %(low)s to %(high)s).",
            **values,
        )
    elif s["ci"][1] < 0:
        text = _(
            "Satisfaction fell by %(change)s from %(before)s to %(after)s (95%% CI of the "
            "change %(low)s to %(high)s).",
            **values,
        )
    else:
        text = _(
            "Satisfaction did not change clearly from %(before)s to %(after)s (95%% CI of "
            "the change %(low)s to %(high)s includes zero).",
            **values,
        )
    return [
        Sentence(
            "wave", text, {"from": s["from"], "to": s["to"], "change": s["change"], "ci": s["ci"]}
        )
    ]
