"""Activity rasters: the events of every layer over time, input events above them.

Units are on the y axis, steps on the x axis, the event value is the colour and a
white pixel means "no event". Layers are stacked with a shared time axis; the
bottom panel shows the fraction of units that emitted an event per step.

Decimation (so that 1000+ units x 1000+ steps stay readable and fast): the
(steps x units) event image of each panel is cut into blocks of ``bt`` steps x
``bu`` units, with ``bt = ceil(T / max_time_bins)`` and ``bu = ceil(n /
max_unit_bins)``, and each block becomes ONE pixel holding the value of largest
magnitude in the block (signed max-|value| pooling, :func:`bin_events`). A block
is empty only if none of its ``bt * bu`` entries is an event, so no event
vanishes; what is lost is how many events a block held (use ``reduce="rate"`` to
colour blocks by the fraction of entries that are events instead). The image is
built in one compiled pass over the recording (Numba), so the extra memory is the
output image only, whatever T is. The activity trace is computed at
the same time resolution (mean over each block of steps). When ``bt`` or ``bu``
exceeds 1 the figure says so in its panels.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.ticker import MaxNLocator
from numba import njit

from ..errors import EventsimError
from . import style as st

REDUCTIONS = ("maxabs", "rate")


@njit(cache=True)
def _bin_kernel(a, bt, bu, image, cnt):  # pragma: no cover - compiled
    """One pass over a (T, n) array: per block the entry of largest |value| (first one on
    ties, in step-then-unit order) into ``image`` and the number of nonzero entries into ``cnt``."""
    T, n = a.shape
    for t in range(T):
        i = t // bt
        for j in range(n):
            v = a[t, j]
            if v != 0:
                b = j // bu
                cnt[b, i] += 1
                if abs(v) > abs(image[b, i]):
                    image[b, i] = v


def bin_events(a, max_time_bins: int = 1200, max_unit_bins: int = 400, reduce: str = "maxabs"):
    """Decimate a (T, n) event array into at most max_time_bins x max_unit_bins pixels.

    Returns ``(image, active, bt, bu)``: ``image`` (n_unit_bins, n_time_bins) float32
    (row = unit block, column = step block); ``active`` (n_time_bins,) the fraction
    of entries of each step block that are events (nonzero); ``bt``, ``bu`` the block
    sizes. ``reduce="maxabs"``: each pixel is the entry of largest magnitude in its
    block (sign kept; 0 = no event in the block). ``reduce="rate"``: each pixel is
    the fraction of the block's entries that are nonzero. One compiled pass over
    the array; no temporary larger than the output image (float arrays are read
    in place, other dtypes are converted to float32 first).
    """
    if reduce not in REDUCTIONS:
        raise EventsimError(f"unknown raster reduction {reduce!r}; use one of {', '.join(REDUCTIONS)}")
    a = np.asarray(a)
    if a.ndim != 2:
        raise EventsimError(f"raster panel must be a (steps, units) array, got shape {a.shape}")
    if max_time_bins < 1 or max_unit_bins < 1:
        raise EventsimError("max_time_bins and max_unit_bins must be at least 1")
    T, n = a.shape
    if T == 0 or n == 0:
        raise EventsimError(f"raster panel is empty (shape {a.shape}); record at least one step and one unit")
    if a.dtype not in (np.float32, np.float64):
        a = a.astype(np.float32)
    bt = max(1, math.ceil(T / max_time_bins))
    bu = max(1, math.ceil(n / max_unit_bins))
    nbt, nbu = math.ceil(T / bt), math.ceil(n / bu)
    image = np.zeros((nbu, nbt), dtype=a.dtype)
    cnt = np.zeros((nbu, nbt), dtype=np.int64)
    _bin_kernel(a, bt, bu, image, cnt)
    steps_in_block = np.minimum(bt, T - np.arange(nbt) * bt).astype(np.float64)
    units_in_block = np.minimum(bu, n - np.arange(nbu) * bu).astype(np.float64)
    active = cnt.sum(axis=0) / (steps_in_block * n)
    if reduce == "rate":
        image = cnt / (units_in_block[:, None] * steps_in_block[None, :])
    return image.astype(np.float32), active, bt, bu


def _panel(a, sample, samples):
    """Select samples of a (T, n) or (B, T, n) array and concatenate them along time."""
    a = np.asarray(a) if not isinstance(a, np.ndarray) else a
    if a.ndim == 2:
        return a
    if a.ndim != 3:
        raise EventsimError(f"raster arrays must be (steps, units) or (samples, steps, units), got shape {a.shape}")
    idx = list(samples) if samples is not None else [sample]
    for s in idx:
        if not -a.shape[0] <= s < a.shape[0]:
            raise EventsimError(f"sample {s} does not exist: the recording holds {a.shape[0]} samples "
                                f"(indices 0..{a.shape[0] - 1})")
    if len(idx) == 1:
        return a[idx[0]]
    return np.concatenate([a[s] for s in idx], axis=0)


def raster_figure(layers: Sequence, inputs=None, *, sample: int = 0, samples: Sequence[int] | None = None,
                  t_range: tuple | None = None, layer_names: Sequence[str] | None = None,
                  max_time_bins: int = 1200, max_unit_bins: int = 400, reduce: str = "maxabs",
                  title: str | None = None, width: float = 10.0):
    """Figure of the events of every layer (and the input) over time.

    layers: one array per layer, (T, n) or (B, T, n) (e.g. ``SimResult.y``);
    inputs: optional (T, m) or (B, T, m) input values (nonzero = input event);
    sample / samples: which sample(s) of 3-D arrays; several samples are drawn one
    after the other along the time axis, separated by dashed lines;
    t_range: (start, stop) steps to show (of each sample); reduce, max_*_bins: see
    :func:`bin_events`. Returns a :class:`matplotlib.figure.Figure`.
    """
    if layers is None or len(layers) == 0:
        raise EventsimError("nothing to plot: the raster needs at least one layer's events "
                            "(simulate with record=('y',))")
    if samples is not None and len(samples) == 0:
        raise EventsimError("samples is empty; give at least one sample index")
    nsamp = len(samples) if samples is not None else 1
    panels = _raster_panels(layers, inputs, sample, samples, layer_names)
    panels, lo = _crop_steps(panels, t_range, nsamp)
    Tshow = panels[-1][1].shape[0]

    binned = [(nm, *bin_events(p, max_time_bins, max_unit_bins, reduce)) for nm, p in panels]
    has_in = inputs is not None
    x0 = lo - 0.5 if nsamp == 1 else -0.5

    with st.style():
        rows = [max(1, b[1].shape[0]) for b in binned]
        heights = [float(np.clip(r / 60.0, 0.7, 3.0)) for r in rows] + [0.9]
        fig = st.new_figure(width, min(14.0, sum(heights) + 1.1))
        gs = fig.add_gridspec(len(heights), 2, height_ratios=heights, width_ratios=[1, 0.018],
                              hspace=0.12, wspace=0.02)
        axes, images, unit_blocks, time_block = _draw_event_panels(fig, gs, panels, binned, has_in, reduce, x0)
        axa = _draw_activity(fig, gs, binned, has_in, x0, axes[0])
        if nsamp > 1:
            xlabel = f"time step (samples {', '.join(str(s) for s in samples)} one after the other)"
            for ax in axes + [axa]:
                for s in range(1, nsamp):
                    ax.axvline(s * (Tshow // nsamp) - 0.5, color="k", ls="--", lw=0.7)
        else:
            xlabel = "time step"
        if time_block > 1 or unit_blocks:
            how = "largest |value|" if reduce == "maxabs" else "fraction of entries with an event"
            xlabel += (f"\ndecimated: 1 pixel = {time_block} step(s)"
                       + (f" x ({'; '.join(unit_blocks)})" if unit_blocks else "") + f", pixel = {how} in the block")
        axa.set_xlabel(xlabel)
        axes[0].set_xlim(x0, x0 + Tshow)
        _colorbars(fig, gs, images, has_in, len(binned), reduce)
        if title is None:
            title = "Event raster" + (f" (sample {sample})" if nsamp == 1 else "")
        axes[0].set_title(title)
    return fig


def _raster_panels(layers, inputs, sample, samples, layer_names) -> list:
    """[(name, (T, n) array)]: the input (if any), then every layer, of the chosen sample(s)."""
    panels = []
    if inputs is not None:
        panels.append(("input", _panel(inputs, sample, samples)))
    for k, y in enumerate(layers):
        name = layer_names[k] if layer_names is not None else f"layer {k}"
        panels.append((name, _panel(y, sample, samples)))
    T = panels[-1][1].shape[0]
    for name, p in panels:
        if p.shape[0] != T:
            raise EventsimError(f"raster panels disagree on the number of steps: {name} has {p.shape[0]}, "
                                f"{panels[-1][0]} has {T}")
    return panels


def _crop_steps(panels: list, t_range, nsamp: int) -> tuple:
    """(panels cut to the steps ``t_range`` of each sample, first step shown)."""
    T1 = panels[-1][1].shape[0] // nsamp  # steps per sample
    lo, hi = 0, T1
    if t_range is not None:
        lo, hi = int(t_range[0]), int(t_range[1])
        if not (0 <= lo < hi <= T1):
            raise EventsimError(f"t_range {t_range} is outside the recording: choose 0 <= start < stop <= {T1}")
        if nsamp > 1:
            panels = [(nm, np.concatenate([p[s * T1 + lo:s * T1 + hi] for s in range(nsamp)], axis=0))
                      for nm, p in panels]
        else:
            panels = [(nm, p[lo:hi]) for nm, p in panels]
    return panels, lo


def _panel_colors(img, is_input: bool, reduce: str, signed_layers: bool, vmax: float) -> tuple:
    """(colour map name, vmin, vmax) of one panel: one shared scale for the layers, the
    input's own."""
    if reduce == "rate":
        return ("Greys" if is_input else "magma_r"), 0.0, 1.0
    if is_input:
        m = float(np.abs(img).max()) or 1.0
        signed = float(img.min()) < 0
        return (st.INPUT_CMAP, -m, m) if signed else ("Greys", 0.0, m)
    cmap_name = st.INPUT_CMAP if signed_layers else st.EVENT_CMAP
    return cmap_name, (-vmax if signed_layers else 0.0), vmax


