"""A readable plain-text summary of a report."""

from __future__ import annotations

from typing import Any

from questionnaires import Questionnaire


def _f(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summarise(report: dict[str, Any], q: Questionnaire) -> str:
    lines = [f"{q.id}: {report['n_responses']} responses", "", "Reliability"]
    lines.append(f"  {'scale':28s} {'n':>6s} {'alpha':>6s} {'95% CI':>15s} {'omega':>6s}")
    for name, r in report["reliability"].items():
        if "note" in r:
            lines.append(f"  {name:28s} {r['note']}")
            continue
        ci = f"{_f(r['alpha_ci'][0], 2)}-{_f(r['alpha_ci'][1], 2)}"
        lines.append(
            f"  {name:28s} {r['n']:6d} {_f(r['alpha'], 2):>6s} {ci:>15s} "
            f"{_f(r['omega_total'], 2):>6s}"
        )
    efa = report["efa"]
    lines += ["", "Exploratory factor analysis"]
    if "note" in efa:
        lines.append(f"  {efa['note']}")
    else:
        b = efa["bartlett"]
        lines.append(
            f"  n={efa['n']}  KMO={_f(efa['kmo'], 2)}  Bartlett chi2={_f(b['chi2'], 1)} "
            f"df={b['df']:.0f} p={b['p']:.3g}  parallel analysis suggests "
            f"{efa['parallel_suggests']}; {efa['n_factors']} factors, "
            f"{efa['extraction']}, {efa['rotation']}"
        )
    cfa = report["cfa"]
    lines += ["", "Confirmatory factor analysis (the questionnaire's dimensions)"]
    if "note" in cfa:
        lines.append(f"  {cfa['note']}")
    else:
        lines.append(
            f"  n={cfa['n']}  chi2={_f(cfa['chi2'], 1)} df={cfa['df']} p={cfa['p']:.3g}  "
            f"CFI={_f(cfa['cfi'])} TLI={_f(cfa['tli'])} RMSEA={_f(cfa['rmsea'])} "
            f"[{_f(cfa['rmsea_ci'][0])}, {_f(cfa['rmsea_ci'][1])}] SRMR={_f(cfa['srmr'])}"
        )
    gaps = report["gaps"]
    lines += ["", "SERVQUAL gaps (perception - expectation)"]
    if "note" in gaps:
        lines.append(f"  {gaps['note']}")
    else:
        for dim, g in gaps.items():
            lines.append(
                f"  {dim:20s} n={g['n']:<6d} E={_f(g['expectation'], 2)} "
                f"P={_f(g['perception'], 2)} gap={_f(g['gap'], 2)} "
                f"[{_f(g['gap_ci'][0], 2)}, {_f(g['gap_ci'][1], 2)}]"
            )
    reg = report["regression"]
    lines += ["", "Drivers of satisfaction"]
    if "note" in reg:
        lines.append(f"  {reg['note']}")
    else:
        lines.append(f"  n={reg['n']}  R2={_f(reg['r2'])}  adj. R2={_f(reg['adj_r2'])}")
        ipa = report.get("importance_performance", {})
        for dim, b in reg["std_beta"].items():
            quadrant = ipa.get(dim, {}).get("quadrant", "")
            lines.append(
                f"  {dim:20s} beta={_f(b)} (HC3 se {_f(reg['se_hc3'][dim])}) "
                f"weight={_f(reg['relative_weights_pct'][dim], 1)}%  {quadrant}"
            )
    loy = report["loyalty"]
    lines += ["", "Satisfaction -> loyalty"]
    if "note" in loy:
        lines.append(f"  {loy['note']}")
    else:
        lines.append(
            f"  n={loy['n']}  linear R2={_f(loy['linear_r2'])}  quadratic R2="
            f"{_f(loy['quadratic_r2'])}  quadratic term {_f(loy['quadratic_coef'], 4)} "
            f"(p={loy['quadratic_p']:.3g})"
        )
    for item, n in report.get("nps", {}).items():
        if "note" not in n:
            lines.append(
                f"\nNPS {item}: {_f(n['nps'], 1)} [{_f(n['ci'][0], 1)}, "
                f"{_f(n['ci'][1], 1)}], n={n['n']}"
            )
    return "\n".join(lines)
