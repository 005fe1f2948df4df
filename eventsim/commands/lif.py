"""``eventsim lif ...``: leaky integrate-and-fire networks (model files, Poisson inputs, runs)."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "lif", help="leaky integrate-and-fire networks: random models, Poisson inputs, runs with counts",
        description="Leaky integrate-and-fire (LIF) networks on the event engine. The model and file "
                    "formats are described in docs/lif.md.")
    sub = p.add_subparsers(dest="lif_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    r = sub.add_parser("random-model", help="write a random LIF network (.npz)",
                       description="Write a random LIF network: every input channel gets --fanout-in "
                                   "distinct random target units, every unit --fanout-rec; weights are "
                                   "normal (mean, std); delays uniform integers in [low, high] steps.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("out", help="output model file (.npz)")
    r.add_argument("--inputs", type=int, default=100, help="input channels m")
    r.add_argument("--units", type=int, default=1000, help="LIF units n")
    r.add_argument("--fanout-in", type=int, default=100, help="targets per input channel")
    r.add_argument("--fanout-rec", type=int, default=0, help="targets per unit (recurrent synapses)")
    r.add_argument("--w-in", type=float, nargs=2, default=(0.5, 0.1), metavar=("MEAN", "STD"))
    r.add_argument("--w-rec", type=float, nargs=2, default=(0.0, 0.1), metavar=("MEAN", "STD"))
    r.add_argument("--delay-in", type=int, nargs=2, default=(0, 0), metavar=("LOW", "HIGH"),
                   help="input delays in steps (>= 0)")
    r.add_argument("--delay-rec", type=int, nargs=2, default=(1, 1), metavar=("LOW", "HIGH"),
                   help="recurrent delays in steps (>= 1)")
    r.add_argument("--tau", type=float, default=0.02, help="membrane time constant (s)")
    r.add_argument("--thr", type=float, default=1.0, help="threshold")
    r.add_argument("--bias", type=float, default=0.0, help="bias added every step")
    r.add_argument("--v-reset", type=float, default=0.0, help="reset value (reset 'value')")
    r.add_argument("--dt", type=float, default=1e-4, help="time step (s)")
    r.add_argument("--reset", choices=("value", "subtract"), default="value")
    r.add_argument("--refractory", type=int, default=0, help="refractory steps after an event")
    r.add_argument("--events", choices=("binary", "graded"), default="binary")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(func=_random_model)

    q = sub.add_parser("poisson", help="write Poisson input spike trains (event-stream .npz)",
                       description="Write independent Poisson (Bernoulli per step) spike trains as a "
                                   "SPEC §4 event stream: each channel spikes at a step with "
                                   "probability rate*dt.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    q.add_argument("out", help="output event-stream file (.npz)")
    q.add_argument("--channels", type=int, required=True, help="input channels m")
    q.add_argument("--steps", type=int, required=True, help="steps T")
    q.add_argument("--rate", type=float, default=10.0, help="rate per channel (Hz)")
    q.add_argument("--dt", type=float, default=1e-4, help="time step (s); use the model's")
    q.add_argument("--samples", type=int, default=1)
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_poisson)

    u = sub.add_parser("run", help="run a LIF model on input spikes and print the counts",
                       description="Run a LIF model (.npz) on an event stream (.npz) or a dense (T, m) / "
                                   "(B, T, m) array (.npy) and print events and synaptic operations.")
    u.add_argument("--model", required=True, help="LIF model file (.npz)")
    u.add_argument("--input", required=True, help="event stream (.npz) or dense array (.npy)")
    u.add_argument("--steps", type=int, default=None, help="steps to run (default: the stream's length)")
    u.add_argument("--engine", choices=("event", "reference"), default="event",
                   help="Numba event engine or the naive numpy reference (small runs)")
    u.add_argument("--json", default=None, metavar="OUT", help="write the counts as JSON here")
    u.add_argument("--spikes", default=None, metavar="OUT",
                   help="write the unit events as an event stream (.npz; channel = unit)")
    u.add_argument("--save-activity", default=None, metavar="OUT.nir",
                   help="write the unit events as NIR data (nir.EventData per NIR node; needs the nir extra)")
    u.set_defaults(func=_run)

    i = sub.add_parser("import", help="read a NIR graph into a LIF model (.npz)",
                       description="Read a NIR graph (.nir: Input, Output, Affine, Linear, Scale, Delay, "
                                   "LIF, CubaLIF, IF, LI, CubaLI, Threshold nodes) into a LIF model for a "
                                   "step --dt, discretised by forward Euler (docs/lif.md, 'NIR'). Needs "
                                   "the nir extra: pip install 'eventsim[nir]'.",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    i.add_argument("graph", help="NIR graph file (.nir)")
    i.add_argument("--dt", type=float, required=True, help="time step (s); Delay nodes must be whole steps")
    i.add_argument("--out", required=True, help="output LIF model file (.npz)")
    i.set_defaults(func=_import)

    e = sub.add_parser("export", help="write a LIF model as a NIR graph (.nir)",
                       description="Write a LIF model as a NIR graph that 'eventsim lif import' at the "
                                   "model's dt reads back to the same network (docs/lif.md, 'NIR'). Needs "
                                   "the nir extra: pip install 'eventsim[nir]'.")
    e.add_argument("model", help="LIF model file (.npz)")
    e.add_argument("--to", required=True, metavar="OUT.nir", help="output NIR graph file")
    e.set_defaults(func=_export)


def _random_model(args) -> int:
    from ..lif import random_lif_model, save_lif
    from ..outputs import check_outputs
    from ._util import check_seed

    check_outputs([("OUT", args.out)])
    check_seed(args.seed)
    from ..inputs import check_memory
    n_syn = max(args.inputs, 0) * max(args.fanout_in, 0) + max(args.units, 0) * max(args.fanout_rec, 0)
    check_memory(64 * n_syn + 64 * max(args.units, 0) + 8 * max(args.inputs, 0),
                 f"a LIF network of {n_syn:,} synapses")
    m = random_lif_model(args.inputs, args.units, fanout_in=args.fanout_in, fanout_rec=args.fanout_rec,
                         w_in=args.w_in, w_rec=args.w_rec, delay_in=args.delay_in, delay_rec=args.delay_rec,
                         tau=args.tau, thr=args.thr, bias=args.bias, v_reset=args.v_reset, dt=args.dt,
                         reset=args.reset, refractory=args.refractory, events=args.events, seed=args.seed)
    save_lif(m, args.out)
    print(f"wrote {args.out}: {m.n_in} inputs, {m.n} units, {m.inp.nnz} input and {m.rec.nnz} "
          f"recurrent synapses, dt = {m.dt} s")
    return 0


def _poisson(args) -> int:
    from ..lif import poisson_stream
    from ..outputs import check_outputs
    from ._util import check_seed, finite

    check_outputs([("OUT", args.out)])
    check_seed(args.seed)
    finite(args.rate, "--rate")
    from ..inputs import check_memory
    if args.channels >= 1 and args.steps >= 1 and args.samples >= 1 and 0 < args.dt and args.rate >= 0:
        spikes = args.samples * args.channels * args.steps * min(1.0, args.rate * args.dt)
        check_memory(int(64 * spikes + 64 * args.channels),
                     f"Poisson input of about {spikes:,.0f} spikes on {args.channels:,} channels")
    s = poisson_stream(args.channels, args.steps, args.rate, args.dt, n_samples=args.samples, seed=args.seed)
    s.save(args.out)
    print(f"wrote {args.out}: {len(s)} spikes on {args.channels} channels, {args.samples} sample(s) "
          f"x {args.steps} steps")
    return 0


def _run(args) -> int:
    from ..inputs import EventStream, load_input
    from ..lif import load_lif, simulate_lif
    from ..outputs import check_outputs, write_json
    from .count import check_steps
    from .._fmt import format_sparsity

    check_outputs([("--json", args.json), ("--spikes", args.spikes), ("--save-activity", args.save_activity)],
                  [("--model", args.model), ("--input", args.input)])
    if args.save_activity:
        from ..lif.nir import nir_module
        from ..nirdata import check_activity_path
        check_activity_path(args.save_activity)
        nir_module()  # fail before the run when the extra is missing
    if args.steps is not None and args.steps < 1:
        from ..errors import EventsimError
        raise EventsimError(f"--steps {args.steps} must be >= 1")
    model = load_lif(args.model)
    x = load_input(args.input)
    check_steps(args.steps, x)
    res = simulate_lif(model, x, engine=args.engine, n_steps=args.steps, progress=sys.stderr.isatty())
    d = res.counts.to_dict()
    print(f"LIF run ({d['engine']} engine): {d['samples']} sample(s) x {d['steps']} steps, "
          f"{d['inputs']} inputs -> {d['units']} units")
    print(f"  input events        {d['input_events']:>16,d}")
    print(f"  unit events         {d['events']:>16,d}   activity sparsity "
          f"{format_sparsity(d['activity_sparsity'], d['events'])}")
    for k in ("dense", "weight_sparse", "activity_sparse", "effective"):
        print(f"  synops {k:<15s}{d['synops'][k]:>16,d}")
    print(f"  effective ACs       {d['effective_acs']:>16,d}")
    print(f"  effective MACs      {d['effective_macs']:>16,d}")
    print(f"  unit updates        {d['unit_updates']['clocked']:>16,d} clocked, "
          f"{d['unit_updates']['event_driven']:,d} event-driven")
    if args.json:
        write_json(args.json, d, indent=2)
        print(f"wrote {args.json}")
    if args.spikes:
        c = res.counts
        EventStream(res.sample, res.t, res.unit, res.value.astype("float32"), c.samples, c.steps,
                    c.units).save(args.spikes)
        print(f"wrote {args.spikes}")
    if args.save_activity:
        from ..nirdata import lif_activity, write_activity
        write_activity(args.save_activity, lif_activity(model, res))
        print(f"wrote {args.save_activity}")
    return 0


def _import(args) -> int:
    from ..lif import save_lif
    from ..lif.nir import from_nir
    from ..outputs import check_outputs
    from ._util import finite

    check_outputs([("--out", args.out)], [("GRAPH", args.graph)])
    finite(args.dt, "--dt")
    m = from_nir(args.graph, args.dt)
    save_lif(m, args.out)
    kinds = ", ".join(f"{name} ({kind}, {b - a})" for name, kind, a, b in m.meta["nir"]["nodes"])
    same = int((m.rec.delay == 0).sum())
    print(f"wrote {args.out}: {m.n_in} inputs, {m.n} units [{kinds}], {m.inp.nnz} input and "
          f"{m.rec.nnz} unit-to-unit synapses ({same} acting in the same step), dt = {m.dt} s "
          f"(forward Euler)")
    return 0


def _export(args) -> int:
    from ..lif import load_lif
    from ..lif.nir import nir_module, write_nir
    from ..outputs import check_outputs

    check_outputs([("--to", args.to)], [("MODEL", args.model)])
    nir_module()
    g = write_nir(load_lif(args.model), args.to)
    n_neuron = sum(type(v).__name__ not in ("Input", "Output", "Linear", "Affine", "Delay")
                   for v in g.nodes.values())
    print(f"wrote {args.to}: {len(g.nodes)} NIR nodes ({n_neuron} neuron nodes), {len(g.edges)} edges")
    return 0
