"""``eventsim count``: run a model on inputs and print/write the exact operation counts."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "count", help="run a model on inputs and count every operation (SPEC §2)",
        description="Run MODEL on INPUT with the event engine (or the dense reference), print "
                    "effective vs dense MACs, savings and activity sparsity per layer, and "
                    "optionally write the counts JSON (SPEC §4) and the per-step outputs.")
    p.add_argument("--model", required=True,
                   help="model file (.npz): an EGRU (SPEC §4) or a DeltaGRU (meta kind deltagru, §5)")
    p.add_argument("--input", required=True,
                   help="dense input .npy (T, m) or (B, T, m), token ids .npy (T,) or (B, T), "
                        "or an event stream .npz (sample, t, channel, value)")
    p.add_argument("--engine", choices=("event", "dense"), default="event",
                   help="event engine (default) or the dense numpy reference")
    p.add_argument("--json", metavar="OUT.json", help="write the counts JSON here")
    p.add_argument("--save-outputs", metavar="OUT.npz",
                   help="write layer{k}.y and layer{k}.c (B, T, n) and readout (B, T, n_out); "
                        "for a DeltaGRU layer{k}.y = h_t and no layer{k}.c")
    p.add_argument("--save-activity", metavar="OUT.nir",
                   help="EGRU: write each layer's graded events (y = o*c) as NIR data "
                        "(nir.ValuedEventData, time = step index; needs the nir extra)")
    p.add_argument("--delays", metavar="FF:REC,...",
                   help="integer delays per layer, feed-forward:recurrent (e.g. '0:1,2:0'); "
                        "overrides the model file's (EGRU only)")
    p.add_argument("--dtype", choices=("float32", "float64"), help="compute in this precision")
    p.add_argument("--steps", type=int, help="number of steps for an event stream (default: the stream's "
                                             "n_steps); refused for a .npy input, which has its own length")
    p.add_argument("--threads", type=int, help="threads for the event engine (default: all cores)")
    p.add_argument("--duration", type=float,
                   help="continuous-time EGRU (meta kind ctegru, SPEC §6) only: seconds simulated per "
                        "sample (default: the stream's duration, else each sample's last input event)")
    p.add_argument("--rtol", type=float, help="continuous-time EGRU only: relative tolerance of the "
                                              "integrator (default 1e-8)")
    p.add_argument("--atol", type=float, help="continuous-time EGRU only: absolute tolerance of the "
                                              "integrator (default 1e-10)")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.set_defaults(func=run)


def check_steps(steps, inputs, tokens: bool = False, option: str = "--steps"):
    """``--steps`` is for event streams; with a dense or token input it must equal its length."""
    import numpy as np

    from ..errors import EventsimError
    from ..inputs import EventStream

    if steps is None:
        return
    if steps < 1:
        raise EventsimError(f"{option} {steps} must be >= 1")
    if not isinstance(inputs, EventStream):
        x = np.asarray(inputs)
        T = (x.shape[-1] if tokens else x.shape[-2]) if x.ndim >= (1 if tokens else 2) else 0
        if steps != T:
            raise EventsimError(f"{option} {steps} applies to event-stream (.npz) inputs only; this "
                                f"array input has its own length of {T} steps (drop {option})")


def run(args) -> int:
    from ..errors import EventsimError
    from ..inputs import load_input
    from ..deltagru.model import load_any_model
    from ..egru.simulate import simulate
    from .._npz import write_npz
    from ..outputs import check_outputs
    from ._util import parse_delays, write_json

    check_outputs([("--json", args.json), ("--save-outputs", args.save_outputs),
                   ("--save-activity", args.save_activity)],
                  [("--model", args.model), ("--input", args.input)])
    if args.save_activity:
        from .._npz import read_npz
        from ..deltagru.model import file_kind
        from ..lif.nir import nir_module
        from ..nirdata import check_activity_path
        check_activity_path(args.save_activity)
        nir_module()  # the extra, before any work
        kind = file_kind(read_npz(args.model, "model file"), str(args.model))
        if kind != "egru":
            raise EventsimError(f"--save-activity writes an EGRU's events; this is a {kind} model file "
                                f"(for a LIF network: eventsim lif run --save-activity)")
    if args.threads is not None and args.threads < 1:
        raise EventsimError(f"--threads {args.threads} must be >= 1")
    if args.steps is not None and args.steps < 1:
        raise EventsimError(f"--steps {args.steps} must be >= 1")
    if is_ctegru(args.model):
        return run_ctegru(args)
    given = [o for o, v in (("--duration", args.duration), ("--rtol", args.rtol), ("--atol", args.atol))
             if v is not None]
    if given:
        raise EventsimError(f"{', '.join(given)}: for a continuous-time EGRU (meta kind ctegru) only")
    model = load_any_model(args.model, dtype=args.dtype)
    delta = getattr(model, "kind", "egru") == "deltagru"
    if delta and args.delays:
        raise EventsimError("--delays applies to an EGRU only: a DeltaGRU (SPEC §5) has no "
                            "transmission delays; drop --delays")
    if args.delays:
        ff, rec = parse_delays(args.delays, model.n_layers)
        model = model.with_delays(ff, rec)
    inputs = load_input(args.input)
    check_steps(args.steps, inputs, tokens=model.embedding is not None)
    if delta:
        from ..deltagru.simulate import simulate_deltagru
        record = ("y", "readout") if args.save_outputs else ()
        res = simulate_deltagru(model, inputs, engine=args.engine, record=record, threads=args.threads,
                                n_steps=args.steps, progress=not args.quiet)
    else:
        record = ("y", "c", "readout") if args.save_outputs else (("y",) if args.save_activity else ())
        res = simulate(model, inputs, engine=args.engine, record=record, threads=args.threads,
                       n_steps=args.steps, progress=not args.quiet)
    counts = res.counts.to_dict()
    if args.json:
        write_json(args.json, counts)
    if args.save_outputs:
        arrays = {}
        for k in range(model.n_layers):
            arrays[f"layer{k}.y"] = res.y[k]
            if res.c is not None:
                arrays[f"layer{k}.c"] = res.c[k]
        if res.readout is not None:
            arrays["readout"] = res.readout
        write_npz(args.save_outputs, arrays)
    if args.save_activity:
        from ..nirdata import egru_activity, write_activity
        write_activity(args.save_activity, egru_activity(res.y))
    if not args.quiet:
        kind = "DeltaGRU, " if delta else ""
        print(f"model {args.model}: {kind}layers {model.sizes}, engine {args.engine}")
        print(res.counts.table())
        if delta:
            t = counts["total"]
            print(f"delta encoding: input deltas sent {t['input_events']:,}, state deltas sent "
                  f"{t['events']:,}, delta checks {t['delta_checks']:,}")
        if args.json:
            print(f"counts written to {args.json}")
        if args.save_outputs:
            print(f"outputs written to {args.save_outputs}")
        if args.save_activity:
            print(f"activity written to {args.save_activity}")
    sys.stdout.flush()
    return 0


def is_ctegru(path) -> bool:
    """Whether the model file at ``path`` is a continuous-time EGRU (meta kind ctegru)."""
    from .._npz import read_npz
    from ..ctegru.model import KIND
    from ..deltagru.model import file_kind
    return file_kind(read_npz(path, "model file"), str(path)) == KIND


def run_ctegru(args) -> int:
    """``eventsim count`` on a continuous-time EGRU and a spike stream (SPEC §6)."""
    from .._npz import write_npz
    from ..ctegru.inputs import SpikeStream
    from ..ctegru.model import load_ctegru
    from ..ctegru.simulate import ATOL, RTOL, simulate_ctegru
    from ..errors import EventsimError
    from ._util import write_json

    given = [o for o, v in (("--delays", args.delays), ("--dtype", args.dtype), ("--steps", args.steps),
                            ("--threads", args.threads)) if v is not None]
    if given:
        raise EventsimError(f"{', '.join(given)} {'do' if len(given) > 1 else 'does'} not apply to a continuous-time EGRU (it runs in "
                            f"float64, in seconds, on one thread; its delays are in the model file)")
    model = load_ctegru(args.model)
    if not args.input.endswith(".npz"):
        raise EventsimError(f"--input {args.input!r}: a continuous-time EGRU reads a spike stream .npz "
                            f"(sample, t in seconds, channel)")
    stream = SpikeStream.load(args.input)
    engine = "reference" if args.engine == "dense" else "event"
    res = simulate_ctegru(model, stream, duration=args.duration, engine=engine,
                          rtol=RTOL if args.rtol is None else args.rtol,
                          atol=ATOL if args.atol is None else args.atol, progress=not args.quiet)
    if args.json:
        write_json(args.json, res.counts.to_dict())
    if args.save_outputs:
        write_npz(args.save_outputs, res.outputs())
    if not args.quiet:
        print(f"model {args.model}: continuous-time EGRU, layers {model.sizes}, "
              f"{'event engine' if engine == 'event' else 'naive reference'}; "
              f"{stream.n_samples} sample(s), {res.counts.duration_s:g} s simulated, "
              f"{len(stream):,} input events")
        print(res.counts.table())
        if args.json:
            print(f"counts written to {args.json}")
        if args.save_outputs:
            print(f"outputs written to {args.save_outputs}")
    sys.stdout.flush()
    return 0
