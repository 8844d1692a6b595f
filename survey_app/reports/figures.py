"""Every chart of the report pages: pure functions from a section of the report's JSON to a
``plotly.graph_objects.Figure``.

Nothing here reads the database or the request. Names (dimension titles, segment choices,
keywords) come in as arguments and are escaped here, since Plotly renders a subset of
HTML in labels and hovers; interface texts go through the ``_`` argument (the caller
passes ``flask_babel.gettext``; the default keeps English).

Colours are the Okabe-Ito palette, safe for the common colour-vision deficiencies, and
no chart relies on colour alone: series also differ by marker symbol, line dash or
bar pattern, and values are written on the chart.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

# Okabe & Ito (2008), "Color Universal Design"
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
GREY = "#999999"
PALETTE = (BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, YELLOW, BLACK)
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")
FONT = 'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Noto Sans CJK SC", sans-serif'
QUADRANTS = ("concentrate here", "keep up the good work", "low priority", "possible overkill")
QUADRANT_STYLE = {
    "concentrate here": (VERMILLION, "triangle-down"),
    "keep up the good work": (GREEN, "circle"),
    "low priority": (SKY, "square"),
    "possible overkill": (ORANGE, "diamond"),
}

Translate = Callable[[str], str]


def _keep(text: str) -> str:
    return text


def esc(text: Any) -> str:
    """A name as Plotly shows it literally (its labels understand some HTML)."""
    return html.escape(str(text), quote=False)


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _t(kind: str, **trace: Any) -> dict[str, Any]:
    return {"type": kind, **trace}


def _merge(target: dict, update: Mapping[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = dict(value) if isinstance(value, Mapping) else value


class _Fig:
    """Collects traces and layout as plain dicts and makes the ``go.Figure`` once, without
    plotly's per-attribute validation (it cost 0.1 s per chart; the figures here are
    checked by the tests instead)."""

    def __init__(self, traces: dict | list[dict]) -> None:
        self.traces = [traces] if isinstance(traces, dict) else list(traces)
        self.layout: dict[str, Any] = {"xaxis": {}, "yaxis": {}, "shapes": [], "annotations": []}

    def update_layout(self, **values: Any) -> None:
        _merge(self.layout, values)

    def update_xaxes(self, **values: Any) -> None:
        _merge(self.layout["xaxis"], values)

    def update_yaxes(self, **values: Any) -> None:
        _merge(self.layout["yaxis"], values)

    def add_vline(self, x: float, line: dict) -> None:
        self.layout["shapes"].append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": x,
                "x1": x,
                "y0": 0,
                "y1": 1,
                "line": line,
            }
        )

    def add_hline(self, y: float, line: dict) -> None:
        self.layout["shapes"].append(
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": y,
                "y1": y,
                "line": line,
            }
        )

    def add_annotation(self, **values: Any) -> None:
        self.layout["annotations"].append(values)

    def build(self) -> go.Figure:
        return go.Figure(data=self.traces, layout=self.layout, _validate=False)


def wrap(text: str, width: int = 44) -> str:
    """An escaped title broken into lines of about ``width`` characters (Plotly does not
    wrap titles; on a phone a long one would be cut off)."""
    words, lines, line = esc(text).split(" "), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


def _layout(fig: _Fig, title: str, x_title: str, y_title: str, height: int = 380) -> None:
    lines = wrap(title).count("<br>")
    fig.update_layout(
        title={"text": wrap(title), "x": 0, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 13, "color": "#1d2733"},
        height=height,
        margin={"l": 10, "r": 10, "t": 48 + 20 * lines, "b": 10},
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        # below the plot and its axis title (paper coordinates put it over the title of a
        # short chart: the NPS bar)
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
        hoverlabel={"font": {"family": FONT}},
        separators=".,",
    )
    axis = {"automargin": True, "gridcolor": "#e3e8ee", "zerolinecolor": "#9aa5b1"}
    fig.update_xaxes(title={"text": wrap(x_title, 60)}, **axis)
    fig.update_yaxes(title={"text": wrap(y_title, 40)}, **axis)


def _interval(ci: Sequence[float | None] | None, value: float) -> tuple[float, float]:
    """Distances from ``value`` to the ends of ``ci`` (for error bars; 0 when unknown)."""
    if not ci or ci[0] is None or ci[1] is None:
        return 0.0, 0.0
    return max(value - ci[0], 0.0), max(ci[1] - value, 0.0)


def _errors(values: list[float], cis: list) -> tuple[list[float], list[float]]:
    pairs = [_interval(ci, v) for v, ci in zip(values, cis, strict=True)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _ci_text(ci: Sequence[float | None] | None, digits: int = 2) -> str:
    if not ci or ci[0] is None:
        return ""
    return f"[{_num(ci[0], digits)}, {_num(ci[1], digits)}]"


def _height(rows: int) -> int:
    return max(300, 140 + 44 * rows)


# -- overview ------------------------------------------------------------------------------
def responses_over_time(by_day: list[list], _: Translate = _keep) -> go.Figure:
    """Completed responses per day (UTC)."""
    fig = _Fig(
        _t(
            "bar",
            x=[d for d, _n in by_day],
            y=[n for _d, n in by_day],
            marker={"color": BLUE},
            name=_("Responses"),
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    _layout(fig, _("Responses over time"), _("Completion date (UTC)"), _("Responses per day"))
    fig.update_xaxes(type="date")
    return fig.build()


def nps_bar(item: Mapping[str, Any], _: Translate = _keep) -> go.Figure:
    """Detractors, passives and promoters as one stacked bar, NPS and its interval in the
    title; the three parts also differ by pattern and carry their percentages."""
    parts = [
        (_("Detractors (0-6)"), item["detractors"], VERMILLION, "x"),
        (_("Passives (7-8)"), item["passives"], GREY, ""),
        (_("Promoters (9-10)"), item["promoters"], GREEN, "/"),
    ]
    fig = _Fig(
        [
            _t(
                "bar",
                y=[_("Share of respondents")],
                x=[100 * share],
                orientation="h",
                name=name,
                marker={"color": colour, "pattern": {"shape": pattern}},
                text=[f"{100 * share:.0f}%"],
                textposition="inside",
                hovertemplate=f"{esc(name)}: %{{x:.1f}}%<extra></extra>",
            )
            for name, share, colour, pattern in parts
        ]
    )
    title = _("Net Promoter Score: %s, 95%% CI %s (n = %s)") % (
        _num(item["nps"], 0),
        _ci_text(item["ci"], 0),
        item["n"],
    )
    _layout(fig, title, _("Share of respondents (%)"), "", height=220)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(range=[0, 100])
    return fig.build()


def score_thirds(outcome: Mapping[str, Any], name: str, _: Translate = _keep) -> go.Figure:
    """How respondents spread over the low, middle and high third of the scale."""
    low, mid, high = outcome["thirds"]
    lo, hi = outcome["scale"]
    third = (hi - lo) / 3
    labels = [
        _("Low (%s or less)") % _num(lo + third, 1),
        _("Middle"),
        _("High (%s or more)") % _num(hi - third, 1),
    ]
    fig = _Fig(
        _t(
            "bar",
            x=labels,
            y=[100 * low, 100 * mid, 100 * high],
            marker={"color": [VERMILLION, GREY, GREEN], "pattern": {"shape": ["x", "", "/"]}},
            text=[f"{100 * v:.0f}%" for v in (low, mid, high)],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
            name=esc(name),
        )
    )
    title = _("%s: mean %s, 95%% CI %s, on %s-%s (n = %s)") % (
        name,
        _num(outcome["mean"]),
        _ci_text(outcome["ci"]),
        lo,
        hi,
        outcome["n"],
    )
    _layout(fig, title, _("Part of the scale"), _("Share of respondents (%)"), height=320)
    fig.update_yaxes(range=[0, 105])
    return fig.build()


# -- service quality -----------------------------------------------------------------------
def expectation_perception(
    gaps: Mapping[str, Any], names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """Mean expectation and perception per dimension with their 95% intervals."""
    dims = [d for d, g in gaps.items() if "gap" in g]
    labels = [esc(names.get(d, d)) for d in dims]
    traces = []
    for key, name, colour, symbol in (
        ("expectation", _("Expectation"), ORANGE, "square"),
        ("perception", _("Perception"), BLUE, "circle"),
    ):
        values = [gaps[d][key] for d in dims]
        minus, plus = _errors(values, [gaps[d][f"{key}_ci"] for d in dims])
        traces.append(
            _t(
                "scatter",
                x=values,
                y=labels,
                mode="markers",
                name=name,
                marker={"color": colour, "symbol": symbol, "size": 12},
                error_x={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
                hovertemplate=f"%{{y}} {esc(name)}: %{{x:.2f}}<extra></extra>",
            )
        )
    fig = _Fig(traces)
    _layout(
        fig,
        _("Expectation and perception by dimension (mean, 95% CI)"),
        _("Mean score"),
        "",
        _height(len(dims)),
    )
    fig.update_yaxes(autorange="reversed")
    return fig.build()


def gap_bars(gaps: Mapping[str, Any], names: Mapping[str, str], _: Translate = _keep) -> go.Figure:
    """The SERVQUAL gap (perception minus expectation) per dimension with its interval;
    a gap whose interval lies below zero is a shortfall (vermillion, hatched), above zero
    exceeds expectations (green), across zero is not clearly either (grey, dotted)."""
    dims = [d for d, g in gaps.items() if "gap" in g]
    values = [gaps[d]["gap"] for d in dims]
    cis = [gaps[d]["gap_ci"] for d in dims]
    colours, patterns, verdicts = [], [], []
    for ci in cis:
        if ci[1] < 0:
            colours.append(VERMILLION), patterns.append("/"), verdicts.append(_("below"))
        elif ci[0] > 0:
            colours.append(GREEN), patterns.append(""), verdicts.append(_("above"))
        else:
            colours.append(GREY), patterns.append("."), verdicts.append(_("unclear"))
    minus, plus = _errors(values, cis)
    fig = _Fig(
        _t(
            "bar",
            x=values,
            y=[
                f"{esc(names.get(d, d))}<br>{_num(v)} {_ci_text(ci)}"
                for d, v, ci in zip(dims, values, cis, strict=True)
            ],
            orientation="h",
            marker={"color": colours, "pattern": {"shape": patterns}},
            error_x={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
            customdata=verdicts,
            hovertemplate="%{y}: %{x:.2f} (%{customdata})<extra></extra>",
            name=_("Gap"),
        )
    )
    _layout(
        fig,
        _("Gap: perception minus expectation (95% CI)"),
        _("Gap in scale points (negative: below expectations)"),
        "",
        _height(len(dims)),
    )
    fig.update_yaxes(autorange="reversed")
    return fig.build()


def profile(
    means: Mapping[str, Mapping[str, float]],
    names: Mapping[str, str],
    _: Translate = _keep,
    series_names: Mapping[str, str] | None = None,
) -> go.Figure:
    """The profile of the dimensions: one line per measure (expectation, perception...)
    across the dimensions, each with its own dash and marker."""
    series_names = series_names or {}
    dims = list(means)
    measures = list(dict.fromkeys(m for d in dims for m in means[d]))
    # the same colour and marker per measure as in the other charts
    known = {"expectation": (ORANGE, "square", "dash"), "perception": (BLUE, "circle", "solid")}
    traces = []
    for i, measure in enumerate(measures):
        colour, symbol, dash = known.get(
            measure,
            (PALETTE[i % len(PALETTE)], SYMBOLS[i % len(SYMBOLS)], ("dot", "dashdot")[i % 2]),
        )
        traces.append(
            _t(
                "scatter",
                x=[esc(names.get(d, d)) for d in dims],
                y=[means[d].get(measure) for d in dims],
                mode="lines+markers",
                name=esc(series_names.get(measure, measure)),
                line={"color": colour, "dash": dash},
                marker={"symbol": symbol, "size": 10, "color": colour},
                hovertemplate="%{x}: %{y:.2f}<extra></extra>",
            )
        )
    fig = _Fig(traces)
    _layout(fig, _("Profile of the dimensions"), _("Dimension"), _("Mean score"))
    return fig.build()


def zone_chart(
    zone: Mapping[str, Any], names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """The zone of tolerance per dimension: a band from adequate to desired service and
    the perceived service as a marker (its position also written as text)."""
    dims = [d for d, z in zone.items() if isinstance(z, dict) and "adequate" in z]
    labels = [esc(names.get(d, d)) for d in dims]
    positions = {"below": _("below the zone"), "within": _("within"), "above": _("above")}
    fig = _Fig(
        [
            _t(
                "bar",
                y=labels,
                x=[zone[d]["desired"] - zone[d]["adequate"] for d in dims],
                base=[zone[d]["adequate"] for d in dims],
                orientation="h",
                marker={"color": SKY, "opacity": 0.55, "pattern": {"shape": "."}},
                name=_("Zone of tolerance (adequate to desired)"),
                hovertemplate="%{y}: %{base:.2f} – %{x:.2f}<extra></extra>",
            ),
            _t(
                "scatter",
                y=labels,
                x=[zone[d]["perception"] for d in dims],
                mode="markers+text",
                marker={"symbol": "diamond", "size": 14, "color": BLACK},
                text=[positions.get(zone[d]["position"], zone[d]["position"]) for d in dims],
                textposition="top center",
                name=_("Perceived service"),
                hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            ),
        ]
    )
    _layout(fig, _("Zone of tolerance"), _("Mean score"), "", _height(len(dims)))
    fig.update_yaxes(autorange="reversed")
    return fig.build()


# -- what to fix first ---------------------------------------------------------------------
def ipa_matrix(
    ipa: Mapping[str, Any],
    names: Mapping[str, str],
    unreliable: Mapping[str, str],
    _: Translate = _keep,
    performance_title: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """The importance-performance matrix with 95% bootstrap intervals on both axes.

    Each dimension is a marker whose symbol and colour name its quadrant; dimensions in
    ``unreliable`` (dimension -> reason) are grey, open and labelled with the reason.
    The dividing lines are the means of each axis, as in the analysis.
    """
    dims = [d for d, v in ipa.items() if isinstance(v, dict) and "quadrant" in v]
    quadrant_names = {
        "concentrate here": _("Concentrate here"),
        "keep up the good work": _("Keep up the good work"),
        "low priority": _("Low priority"),
        "possible overkill": _("Possible overkill"),
    }
    traces = []
    for quadrant in QUADRANTS:
        for grey in (False, True):
            chosen = [
                d for d in dims if ipa[d]["quadrant"] == quadrant and (d in unreliable) == grey
            ]
            if not chosen:
                continue
            colour, symbol = QUADRANT_STYLE[quadrant]
            x = [ipa[d]["importance"] for d in chosen]
            y = [ipa[d]["performance"] for d in chosen]
            x_minus, x_plus = _errors(x, [ipa[d].get("importance_ci") for d in chosen])
            y_minus, y_plus = _errors(y, [ipa[d].get("performance_ci") for d in chosen])
            labels = [
                esc(names.get(d, d)) + (f" ({esc(unreliable[d])})" if grey else "") for d in chosen
            ]
            shares = [ipa[d].get("quadrant_share") for d in chosen]
            traces.append(
                _t(
                    "scatter",
                    x=x,
                    y=y,
                    mode="markers+text",
                    text=labels,
                    textposition="top center",
                    name=quadrant_names[quadrant] + (" – " + _("unreliable") if grey else ""),
                    marker={
                        "color": GREY if grey else colour,
                        "symbol": symbol + ("-open" if grey else ""),
                        "size": 14,
                        "line": {"width": 2, "color": GREY if grey else colour},
                    },
                    error_x={
                        "type": "data",
                        "array": x_plus,
                        "arrayminus": x_minus,
                        "symmetric": False,
                        "color": GREY if grey else colour,
                    },
                    error_y={
                        "type": "data",
                        "array": y_plus,
                        "arrayminus": y_minus,
                        "symmetric": False,
                        "color": GREY if grey else colour,
                    },
                    customdata=["–" if s is None else f"{100 * s:.0f}%" for s in shares],
                    hovertemplate=(
                        "%{text}<br>"
                        + esc(_("importance"))
                        + " %{x:.3f}, "
                        + esc(_("performance"))
                        + " %{y:.2f}<br>"
                        + esc(_("same quadrant in resamples"))
                        + ": %{customdata}<extra></extra>"
                    ),
                )
            )
    fig = _Fig(traces)
    if dims:
        imp_mean = sum(ipa[d]["importance"] for d in dims) / len(dims)
        perf_mean = sum(ipa[d]["performance"] for d in dims) / len(dims)
        line = {"color": "#5a6675", "dash": "dash", "width": 1}
        fig.add_vline(x=imp_mean, line=line)
        fig.add_hline(y=perf_mean, line=line)
    _layout(
        fig,
        title or _("Importance and performance (95% bootstrap intervals on both axes)"),
        _("Importance: relative weight in satisfaction (share of variance explained)"),
        performance_title or _("Performance: mean perception"),
        height=480,
    )
    return fig.build()


def drivers_chart(
    regression: Mapping[str, Any], names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """The drivers of satisfaction ranked by relative weight, with bootstrap intervals
    where computed; each bar says its share of the explained variance."""
    weights = regression["relative_weights"]
    pct = regression["relative_weights_pct"]
    boot = regression.get("bootstrap", {}).get("relative_weights", {})
    dims = sorted(weights, key=lambda d: weights[d], reverse=True)
    values = [weights[d] for d in dims]
    minus, plus = _errors(values, [boot.get(d) for d in dims])
    fig = _Fig(
        _t(
            "bar",
            x=values,
            y=[
                f"{esc(names.get(d, d))}<br>{pct[d]:.0f}% {_ci_text(boot.get(d), 3)}".rstrip()
                for d in dims
            ],
            orientation="h",
            marker={"color": BLUE},
            error_x={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
            name=_("Relative weight"),
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    _layout(
        fig,
        _("Drivers of satisfaction, ranked (R² = %s)") % _num(regression["r2"]),
        _("Relative weight (share of variance in satisfaction explained)"),
        "",
        _height(len(dims)),
    )
    fig.update_yaxes(autorange="reversed")
    return fig.build()


# -- satisfaction and loyalty --------------------------------------------------------------
def loyalty_curve(loyalty: Mapping[str, Any], _: Translate = _keep) -> go.Figure:
    """Mean loyalty at each satisfaction score (with 95% intervals) and the linear and
    quadratic fits, so that a non-linear link shows."""
    bins = loyalty["bins"]
    x = [b["satisfaction"] for b in bins]
    y = [b["mean"] for b in bins]
    minus, plus = _errors(y, [b["ci"] for b in bins])
    low, high = (min(x), max(x)) if x else (0.0, 1.0)
    grid = [low + (high - low) * i / 40 for i in range(41)]
    b0, b1 = loyalty["linear_fit"]
    c0, c1, c2 = loyalty["quadratic_fit"]
    fig = _Fig(
        [
            _t(
                "scatter",
                x=x,
                y=y,
                mode="markers",
                name=_("Mean loyalty at this satisfaction (95% CI)"),
                marker={"color": BLUE, "symbol": "circle", "size": 9},
                error_y={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
                customdata=[b["n"] for b in bins],
                hovertemplate="%{x:.2f}: %{y:.2f} (n = %{customdata})<extra></extra>",
            ),
            _t(
                "scatter",
                x=grid,
                y=[b0 + b1 * g for g in grid],
                mode="lines",
                name=_("Linear fit (R² = %s)") % _num(loyalty["linear_r2"], 3),
                line={"color": ORANGE, "dash": "dash", "width": 2},
            ),
            _t(
                "scatter",
                x=grid,
                y=[c0 + c1 * g + c2 * g * g for g in grid],
                mode="lines",
                name=_("Quadratic fit (R² = %s)") % _num(loyalty["quadratic_r2"], 3),
                line={"color": GREEN, "dash": "solid", "width": 2},
            ),
        ]
    )
    _layout(
        fig,
        _("Loyalty by satisfaction"),
        _("Satisfaction score"),
        _("Mean loyalty score"),
        height=420,
    )
    return fig.build()


# -- segments and waves --------------------------------------------------------------------
def segment_means(
    comparison: Mapping[str, Any],
    group_names: Mapping[str, str],
    title: str,
    _: Translate = _keep,
) -> go.Figure:
    """The mean score of each group of a segment with its 95% interval and n."""
    groups = list(comparison["means"])
    values = [comparison["means"][g] for g in groups]
    minus, plus = _errors(values, [comparison.get("ci", {}).get(g) for g in groups])
    counts = comparison.get("counts", {})
    fig = _Fig(
        _t(
            "scatter",
            x=values,
            # n in the axis label: written over the top marker it was cut off
            y=[f"{esc(group_names.get(g, g))}<br>n = {counts.get(g, '?')}" for g in groups],
            mode="markers",
            marker={"color": BLUE, "symbol": "circle", "size": 12},
            error_x={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
            name=_("Mean (95% CI)"),
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    _layout(fig, title, _("Mean score"), "", _height(len(groups)))
    fig.update_yaxes(autorange="reversed")
    return fig.build()


def wave_trend(
    comparison: Mapping[str, Any],
    changes: list[Mapping[str, Any]],
    wave_names: Mapping[str, str],
    title: str,
    _: Translate = _keep,
) -> go.Figure:
    """The mean score of each wave (95% interval) joined by a line; each step is labelled
    with its change and the change's interval."""
    waves = list(comparison["means"])
    values = [comparison["means"][w] for w in waves]
    minus, plus = _errors(values, [comparison.get("ci", {}).get(w) for w in waves])
    labels = [esc(wave_names.get(w, w)) for w in waves]
    fig = _Fig(
        _t(
            "scatter",
            x=labels,
            y=values,
            mode="lines+markers",
            marker={"color": BLUE, "symbol": "circle", "size": 11},
            line={"color": BLUE},
            error_y={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
            name=_("Mean (95% CI)"),
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        )
    )
    position = {w: i for i, w in enumerate(waves)}
    for step in changes:
        if "change" not in step or step["to"] not in position:
            continue
        i = position[step["to"]]
        fig.add_annotation(
            x=labels[i],
            y=values[i],
            text=f"{step['change']:+.2f} {_ci_text(step['ci'])}",
            showarrow=True,
            arrowhead=0,
            ay=-36,
            font={"size": 12},
        )
    _layout(fig, title, _("Wave"), _("Mean score"))
    return fig.build()


# -- methods -------------------------------------------------------------------------------
def scree(efa: Mapping[str, Any], _: Translate = _keep) -> go.Figure:
    """Eigenvalues of the reduced correlation matrix against the 95th percentile of
    random data's (parallel analysis): factors above the dashed line are kept."""
    observed = efa["eigenvalues"]
    threshold = efa["parallel_threshold"]
    numbers = list(range(1, len(observed) + 1))
    fig = _Fig(
        [
            _t(
                "scatter",
                x=numbers,
                y=observed,
                mode="lines+markers",
                name=_("Observed"),
                line={"color": BLUE},
                marker={"symbol": "circle", "size": 8},
            ),
            _t(
                "scatter",
                x=numbers,
                y=threshold,
                mode="lines+markers",
                name=_("Random data, 95th percentile (parallel analysis)"),
                line={"color": ORANGE, "dash": "dash"},
                marker={"symbol": "x", "size": 8},
            ),
        ]
    )
    _layout(
        fig,
        _("Scree plot: parallel analysis suggests %s factor(s)") % efa["parallel_suggests"],
        _("Factor number"),
        _("Eigenvalue (reduced correlation matrix)"),
    )
    return fig.build()


def loadings_heatmap(
    efa: Mapping[str, Any], item_labels: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """Factor loadings, items by factors, on a diverging blue-white-orange scale with the
    value written in every cell."""
    items = list(efa["loadings"])
    k = efa["n_factors"]
    z = [efa["loadings"][i] for i in items]
    fig = _Fig(
        _t(
            "heatmap",
            z=z,
            x=[_("F%s") % (j + 1) for j in range(k)],
            y=[esc(item_labels.get(i, i)) for i in items],
            zmin=-1,
            zmax=1,
            zmid=0,
            colorscale=[[0, BLUE], [0.5, "#ffffff"], [1, ORANGE]],
            text=[[f"{v:.2f}" for v in row] for row in z],
            texttemplate="%{text}",
            colorbar={"title": {"text": esc(_("Loading"))}},
            hovertemplate="%{y} %{x}: %{z:.2f}<extra></extra>",
        )
    )
    _layout(
        fig, _("Factor loadings"), _("Factor"), _("Item"), height=max(380, 60 + 22 * len(items))
    )
    fig.update_yaxes(autorange="reversed")
    return fig.build()


# -- open text -----------------------------------------------------------------------------
def keyword_bars(keywords: list[tuple[str, int]], title: str, _: Translate = _keep) -> go.Figure:
    """The most frequent keywords (respondents who used each), most frequent first."""
    words = [esc(w) for w, _n in keywords]
    counts = [n for _w, n in keywords]
    fig = _Fig(
        _t(
            "bar",
            x=counts,
            y=words,
            orientation="h",
            marker={"color": BLUE},
            text=counts,
            textposition="outside",
            name=_("Respondents"),
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    _layout(fig, title, _("Respondents who used the word"), "", _height(len(words)))
    fig.update_yaxes(autorange="reversed")
    return fig.build()


# -- customers and follow-ups ----------------------------------------------------------------
def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def tier_pyramid(
    rows: Sequence[Mapping[str, Any]], tier_names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """The customer pyramid: per tier (A on top) its share of the register's customers
    and its share of their revenue, side by side; the two bars also differ by pattern and
    carry their percentages and counts."""
    tiers = [r["tier"] for r in rows]
    labels = [esc(tier_names.get(t, t)) for t in tiers]
    total = sum(r["customers"] for r in rows)
    customer_shares = [r["customers"] / total if total else None for r in rows]
    revenue_shares = [r["revenue_share"] for r in rows]
    traces = [
        _t(
            "bar",
            y=labels,
            x=[None if s is None else 100 * s for s in customer_shares],
            orientation="h",
            name=_("Share of customers"),
            marker={"color": BLUE, "pattern": {"shape": ""}},
            text=[
                f"{_percent(s)} ({r['customers']})"
                for s, r in zip(customer_shares, rows, strict=True)
            ],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        ),
        _t(
            "bar",
            y=labels,
            x=[None if s is None else 100 * s for s in revenue_shares],
            orientation="h",
            name=_("Share of revenue"),
            marker={"color": ORANGE, "pattern": {"shape": "/"}},
            text=[_percent(s) for s in revenue_shares],
            textposition="auto",
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        ),
    ]
    fig = _Fig(traces)
    _layout(
        fig,
        _("Customer pyramid: share of customers and of revenue by tier (n = %s)") % total,
        _("Share of the register (%)"),
        "",
        _height(2 * len(rows)),
    )
    fig.update_layout(barmode="group")
    fig.update_xaxes(range=[0, 105])
    fig.update_yaxes(autorange="reversed")
    return fig.build()


def _rate_chart(
    entries: Sequence[tuple[str, Mapping[str, Any]]],
    count: str,
    of: str,
    rate: str,
    title: str,
    x_title: str,
    _: Translate,
) -> go.Figure:
    """A proportion per group as a marker with its 95% interval, "k of n" written beside."""
    shown = [(name, e) for name, e in entries if e[of]]
    values = [100 * e[rate] for _n, e in shown]
    minus, plus = _errors(
        values, [None if e["ci"] is None else [100 * c for c in e["ci"]] for _n, e in shown]
    )
    counts = [_("%(k)s of %(n)s") % {"k": e[count], "n": e[of]} for _n, e in shown]
    fig = _Fig(
        _t(
            "scatter",
            x=values,
            # the counts in the axis labels: written over the markers they were cut off
            y=[f"{esc(name)}<br>{c}" for (name, _e), c in zip(shown, counts, strict=True)],
            mode="markers",
            marker={"color": BLUE, "symbol": "circle", "size": 12},
            error_x={"type": "data", "array": plus, "arrayminus": minus, "symmetric": False},
            customdata=counts,
            name=_("Share (95% CI)"),
            hovertemplate="%{y}: %{x:.0f}%<extra></extra>",
        )
    )
    _layout(fig, title, x_title, "", _height(len(shown)))
    fig.update_xaxes(range=[-2, 102])
    fig.update_yaxes(autorange="reversed")
    return fig.build()


def _overall_and_tiers(
    follow_ups: Mapping[str, Any], part: str, tier_names: Mapping[str, str], _: Translate
) -> list[tuple[str, Mapping[str, Any]]]:
    entries = [(_("All customers"), follow_ups[part])]
    for tier, figures_ in follow_ups.get("by_tier", {}).items():
        entries.append((_("Tier %s") % tier_names.get(tier, tier), figures_[part]))
    return entries


def recovery_chart(
    follow_ups: Mapping[str, Any], tier_names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """The recovery rate (followed-up customers whose next response no longer met the
    follow-up condition, of those who answered again), overall and per tier, with 95%
    Wilson intervals; groups in which nobody answered again are left out."""
    return _rate_chart(
        _overall_and_tiers(follow_ups, "recovery", tier_names, _),
        "recovered",
        "with_next_response",
        "rate",
        _("Recovery: followed-up customers satisfied at their next response (95% CI)"),
        _("Recovered (%)"),
        _,
    )


def in_time_chart(
    follow_ups: Mapping[str, Any], tier_names: Mapping[str, str], _: Translate = _keep
) -> go.Figure:
    """The share of resolved follow-ups resolved by their due time, overall and per
    tier, with 95% Wilson intervals; groups without a resolved case are left out."""
    return _rate_chart(
        _overall_and_tiers(follow_ups, "resolved_in_time", tier_names, _),
        "in_time",
        "resolved",
        "share",
        _("Follow-ups resolved by their due time (95% CI)"),
        _("Resolved in time (%)"),
        _,
    )


# -- the data of a chart as a table (its text alternative) -----------------------------------
def plain(label: Any) -> str:
    """A Plotly label as plain text: line breaks as spaces, entities decoded (the page
    escapes it again)."""
    return html.unescape(str(label).replace("<br>", " ")).strip()


def _ends(trace: Mapping[str, Any], axis: str, i: int, value: float) -> tuple[float, float] | None:
    bars = trace.get(f"error_{axis}") or {}
    if bars.get("array") is None:
        return None
    plus = bars["array"][i]
    minus = bars["arrayminus"][i] if bars.get("arrayminus") is not None else plus
    if not plus and not minus:
        return None
    return value - minus, value + plus


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    """A number of a chart's table: whole numbers as such, others to 2 decimals (3 under 1)."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return _num(value, 3 if abs(value) < 1 else 2)


def figure_table(fig: go.Figure | Mapping[str, Any], _: Translate = _keep) -> dict[str, Any]:
    """The data a chart draws, as a table for readers who cannot see it (its text
    alternative): a row per point or bar (series, label, value with its 95% interval
    where one is drawn), a row per cell of a heatmap; a scatter of two numbers (the
    importance-performance matrix) gets both. Fitted lines are named, not listed point by
    point. Column headings are the axis titles.

    Takes the figure or its JSON as plain data (``json.loads(fig.to_json())``: reading a
    ``go.Figure``'s attributes costs far more than the page's other work)."""
    if isinstance(fig, go.Figure):
        fig = json.loads(fig.to_json())
    layout = fig.get("layout", {})

    def title_of(part: Mapping[str, Any] | None) -> str:
        return plain(((part or {}).get("title") or {}).get("text") or "")

    x_title, y_title = title_of(layout.get("xaxis")), title_of(layout.get("yaxis"))
    title = title_of(layout)
    data = fig.get("data", [])
    if any(t.get("type") == "heatmap" for t in data):
        (trace,) = data
        rows = [
            [plain(row), plain(column), _cell(trace["z"][r][c])]
            for r, row in enumerate(trace["y"])
            for c, column in enumerate(trace["x"])
        ]
        return {
            "title": title,
            "columns": [y_title or _("Item"), x_title or _("Series"), _("Value")],
            "rows": rows,
            "lines": [],
        }
    rows, lines, pairs = [], [], False
    label_title, value_title = x_title, y_title
    for trace in data:
        name = plain(trace.get("name") or "")
        if trace.get("type") == "scatter" and "markers" not in (trace.get("mode") or ""):
            lines.append(name)
            continue
        xs, ys = list(trace.get("x", [])), list(trace.get("y", []))
        horizontal = trace.get("orientation") == "h" or (
            all(isinstance(v, str) for v in ys) and not all(isinstance(v, str) for v in xs)
        )
        labels, values, axis = (ys, xs, "x") if horizontal else (xs, ys, "y")
        if horizontal:
            label_title, value_title = y_title, x_title
        base, text = trace.get("base"), trace.get("text")
        two = all(_is_number(v) for v in labels) and isinstance(text, list)
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            if value is None:
                continue
            if base is not None:  # a band from base to base + value
                shown = f"{_num(base[i])} – {_num(base[i] + value)}"
            else:
                ends = _ends(trace, axis, i, value)
                shown = _cell(value) + (f" [{_cell(ends[0])}, {_cell(ends[1])}]" if ends else "")
            if two:  # the points are named by their text
                row = [name, plain(text[i]), shown]
            else:
                row = [name, _cell(label) if _is_number(label) else plain(label), shown]
            if two:  # the label axis is a value too, with its own interval
                pairs = True
                ends = _ends(trace, "y" if horizontal else "x", i, label)
                row.append(
                    _cell(label) + (f" [{_cell(ends[0])}, {_cell(ends[1])}]" if ends else "")
                )
            rows.append(row)
    columns = [_("Series"), label_title or _("Name"), value_title or _("Value")]
    if pairs:
        columns = [_("Series"), _("Name"), value_title or _("Value"), label_title or _("Value")]
        rows = [r + [""] * (4 - len(r)) for r in rows]
    return {"title": title, "columns": columns, "rows": rows, "lines": lines}
