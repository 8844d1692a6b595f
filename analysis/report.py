"""The full report: every analysis the questionnaire supports, as one JSON-ready dict.

Keys follow the documented interface (``n_responses``, ``reliability.<scale>...``,
``efa``, ``cfa``, ``gaps``, ``regression``, ``loyalty``); more sections are added after
them. A section the questionnaire cannot support, or the data cannot (too few
responses, a constant item, a singular matrix), carries a ``note`` instead of numbers.

Every analysis returns a result object; the report only calls their ``to_dict()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from questionnaires.model import ScoredScale

from .cfa import cfa, cfa_fiml
from .data import AnalysisError, SurveyData
from .drivers import ImportancePerformance, importance_performance, ipa_bootstrap, regression
from .efa import efa
from .gaps import gap, gap_of_scores, score_summary, zone_of_tolerance
from .loyalty import loyalty_models, ordinal_logit
from .moments import MomentCache, one_blas_thread
from .options import MISSING
from .pairwise import pairwise
from .pls import pls
from .quality import PassChecks, quality
from .reliability import reliability
from .segments import Encoded, Grouped, compare_segments, nps, table, wave_change


def _perception_items(data: SurveyData) -> list[tuple[str, list[str]]]:
    """(dimension id, perception columns) of every dimension."""
    return [(s.section.id, list(s.columns)) for s in data.dimension_scales("perception")]


def build_report(
    data: SurveyData,
    *,
    factors: int | None = None,
    extraction: str = "minres",
    rotation: str = "oblimin",
    bootstrap: int = 0,
    seed: int = 0,
    missing: str | None = None,
    exclude_flagged: bool = False,
) -> dict[str, Any]:
    """Run every analysis the questionnaire supports on ``data``.

    ``missing`` is ``"listwise"`` or ``"available"`` (default: the questionnaire's
    ``analysis: missing:`` setting, else listwise). The response-quality checks run
    first; ``exclude_flagged`` leaves the flagged responses out of every analysis.

    BLAS is held to one thread throughout: the work is small matrices, whose threaded
    BLAS calls cost more in waking and spinning threads than they save (measured: the
    report at 10k responses took 2-3x as long); the one pass over the rows runs its own
    threads (:func:`analysis.moments.in_shares`).
    """
    method = missing or data.q.analysis.missing
    if method not in MISSING:
        raise AnalysisError(f"unknown missing-data method {method!r}; use listwise or available")
    if data.missing != method:
        data = SurveyData(data.q, data.frame, missing=method)
    with one_blas_thread():
        return _build_report(
            data,
            exclude_flagged,
            factors=factors,
            extraction=extraction,
            rotation=rotation,
            bootstrap=bootstrap,
            seed=seed,
        )


def _pass(data: SurveyData, checks: PassChecks | None = None) -> MomentCache:
    """The one pass that gives the covariance of every item and every scale's score (and,
    with ``checks``, the response-quality checks of the scale items)."""
    all_columns = list(dict.fromkeys(c for s in data.scales for c in s.columns))
    moments = MomentCache(
        data,
        all_columns,
        means_of=[s.columns for s in data.scales],
        extra=checks.weights if checks is not None else None,
    )
    if data.scales:
        moments.run()  # first, whatever asks next; it checks the ranges of what it reads
    return moments


def _build_report(
    data, exclude_flagged, *, factors, extraction, rotation, bootstrap, seed
) -> dict[str, Any]:
    q = data.q
    available = data.missing == "available"
    columns = tuple(dict.fromkeys(c for s in data.scales for c in s.columns))
    checks = PassChecks(data, columns) if columns else None
    moments = _pass(data, checks)
    data.validate()  # bad data fails the whole report, with the cell named
    flags = replace(quality(data, checks, moments.extra_projected), excluded=exclude_flagged)
    if exclude_flagged and flags.flagged.any():
        kept = data.frame.loc[~flags.flagged].reset_index(drop=True)
        data = SurveyData(q, kept, missing=data.missing)
        moments = _pass(data)
    report: dict[str, Any] = {"n_responses": int(len(data.frame)), "missing": data.missing}
    report["quality"] = flags.to_dict()

    report["reliability"] = {
        s.name: _section(lambda s=s: _reliability(data, moments, s.columns)) for s in data.scales
    }
    dims = _perception_items(data)
    items = tuple(c for _, cols in dims for c in cols)
    if len(items) >= 3:
        report["efa"] = _section(
            lambda: efa(_correlations(data, moments, items), factors, extraction, rotation)
        )
        groups, start = [], 0
        for _, cols in dims:
            groups.append(list(range(start, start + len(cols))))
            start += len(cols)
        report["cfa"] = _section(lambda: _cfa(data, moments, items, groups))
    else:
        report["efa"] = report["cfa"] = {"note": "fewer than 3 perception items"}

    if q.measure_by_role("expectation") and q.measure_by_role("perception"):
        report["gaps"] = {  # a dimension without complete responses has its own note
            d.id: _section(
                lambda d=d: gap_of_scores(data, d) if available else gap(data, d, moments=moments)
            )
            for d in q.dimensions
        }
    else:
        report["gaps"] = {"note": "the questionnaire has no expectation and perception measures"}
    if q.measure_by_role("adequate") and q.measure_by_role("desired"):
        report["zone_of_tolerance"] = _section(
            lambda: {d: z.to_dict() for d, z in zone_of_tolerance(data).items()}
        )

    satisfaction = _outcome_score(data, "satisfaction")
    loyalty = _outcome_score(data, "loyalty")
    if satisfaction is None or not dims:
        report["regression"] = {"note": "the questionnaire has no satisfaction outcome"}
    else:
        report["regression"] = _section(
            lambda: _regression(data, moments, satisfaction, bootstrap, seed)
        )
        if "coef" in report["regression"]:
            report["importance_performance"] = _ipa(data, moments, report, bootstrap, seed)
    if satisfaction is None or loyalty is None:
        report["loyalty"] = {"note": "the questionnaire needs satisfaction and loyalty outcomes"}
    else:
        report["loyalty"] = _section(lambda: _loyalty(data, satisfaction, loyalty))

    outcome_scales = [sc for sc in data.scales if sc.section.kind == "outcome"]
    if outcome_scales:
        report["outcomes"] = {
            sc.name: _section(lambda sc=sc: score_summary(data.score(sc), q.scale))
            for sc in outcome_scales
        }
    nps_items = [i for i in q.items if i.type.recommends and i.id in data.frame]
    if nps_items:
        report["nps"] = {
            i.id: _section(lambda i=i: nps(data.frame[i.id].to_numpy(float))) for i in nps_items
        }
    if q.analysis.paths:  # the satisfaction index (ACSI/ECSI path model)
        report["pls"] = _section(lambda: pls(data, bootstrap=bootstrap, seed=seed))
    present = [i for s in q.segments for i in s.items if i.id in data.frame]
    if present:
        report["segments"] = _segments(data, satisfaction, dims, nps_items)
    elif q.segments:
        report["segments"] = {"note": "the data has no segment columns"}
    return _clean(report)


def _section(build: Callable[[], Any]) -> Any:
    """A result's ``to_dict()`` (or a plain value), or a note saying why there is none."""
    try:
        result = build()
    except AnalysisError as exc:
        return {"note": str(exc)}
    except np.linalg.LinAlgError as exc:
        return {"note": f"singular matrix: {exc}"}
    return result.to_dict() if hasattr(result, "to_dict") else result


