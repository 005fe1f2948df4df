"""The N-MNIST-style event generator: a hand-worked case, and stream/dense consistency."""
import math

import numpy as np
import pytest

from eventsim.data import load_dataset
from eventsim.data.nmnist import dvs_counts, saccade_offsets
from eventsim.errors import EventsimError
from eventsim.inputs import EventStream

pytest.importorskip("mlxtend")


def test_saccade_path_is_the_triangle():
    offs = saccade_offsets(6, 6)        # two moves per saccade
    expect = [(0, 6), (1.5, 3), (3, 0), (4.5, 3), (6, 6), (3, 6), (0, 6)]
    np.testing.assert_allclose(offs, expect)


def test_single_bright_pixel_by_hand():
    # A 1x1 white digit on a 3x3 sensor (shift 2), one frame per step: it sits at
    # (x, y) = (0, 2), then jumps to (1, 0), (2, 2) and back to (0, 2).
    # Log intensities: white log(1.1), black log(0.1): a change of 2.398, i.e.
    # floor(2.398 / 0.2) = 11 events, after which the pixel's reference sits 11 * 0.2 = 2.2
    # from where it started. Channel = polarity * 9 + y * 3 + x.
    x = dvs_counts(np.ones((1, 1, 1)), shift=2, steps_per_saccade=1, substeps=1,
                   threshold=0.2, log_eps=0.1)
    assert math.floor((math.log(1.1) - math.log(0.1)) / 0.2) == 11
    expect = np.zeros((1, 3, 18), np.float32)
    expect[0, 0, 0 * 9 + 0 * 3 + 1] = 11     # step 0: ON where it arrives (1, 0)
    expect[0, 0, 1 * 9 + 2 * 3 + 0] = 11     # OFF where it left (0, 2)
    expect[0, 1, 1 * 9 + 0 * 3 + 1] = 11     # step 1: (1, 0) goes dark: back down 2.2 = 11 events
    expect[0, 1, 0 * 9 + 2 * 3 + 2] = 11     # ON at (2, 2); (0, 2) only drifts 0.198 < 0.2: silent
    expect[0, 2, 0 * 9 + 2 * 3 + 0] = 11     # step 2: back at (0, 2): up 2.2 = 11 ON
    expect[0, 2, 1 * 9 + 2 * 3 + 2] = 11     # OFF at (2, 2)
    np.testing.assert_array_equal(x, expect)


def test_half_pixel_move_splits_intensity():
    # shift 1, two frames per saccade: the first move puts the pixel at x = 0.25, y = 0.5:
    # bilinear weights 0.375 / 0.125 / 0.375 / 0.125 ... check against a direct computation
    x = dvs_counts(np.ones((1, 1, 1)), shift=1, steps_per_saccade=2, substeps=1,
                   threshold=0.05, log_eps=0.1)
    wx, wy = 0.25, 0.5                     # offset after the first move: (0, 1) -> (0.25, 0.5)
    weights = {(0, 0): (1 - wx) * (1 - wy), (1, 0): wx * (1 - wy), (0, 1): (1 - wx) * wy,
               (1, 1): wx * wy}            # (x, y) -> intensity
    L0 = {(0, 1): math.log(1.1)}           # before: the pixel at (x, y) = (0, 1)
    for (px, py) in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        before = L0.get((px, py), math.log(0.1))
        after = math.log(0.1 + weights[(px, py)])
        n = math.floor(abs(after - before) / 0.05 + 1e-9)
        ch = (0 if after > before else 1) * 4 + py * 2 + px
        assert x[0, 0, ch] == n, (px, py)


@pytest.fixture(scope="module")
def nm():
    return load_dataset("nmnist5k", limit=12)


def test_stream_and_dense_agree(nm):
    assert (nm.input_kind, nm.n_in, nm.n_classes, nm.metric) == ("events", 578, 10, "accuracy")
    for s in (nm.train, nm.valid, nm.test):
        assert s.x.shape == (12, 30, 578) and s.x.dtype == np.float32 and s.y.dtype == np.int64
        ev = s.events
        assert isinstance(ev, EventStream)
        assert (ev.n_samples, ev.n_steps, ev.n_channels) == (12, 30, 578)
        assert np.all(ev.value == 1.0)
        key = ev.sample * 30 + ev.t
        assert np.all(np.diff(key) >= 0)                      # sorted by (sample, t)
        np.testing.assert_array_equal(ev.to_dense(), s.x)
        assert len(ev) == int(s.x.sum())
        assert 0.0 < np.mean(s.x != 0) < 0.5                  # sparse but not empty


def test_limit_is_a_prefix_and_deterministic(nm):
    small = load_dataset("nmnist5k", limit=4)
    np.testing.assert_array_equal(small.test.x, nm.test.x[:4])
    np.testing.assert_array_equal(small.train.y, nm.train.y[:4])
    # the same digits as smnist5k's split, same labels
    sm = load_dataset("smnist5k", limit=12)
    np.testing.assert_array_equal(sm.train.y, nm.train.y)


def test_noise_adds_one_event_per_step_and_channel_at_rate_one(nm):
    noisy = load_dataset("nmnist5k", limit=2, noise=1.0)
    np.testing.assert_array_equal(noisy.valid.x - nm.valid.x[:2], 1.0)


def test_full_resolution_and_options():
    ds = load_dataset("nmnist5k", limit=1, downsample=1, steps_per_saccade=2)
    assert ds.n_in == 2 * 34 * 34 and ds.train.x.shape == (1, 6, 2312)   # N-MNIST's 34x34 sensor
    with pytest.raises(EventsimError, match="option threshold=0 is invalid: it must be > 0.0"):
        load_dataset("nmnist5k", threshold=0)
    with pytest.raises(EventsimError, match="option downsample=7 is invalid: allowed values: 1"):
        load_dataset("nmnist5k", downsample=7)
    with pytest.raises(EventsimError, match="option noise=2 is invalid: it must be <= 1.0"):
        load_dataset("nmnist5k", noise=2)


def test_take_slices_events_with_the_samples(nm):
    part = nm.test.take(5)
    assert len(part) == 5 and part.events.n_samples == 5
    np.testing.assert_array_equal(part.events.to_dense(), nm.test.x[:5])
    np.testing.assert_array_equal(part.y, nm.test.y[:5])
    assert nm.test.take(100) is nm.test
