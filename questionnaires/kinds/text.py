"""Open text: a comment box, stored as text (never packed with the numeric answers)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Kind, Problem, blank, single_value

MAX_TEXT_LENGTH = 10_000


class TextKind(Kind):
    name: ClassVar[str] = "text"
    options: ClassVar[tuple[str, ...]] = ("max_length",)
    default_required: ClassVar[bool] = False
    default_personal: ClassVar[bool] = True  # free text may name people, places, orders
    numeric: ClassVar[bool] = False
    template: ClassVar[str] = "surveys/kinds/text.html"
    seconds: ClassVar[float] = 30.0
    frame_dtype: ClassVar[str] = "string"
    codebook_type: ClassVar[str] = "text"

    def declare(self, reader, fields, where):
        if "max_length" not in fields:
            return {}
        node = fields["max_length"]
        max_length = reader.integer(node, f"{where}: max_length")
        if not 1 <= max_length <= MAX_TEXT_LENGTH:
            raise reader.fail(node, f"{where}: max_length must be 1..{MAX_TEXT_LENGTH}")
        return {"max_length": max_length}

    def parse(self, item, raw: Any) -> str | None:
        value = single_value(raw)
        if blank(value):
            return None
        if not isinstance(value, str):
            raise Problem("format")
        value = value.strip().replace("\r\n", "\n")
        if len(value) > item.max_length:
            raise Problem("length", max=item.max_length)
        return value

    def simulate(self, item, base, rng, n, *, latent, texts):
        answers = np.array([None] * n, dtype=object)
        chosen = rng.random(n) < 0.15
        answers[chosen] = rng.choice(np.array(texts, dtype=object), size=int(chosen.sum()))
        return {base: answers}

    def to_code(self, column, value) -> int:
        raise TypeError("open text is not stored as a code")

    def codes(self, column, values):
        raise TypeError("open text is not stored as a code")

    def frame_values(self, column, source, codes):
        return np.full(len(codes), None, dtype=object)