def _reliability(data: SurveyData, moments: MomentCache, columns: tuple[str, ...]):
    if data.missing == "available":  # psych::alpha on pairwise moments, omega on cor
        pw = pairwise(data.columns(columns), columns)
        return reliability(pw.covariance_moments(), omega_corr=pw.cor)
    return reliability(moments.get(columns))


def _correlations(data: SurveyData, moments: MomentCache, items: tuple[str, ...]):
    """The moments whose correlation matrix the EFA reads: listwise, or pairwise."""
    if data.missing == "available":
        return pairwise(data.columns(items), items).correlation_moments()
    return moments.get(items)


def _cfa(data: SurveyData, moments: MomentCache, items: tuple[str, ...], groups):
    if data.missing == "available":
        return cfa_fiml(np.column_stack(data.columns(items)), groups, items)
    m = moments.get(items)
    return cfa(m.cov, m.n, groups, m.columns)


def _outcome_scale(data: SurveyData, role: str) -> ScoredScale | None:
    scales = [s for s in data.scales if s.section.kind == "outcome" and s.section.role == role]
    return scales[0] if scales else None


def _outcome_score(data: SurveyData, role: str) -> np.ndarray | None:
    scale = _outcome_scale(data, role)
    return data.score(scale) if scale else None


def _score_moments(
    moments: MomentCache, scales: list[ScoredScale]
) -> tuple[int, np.ndarray, np.ndarray]:
    """n, means and covariance of scale scores over the rows answering all their items."""
    m = moments.get([c for s in scales for c in s.columns])
    return m.n, *m.of_means([s.columns for s in scales])


