"""The filters shared by exports, reports and the API."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from werkzeug.datastructures import MultiDict

from questionnaires import SHIPPED_DIR, load_questionnaire
from survey_app.selection import Selection, SelectionError

Q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "response_id": [1, 2, 3, 4],
            "submitted_at": pd.to_datetime(
                ["2026-01-01T10:00", "2026-01-31T23:59", "2026-02-01T00:00", None], utc=True
            ),
            "tier": pd.Categorical(["A", "B", "C", "A"], categories=["A", "B", "C"]),
            "region": pd.Categorical(["north", "east", "north", None]),
        }
    )


def test_segments_or_within_and_across_and_inclusive_dates():
    args = MultiDict([("tier", "A"), ("tier", "B"), ("region", "north"), ("to", "2026-01-31")])
    selection = Selection.from_args(Q, args)
    assert selection.apply(frame())["response_id"].tolist() == [1]
    assert Selection.from_args(Q, MultiDict([("tier", "A"), ("tier", "C")])).apply(frame())[
        "response_id"
    ].tolist() == [1, 3, 4]
    january = Selection.from_args(Q, {"from": "2026-01-01", "to": "2026-01-31"})
    assert january.apply(frame())["response_id"].tolist() == [1, 2]
    assert january.since == date(2026, 1, 1) and "from=2026-01-01" in january.key


def test_the_cli_form_gives_the_same_selection():
    a = Selection.from_cli(Q, ["tier=A", "tier=B", "region=north"], until="2026-01-31")
    b = Selection.from_args(
        Q, MultiDict([("tier", "B"), ("region", "north"), ("tier", "A"), ("to", "2026-01-31")])
    )
    assert a == b and a.key == b.key


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"colour": "red"}, "unknown parameter(s): colour"),
        ({"tier": "Z"}, "tier='Z': not one of the choices (A, B, C)"),
        ({"from": "yesterday"}, "from='yesterday': not a date"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "'to' is before 'from'"),
        ({"version": "two"}, "version='two': not a version number"),
    ],
)
def test_bad_filters_say_what_is_wrong(args, words):
    with pytest.raises(SelectionError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Selection.from_args(Q, args)
    with pytest.raises(SelectionError, match="write it as SEGMENT=CHOICE"):
        Selection.from_cli(Q, ["tier"])


def test_categorical_and_text_columns_select_the_same_rows():
    """Reports' frames hold segments as categoricals (selected by their codes), exports'
    as text: both give the same rows, unanswered ones and choices absent from the
    column's categories included."""
    plain = frame().astype({"tier": object, "region": object})
    for args, expected in (
        ([("tier", "A")], [1, 4]),
        ([("tier", "C")], [3]),
        ([("tier", "B"), ("tier", "C")], [2, 3]),
        ([("region", "north")], [1, 3]),  # (row 4 has no region)
        ([("region", "east"), ("tier", "B")], [2]),
    ):
        selection = Selection.from_args(Q, MultiDict(args))
        assert selection.apply(frame())["response_id"].tolist() == expected, args
        assert selection.apply(plain)["response_id"].tolist() == expected, args
    narrow = frame().assign(tier=pd.Categorical(["A", "B", "B", "A"], categories=["A", "B"]))
    only_c = Selection.from_args(Q, MultiDict([("tier", "C")]))
    assert only_c.apply(narrow).empty  # (C is a choice, not one of this column's categories)
