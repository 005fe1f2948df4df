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

A language model's metric is a mean over the test sequences (each sequence is cut from the
corpus and run from a zero state; all have the same length), so its sampling error is that
of a mean over n sequences, the method of batch means of simulation output analysis:

- :func:`mean_interval`: Student's t interval of a mean;
- :func:`paired_t`: the paired t-test and interval of the mean difference of two models
  scored on the same sequences;
- :func:`ratio_interval`: the interval of a ratio of two paired means (the linearised,
  or delta-method, ratio estimator);
- :func:`t_sf` and :func:`t_quantile`: Student's t distribution, from the regularised
  incomplete beta function (continued fraction, modified Lentz method).

Neighbouring sequences of a text are not quite independent (a scene, a topic), so these
intervals are a little narrow when the sequences are short; they are what a claim on a
metric difference should at least survive.
"""
from __future__ import annotations

import math

import numpy as np

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


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz method)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                   -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            return h
    raise ArithmeticError("the incomplete beta continued fraction did not converge")


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1."""
    if not (a > 0 and b > 0 and 0.0 <= x <= 1.0):
        raise ValueError(f"need a, b > 0 and 0 <= x <= 1; got a={a!r}, b={b!r}, x={x!r}")
    if x == 0.0 or x == 1.0:
        return x
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    if not df > 0:
        raise ValueError(f"need df > 0; got {df!r}")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (0 < q < 1), by
    bisection on :func:`t_sf` to double precision."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"need 0 < q < 1; got {q!r}")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    if q == 0.5:
        return 0.0
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > 1.0 - q:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if t_sf(mid, df) > 1.0 - q:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _values(v, what: str) -> np.ndarray:
    a = np.asarray(v, np.float64).ravel()
    if a.size < 2 or not np.isfinite(a).all():
        raise ValueError(f"{what}: need at least 2 finite values; got {a.size}"
                         + ("" if np.isfinite(a).all() else " with NaN or infinity"))
    return a


def mean_interval(values, level: float = 0.95) -> tuple:
    """Student's t interval ``(low, high)`` of the mean of ``values`` (at least 2)."""
    a = _values(values, "mean_interval")
    half = t_quantile(0.5 + level / 2.0, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    m = float(a.mean())
    return m - half, m + half


def paired_t(first, second, level: float = 0.95) -> dict:
    """The paired t-test of two models' per-sequence scores on the same sequences:
    ``n``, ``mean_difference`` (first − second), its interval ``ci`` and the two-sided
    ``p_value`` of "no difference in the mean"."""
    a, b = _values(first, "paired_t"), _values(second, "paired_t")
    if a.size != b.size:
        raise ValueError(f"the two models were scored on {a.size} and {b.size} sequences")
    d = a - b
    n, m, sd = d.size, float(d.mean()), float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    if se == 0.0:
        p = 1.0 if m == 0.0 else 0.0
    else:
        p = min(1.0, 2.0 * t_sf(abs(m) / se, n - 1))
    half = t_quantile(0.5 + level / 2.0, n - 1) * se
    return {"n": n, "mean_difference": m, "ci": [m - half, m + half], "p_value": p}


def ratio_interval(first, second, level: float = 0.95) -> tuple:
    """``(ratio, low, high)``: mean(first) / mean(second) of paired per-sequence scores and
    its interval by linearisation: r ± t · sd(first − r · second) / (√n · |mean(second)|)."""
    a, b = _values(first, "ratio_interval"), _values(second, "ratio_interval")
    if a.size != b.size:
        raise ValueError(f"the two models were scored on {a.size} and {b.size} sequences")
    mb = float(b.mean())
    if mb == 0.0:
        raise ValueError("ratio_interval: the second mean is 0")
    r = float(a.mean()) / mb
    half = (t_quantile(0.5 + level / 2.0, a.size - 1) * float((a - r * b).std(ddof=1))
            / (math.sqrt(a.size) * abs(mb)))
    return r, r - half, r + half
