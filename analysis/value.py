"""Customer value: ABC tiers by revenue share, RFM scores and segments from orders.

Pure pandas: the service reads customers and orders from its database and stores what
these functions return.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from .data import AnalysisError

# The eight classes of the RFM customer-value model common in Chinese CRM practice
# (重要价值客户 ... 一般挽留客户): each of R, F and M is "high" or "low".
RFM_SEGMENTS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",
    (False, True, True): "important_retain",
    (True, False, True): "important_develop",
    (False, False, True): "important_winback",
    (True, True, False): "general_value",
    (False, True, False): "general_retain",
    (True, False, False): "general_develop",
    (False, False, False): "general_winback",
}
NO_ORDERS = "no_orders"
RFM_TIER = {
    "important_value": "A",
    "important_retain": "A",
    "important_develop": "A",
    "important_winback": "A",
    "general_value": "B",
    "general_retain": "B",
    "general_develop": "C",
    "general_winback": "C",
    NO_ORDERS: "C",
}
HIGH_SCORE = 4  # a quintile score of 4 or 5 (the top two fifths) counts as high


class TierError(AnalysisError):
    """Thresholds or values that cannot be used; the message says why."""


def abc_tiers(revenue: pd.Series, a: float = 0.8, b: float = 0.95) -> pd.Series:
    """ABC tiers by cumulative share of revenue.

    Parameters
    ----------
    revenue : Series
        Revenue per customer (index: customer); missing counts as 0.
    a, b : float
        The shares that close tiers A and B (0 < a <= b <= 1).

    Returns
    -------
    Series of "A", "B", "C" with the index of ``revenue``.

    Notes
    -----
    Customers are sorted by revenue, largest first (ties keep the order of the input).
    The share *before* a customer is the revenue of the customers ranked above it over
    the total. A customer is A while that share is under ``a``, B while it is under
    ``b``, C otherwise; so the largest customer is always A, and a customer that takes
    the cumulative share across ``a`` is still A. With no revenue at all every customer
    is C.
    """
    if not 0 < a <= b <= 1:
        raise TierError(f"the thresholds must satisfy 0 < A ({a}) <= B ({b}) <= 1")
    values = pd.to_numeric(revenue, errors="coerce").fillna(0.0).astype(float)
    if (values < 0).any():
        raise TierError("revenue cannot be negative")
    total = float(values.sum())
    if total <= 0:
        return pd.Series("C", index=revenue.index, dtype=object)
    order = values.sort_values(ascending=False, kind="stable")
    before = order.cumsum().shift(1, fill_value=0.0) / total
    tiers = np.where(before < a, "A", np.where(before < b, "B", "C"))
    return pd.Series(tiers, index=order.index, dtype=object).reindex(revenue.index)


def quintile_scores(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1-5 by quintile of rank: ``1 + floor(5 * (rank - 1) / n)`` with the lowest
    rank of ties, so that equal values share a score (5: the best fifth)."""
    n = len(values)
    if n == 0:
        return pd.Series(dtype="int64")
    ranks = values.rank(method="min", ascending=higher_is_better)
    return (1 + np.floor(5 * (ranks - 1) / n)).astype("int64")


def rfm(orders: pd.DataFrame, customers: pd.Index, today: date) -> pd.DataFrame:
    """RFM scores and segments.

    Parameters
    ----------
    orders : DataFrame
        Columns ``customer``, ``date`` (datetime.date) and ``amount``.
    customers : Index
        Every customer to score (those without orders get the segment ``no_orders``).
    today : date
        The day recency is counted to.

    Returns
    -------
    DataFrame indexed by customer with ``recency_days``, ``frequency``, ``monetary``,
    ``r``, ``f``, ``m`` (quintile scores 1-5, 5 best; missing without orders), ``segment``
    and ``tier``.

    Notes
    -----
    Recency is the number of days since the last order (fewer is better), frequency
    the number of orders, monetary value their total amount. Each is scored 1-5 by
    quintile among the customers with orders (ties share a score). A score of 4 or 5 is
    high; the eight classes of the model follow from high or low R, F and M, and the
    tier from the class: A for high monetary value (the four "important" classes), B
    for frequent customers of low value, C for the rest and for customers without
    orders.
    """
    result = pd.DataFrame(index=customers)
    if len(orders):
        grouped = orders.groupby("customer")
        last = grouped["date"].max()
        stats = pd.DataFrame(
            {
                "recency_days": [(today - d).days for d in last],
                "frequency": grouped.size().reindex(last.index),
                "monetary": grouped["amount"].sum().reindex(last.index),
            },
            index=last.index,
        )
        stats["r"] = quintile_scores(stats["recency_days"], higher_is_better=False)
        stats["f"] = quintile_scores(stats["frequency"])
        stats["m"] = quintile_scores(stats["monetary"])
        result = result.join(stats)
    else:
        for column in ("recency_days", "frequency", "monetary", "r", "f", "m"):
            result[column] = np.nan

    def segment(row) -> str:
        if pd.isna(row["r"]):
            return NO_ORDERS
        return RFM_SEGMENTS[
            (row["r"] >= HIGH_SCORE, row["f"] >= HIGH_SCORE, row["m"] >= HIGH_SCORE)
        ]

    result["segment"] = result.apply(segment, axis=1) if len(result) else []
    result["tier"] = result["segment"].map(RFM_TIER)
    return result
