"""How sure a study's accuracy figures are: the test split is finite.

A study's test split is often small (the default digits study: 360 images, one image =
0.28 points), so an accuracy and a gap between two models carry sampling error that a
claim must be read against. Two closed forms, both standard:

- :func:`wilson_interval`: the Wilson score interval of a proportion k/n (Wilson 1927;
  Newcombe 1998, method 3), which keeps its coverage near k = 0 or k = n where the
  normal (Wald) interval fails;
- :func:`mcnemar_exact`: the exact two-sided McNemar test of two classifiers scored on
  the *same* samples: only the samples that exactly one of them classifies right count
  (b for the first model, c for the second); under "equally accurate" each of those is
  a fair coin, so ``p = min(1, 2 · P(X ≤ min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``.
"""
from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple:
    """The Wilson score interval ``(low, high)`` of the proportion ``k/n`` (95% by default)."""
    if not (isinstance(k, int) and isinstance(n, int)) or n < 1 or not 0 <= k <= n:
        raise ValueError(f"need integers 0 <= k <= n, n >= 1; got k={k!r}, n={n!r}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # at k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding would miss it
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``."""
    if not (isinstance(b, int) and isinstance(c, int)) or b < 0 or c < 0:
        raise ValueError(f"need counts b, c >= 0; got b={b!r}, c={c!r}")
    m = b + c
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(min(b, c) + 1)) / 2 ** m
    return min(1.0, 2.0 * tail)


def paired_comparison(correct_a, correct_b) -> dict:
    """McNemar's comparison of two models' per-sample correctness (equal-length bool arrays):
    ``only_first`` (b), ``only_second`` (c) and the exact two-sided ``p_value``."""
    a = [bool(v) for v in correct_a]
    bb = [bool(v) for v in correct_b]
    if len(a) != len(bb):
        raise ValueError(f"the two models were scored on {len(a)} and {len(bb)} samples")
    only_a = sum(x and not y for x, y in zip(a, bb))
    only_b = sum(y and not x for x, y in zip(a, bb))
    return {"only_first": only_a, "only_second": only_b, "p_value": mcnemar_exact(only_a, only_b)}
