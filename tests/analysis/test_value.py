"""ABC tiers and RFM scores on examples worked out by hand."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from analysis.value import TierError, abc_tiers, quintile_scores, rfm

REVENUE = pd.Series(
    {"c1": 500, "c2": 200, "c3": 120, "c4": 80, "c5": 50, "c6": 30, "c7": 20}, dtype=float
)


def test_abc_by_the_share_before_each_customer():
    # sorted by revenue; share of the customers above: 0, .50, .70, .82, .90, .95, .98
    shuffled = REVENUE.sample(frac=1, random_state=3)
    tiers = abc_tiers(shuffled)
    assert list(tiers.index) == list(shuffled.index)  # the input's order is kept
    assert tiers.to_dict() == {
        "c1": "A",
        "c2": "A",
        "c3": "A",
        "c4": "B",
        "c5": "B",
        "c6": "C",
        "c7": "C",
    }


def test_abc_thresholds_are_configurable_and_checked():
    # c2's share before is exactly .50: not under .5, so B; c5's .90 is not under .9: C
    assert "".join(abc_tiers(REVENUE, a=0.5, b=0.9)) == "ABBBCCC"
    assert "".join(abc_tiers(REVENUE, a=1.0, b=1.0)) == "AAAAAAA"
    with pytest.raises(TierError, match="0 < A"):
        abc_tiers(REVENUE, a=0.9, b=0.8)
    with pytest.raises(TierError, match="negative"):
        abc_tiers(pd.Series([1.0, -1.0]))


def test_abc_with_missing_or_no_revenue():
    tiers = abc_tiers(pd.Series({"a": None, "b": 10.0, "c": 0.0}))
    assert tiers.to_dict() == {"a": "C", "b": "A", "c": "C"}  # b holds all of it
    assert set(abc_tiers(pd.Series([0.0, 0.0]))) == {"C"}


def test_quintile_scores_share_ties():
    values = pd.Series([10, 20, 20, 30, 40, 50, 60, 70, 80, 90])
    # ranks (min) 1, 2, 2, 4, 5, ..., 10 -> 1 + floor(5 (rank - 1) / 10)
    assert quintile_scores(values).tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(values, higher_is_better=False).tolist() == [
        5,
        4,
        4,
        4,
        3,
        3,
        2,
        2,
        1,
        1,
    ]


def test_rfm_scores_segments_and_tiers():
    orders = pd.DataFrame(
        {
            "customer": ["a", "a", "b", "c", "c", "c", "d", "e"],
            "date": [
                date(2024, 1, 1),
                date(2024, 6, 1),
                date(2024, 5, 1),
                date(2024, 2, 1),
                date(2024, 3, 1),
                date(2024, 6, 20),
                date(2023, 1, 1),
                date(2024, 6, 25),
            ],
            "amount": [100, 100, 1000, 10, 10, 10, 50, 5],
        }
    )
    result = rfm(orders, pd.Index(list("abcdef")), date(2024, 7, 1))
    # recency 30, 61, 11, 547, 6 days; orders 2, 1, 3, 1, 1; totals 200, 1000, 30, 50, 5
    assert result.loc[list("abcde"), "recency_days"].tolist() == [30, 61, 11, 547, 6]
    assert result.loc[list("abcde"), "r"].tolist() == [3, 2, 4, 1, 5]
    assert result.loc[list("abcde"), "f"].tolist() == [4, 1, 5, 1, 1]
    assert result.loc[list("abcde"), "m"].tolist() == [4, 5, 2, 3, 1]
    assert result["segment"].tolist() == [
        "important_retain",  # R low, F high, M high
        "important_winback",  # R low, F low, M high
        "general_value",  # R high, F high, M low
        "general_winback",
        "general_develop",  # R high only
        "no_orders",
    ]
    assert "".join(result["tier"]) == "AABCCC"
