"""Multiple choice: any number of choices (checkboxes), one 0/1 column per choice."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import Kind, Problem


class MultipleKind(Kind):
    name: ClassVar[str] = "multiple"
    options: ClassVar[tuple[str, ...]] = ("choices",)
    default_required: ClassVar[bool] = False
    template: ClassVar[str] = "surveys/kinds/multiple.html"
    seconds: ClassVar[float] = 8.0
    codebook_type: ClassVar[str] = "binary"

    def declare(self, reader, fields, where):
        return {"choices": reader.read_choices(fields["choices"], where)}

    def column_specs(self, item, base):
        return [(f"{base}_{c.id}", "option", c) for c in item.choices]

    def parse(self, item, raw: Any) -> frozenset[str] | None:
        """The chosen ids; an empty set is "none of these", None is unanswered (hidden)."""
        if raw is None:
            return None
        values = [raw] if isinstance(raw, str) else list(raw)
        chosen = frozenset(str(v) for v in values if str(v) != "")
        if any(item.choice(v) is None for v in chosen):
            raise Problem("choice")
        return chosen

    def answered(self, value) -> bool:
        return bool(value)

    def to_columns(self, item, base, value):
        return {
            f"{base}_{c.id}": (None if value is None else int(c.id in value)) for c in item.choices
        }

    def from_columns(self, item, base, answers):
        flags = {c.id: answers.get(f"{base}_{c.id}") for c in item.choices}
        if all(v is None for v in flags.values()):
            return None
        return frozenset(cid for cid, v in flags.items() if v == 1)

    def form_values(self, value) -> list[str]:
        return sorted(value or ())

    def value_labels(self, column):
        return [(0, 0, "not_chosen"), (1, 1, "chosen")]

    def cells_to_raw(self, item, base, cells):
        """The option columns (1 chosen, 0 not, all blank unanswered) as chosen ids."""
        values = {c.id: cells.get(f"{base}_{c.id}", "") for c in item.choices}
        given = [cid for cid, v in values.items() if v != ""]
        if not given:
            return None
        for cid, value in values.items():
            if value not in ("0", "1"):
                column = f"{base}_{cid}"
                if value == "":
                    raise Problem("format", column=column)  # blank beside answered options
                raise Problem("choice", column=column)
        return [cid for cid, value in values.items() if value == "1"]

    def simulate(self, item, base, rng, n, *, latent, texts):
        return {f"{base}_{c.id}": (rng.random(n) < 0.45).astype(np.float64) for c in item.choices}

    def to_code(self, column, value) -> int:
        if isinstance(value, bool) or value not in (0, 1):
            raise Problem("choice")
        return int(value)

    def codes(self, column, values: pd.Series):
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        present = values.notna().to_numpy()
        good = (numbers == 0) | (numbers == 1)
        return np.where(present & good, np.nan_to_num(numbers), 0).astype(np.int64), present & ~good
