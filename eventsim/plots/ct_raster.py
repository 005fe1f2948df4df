"""Raster of a continuous-time EGRU run (SPEC §6): events at their real-valued times.

One panel per layer (units on the y axis, seconds on the x axis, one dot per event),
the input channels' events above when given. Reads a
:class:`~eventsim.ctegru.simulate.CTSimResult` or the arrays of ``eventsim count
--save-outputs`` (``layer{k}.event_time``, ``.event_unit``, ``.event_sample``).
"""
from __future__ import annotations

import numpy as np

from ..errors import EventsimError
from .style import layer_color, new_figure, style


def ct_raster_figure(outputs, sizes, stream=None, sample: int = 0, duration=None):
    """Figure of sample ``sample``: ``outputs`` a CTSimResult or a dict of saved arrays,
    ``sizes`` the units per layer, ``stream`` the input
    :class:`~eventsim.ctegru.inputs.SpikeStream` (optional)."""
    if hasattr(outputs, "outputs"):
        outputs = outputs.outputs()
    L = len(sizes)
    missing = [f"layer{k}.event_time" for k in range(L) if f"layer{k}.event_time" not in outputs]
    if missing:
        raise EventsimError(f"the outputs lack {missing}; give the arrays of a continuous-time EGRU run")
    panels = []
    if stream is not None:
        sel = stream.sample == sample
        panels.append(("input", stream.t[sel], stream.channel[sel], stream.n_channels, "0.35"))
    for k in range(L):
        sel = outputs[f"layer{k}.event_sample"] == sample
        panels.append((f"layer {k}", outputs[f"layer{k}.event_time"][sel],
                       outputs[f"layer{k}.event_unit"][sel], sizes[k], layer_color(k)))
    with style():
        heights = [max(1.0, min(3.0, n / 40)) for _, _, _, n, _ in panels]
        fig = new_figure(7.0, 0.6 + sum(heights))
        gs = fig.add_gridspec(len(panels), 1, height_ratios=heights, hspace=0.15)
        ax0 = None
        t_max = duration if duration is not None else max(
            [float(t.max()) for _, t, _, _, _ in panels if t.size] or [1.0])
        for i, (name, t, u, n, color) in enumerate(panels):
            ax = fig.add_subplot(gs[i], sharex=ax0)
            ax0 = ax0 or ax
            ax.scatter(t, u, s=4, c=color, marker="|" if n > 50 else "o", linewidths=0.8)
            ax.set_ylim(-0.5, n - 0.5)
            ax.set_xlim(0, t_max)
            ax.set_ylabel(f"{name}\n({np.asarray(t).size} ev.)")
            if i < len(panels) - 1:
                ax.tick_params(labelbottom=False)
        ax.set_xlabel("time (s)")
        fig.suptitle(f"continuous-time EGRU, sample {sample}")
    return fig
