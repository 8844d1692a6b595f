"""A readable plain-text summary of a report: every section of the JSON, in order.

Each top-level key of the report has a title in :data:`TITLES` and a renderer; a key
without one still prints (generically), so nothing the JSON holds is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from questionnaires import Questionnaire


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:.{digits}f}"


def _p(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}"


def _ci(pair: Any, digits: int = 2) -> str:
    if not pair or pair[0] is None:
        return "[-]"
    return f"[{_f(pair[0], digits)}, {_f(pair[1], digits)}]"


def _generic(value: Any, indent: str = "  ") -> list[str]:
    """Any JSON value, one key per line (for sections without a tailored layout)."""
    if isinstance(value, dict):
        lines = []
        for key, v in value.items():
            if isinstance(v, (dict, list)) and v and not _flat(v):
                lines.append(f"{indent}{key}:")
                lines += _generic(v, indent + "  ")
            else:
                lines.append(f"{indent}{key}: {_inline(v)}")
        return lines
    if isinstance(value, list):
        if _flat(value):
            return [f"{indent}{_inline(value)}"]
        lines = []
        for v in value:
            lines += _generic(v, indent + "  ") if isinstance(v, dict) else [f"{indent}{v}"]
        return lines
    return [f"{indent}{_inline(value)}"]


def _flat(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_f(v) if isinstance(v, float) else str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    return _f(value) if isinstance(value, float) else str(value)


def _quality(q: dict) -> list[str]:
    lines = [
        f"  {q['n_flagged']} of {q['n_checked']} responses flagged; "
        + (
            "left out of every analysis"
            if q["excluded"]
            else "kept (--exclude-flagged leaves them out)"
        )
    ]
    for check in ("speeding", "straight_lining", "duplicates"):
        c = q[check]
        head = f"  {check.replace('_', '-'):16s} {c['n']:5d}"
        if c.get("note"):
            head += f"  ({c['note']})"
        lines.append(head)
        if c["ids"]:
            shown = ", ".join(map(str, c["ids"][:20]))
            more = f" and {len(c['ids']) - 20} more" if len(c["ids"]) > 20 else ""
            lines.append(f"      ids: {shown}{more}")
    seconds = q["median_seconds"]
    lines.append(f"  median completion time: {'-' if seconds is None else f'{seconds:.0f} s'}")
    return lines


def _reliability(rel: dict) -> list[str]:
    lines = [f"  {'scale':28s} {'n':>6s} {'alpha':>6s} {'std':>6s} {'95% CI':>15s} {'omega':>6s}"]
    for name, r in rel.items():
        if "note" in r:
            lines.append(f"  {name:28s} {r['note']}")
            continue
        ci = f"{_f(r['alpha_ci'][0], 2)}-{_f(r['alpha_ci'][1], 2)}"
        lines.append(
            f"  {name:28s} {r['n']:6d} {_f(r['alpha'], 2):>6s} {_f(r['std_alpha'], 2):>6s} "
            f"{ci:>15s} {_f(r['omega_total'], 2):>6s}"
            + ("  improper" if r["omega_improper"] else "")
        )
        for item, s in r["items"].items():
            lines.append(
                f"      {item:24s} r.drop {_f(s['r_drop'], 2)}  alpha if deleted "
                f"{_f(s['alpha_if_deleted'], 2)}"
            )
        for key in ("omega_note", "items_note"):
            if r.get(key):
                lines.append(f"      note: {r[key]}")
    return lines


def _efa(efa: dict) -> list[str]:
    b = efa["bartlett"]
    k = efa["n_factors"]
    lines = [
        f"  n={efa['n']}  KMO={_f(efa['kmo'], 2)}  Bartlett chi2={_f(b['chi2'], 1)} "
        f"df={b['df']:.0f} p={_p(b['p'])}  parallel analysis suggests "
        f"{efa['parallel_suggests']}; {k} factors, {efa['extraction']}, {efa['rotation']}",
        f"  {'item':14s} {'KMO':>5s} "
        + " ".join(f"{'F' + str(j + 1):>6s}" for j in range(k))
        + f" {'h2':>6s}   score weights",
    ]
    for item, row in efa["loadings"].items():
        lines.append(
            f"  {item:14s} {_f(efa['kmo_items'][item], 2):>5s} "
            + " ".join(f"{_f(v, 2):>6s}" for v in row)
            + f" {_f(efa['communalities'][item], 2):>6s}   "
            + " ".join(_f(v, 3) for v in efa["score_weights"][item])
        )
    lines.append("  factor correlations:")
    lines += [
        f"    {' '.join(f'{_f(v, 2):>6s}' for v in row)}" for row in efa["factor_correlations"]
    ]
    if efa.get("eigenvalues"):
        lines.append(
            "  scree (reduced eigenvalues | parallel analysis 95th percentile): "
            + ", ".join(
                f"{_f(e, 2)}|{_f(t, 2)}"
                for e, t in zip(efa["eigenvalues"], efa["parallel_threshold"], strict=False)
            )
        )
    if "improper" in efa:
        lines.append(f"  improper: {', '.join(efa['improper'])}; {efa['improper_note']}")
    return lines


def _cfa(cfa: dict) -> list[str]:
    lines = [
        f"  {cfa['estimator']}, n={cfa['n']}  chi2={_f(cfa['chi2'], 1)} df={cfa['df']} "
        f"p={_p(cfa['p'])}  CFI={_f(cfa['cfi'])} TLI={_f(cfa['tli'])} RMSEA={_f(cfa['rmsea'])} "
        f"{_ci(cfa['rmsea_ci'], 3)} SRMR={_f(cfa['srmr'])}"
    ]
    if cfa.get("warning"):
        lines.append(f"  warning: {cfa['warning']}")
    loadings = list(cfa["std_loadings"].items())
    for start in range(0, len(loadings), 6):
        chunk = loadings[start : start + 6]
        lines.append(
            "  std. loadings " * (start == 0)
            + " " * 15 * (start > 0)
            + "  ".join(f"{c} {_f(v, 2)}" for c, v in chunk)
        )
    lines.append("  factor correlations:")
    lines += [
        f"    {' '.join(f'{_f(v, 2):>6s}' for v in row)}" for row in cfa["factor_correlations"]
    ]
    return lines


def _gaps(gaps: dict) -> list[str]:
    lines = []
    for dim, g in gaps.items():
        if "note" in g:
            lines.append(f"  {dim:20s} {g['note']}")
            continue
        lines.append(
            f"  {dim:20s} n={g['n']:<6d} E={_f(g['expectation'], 2)} "
            f"{_ci(g['expectation_ci'])} P={_f(g['perception'], 2)} {_ci(g['perception_ci'])} "
            f"gap={_f(g['gap'], 2)} {_ci(g['gap_ci'])}"
        )
        for column, i in g.get("items", {}).items():
            lines.append(
                f"      {column:10s} ({i['expectation_column']}) n={i['n']} "
                f"E={_f(i['expectation'], 2)} P={_f(i['perception'], 2)} "
                f"gap={_f(i['gap'], 2)} {_ci(i['gap_ci'])}"
            )
    return lines


def _zone(zone: dict) -> list[str]:
    lines = [
        f"  {'dimension':20s} {'n':>6s} {'adequate':>8s} {'desired':>8s} {'perceived':>9s} "
        f"{'MSA':>6s} {'MSS':>6s}  position  within"
    ]
    for dim, z in zone.items():
        lines.append(
            f"  {dim:20s} {z['n']:6d} {_f(z['adequate'], 2):>8s} {_f(z['desired'], 2):>8s} "
            f"{_f(z['perception'], 2):>9s} {_f(z['msa'], 2):>6s} {_f(z['mss'], 2):>6s}  "
            f"{z['position']:8s}  {100 * z['share_within']:.0f}%"
        )
    return lines


def _drivers(reg: dict) -> list[str]:
    lines = [
        f"  n={reg['n']}  R2={_f(reg['r2'])}  adj. R2={_f(reg['adj_r2'])}  "
        f"intercept {_f(reg['coef']['intercept'])} {_ci(reg['ci_hc3']['intercept'])} "
        f"(HC3 se {_f(reg['se_hc3']['intercept'])}; "
        f"{100 * reg['ci_level']:.0f}% t intervals from the HC3 se)"
    ]
    shapley = reg["shapley"] if "note" not in reg["shapley"] else {}
    boot = reg.get("bootstrap", {})
    for dim, b in reg["std_beta"].items():
        line = (
            f"  {dim:20s} b={_f(reg['coef'][dim])} {_ci(reg['ci_hc3'][dim])} "
            f"(HC3 se {_f(reg['se_hc3'][dim])}) "
            f"beta={_f(b)} VIF={_f(reg['vif'][dim], 2)} "
            f"weight={_f(reg['relative_weights'][dim], 3)} "
            f"({_f(reg['relative_weights_pct'][dim], 1)}%)"
        )
        if dim in boot.get("relative_weights", {}):
            line += f" {_ci(boot['relative_weights'][dim], 3)}"
        if dim in shapley:
            line += f" Shapley={_f(shapley[dim])}"
            if dim in boot.get("shapley", {}):
                line += f" {_ci(boot['shapley'][dim], 3)}"
        lines.append(line)
    if "note" in reg["shapley"]:
        lines.append(f"  Shapley: {reg['shapley']['note']}")
    if boot:
        lines.append(
            f"  intervals: {boot['resamples']} bootstrap resamples, {100 * boot['level']:.0f}%"
        )
    return lines


def _ipa_line(v: dict) -> str:
    if "quadrant_share" not in v:
        return ""
    return (
        f" (importance {_ci(v['importance_ci'], 3)}, performance "
        f"{_ci(v['performance_ci'])}; same quadrant in {100 * v['quadrant_share']:.0f}% "
        "of resamples)"
    )


def _ipa(ipa: dict) -> list[str]:
    lines = [f"  performance is {ipa['performance_is']}"]
    for dim, v in ipa.items():
        if isinstance(v, dict) and "quadrant" in v:
            lines.append(
                f"  {dim:20s} importance {_f(v['importance'])} performance "
                f"{_f(v['performance'], 2)}: {v['quadrant']}" + _ipa_line(v)
            )
    if "by_gap" in ipa:
        lines.append("  by gap (performance = P - E):")
        for dim, v in ipa["by_gap"].items():
            lines.append(
                f"    {dim:18s} importance {_f(v['importance'])} gap "
                f"{_f(v['performance'], 2)}: {v['quadrant']}" + _ipa_line(v)
            )
    boot = ipa.get("bootstrap")
    if boot and "note" in boot:
        lines.append(f"  intervals: {boot['note']}")
    elif boot:
        lines.append(
            f"  intervals: {boot['resamples']} bootstrap resamples of respondents, "
            f"{100 * boot['level']:.0f}%"
        )
    return lines


def _loyalty(loy: dict) -> list[str]:
    lines = [
        f"  n={loy['n']}  linear R2={_f(loy['linear_r2'])} (slope {_f(loy['linear_coef'])})  "
        f"quadratic R2={_f(loy['quadratic_r2'])}  quadratic term "
        f"{_f(loy['quadratic_coef'], 4)} (p={_p(loy['quadratic_p'])})",
        "  fits: loyalty = "
        + " + ".join(f"{_f(b, 3)}{t}" for b, t in zip(loy["linear_fit"], ("", " S"), strict=False))
        + "; loyalty = "
        + " + ".join(
            f"{_f(b, 4)}{t}" for b, t in zip(loy["quadratic_fit"], ("", " S", " S^2"), strict=False)
        ),
        "  loyalty curve (satisfaction: mean loyalty [95% CI], n): "
        + "; ".join(
            f"{_f(b['satisfaction'], 2)}: {_f(b['mean'], 2)} {_ci(b['ci'])}, {b['n']}"
            for b in loy["bins"]
        ),
    ]
    for item, o in loy.get("ordinal", {}).items():
        if "note" in o:
            lines.append(f"  ordinal {item}: {o['note']}")
            continue
        lines.append(
            f"  ordinal {item}: n={o['n']} log-odds per point {_f(o['coef'])}, thresholds "
            + ", ".join(
                f"{_f(lo, 0)}|{_f(hi, 0)} {_f(t, 2)}"
                for lo, hi, t in zip(o["levels"], o["levels"][1:], o["thresholds"], strict=False)
            )
        )
    return lines


def _outcomes(outcomes: dict) -> list[str]:
    lines = []
    for name, o in outcomes.items():
        if "note" in o:
            lines.append(f"  {name}: {o['note']}")
            continue
        low, mid, high = o["thirds"]
        lines.append(
            f"  {name}: mean {_f(o['mean'], 2)} {_ci(o['ci'])} on {o['scale'][0]}-"
            f"{o['scale'][1]}, sd {_f(o['sd'], 2)}, n={o['n']}; low/middle/high third of the "
            f"scale {100 * low:.0f}% / {100 * mid:.0f}% / {100 * high:.0f}%"
        )
    return lines


def _nps(nps: dict) -> list[str]:
    return [
        f"  {item}: {n['note']}"
        if "note" in n
        else f"  {item}: {_f(n['nps'], 1)} {_ci(n['ci'], 1)}, n={n['n']} (promoters "
        f"{100 * n['promoters']:.0f}%, passives {100 * n['passives']:.0f}%, detractors "
        f"{100 * n['detractors']:.0f}%)"
        for item, n in nps.items()
    ]


def _segments(segments: dict) -> list[str]:
    lines = []
    for segment, tests in segments.items():
        lines.append(f"  {segment}:")
        for score, t in tests.items():
            if score == "change":
                continue
            if "note" in t:
                lines.append(f"    {score}: {t['note']}")
                continue
            w, k = t["welch_anova"], t["kruskal"]
            means = ", ".join(
                f"{g} {_f(m, 2)} {_ci(t['ci'][g])} (n {t['counts'][g]})"
                for g, m in t["means"].items()
            )
            lines.append(
                f"    {score}: n={t['n']} means {means}; Welch F={_f(w['F'], 2)} "
                f"(df {_f(w['df1'], 0)}, {_f(w['df2'], 1)}) p={_p(w['p'])} "
                f"eta2={_f(w['eta2_partial'])}; Kruskal-Wallis H={_f(k['H'], 2)} "
                f"p={_p(k['p'])} epsilon2={_f(k['epsilon2'])}"
            )
            for row in t["pairwise"]:
                lines.append(
                    f"      {row['a']} vs {row['b']}: t={_f(row['t'], 2)} df={_f(row['df'], 1)} "
                    f"p={_p(row['p'])} Holm p={_p(row['p_holm'])} g={_f(row['hedges'], 2)}"
                )
        for score, steps in tests.get("change", {}).items():
            for s in steps:
                if "note" in s:
                    lines.append(f"    change of {score} {s['from']} -> {s['to']}: {s['note']}")
                else:
                    lines.append(
                        f"    change of {score} {s['from']} -> {s['to']}: {_f(s['change'])} "
                        f"{_ci(s['ci'], 3)} p={_p(s['p'])} (n {s['n'][0]}, {s['n'][1]})"
                    )
    return lines


def _effects(title: str, effects: dict) -> list[str]:
    lines = [f"  {title}:"]
    for path, e in effects.items():
        lines.append(
            f"    {path.replace('->', ' -> '):36s} {_f(e['estimate']):>7s} "
            f"{_ci([e['ci_low'], e['ci_high']], 3)}"
        )
    return lines


def _pls(pls: dict) -> list[str]:
    boot = pls["bootstrap"]
    lines = [
        f"  n={pls['n']}, {pls['iterations']} iterations; intervals from "
        f"{boot['resamples']} bootstrap resamples ({boot['used']} with a solution; "
        f"{100 * boot['level']:.0f}%, percentile)"
    ]
    lines += _effects("paths", pls["paths"])
    lines.append("  r2: " + ", ".join(f"{c} {_f(v)}" for c, v in pls["r2"].items()))
    lines.append(
        f"  constructs: {'':14s} {'rho_A':>6s} {'rho_C':>6s} {'AVE':>6s} {'index':>6s}  interval"
    )
    for c, s in pls["constructs"].items():
        lines.append(
            f"    {c:24s} {_f(s['rho_a']):>6s} {_f(s['rho_c']):>6s} {_f(s['ave']):>6s} "
            f"{_f(s['index'], 1):>6s}  {_ci([s['index_ci_low'], s['index_ci_high']], 1)}"
        )
    lines.append("  outer weights and loadings:")
    for c, items in pls["outer_weights"].items():
        lines.append(
            f"    {c}: "
            + ", ".join(
                f"{i} {_f(w)}/{_f(pls['outer_loadings'][c][i])} "
                f"{_ci(pls['outer_loadings_ci'][c][i], 2)}"
                for i, w in items.items()
            )
        )
    lines.append("  htmt: " + ", ".join(f"{k} {_f(v)}" for k, v in pls["htmt"].items()))
    lines += _effects("total effects", pls["total_effects"])
    lines += _effects("indirect effects", pls["indirect_effects"])
    return lines


TITLES: dict[str, str] = {
    "quality": "Response quality",
    "reliability": "Reliability",
    "efa": "Exploratory factor analysis",
    "cfa": "Confirmatory factor analysis (the questionnaire's dimensions)",
    "gaps": "SERVQUAL gaps (perception - expectation)",
    "zone_of_tolerance": "Zone of tolerance",
    "regression": "Drivers of satisfaction",
    "importance_performance": "Importance-performance",
    "loyalty": "Satisfaction -> loyalty",
    "outcomes": "Outcome scores",
    "nps": "Net Promoter Score",
    "segments": "Segments",
    "pls": "Satisfaction index (PLS path model)",
}
RENDER: dict[str, Callable[[dict], list[str]]] = {
    "quality": _quality,
    "reliability": _reliability,
    "efa": _efa,
    "cfa": _cfa,
    "gaps": _gaps,
    "zone_of_tolerance": _zone,
    "regression": _drivers,
    "importance_performance": _ipa,
    "loyalty": _loyalty,
    "outcomes": _outcomes,
    "nps": _nps,
    "segments": _segments,
    "pls": _pls,
}
HEADER_KEYS = ("n_responses", "missing")  # in the first line


def summarise(report: dict[str, Any], q: Questionnaire) -> str:
    """Every section of ``report``, in its order, as readable text."""
    lines = [f"{q.id}: {report['n_responses']} responses (missing answers: {report['missing']})"]
    for key, section in report.items():
        if key in HEADER_KEYS:
            continue
        lines += ["", TITLES.get(key, key.replace("_", " ").capitalize())]
        if isinstance(section, dict) and set(section) == {"note"}:
            lines.append(f"  {section['note']}")
        elif key in RENDER:
            lines += RENDER[key](section)
        else:
            lines += _generic(section)
    return "\n".join(lines)
