"""Sampling-error figures of a study (eventsim.stats), against published and hand-worked values."""
import numpy as np
import pytest

from eventsim.stats import mcnemar_exact, paired_comparison, wilson_interval


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
])
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