def _regression(
    data: SurveyData, moments: MomentCache, satisfaction: np.ndarray, bootstrap: int, seed: int
):
    scales = data.dimension_scales("perception")
    scores = data.dimension_scores("perception")
    known = None  # with available scores, the regression makes its own pass
    if data.missing == "listwise":
        known = _score_moments(moments, [*scales, _outcome_scale(data, "satisfaction")])
    return regression(
        list(scores.values()), satisfaction, tuple(scores), bootstrap, seed, moments=known
    )


def _ipa(data: SurveyData, moments: MomentCache, report: dict, bootstrap: int, seed: int) -> dict:
    importance = report["regression"]["relative_weights"]
    # a dimension's mean perception score (listwise: over the rows that answer all its items)
    scales = {s.section.id: s for s in data.dimension_scales("perception")}
    if data.missing == "available":
        performance = {d: float(np.nanmean(data.score(scales[d]))) for d in importance}
    else:
        performance = {d: float(moments.get(scales[d].columns).mean.mean()) for d in importance}
    gaps = report.get("gaps", {})
    by_gap = None
    if "note" not in gaps and all("gap" in gaps.get(d, {}) for d in importance):
        by_gap = importance_performance(importance, {d: gaps[d]["gap"] for d in importance})
    intervals = None
    if bootstrap:
        scores = data.dimension_scores("perception")
        gap_scores = None
        if by_gap is not None:
            expected = data.dimension_scores("expectation")
            gap_scores = {d: scores[d] - expected[d] for d in importance}
        point = {"importance": importance, "performance": performance}
        if by_gap is not None:
            point["gap"] = {d: gaps[d]["gap"] for d in importance}
        satisfaction = _outcome_score(data, "satisfaction")
        intervals = _section(
            lambda: ipa_bootstrap(
                {d: scores[d] for d in importance},
                satisfaction,
                {d: scores[d] for d in importance},
                gap_scores,
                bootstrap,
                point,
                seed=seed,
            )
        )
    result = ImportancePerformance(
        importance_performance(importance, performance), by_gap, intervals
    )
    return result.to_dict()


def _loyalty(data: SurveyData, satisfaction: np.ndarray, loyalty: np.ndarray) -> dict:
    x = Encoded.of(satisfaction)  # its distinct values are found once for all models
    out = loyalty_models(x, loyalty).to_dict()
    items = [i for o in data.q.outcomes if o.role == "loyalty" for i in o.items]
    out["ordinal"] = {
        i.id: _section(lambda i=i: ordinal_logit(x, data.columns([i.id])[0])) for i in items
    }
    return out


def _segments(data: SurveyData, satisfaction, dims, nps_items) -> dict:
    scores: dict[str, np.ndarray] = {}
    if satisfaction is not None:
        scores["satisfaction"] = satisfaction
    if dims:
        scores.update(data.dimension_scores("perception"))
    for item in nps_items:
        scores[item.id] = data.frame[item.id].to_numpy(float)
    encoded = {name: Encoded.of(v) for name, v in scores.items()}  # sorted once, reused
    out = {}
    for item in (i for s in data.q.segments for i in s.items):
        if item.id not in data.frame:
            continue
        groups = Grouped.of(data.categorical(item.id))
        tables = {name: table(e, groups) for name, e in encoded.items()}  # one pass each
        section = {
            name: _section(lambda e=e, t=tables[name], g=groups: compare_segments(e, g, t))
            for name, e in encoded.items()
        }
        if item.role == "wave":  # declared in the questionnaire (segments: role: wave)
            section["change"] = {
                name: wave_change(e, groups, counts_table=tables[name]).to_dict()
                for name, e in encoded.items()
            }
        out[item.id] = section
    return out


def _clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN and infinity to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) in (int, str) for v in value):  # ids: nothing to convert
            return list(value)
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    return value
