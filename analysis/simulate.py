"""Realistic synthetic responses for demos, tests and benchmarks.

Answers follow a small structural model so that reports look like real data: each
respondent has a general service impression and one latent score per dimension that
correlates with it; expectations sit above perceptions (a negative SERVQUAL gap);
satisfaction is driven by the perception dimensions, loyalty by satisfaction with a
diminishing (non-linear) return, and NPS by loyalty. Segments shift the level a little.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from questionnaires import Questionnaire

ROLE_SHIFT = {"expectation": 0.9, "desired": 1.0, "adequate": -0.6, "perception": 0.0}
COMPLAINTS = (
    "Waited too long for an answer.",
    "报告出得太慢了。",
    "The invoice was wrong.",
    "工作人员态度不够耐心。",
)
SUGGESTIONS = ("Faster replies, please.", "希望能提供线上查询。", "More staff at busy times.")


def simulate_responses(q: Questionnaire, n: int, seed: int = 0) -> pd.DataFrame:
    """Return ``n`` synthetic complete responses in the wide columns of ``q``.

    Scale answers are integers within the questionnaire's scale (as floats), single
    choices are choice ids, multiple choices 0/1 per option, text mostly missing.
    """
    rng = np.random.default_rng(seed)
    scale = q.scale
    mid = (scale.min + scale.max) / 2
    spread = (scale.max - scale.min) / 6
    general = rng.standard_normal(n)
    segment_shift = np.zeros(n)
    segments: dict[str, np.ndarray] = {}
    for section in q.segments:
        for item in section.items:
            k = len(item.choices)
            weights = np.linspace(1.5, 1.0, k)
            picks = rng.choice(k, size=n, p=weights / weights.sum())
            segments[item.id] = picks
            segment_shift += (picks - (k - 1) / 2) * -0.15

    columns: dict[str, np.ndarray] = {}
    perception_scores = []
    general_expectation = rng.standard_normal(n)
    for d_index, section in enumerate(q.dimensions):
        latent = 0.65 * general + 0.75 * rng.standard_normal(n) + segment_shift
        # what the respondent expects of this dimension, correlated across dimensions
        expected = 0.5 * general_expectation + 0.6 * rng.standard_normal(n)
        level = 0.35 + 0.12 * d_index  # dimensions differ in how well they perform
        perception_scores.append(latent)
        for item in section.items:
            loading = rng.uniform(0.75, 0.95)
            for measure in q.measures or (None,):
                role = measure.role if measure is not None else "perception"
                if role == "perception":
                    z = level + loading * latent + 0.55 * rng.standard_normal(n)
                    if perception_scores[:-1] and item is section.items[0]:
                        z = z + 0.35 * perception_scores[-2]  # a cross-loading, as in real data
                else:
                    z = (
                        level
                        + ROLE_SHIFT[role]
                        + 0.7 * loading * expected
                        + 0.45 * rng.standard_normal(n)
                    )
                values = _to_scale(z, mid, spread, scale.min, scale.max)
                if item.reverse:
                    values = scale.min + scale.max - values
                columns[q.column_name(item, measure)] = values

    drivers = np.column_stack(perception_scores) if perception_scores else np.zeros((n, 1))
    weights = np.linspace(1.4, 0.6, drivers.shape[1])
    satisfaction = drivers @ weights / weights.sum() + 0.45 * rng.standard_normal(n)
    loyalty = 1.2 * np.tanh(0.9 * satisfaction) + 0.4 * rng.standard_normal(n)
    for section in q.outcomes:
        latent = satisfaction if section.role == "satisfaction" else loyalty
        for item in section.items:
            z = 0.5 + 0.9 * latent + 0.45 * rng.standard_normal(n)
            columns[item.id] = _to_scale(z, mid, spread, scale.min, scale.max)

    for section in q.questions:
        for item in section.items:
            columns.update(_question(q, item, loyalty, rng, n, columns))
    for section in q.segments:
        for item in section.items:
            ids = [c.id for c in item.choices]
            columns[item.id] = pd.Categorical.from_codes(segments[item.id], categories=ids)

    frame = pd.DataFrame(columns)
    for item in q.items:
        if item.show_if is not None:
            hidden = ~_condition_mask(item.show_if, frame)
            for column in q.columns_of(item):
                frame.loc[hidden, column.name] = None if column.kind == "text" else np.nan
    return frame[[c.name for c in q.columns]]


def _condition_mask(cond, frame: pd.DataFrame) -> np.ndarray:
    """Vectorised :meth:`Condition.holds` over the rows of ``frame``."""
    values = frame[cond.column]
    answered = values.notna().to_numpy()
    if cond.in_ is not None:
        return answered & values.isin(cond.in_).to_numpy()
    if cond.equals is not None:
        return answered & (values == cond.equals).to_numpy()
    numeric = pd.to_numeric(values, errors="coerce").to_numpy()
    mask = answered.copy()
    if cond.min is not None:
        mask &= numeric >= cond.min
    if cond.max is not None:
        mask &= numeric <= cond.max
    return mask


def _to_scale(z: np.ndarray, mid: float, spread: float, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(mid + spread * z), low, high).astype(np.float64)


def _question(q, item, loyalty, rng, n, columns) -> dict[str, np.ndarray]:
    if item.kind == "nps":
        return {item.id: _to_scale(0.9 + 1.1 * loyalty + 0.5 * rng.standard_normal(n), 5, 2, 0, 10)}
    if item.kind == "scale":
        return {
            item.id: _to_scale(
                rng.standard_normal(n),
                (q.scale.min + q.scale.max) / 2,
                1.2,
                q.scale.min,
                q.scale.max,
            )
        }
    if item.kind == "single":
        ids = [c.id for c in item.choices]
        p = np.linspace(1.0, 3.0, len(ids))[::-1]
        codes = rng.choice(len(ids), size=n, p=p / p.sum())
        return {item.id: pd.Categorical.from_codes(codes, categories=ids)}
    if item.kind == "multiple":
        return {
            f"{item.id}_{c.id}": (rng.random(n) < 0.45).astype(np.float64) for c in item.choices
        }
    pool = COMPLAINTS if "COMPLAIN" in item.id.upper() or "LOW" in item.id.upper() else SUGGESTIONS
    texts = np.array([None] * n, dtype=object)
    chosen = rng.random(n) < 0.15
    texts[chosen] = rng.choice(np.array(pool, dtype=object), size=int(chosen.sum()))
    return {item.id: texts}