def _draw_event_panels(fig, gs, panels, binned, has_in: bool, reduce: str, x0: float) -> tuple:
    """One image per panel, stacked; returns (axes, {"layer": image, "input": image},
    decimation notes of the unit axis, steps per pixel)."""
    layer_imgs = [b[1] for i, b in enumerate(binned) if not (has_in and i == 0)]
    vmax = max(float(np.abs(img).max()) for img in layer_imgs) or 1.0
    signed_layers = any(float(img.min()) < 0 for img in layer_imgs)
    axes, images, unit_blocks, time_block = [], {"layer": None, "input": None}, [], 1
    for i, (nm, img, active, bt, bu) in enumerate(binned):
        ax = fig.add_subplot(gs[i, 0], sharex=axes[0] if axes else None)
        axes.append(ax)
        nbu, nbt = img.shape
        n_units = panels[i][1].shape[1]
        is_input = has_in and i == 0
        cmap_name, vmin_, vmax_ = _panel_colors(img, is_input, reduce, signed_layers, vmax)
        cmap = matplotlib.colormaps[cmap_name].with_extremes(bad=st.EMPTY_COLOR)
        images["input" if is_input else "layer"] = ax.imshow(
            np.ma.masked_equal(img, 0), aspect="auto", origin="lower", cmap=cmap, vmin=vmin_, vmax=vmax_,
            interpolation="nearest", extent=(x0, x0 + nbt * bt, -0.5, nbu * bu - 0.5))
        ax.set_ylim(-0.5, n_units - 0.5)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True, min_n_ticks=1))
        for sp in ("top", "right"):
            ax.spines[sp].set_visible(True)
        sparsity = 1.0 - float(np.count_nonzero(panels[i][1])) / panels[i][1].size
        # the panel's facts go in its y label (outside the data, so they hide no event)
        what = ("channel" if is_input else "unit") + ("" if n_units == 1 else "s")
        ax.set_ylabel(f"{'input' if is_input else nm}\n{n_units} {what}\n"
                      f"{100 * sparsity:.1f}% {'zero' if is_input else 'sparse'}", fontsize=8)
        if bu > 1:
            unit_blocks.append(f"{'input' if is_input else nm}: {bu} {'channels' if is_input else 'units'}")
        time_block = bt
        if not np.any(img):
            ax.text(0.5, 0.5, "no events", transform=ax.transAxes, ha="center", va="center",
                    color="#888888")
        ax.tick_params(labelbottom=False)
    return axes, images, unit_blocks, time_block


