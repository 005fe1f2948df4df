"""``eventsim plot raster|sparsity|savings|tradeoff|report``: figures from results files.

Each subcommand writes one PNG (``--out``, default next to the input) and prints
its path. Sources:

- ``raster``: a ``raster.npz`` of a study (``input`` and ``layer{k}.y``), or an
  input file (``.npy`` dense / ``.npz`` event stream) together with ``--model``
  (the model is then simulated with the event engine, recording the events);
- ``sparsity``: a ``history.json`` (sparsity over epochs), a ``raster.npz`` or an
  input with ``--model`` (sparsity over steps + per-unit event-rate histogram);
- ``savings``: a counts JSON (SPEC §4);
- ``tradeoff``: ``summary.json`` files / study folders / sweep tables (.csv/.json) / a
  study's ``delta_sweep.json``.
"""
from __future__ import annotations

import os


def _samples(text):
    from ..errors import EventsimError

    try:
        vals = [int(v) for v in text.split(",") if v.strip() != ""]
    except ValueError:
        raise EventsimError(f"--samples {text!r} must be comma-separated sample indices, e.g. 0,1,2") from None
    if not vals:
        raise EventsimError("--samples is empty; give sample indices such as 0,1")
    return vals


def _t_range(text):
    from ..errors import EventsimError

    try:
        a, b = text.split(":")
        return int(a), int(b)
    except ValueError:
        raise EventsimError(f"--steps {text!r} must be START:STOP, e.g. 0:500") from None


def _model_dir(args, filename, kind):
    """A model folder of a study as SOURCE: use its ``filename``; the figure goes inside it."""
    from ..errors import EventsimError

    if os.path.isdir(args.source) and args.model is None:
        path = os.path.join(args.source, filename)
        if not os.path.isfile(path):
            raise EventsimError(f"{args.source!r} is a folder without {filename}; give a study's model folder "
                                f"(results/<study>/<model>) or the file itself")
        if args.out is None:
            args.out = os.path.join(args.source, f"{kind}.png")
        args.source = path


def _default_out(source, suffix):
    base = os.path.splitext(os.fspath(source))[0]
    return f"{base}_{suffix}.png"


def _check(args, outs, sources=None):
    """Options in range and the output rule (eventsim.outputs), before any work."""
    from ..errors import EventsimError
    from ..outputs import check_outputs

    if not 1 <= args.dpi <= 2400:
        raise EventsimError(f"--dpi {args.dpi} must be between 1 and 2400 dots per inch")
    ins = [("SOURCE", s) for s in (sources if sources is not None else [args.source])]
    ins.append(("--model", getattr(args, "model", None)))
    check_outputs([("--out", o) for o in outs], ins)
    for o in outs:
        if not o.lower().endswith(".png"):
            raise EventsimError(f"--out {o!r} must end in .png (eventsim writes PNG figures only)")


def _save(fig, out, dpi):
    """Save ``fig`` as PNG to ``out`` atomically (a temporary file renamed into place)."""
    from ..outputs import atomic_path
    from ..plots.style import save

    with atomic_path(out) as tmp:
        save(fig, tmp, dpi=dpi)
    return out


def _events_from(args):
    """(layers, inputs) from a raster.npz, or by simulating --model on an input file."""
    from ..errors import EventsimError
    from ..plots.raster import raster_from_npz

    src = args.source
    if args.model is None:
        if not src.endswith(".npz"):
            raise EventsimError(f"{src!r} is not a raster.npz; to plot events of a model on an input give "
                                "--model MODEL.npz as well")
        return raster_from_npz(src)
    import eventsim
    from ..inputs import load_input

    model = eventsim.load_model(args.model)
    x = load_input(src)
    res = eventsim.simulate(model, x, record=("y",))
    inputs = None
    if isinstance(x, eventsim.EventStream):
        if x.n_samples * x.n_steps * x.n_channels <= 50_000_000:  # dense copy only when it is small
            inputs = x.to_dense()
    elif model.embedding is None:  # token ids have no input channels to draw
        import numpy as np

        xa = np.asarray(x)
        inputs = xa if xa.ndim == 3 else xa[None]
    return res.y, inputs


def _is_ctegru(path) -> bool:
    from .count import is_ctegru

    return is_ctegru(path)


def _ct_raster(args, out, samples, t_range):
    """Raster of a continuous-time EGRU (SPEC §6) on a spike stream: events at real times.

    ``--samples`` takes one sample; ``--steps`` (a range of steps) has no meaning without a
    clock and is refused rather than reinterpreted."""
    from ..ctegru.inputs import SpikeStream
    from ..ctegru.model import load_ctegru
    from ..ctegru.simulate import simulate_ctegru
    from ..errors import EventsimError
    from ..plots.ct_raster import ct_raster_figure

    if t_range is not None:
        raise EventsimError("--steps: a continuous-time EGRU has no steps; its raster shows the whole "
                            "run in seconds (set its length with the input's duration)")
    if samples is not None and len(samples) != 1:
        raise EventsimError(f"--samples {args.samples!r}: a continuous-time raster draws one sample; "
                            "give one index")
    sample = samples[0] if samples else 0
    model = load_ctegru(args.model)
    stream = SpikeStream.load(args.source)
    if sample >= stream.n_samples:
        raise EventsimError(f"--samples {sample}: the input has {stream.n_samples} sample(s)")
    res = simulate_ctegru(model, stream)
    fig = ct_raster_figure(res, model.sizes, None if args.no_input else stream, sample=sample)
    if args.title:
        fig.suptitle(args.title)
    print(_save(fig, out, args.dpi))
    return 0


