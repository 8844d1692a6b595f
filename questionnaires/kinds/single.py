"""Single choice: one of a list of choices (radio buttons); segments are single choices."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import MISSING, Kind, Problem, blank, single_value


class SingleKind(Kind):
    name: ClassVar[str] = "single"
    options: ClassVar[tuple[str, ...]] = ("choices",)
    template: ClassVar[str] = "surveys/kinds/single.html"
    seconds: ClassVar[float] = 5.0
    frame_dtype: ClassVar[str] = "category"
    codebook_type: ClassVar[str] = "nominal"

    def declare(self, reader, fields, where):
        return {"choices": reader.read_choices(fields["choices"], where)}

    def condition_values(self, item):
        return tuple(c.id for c in item.choices)

    def parse(self, item, raw: Any) -> str | None:
        value = single_value(raw)
        if blank(value):
            return None
        if item.choice(str(value)) is None:
            raise Problem("choice")
        return str(value)

    def to_code(self, column, value) -> int:
        return column.item.choice(self.parse(column.item, value)).code

    def from_code(self, column, code: int) -> str | None:
        if code == MISSING or not 1 <= code <= len(column.item.choices):
            return None
        return column.item.choices[code - 1].id

    def form_values(self, value) -> list[str]:
        return [] if value is None else [value]

    def value_labels(self, column):
        return [(c.id, c.code, c.title) for c in column.item.choices]

    def codes(self, column, values: pd.Series):
        lookup = {c.id: c.code for c in column.item.choices}
        present = values.notna().to_numpy()
        codes = values.astype("object").map(lambda v: lookup.get(str(v), 0)).to_numpy(np.int64)
        return codes, present & (codes == 0)

    def frame_values(self, column, source, codes: np.ndarray) -> pd.Categorical:
        """Codes as a categorical of choice ids, mapped through the source's choices (a
        reordered choice list in a later version does not mislabel old answers)."""
        categories = [c.id for c in column.item.choices]
        if source is None or source.kind != self.name:
            return pd.Categorical.from_codes(np.full(len(codes), -1), categories=categories)
        lookup = np.full(len(source.item.choices) + 2, -1, dtype=np.int64)
        for choice in source.item.choices:
            if choice.id in categories:
                lookup[choice.code] = categories.index(choice.id)
        safe = np.where((codes == MISSING) | (codes > len(source.item.choices)), 0, codes)
        return pd.Categorical.from_codes(lookup[safe.astype(np.int64)], categories=categories)

    def simulate(self, item, base, rng, n, *, latent, texts):
        ids = [c.id for c in item.choices]
        p = np.linspace(1.0, 3.0, len(ids))[::-1]
        codes = rng.choice(len(ids), size=n, p=p / p.sum())
        return {base: pd.Categorical.from_codes(codes, categories=ids)}

    def compatible(self, old, new):
        reason = super().compatible(old, new)
        if reason:
            return reason
        kept = {c.id for c in new.item.choices}
        gone = [c.id for c in old.item.choices if c.id not in kept]
        if gone:
            return f"choices removed or renamed: {', '.join(gone)}"
        return None

    def removed_codes(self, old, new) -> set[int]:
        """The stored codes of ``old`` whose choice ``new`` no longer has."""
        kept = {c.id for c in new.item.choices}
        return {c.code for c in old.item.choices if c.id not in kept}