def _draw_activity(fig, gs, binned, has_in: bool, x0: float, share):
    """The bottom trace: the fraction of active units of each layer per (binned) step."""
    axa = fig.add_subplot(gs[len(binned), 0], sharex=share)
    for i, (nm, img, active, bt, bu) in enumerate(binned):
        if has_in and i == 0:
            continue
        k = i - 1 if has_in else i
        xs = x0 + (np.arange(active.size) + 0.5) * bt
        axa.plot(xs, 100 * active, color=st.layer_color(k), lw=0.9, label=nm, drawstyle="steps-mid")
    axa.set_ylabel("active\nunits (%)")
    axa.set_ylim(bottom=0)
    axa.grid(True, axis="y")
    axa.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), borderaxespad=0.0)
    return axa


def _colorbars(fig, gs, images: dict, has_in: bool, n_panels: int, reduce: str) -> None:
    if images["layer"] is not None:
        cax = fig.add_subplot(gs[1 if has_in else 0:n_panels, 1])
        fig.colorbar(images["layer"], cax=cax, label="event value y" if reduce == "maxabs" else "events per entry")
    if images["input"] is not None:
        cax = fig.add_subplot(gs[0, 1])
        fig.colorbar(images["input"], cax=cax, label="input" if reduce == "maxabs" else "rate")


