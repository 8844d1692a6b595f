"""Rating scale items: a point on the questionnaire's scale (a radio group)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import Kind, Problem, blank, single_value

WHOLE = re.compile(r"^[+-]?\d+$")


class ScaleKind(Kind):
    name: ClassVar[str] = "scale"
    reversible: ClassVar[bool] = True
    template: ClassVar[str] = "surveys/kinds/scale.html"
    seconds: ClassVar[float] = 5.0

    def declare(self, reader, fields, where):
        return {"scale": reader.scale}

    def condition_values(self, item):
        return tuple(item.scale.values)

    def takes_bounds(self) -> bool:
        return True

    def parse(self, item, raw: Any) -> int | None:
        value = single_value(raw)
        if blank(value):
            return None
        scale = item.scale
        if isinstance(value, bool):
            raise Problem("range", min=scale.min, max=scale.max)
        if isinstance(value, str):
            if not WHOLE.match(value.strip()):
                raise Problem("range", min=scale.min, max=scale.max)
            value = int(value)
        if not isinstance(value, (int, np.integer)) or int(value) not in scale.values:
            raise Problem("range", min=scale.min, max=scale.max)
        return int(value)

    def to_code(self, column, value) -> int:
        scale = column.item.scale
        if isinstance(value, (bool, str)) or not isinstance(value, (int, np.integer)):
            raise Problem("range", min=scale.min, max=scale.max)
        if int(value) not in scale.values:
            raise Problem("range", min=scale.min, max=scale.max)
        return int(value)

    def codes(self, column, values: pd.Series):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        present = values.notna().to_numpy()
        scale = column.item.scale
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        good = whole & (numbers >= scale.min) & (numbers <= scale.max)
        return np.where(present & good, np.nan_to_num(numbers), 0).astype(np.int64), present & ~good

    def value_labels(self, column):
        """The scale's anchors (``scale.labels``), on every item of the scale."""
        return [(point, point, text) for point, text in sorted(column.item.scale.labels.items())]

    def simulate(self, item, base, rng, n, *, latent, texts):
        scale = item.scale
        return {base: _points(rng.standard_normal(n), (scale.min + scale.max) / 2, 1.2, scale)}

    def compatible(self, old, new):
        reason = super().compatible(old, new)
        if reason:
            return reason
        a, b = old.item.scale, new.item.scale
        if (a.min, a.max) != (b.min, b.max):
            return f"its scale changed from {a.min}..{a.max} to {b.min}..{b.max}"
        if old.item.reverse != new.item.reverse:
            return "its reverse keying changed"
        return None


def _points(z: np.ndarray, mid: float, spread: float, scale) -> np.ndarray:
    return np.clip(np.rint(mid + spread * z), scale.min, scale.max).astype(np.float64)


class NpsKind(ScaleKind):
    """Likelihood to recommend, 0-10: the Net Promoter Score question."""

    name: ClassVar[str] = "nps"
    reversible: ClassVar[bool] = False
    template: ClassVar[str] = "surveys/kinds/nps.html"
    recommends: ClassVar[bool] = True

    def declare(self, reader, fields, where):
        from ..model import NPS_SCALE

        return {"scale": NPS_SCALE}

    def simulate(self, item, base, rng, n, *, latent, texts):
        z = 0.9 + 1.1 * latent + 0.5 * rng.standard_normal(n)
        return {base: _points(z, 5, 2, item.scale)}
