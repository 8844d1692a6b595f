"""A readable plain-text summary of a report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from questionnaires import Questionnaire


def _f(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _block(heading: str, section: dict, render: Callable[[dict], list[str]]) -> list[str]:
    """A titled block: the section's note when it has one, else its rendered lines."""
    body = [f"  {section['note']}"] if "note" in section else render(section)
    return ["", heading, *body]


def _reliability(rel: dict) -> list[str]:
    lines = [f"  {'scale':28s} {'n':>6s} {'alpha':>6s} {'95% CI':>15s} {'omega':>6s}"]
    for name, r in rel.items():
        if "note" in r:
            lines.append(f"  {name:28s} {r['note']}")
            continue
        ci = f"{_f(r['alpha_ci'][0], 2)}-{_f(r['alpha_ci'][1], 2)}"
        lines.append(
            f"  {name:28s} {r['n']:6d} {_f(r['alpha'], 2):>6s} {ci:>15s} "
            f"{_f(r['omega_total'], 2):>6s}"
        )
    return lines


def _efa(efa: dict) -> list[str]:
    b = efa["bartlett"]
    return [
        f"  n={efa['n']}  KMO={_f(efa['kmo'], 2)}  Bartlett chi2={_f(b['chi2'], 1)} "
        f"df={b['df']:.0f} p={b['p']:.3g}  parallel analysis suggests "
        f"{efa['parallel_suggests']}; {efa['n_factors']} factors, "
        f"{efa['extraction']}, {efa['rotation']}"
    ]


def _cfa(cfa: dict) -> list[str]:
    return [
        f"  n={cfa['n']}  chi2={_f(cfa['chi2'], 1)} df={cfa['df']} p={cfa['p']:.3g}  "
        f"CFI={_f(cfa['cfi'])} TLI={_f(cfa['tli'])} RMSEA={_f(cfa['rmsea'])} "
        f"[{_f(cfa['rmsea_ci'][0])}, {_f(cfa['rmsea_ci'][1])}] SRMR={_f(cfa['srmr'])}"
    ]


def _gaps(gaps: dict) -> list[str]:
    return [
        f"  {dim:20s} {g['note']}"
        if "note" in g
        else f"  {dim:20s} n={g['n']:<6d} E={_f(g['expectation'], 2)} "
        f"P={_f(g['perception'], 2)} gap={_f(g['gap'], 2)} "
        f"[{_f(g['gap_ci'][0], 2)}, {_f(g['gap_ci'][1], 2)}]"
        for dim, g in gaps.items()
    ]


def _drivers(reg: dict, ipa: dict) -> list[str]:
    lines = [f"  n={reg['n']}  R2={_f(reg['r2'])}  adj. R2={_f(reg['adj_r2'])}"]
    for dim, b in reg["std_beta"].items():
        quadrant = ipa.get(dim, {}).get("quadrant", "")
        lines.append(
            f"  {dim:20s} beta={_f(b)} (HC3 se {_f(reg['se_hc3'][dim])}) "
            f"weight={_f(reg['relative_weights_pct'][dim], 1)}%  {quadrant}"
        )
    return lines


def _loyalty(loy: dict) -> list[str]:
    return [
        f"  n={loy['n']}  linear R2={_f(loy['linear_r2'])}  quadratic R2="
        f"{_f(loy['quadratic_r2'])}  quadratic term {_f(loy['quadratic_coef'], 4)} "
        f"(p={loy['quadratic_p']:.3g})"
    ]


def summarise(report: dict[str, Any], q: Questionnaire) -> str:
    ipa = report.get("importance_performance", {})
    lines = [f"{q.id}: {report['n_responses']} responses"]
    lines += _block("Reliability", {}, lambda _: _reliability(report["reliability"]))
    lines += _block("Exploratory factor analysis", report["efa"], _efa)
    lines += _block(
        "Confirmatory factor analysis (the questionnaire's dimensions)", report["cfa"], _cfa
    )
    lines += _block("SERVQUAL gaps (perception - expectation)", report["gaps"], _gaps)
    lines += _block("Drivers of satisfaction", report["regression"], lambda r: _drivers(r, ipa))
    lines += _block("Satisfaction -> loyalty", report["loyalty"], _loyalty)
    for item, n in report.get("nps", {}).items():
        if "note" not in n:
            lines.append(
                f"\nNPS {item}: {_f(n['nps'], 1)} [{_f(n['ci'][0], 1)}, {_f(n['ci'][1], 1)}], "
                f"n={n['n']}"
            )
    return "\n".join(lines)