def _raster(args):
    from ..errors import EventsimError
    from ..plots.raster import raster_figure

    _model_dir(args, "raster.npz", "raster")
    out = args.out or _default_out(args.source, "raster")
    _check(args, [out])
    samples = _samples(args.samples) if args.samples is not None else None
    t_range = _t_range(args.steps) if args.steps is not None else None
    if samples is not None and min(samples) < 0:
        raise EventsimError(f"--samples {args.samples!r}: sample indices are >= 0")
    if t_range is not None and not 0 <= t_range[0] < t_range[1]:
        raise EventsimError(f"--steps {args.steps!r}: need 0 <= START < STOP")
    for opt, v in (("--max-time-bins", args.max_time_bins), ("--max-unit-bins", args.max_unit_bins)):
        if v < 1:
            raise EventsimError(f"{opt} {v} must be >= 1")
    if args.model is not None and _is_ctegru(args.model):
        return _ct_raster(args, out, samples, t_range)
    layers, inputs = _events_from(args)
    if args.no_input:
        inputs = None
    fig = raster_figure(layers, inputs, samples=samples, t_range=t_range,
                        max_time_bins=args.max_time_bins, max_unit_bins=args.max_unit_bins,
                        reduce=args.reduce, title=args.title)
    print(_save(fig, out, args.dpi))
    return 0


def _sparsity(args):
    import json

    from ..errors import EventsimError
    from ..plots.sparsity import events_per_step, rate_histogram_figure, sparsity_epochs_figure, sparsity_steps_figure

    _model_dir(args, "history.json", "sparsity_epochs")
    out = args.out or _default_out(args.source, "sparsity")
    if args.source.endswith(".json"):
        _check(args, [out])
        if not os.path.isfile(args.source):
            raise EventsimError(f"history file {args.source!r} does not exist")
        with open(args.source, encoding="utf-8") as f:
            try:
                hist = json.load(f)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise EventsimError(f"cannot parse {args.source!r} as JSON: {e}") from None
        name = os.path.basename(os.path.dirname(os.path.abspath(args.source))) or "model"
        print(_save(sparsity_epochs_figure({name: hist}, title=args.title), out, args.dpi))
        return 0
    rates = os.path.splitext(out)[0] + "_rates.png"
    _check(args, [out, rates])
    if not 0 < args.saturated <= 1:
        raise EventsimError(f"--saturated {args.saturated} must be in (0, 1] (an event rate)")
    layers, _ = _events_from(args)
    ev, units, ns = events_per_step(layers)
    fig_steps = sparsity_steps_figure(ev, units, ns, title=args.title)
    fig_rates = rate_histogram_figure(layers, saturated=args.saturated)
    print(_save(fig_steps, out, args.dpi))
    print(_save(fig_rates, rates, args.dpi))
    return 0


def _savings(args):
    import json

    from ..errors import EventsimError
    from ..plots.savings import macs_figure

    args.model = None
    _model_dir(args, "counts.json", "savings")
    out = args.out or _default_out(args.source, "savings")
    _check(args, [out])
    if not os.path.isfile(args.source):
        raise EventsimError(f"counts file {args.source!r} does not exist")
    with open(args.source, encoding="utf-8") as f:
        try:
            counts = json.load(f)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise EventsimError(f"cannot parse {args.source!r} as JSON: {e}") from None
    print(_save(macs_figure(counts, title=args.title, where=args.source), out, args.dpi))
    return 0


def _tradeoff(args):
    from ..errors import EventsimError
    from ..plots.savings import load_tradeoff_rows, tradeoff_figure

    sources = []
    for src in args.sources:
        if os.path.isdir(src):
            for name in ("summary.json", "table.json"):  # a study's folder, a sweep's folder
                if os.path.isfile(os.path.join(src, name)):
                    src = os.path.join(src, name)
                    break
            else:
                raise EventsimError(f"folder {src!r} holds no summary.json (a study's results folder) "
                                    f"nor table.json (a sweep's folder); give one of those, or the file")
        sources.append(src)
    out = args.out or _default_out(sources[0], "tradeoff")
    args.model = None
    _check(args, [out], sources)
    rows = load_tradeoff_rows(sources)
    fig = tradeoff_figure(rows, metric=args.metric, metric_name=args.metric_name, task=args.task,
                          title=args.title)
    print(_save(fig, out, args.dpi))
    return 0


