"""Sums of reported amount ranges, as Gold's aggregates and the API state them.

A PTR reports a range, not a figure. An open-ended one ("Over $50,000,000", "Spouse/DC Over
$1,000,000") has a floor and no ceiling: `amount_low` set, `amount_high` null. A sum of ranges
is a range too: its floor is the sum of the floors, and it has no ceiling when any of its ranges
has none, so `amount_high_sum` is null then (with `amount_low_sum` set), as `amount_high` is for
one trade. Both are null when no trade states an amount.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


def amount_sums(trades: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    low_sum = high_sum = 0.0
    stated = open_ended = False
    for t in trades:
        low, high = t["amount_low"], t["amount_high"]
        if low is None and high is None:
            continue
        stated = True
        low_sum += low if low is not None else high
        if high is None:
            open_ended = True
        else:
            high_sum += high
    if not stated:
        return {"amount_low_sum": None, "amount_high_sum": None}
    return {"amount_low_sum": low_sum, "amount_high_sum": None if open_ended else high_sum}


def ceiling(low: float | None, high: float | None) -> float:
    """How far a range (or a sum of ranges) reaches, for ranking: no ceiling ranks above any."""
    if high is not None:
        return high
    return math.inf if low is not None else 0.0
