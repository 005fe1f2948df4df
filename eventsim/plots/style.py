"""One look for every eventsim figure.

Figures are built with :class:`matplotlib.figure.Figure` and an Agg canvas,
never through ``pyplot``: no display, no global figure registry, nothing to
close, safe in threads and on headless machines. Every plotting function
creates its figure with :func:`new_figure` and writes it with :func:`save`.

Colours: one colour per MAC figure (dense / weight-sparse / activity-sparse /
effective) and per model kind (EGRU / GRU / LSTM), used the same way in every
figure; layers use :data:`LAYER_COLORS` in order.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import EventsimError

#: rcParams applied while a figure is built and saved.
RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.08,
    "image.interpolation": "nearest",
}

#: Colours of the four SPEC §2 MAC figures.
MAC_COLORS = {
    "dense": "#9e9e9e",
    "weight_sparse": "#7fa6d6",
    "activity_sparse": "#f2a65a",
    "effective": "#2e7d32",
}
MAC_LABELS = {
    "dense": "dense (same shape)",
    "weight_sparse": "weight-sparse",
    "activity_sparse": "activity-sparse",
    "effective": "effective (event-driven)",
}
#: Colours and markers of model kinds (also the dense baselines).
KIND_COLORS = {"egru": "#2e7d32", "gru": "#1f5fa8", "lstm": "#b23a48", "deltagru": "#e08214"}
KIND_MARKERS = {"egru": "o", "gru": "s", "lstm": "D", "deltagru": "^"}
#: Per-layer line colours (cycled).
LAYER_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
#: Colour map of event values (layers: events are positive, SPEC §1) and of signed inputs.
EVENT_CMAP = "viridis"
INPUT_CMAP = "RdBu_r"
#: Colour of "no event" pixels in rasters.
EMPTY_COLOR = "white"
REFERENCE_COLOR = "#6a1b9a"
DEAD_COLOR = "#c62828"
SATURATED_COLOR = "#263238"


def layer_color(k: int) -> str:
    return LAYER_COLORS[k % len(LAYER_COLORS)]


@contextmanager
def style():
    """Context in which eventsim figures are built (the rcParams of :data:`RC`)."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(width: float, height: float) -> Figure:
    """A new Agg-backed figure of ``width`` x ``height`` inches (call inside :func:`style`)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path, dpi: int | None = None) -> str:
    """Write ``fig`` as PNG to ``path`` (parent folders created); return the path.

    Written atomically (:func:`eventsim.outputs.atomic_path`): a failure leaves the previous
    file whole and no temporary file.

    The format is always PNG; a path with another extension is a user mistake.
    """
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        raise EventsimError(f"figure path {path!r} must end in .png (eventsim writes PNG figures only)")
    from ..outputs import atomic_path
    with style(), atomic_path(path) as tmp:  # parent folders created; renamed into place when whole
        fig.savefig(tmp, dpi=dpi or RC["savefig.dpi"], format="png")
    return path


def png_bytes(fig: Figure, dpi: int | None = None) -> bytes:
    """The PNG encoding of ``fig`` (for embedding in HTML)."""
    import io

    buf = io.BytesIO()
    with style():
        fig.savefig(buf, dpi=dpi or RC["savefig.dpi"], format="png")
    return buf.getvalue()


def note(ax, text: str, loc: str = "upper right") -> None:
    """A small grey text box inside ``ax`` (for counts, caveats)."""
    xs = {"upper right": (0.98, 0.97, "right", "top"), "upper left": (0.02, 0.97, "left", "top"),
          "lower right": (0.98, 0.03, "right", "bottom"), "lower left": (0.02, 0.03, "left", "bottom")}
    x, y, ha, va = xs[loc]
    ax.text(x, y, text, transform=ax.transAxes, ha=ha, va=va, fontsize=7, color="#444444",
            bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#cccccc", lw=0.5, alpha=0.9))


def log_axis(axis, minor_labels: bool = True) -> None:
    """Plain labels on a log axis ('300', '2k', '1.5M' rather than 3x10^2): faster to draw and
    to read. With ``minor_labels``, minor ticks at 2x, 3x, 5x (axis spanning < 1.2 decades) or
    2x, 5x (< 3 decades) are labelled too, so that a short axis still has enough labels."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(lambda v, _: human(v) if v > 0 else ""))

    def minor(v, _):
        if v <= 0 or not minor_labels:
            return ""
        lo, hi = sorted(axis.get_view_interval())
        decades = math.log10(hi / lo) if lo > 0 else 99.0
        shown = (2, 3, 5) if decades < 1.2 else (2, 5) if decades < 3 else ()
        lead = round(v / 10 ** math.floor(math.log10(v) + 1e-9))
        return human(v) if lead in shown else ""

    axis.set_minor_locator(LogLocator(base=10, subs=(2, 3, 4, 5, 6, 7, 8, 9)))
    axis.set_minor_formatter(FuncFormatter(minor))


def human(n: float) -> str:
    """Compact human form of a count: 1234 -> '1.23k', 5.6e6 -> '5.6M'."""
    n = float(n)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}"