def raster_from_npz(path):
    """Read a study's ``raster.npz`` (``input`` (S, T, m), ``layer{k}.y`` (S, T, n)).

    Returns ``(layers, inputs)``: the list of layer arrays in layer order and the
    input array (or None when absent).
    """
    import os

    if not os.path.isfile(path):
        raise EventsimError(f"raster file {path!r} does not exist")
    try:
        data = np.load(path, allow_pickle=False)
    except Exception as e:  # corrupted / not an npz
        raise EventsimError(f"cannot read raster file {path!r} as .npz: {e}") from None
    with data:
        keys = set(data.files)
        layers = []
        k = 0
        while f"layer{k}.y" in keys:
            layers.append(data[f"layer{k}.y"])
            k += 1
        inputs = data["input"] if "input" in keys else None
        for k, y in enumerate(layers):
            if y.ndim != 3 or y.shape[:2] != layers[0].shape[:2]:
                raise EventsimError(f"raster file {path!r}: 'layer{k}.y' has shape {y.shape}; every layer must be "
                                    f"(samples, steps, units) with the same samples and steps as layer 0 "
                                    f"{layers[0].shape[:2]}")
        if not layers:
            raise EventsimError(f"raster file {path!r} holds no 'layer0.y' array (keys: {sorted(keys)}); "
                                "it should hold 'input' (S, T, m) and 'layer{k}.y' (S, T, n)")
    return layers, inputs
