"""Sparsity figures: per step, per training epoch, and per unit.

- :func:`sparsity_steps_figure`: activity sparsity of each layer at each step,
  from ``counts.per_step["events"]`` (T, L) (``simulate(..., record=("steps",))``);
  ``1 - events[t, l] / (n_l * samples)``. Long runs are averaged over blocks of
  steps (at most ``max_points`` points per line; the block is written on the axis).
- :func:`sparsity_epochs_figure`: activity sparsity and backward sparsity (SPEC §2)
  per epoch, side by side, from a study's ``history.json`` of one or more models.
- :func:`rate_histogram_figure`: histogram of per-unit event rates (events per
  step, over all recorded samples and steps) for each layer, with dead units
  (no event at all) and saturated units (an event at >= ``saturated`` of the
  steps) drawn in their own colours and counted in the panel.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator

from ..errors import EventsimError
from . import style as st


def _get(obj, key):
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def events_per_step(layers) -> tuple:
    """(T, L) events per step summed over samples, layer sizes and number of samples, of
    recorded layer outputs (B, T, n) each: the input of :func:`sparsity_steps_figure`."""
    ev = np.stack([np.count_nonzero(np.asarray(y), axis=(0, 2)) for y in layers], axis=1)
    return ev, [int(np.shape(y)[2]) for y in layers], int(np.shape(layers[0])[0])


def sparsity_steps_figure(events, units: Sequence[int], samples: int = 1, *, layer_names=None,
                          max_points: int = 1000, title: str | None = None):
    """Activity sparsity per layer over time steps.

    events: (T, L) event counts per step and layer, summed over ``samples`` samples
    (``counts.per_step["events"]``); units: n of each layer.
    """
    ev = np.asarray(events, dtype=np.float64)
    if ev.ndim == 1:
        ev = ev[:, None]
    if ev.ndim != 2 or ev.shape[0] == 0:
        raise EventsimError(f"per-step events must be a (steps, layers) array, got shape {np.shape(events)}; "
                            "simulate with record=('steps',)")
    T, L = ev.shape
    units = [int(u) for u in units]
    if len(units) != L:
        raise EventsimError(f"per-step events have {L} layer column(s) but {len(units)} layer size(s) were given")
    if samples < 1 or min(units) < 1:
        raise EventsimError("samples and layer sizes must be positive")
    cap = np.asarray(units, dtype=np.float64)[None, :] * samples
    if np.any(ev < 0) or np.any(ev > cap):
        raise EventsimError("per-step events are out of range (negative, or more than units x samples); "
                            "check that samples matches the run")
    b = max(1, math.ceil(T / max_points))
    nb = math.ceil(T / b)
    pad = nb * b - T
    evp = np.pad(ev, ((0, pad), (0, 0)))
    steps_per = np.minimum(b, T - np.arange(nb) * b)[:, None]
    ev_b = evp.reshape(nb, b, L).sum(axis=1)
    x = np.arange(nb) * b + (steps_per[:, 0] - 1) / 2.0
    with st.style():
        fig = st.new_figure(8.0, 3.4)
        ax = fig.add_subplot(1, 1, 1)
        for k in range(L):
            sp = 1.0 - ev_b[:, k] / (steps_per[:, 0] * cap[0, k])
            name = layer_names[k] if layer_names is not None else f"layer {k} ({units[k]} units)"
            ax.plot(x, 100 * sp, color=st.layer_color(k), lw=1.0, label=name)
        if L > 1:
            tot = 1.0 - ev_b.sum(axis=1) / (steps_per[:, 0] * cap.sum())
            ax.plot(x, 100 * tot, color="k", lw=1.2, ls="--", label="all layers")
        ax.set_xlabel("time step" + (f" (mean over blocks of {b} steps)" if b > 1 else ""))
        ax.set_ylabel("activity sparsity (%)")
        ax.set_xlim(-0.5, T - 0.5)
        lo = float(np.nanmin(100 * (1.0 - ev_b / (steps_per * cap))))
        ax.set_ylim(max(0.0, lo - 5), 100.5)
        ax.grid(True, axis="y")
        ax.legend(loc="lower right", ncol=min(3, L + 1))
        overall = 1.0 - ev.sum() / (T * cap.sum())
        st.note(ax, f"{samples} sample(s) x {T} steps\noverall sparsity {100 * overall:.1f}%", loc="lower left")
        ax.set_title(title or "Activity sparsity over time steps")
    return fig


def backward_sparsity_of(entry) -> float | None:
    """The backward sparsity of one ``history.json`` epoch entry, or None when absent.

    Accepts ``entry["backward"]`` holding ``backward_sparsity`` directly, or under
    ``total``, or per layer under ``layers`` (averaged weighted by ``units`` when given).
    """
    b = entry.get("backward") if isinstance(entry, Mapping) else None
    if b is None:
        v = entry.get("backward_sparsity") if isinstance(entry, Mapping) else None
        return None if v is None else float(v)
    if isinstance(b, (int, float)):
        return float(b)
    for path in (("backward_sparsity",), ("total", "backward_sparsity"), ("sparsity",)):
        cur = b
        for key in path:
            cur = cur.get(key) if isinstance(cur, Mapping) else None
        if isinstance(cur, (int, float)):
            return float(cur)
    layers = b.get("layers") if isinstance(b, Mapping) else None
    if layers:
        vals = [(l.get("backward_sparsity"), l.get("units", 1)) for l in layers if isinstance(l, Mapping)]
        vals = [(v, w) for v, w in vals if isinstance(v, (int, float))]
        if vals:
            return float(sum(v * w for v, w in vals) / sum(w for _, w in vals))
    return None


def sparsity_epochs_figure(histories: Mapping[str, Sequence[Mapping]], *, title: str | None = None):
    """Activity sparsity (left) and backward sparsity (right) over training epochs.

    histories: model name -> list of epoch entries (``history.json``); entries
    with ``activity_sparsity`` null (GRU/LSTM) are skipped. A panel without any
    value says so instead of drawing an empty axis.
    """
    if not histories:
        raise EventsimError("no training history to plot (expected history.json of at least one model)")
    with st.style():
        fig = st.new_figure(9.0, 3.4)
        ax_a = fig.add_subplot(1, 2, 1)
        ax_b = fig.add_subplot(1, 2, 2, sharey=ax_a)
        any_a = any_b = False
        for i, (name, hist) in enumerate(histories.items()):
            if not isinstance(hist, Sequence) or not all(isinstance(e, Mapping) for e in hist):
                raise EventsimError(f"history of {name!r} must be a list of epoch objects")
            ea = [(e.get("epoch", j), e.get("activity_sparsity")) for j, e in enumerate(hist)]
            ea = [(x, y) for x, y in ea if y is not None]
            eb = [(e.get("epoch", j), backward_sparsity_of(e)) for j, e in enumerate(hist)]
            eb = [(x, y) for x, y in eb if y is not None]
            c = st.layer_color(i)
            if ea:
                any_a = True
                ax_a.plot([x for x, _ in ea], [100 * y for _, y in ea], marker="o", ms=3, color=c, label=name)
            if eb:
                any_b = True
                ax_b.plot([x for x, _ in eb], [100 * y for _, y in eb], marker="s", ms=3, color=c, label=name)
        for ax, ok, what in ((ax_a, any_a, "activity sparsity (forward)"),
                             (ax_b, any_b, "backward sparsity (BPTT)")):
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(what)
            ax.grid(True, axis="y")
            if ok:
                ax.legend(loc="best")
            else:
                ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", va="center",
                        color="#888888")
        ax_a.set_ylabel("sparsity (%)")
        if any_a or any_b:
            ax_a.set_ylim(top=100.5)
        ax_b.tick_params(labelleft=True)
        fig.suptitle(title or "Sparsity during training", fontweight="bold", fontsize=11, y=1.04)
    return fig


def unit_rates(y) -> np.ndarray:
    """Per-unit event rate of a (T, n) or (B, T, n) event array: events / (B * T)."""
    a = np.asarray(y)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[0] * a.shape[1] == 0:
        raise EventsimError(f"event array must be (steps, units) or (samples, steps, units), got {np.shape(y)}")
    return np.count_nonzero(a, axis=(0, 1)) / float(a.shape[0] * a.shape[1])


def rate_histogram_figure(layers: Sequence, *, saturated: float = 0.95, bins: int = 40, layer_names=None,
                          title: str | None = None):
    """Histogram of per-unit event rates per layer; dead and saturated units marked.

    layers: one (T, n) or (B, T, n) event array per layer. A unit is *dead* when
    it emitted no event at all, *saturated* when its rate is >= ``saturated``.
    """
    if not layers:
        raise EventsimError("nothing to plot: give at least one layer's events")
    if not 0.0 < saturated <= 1.0:
        raise EventsimError(f"saturated threshold must be in (0, 1], got {saturated}")
    rates = [unit_rates(y) for y in layers]
    L = len(rates)
    edges = np.linspace(0.0, 1.0, bins + 1)
    with st.style():
        fig = st.new_figure(9.0, 1.2 + 1.7 * L)
        axes = []
        for k, r in enumerate(rates):
            ax = fig.add_subplot(L, 1, k + 1, sharex=axes[0] if axes else None)
            axes.append(ax)
            dead = r == 0
            sat = r >= saturated
            mid = ~dead & ~sat
            name = layer_names[k] if layer_names is not None else f"layer {k}"
            # stacked: dead units share the first bin with low-rate units but keep their colour
            ax.hist([r[dead], r[mid], r[sat]], bins=edges, stacked=True,
                    color=[st.DEAD_COLOR, st.layer_color(k), st.SATURATED_COLOR],
                    label=["dead (no event)", f"{name}: other units", f"saturated (rate >= {saturated:g})"])
            ax.axvline(saturated, color=st.SATURATED_COLOR, ls=":", lw=0.8)
            ax.set_ylabel("units")
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            n = r.size
            shape = np.shape(layers[k])
            over = f"{shape[0]} samples x {shape[1]} steps" if len(shape) == 3 else f"{shape[0]} steps"
            # legend and counts outside the axes, right: they hide no bar
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
            ax.text(1.01, 0.0, f"{n} units, over {over}\nmean rate {r.mean():.3f}\n"
                               f"dead {dead.sum()} ({100 * dead.mean():.0f}%)\n"
                               f"saturated {sat.sum()} ({100 * sat.mean():.0f}%)",
                    transform=ax.transAxes, ha="left", va="bottom", fontsize=7, color="#444444")
            if k < L - 1:
                ax.tick_params(labelbottom=False)
        axes[-1].set_xlabel("event rate per unit (events per step)")
        axes[-1].set_xlim(-0.005, 1.005)
        axes[0].set_title(title or "Per-unit event rates")
    return fig
