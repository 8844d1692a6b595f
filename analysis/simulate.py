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
                    values = scale.reverse(values)
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
        for slot in (s for s in q.slots if s.section is section):
            pool = (
                COMPLAINTS
                if "COMPLAIN" in slot.name.upper() or "LOW" in slot.name.upper()
                else SUGGESTIONS
            )
            columns.update(
                slot.item.type.simulate(slot.item, slot.name, rng, n, latent=loyalty, texts=pool)
            )
    for section in q.segments:
        for item in section.items:
            ids = [c.id for c in item.choices]
            columns[item.id] = pd.Categorical.from_codes(segments[item.id], categories=ids)

    frame = pd.DataFrame(columns)
    for item in q.items:  # answers to questions their condition hides are not given
        if item.show_if is not None:
            hidden = ~item.show_if.mask(frame)
            for column in q.columns_of(item):
                frame.loc[hidden, column.name] = None if not column.numeric else np.nan
    return frame[[c.name for c in q.columns]]


def _to_scale(z: np.ndarray, mid: float, spread: float, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(mid + spread * z), low, high).astype(np.float64)
