"""The base class of question kinds, and the problems an answer can have.

A kind knows everything that differs between question types: which YAML keys it
takes, which values a show-if condition may test, the columns it is stored and
exported as, how a posted answer is checked and turned into its canonical value, how
that value is packed for storage and read back, which template shows it, and about
how long it takes to answer. Nothing else in the project switches on the type of a
question: it asks the item's kind (``item.type``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ..model import Choice, Column, Item

MISSING = -32768
"""The stored code of an unanswered numeric column (the smallest int16)."""


class Problem(ValueError):
    """An answer that cannot be accepted.

    ``code`` is stable (``required``, ``range``, ``choice``, ``length``, ``format``) so
    that the web form can translate it and the API can return it; ``params`` fill the
    message.
    """

    MESSAGES: ClassVar[dict[str, str]] = {
        "required": "Please answer this question.",
        "range": "Please choose one of the points from {min} to {max}.",
        "choice": "Not a valid choice.",
        "length": "Please write at most {max} characters.",
        "format": "This answer has the wrong form.",
    }

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        super().__init__(self.MESSAGES[code].format(**params))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self), **self.params}


def single_value(raw: Any) -> Any:
    """The one value of a field that takes one (a form gives a list)."""
    if isinstance(raw, (list, tuple)):
        if len(raw) > 1:
            raise Problem("format")
        return raw[0] if raw else None
    return raw


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Kind:
    """One kind of question. Subclasses are registered in :mod:`questionnaires.kinds`."""

    name: ClassVar[str]
    # YAML keys this kind takes besides id, text, required, show_if (and reverse for scales)
    options: ClassVar[tuple[str, ...]] = ()
    default_required: ClassVar[bool] = True
    default_personal: ClassVar[bool] = False  # may the answer identify the customer?
    numeric: ClassVar[bool] = True  # stored as int16 codes; text goes to a JSON column
    reversible: ClassVar[bool] = False
    template: ClassVar[str] = ""  # under templates/surveys/kinds/
    seconds: ClassVar[float] = 6.0  # a rough time to answer, for "about N minutes"
    frame_dtype: ClassVar[str] = "float"  # float, category or string in the analysis frame
    # What a codebook calls the answers: ordinal, nominal, binary or text (and how SPSS
    # measures them)
    codebook_type: ClassVar[str] = "ordinal"
    recommends: ClassVar[bool] = False  # the likelihood to recommend: NPS is computed from it

    # -- declared ---------------------------------------------------------------------
    def declare(self, reader: Any, fields: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Read the kind's own YAML keys; return extra :class:`Item` attributes."""
        return {}

    def condition_values(self, item: Item) -> tuple[Any, ...] | None:
        """The answers a show-if condition on this item may test (None: it cannot)."""
        return None

    def takes_bounds(self) -> bool:
        """Whether a show-if condition may compare this item with min/max."""
        return False

    # -- named as columns ---------------------------------------------------------------
    def column_specs(self, item: Item, base: str) -> list[tuple[str, str, Choice | None]]:
        """(column name, column kind, option choice) of one answer slot named ``base``."""
        return [(base, self.name, None)]

    # -- validated --------------------------------------------------------------------
    def parse(self, item: Item, raw: Any) -> Any:
        """Check a posted answer; return its canonical value (None when unanswered)."""
        raise NotImplementedError

    def answered(self, value: Any) -> bool:
        return value is not None

    def to_columns(self, item: Item, base: str, value: Any) -> dict[str, Any]:
        """The canonical value of a slot as column -> value."""
        return {base: value}

    def from_columns(self, item: Item, base: str, answers: Mapping[str, Any]) -> Any:
        """The canonical value of a slot read back from column -> value."""
        return answers.get(base)

    def form_values(self, value: Any) -> list[str]:
        """The canonical value as the strings a form posts (to show it checked)."""
        return [] if value is None else [str(value)]

    # -- stored -----------------------------------------------------------------------
    def to_code(self, column: Column, value: Any) -> int:
        raise NotImplementedError

    def from_code(self, column: Column, code: int) -> Any:
        return None if code == MISSING else int(code)

    def codes(self, column: Column, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`to_code` of a column of a wide frame: (codes, bad mask)."""
        raise NotImplementedError

    def frame_values(self, column: Column, source: Column | None, codes: np.ndarray) -> Any:
        """Stored codes (``MISSING`` where unanswered) as the analysis frame's column.

        ``source`` is the same column in the version the codes were stored under.
        """
        return np.where(codes == MISSING, np.nan, codes).astype(np.float64)

    def compatible(self, old: Column, new: Column) -> str | None:
        """Why answers stored under ``old`` would change meaning if read as ``new``."""
        if old.kind != new.kind:
            return f"its kind changed from {old.kind} to {new.kind}"
        return None

    # -- exported and imported -----------------------------------------------------------
    def value_labels(self, column: Column) -> list[tuple[Any, int, Mapping[str, str] | str]]:
        """The labelled values of a column: (value as a CSV gives it, its number in SPSS
        and Stata files, its label). A label is a text by language from the
        questionnaire, or the key of an interface text (``chosen``, ``not_chosen``)."""
        return []

    def cells_to_raw(self, item: Item, base: str, cells: Mapping[str, str]) -> Any:
        """The cells of one answer slot in an imported row (column -> text; ``""`` is a
        blank cell) as the web form posts them, for :meth:`parse`. Raises
        :class:`Problem` (with ``column``) for cells that cannot be read together."""
        value = cells.get(base, "")
        return [value] if value != "" else []

    # -- shown --------------------------------------------------------------------------
    def answer_count(self, item: Item) -> int:
        """Answers this item asks of the customer per measure (a form field each)."""
        return 1

    # -- simulated (demo data) ------------------------------------------------------------
    def simulate(
        self, item: Item, base: str, rng: Any, n: int, *, latent: Any, texts: Any
    ) -> dict[str, Any]:
        """``n`` plausible answers for demo data, column -> values. ``latent`` is the
        respondents' loyalty (standard normal), ``texts`` a pool of sample comments."""
        raise NotImplementedError
