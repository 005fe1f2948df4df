"""Sampling-error figures of a study (eventsim.stats), against published and hand-worked values."""
import numpy as np
import pytest

import math

from eventsim.stats import (betainc, mcnemar_exact, mean_interval, paired_comparison, paired_t,
                            ratio_interval, t_quantile, t_sf, wilson_interval)


@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=6e-5) and hi == pytest.approx(high, abs=6e-5)


def test_wilson_interval_is_symmetric_and_contains_the_proportion():
    lo, hi = wilson_interval(344, 360)
    lo2, hi2 = wilson_interval(16, 360)
    assert lo < 344 / 360 < hi
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2)
    assert wilson_interval(360, 360)[1] == 1.0


@pytest.mark.parametrize("b, c, p", [
    (0, 5, 2 * 0.5 ** 5),              # all five discordant samples favour one model
    (1, 9, 2 * (1 + 10) / 2 ** 10),    # P(X <= 1), X ~ Bin(10, 1/2), doubled
    (3, 3, 1.0),                       # balanced: capped at 1
    (0, 0, 1.0),                       # no discordant sample: no evidence either way
    (7, 2, 2 * (1 + 9 + 36) / 2 ** 9),
])
def test_mcnemar_exact_hand_worked(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)
    assert mcnemar_exact(c, b) == mcnemar_exact(b, c)


def test_paired_comparison_counts_the_discordant_samples():
    a = np.array([1, 1, 0, 1, 0, 1], bool)
    b = np.array([1, 0, 0, 0, 1, 1], bool)
    r = paired_comparison(a, b)
    assert r == {"only_first": 2, "only_second": 1, "p_value": 1.0}


@pytest.mark.parametrize("call, match", [
    (lambda: wilson_interval(5, 0), "n >= 1"),
    (lambda: wilson_interval(6, 5), "0 <= k <= n"),
    (lambda: mcnemar_exact(-1, 2), "b, c >= 0"),
    (lambda: paired_comparison([True], [True, False]), "1 and 2 samples"),
    (lambda: mean_interval([1.0]), "at least 2"),
    (lambda: paired_t([1.0, 2.0], [1.0, float("nan")]), "NaN"),
    (lambda: paired_t([1.0, 2.0, 3.0], [1.0, 2.0]), "3 and 2 sequences"),
    (lambda: ratio_interval([1.0, 2.0], [1.0, -1.0]), "second mean is 0"),
    (lambda: t_quantile(1.0, 5), "0 < q < 1"),
    (lambda: t_sf(1.0, 0), "df > 0"),
    (lambda: betainc(1.0, 1.0, 1.5), "0 <= x <= 1"),
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("df, q975, q995", [
    # Student's t critical values as printed in the standard tables (e.g. Fisher & Yates;
    # NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2), 3 decimals
    (1, 12.706, 63.657), (2, 4.303, 9.925), (5, 2.571, 4.032), (10, 2.228, 3.169),
    (30, 2.042, 2.750), (120, 1.980, 2.617),
])
def test_t_quantile_matches_the_printed_tables(df, q975, q995):
    assert t_quantile(0.975, df) == pytest.approx(q975, abs=6e-4)
    assert t_quantile(0.995, df) == pytest.approx(q995, abs=6e-4)
    assert t_quantile(0.025, df) == -t_quantile(0.975, df)


@pytest.mark.parametrize("t", [0.0, 0.3, 1.0, 2.5, 12.0, -1.7])
def test_t_sf_matches_the_closed_forms_of_one_and_two_degrees_of_freedom(t):
    # df = 1 is the Cauchy distribution; df = 2 has P(T > t) = (1 - t / sqrt(t^2 + 2)) / 2
    assert t_sf(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, abs=1e-13)
    assert t_sf(t, 2) == pytest.approx(0.5 * (1 - t / math.sqrt(t * t + 2)), abs=1e-13)
    # large df: the standard normal, P(Z > t) = erfc(t / sqrt 2) / 2
    assert t_sf(t, 1e7) == pytest.approx(0.5 * math.erfc(t / math.sqrt(2)), abs=1e-6)


@pytest.mark.parametrize("a, b, x", [(1.0, 1.0, 0.3), (2.5, 1.0, 0.6), (1.0, 3.5, 0.2), (4.0, 1.0, 0.95)])
def test_betainc_closed_forms(a, b, x):
    # I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b
    want = x ** a if b == 1.0 else 1 - (1 - x) ** b
    assert betainc(a, b, x) == pytest.approx(want, abs=1e-14)


def test_paired_t_hand_worked():
    """Differences (1, 2, 3): mean 2, sd 1, se 1/sqrt 3, t = 2 sqrt 3 on 2 degrees of
    freedom, so p = 1 - t / sqrt(t^2 + 2) = 1 - sqrt(12/14); the interval is
    2 -+ 4.302653 / sqrt 3 (t_0.975,2 = 4.302653, the table's 4.303)."""
    r = paired_t([11.0, 12.0, 13.0], [10.0, 10.0, 10.0])
    assert r["n"] == 3 and r["mean_difference"] == 2.0
    assert r["p_value"] == pytest.approx(1 - math.sqrt(12 / 14), rel=1e-12)
    assert r["ci"] == pytest.approx([2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)], abs=1e-6)
    lo, hi = mean_interval([1.0, 2.0, 3.0])
    assert (lo, hi) == pytest.approx((2 - 4.302653 / math.sqrt(3), 2 + 4.302653 / math.sqrt(3)), abs=1e-6)
    # no spread: a sure difference, or none
    assert paired_t([2.0, 3.0], [1.0, 2.0])["p_value"] == 0.0
    assert paired_t([2.0, 3.0], [2.0, 3.0])["p_value"] == 1.0


def test_ratio_interval_hand_worked():
    """a = (2, 4, 7), b = (1, 2, 3): r = 13/6; the residuals a - r b are (-1/6, -1/3, 1/2),
    variance 7/36, so the half-width is 4.302653 * (sqrt 7 / 6) / (sqrt 3 * 2)."""
    r, lo, hi = ratio_interval([2.0, 4.0, 7.0], [1.0, 2.0, 3.0])
    half = 4.302653 * (math.sqrt(7) / 6) / (math.sqrt(3) * 2)
    assert r == pytest.approx(13 / 6, rel=1e-14)
    assert (lo, hi) == pytest.approx((13 / 6 - half, 13 / 6 + half), abs=1e-6)
    assert ratio_interval([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx((2.0, 2.0, 2.0))


def test_t_interval_covers_the_mean_at_its_level():
    """Of 2000 intervals over 10 normal draws, about 95% hold the true mean (binomial
    sd of the rate: 0.5%; 93%-97% is 4 sd either side, and the seed is fixed)."""
    rng = np.random.default_rng(1)
    hits = sum(lo <= 3.0 <= hi for lo, hi in (mean_interval(rng.normal(3.0, 2.0, 10)) for _ in range(2000)))
    assert 0.93 <= hits / 2000 <= 0.97