def register(subparsers):
    import argparse

    p = subparsers.add_parser(
        "plot", help="draw figures (raster, sparsity, savings, trade-off) from results",
        description="Draw one figure (PNG) from results files; see docs/analysis.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  eventsim plot raster results/digits/egru/raster.npz --samples 0,1\n"
               "  eventsim plot raster x.npy --model m.npz --steps 0:500\n"
               "  eventsim plot raster spikes.npz --model ct.npz   (continuous-time EGRU, seconds)\n"
               "  eventsim plot sparsity results/digits/egru/history.json\n"
               "  eventsim plot savings results/digits/egru/counts.json\n"
               "  eventsim plot tradeoff results/digits results/smnist5k -o tradeoff.png")
    sub = p.add_subparsers(dest="plot_kind", metavar="KIND")
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])

    def common(q, src_help):
        q.add_argument("source", help=src_help)
        q.add_argument("--out", "-o", help="PNG file to write (default: next to SOURCE)")
        q.add_argument("--title", help="figure title")
        q.add_argument("--dpi", type=int, default=150, help="resolution in dots per inch (default 150)")

    r = sub.add_parser("raster", help="event raster: units x steps per layer, input above",
                       description="Events of every layer over time (units on y, steps on x, event value as "
                                   "colour). Large recordings are decimated by max-|value| pooling over blocks "
                                   "of steps x units, so that no event vanishes (docs/analysis.md).")
    common(r, "raster.npz of a study (or the model folder holding it), or an input file (.npy/.npz) "
              "with --model")
    r.add_argument("--model", "-m", help="model .npz to simulate on SOURCE (then SOURCE is an input file)")
    r.add_argument("--samples", default=None,
                   help="comma-separated sample indices drawn one after the other (default: 0)")
    r.add_argument("--steps", default=None, help="START:STOP steps to show (default: all)")
    r.add_argument("--max-time-bins", type=int, default=1200, help="at most this many pixel columns (default 1200)")
    r.add_argument("--max-unit-bins", type=int, default=400, help="at most this many pixel rows per layer "
                                                                   "(default 400)")
    r.add_argument("--reduce", choices=("maxabs", "rate"), default="maxabs",
                   help="pixel of a block: value of largest magnitude (default) or fraction of entries with events")
    r.add_argument("--no-input", action="store_true", help="do not draw the input panel")
    r.set_defaults(func=_raster)

    s = sub.add_parser("sparsity", help="sparsity over epochs (history.json) or over steps + event-rate histogram",
                       description="From a history.json: activity and backward sparsity per epoch. From a "
                                   "raster.npz (or an input with --model): activity sparsity per layer over "
                                   "steps (OUT) and the per-unit event-rate histogram (OUT_rates.png).")
    common(s, "history.json (or the model folder holding it), raster.npz, or an input file with --model")
    s.add_argument("--model", "-m", help="model .npz to simulate on SOURCE")
    s.add_argument("--saturated", type=float, default=0.95,
                   help="event rate from which a unit counts as saturated (default 0.95)")
    s.set_defaults(func=_sparsity)

    v = sub.add_parser("savings", help="MAC bars per layer and total vs dense GRU/LSTM baselines",
                       description="Effective vs weight-sparse vs activity-sparse vs dense MACs per step, per "
                                   "layer and in total, against the dense GRU and LSTM baselines, with the "
                                   "savings factors written on the bars.")
    common(v, "counts JSON (SPEC §4), e.g. results/<study>/<model>/counts.json, or that model folder")
    v.set_defaults(func=_savings)

    t = sub.add_parser("tradeoff", help="task metric vs effective MACs of several models/runs",
                       description="One point per model/run: task metric against effective MACs per step (a "
                                   "study's DeltaGRU Θ sweep as a line, the GRU's metric as a dotted reference; a "
                                   "study over seeds gives a point per seed), and MAC savings vs a dense GRU "
                                   "against activity sparsity with the EGRU paper's reference figures for a "
                                   "matching task.")
    t.add_argument("sources", nargs="+", help="summary.json files, study folders, sweep tables (.csv/.json) or a "
                                              "study's <model>/delta_sweep.json")
    t.add_argument("--out", "-o", help="PNG file to write (default: next to the first source)")
    t.add_argument("--title", help="figure title")
    t.add_argument("--dpi", type=int, default=150, help="resolution in dots per inch (default 150)")
    t.add_argument("--metric", help="row field holding the task metric (default: 'metric')")
    t.add_argument("--metric-name", choices=("accuracy", "bpc", "perplexity"),
                   help="what the metric is (axis label; default: from the rows)")
    t.add_argument("--task", help="task name for the paper's reference points (default: the rows' task)")
    t.set_defaults(func=_tradeoff)

    from .report import add_report_arguments, run_report
    rp = sub.add_parser("report", help="same as 'eventsim report': HTML + Markdown report of a study",
                        description="Same as 'eventsim report RESULTS_DIR'.")
    add_report_arguments(rp)
    rp.set_defaults(func=run_report)
