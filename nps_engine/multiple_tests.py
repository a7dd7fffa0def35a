"""Holm's step-down adjustment of p-values tested together (Holm 1979).

One report tests several segments against the rest, and each month against the previous one; at a
5% level each, some "significant" result turns up by chance alone. Holm's method keeps the chance
of any false alarm in a family under 5% and never reports less than Bonferroni would find:
sort the m p-values ascending, multiply the i-th (from 0) by ``m - i``, carry the running maximum
forward so the order is kept, and cap at 1. Pure; ``tests/unit`` checks it against statsmodels.
"""

from __future__ import annotations

from collections.abc import Sequence


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Adjusted p-values in the order given; None (no test) stays None and does not count."""
    tested = sorted(
        ((p, index) for index, p in enumerate(p_values) if p is not None),
        key=lambda pair: pair[0],
    )
    adjusted: list[float | None] = [None] * len(p_values)
    m, running = len(tested), 0.0
    for rank, (p_value, index) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p_value))
        adjusted[index] = running
    return adjusted
