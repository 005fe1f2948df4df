"""``eventsim count``: run a model on inputs and print/write the exact operation counts."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "count", help="run a model on inputs and count every operation (SPEC §2)",
        description="Run MODEL on INPUT with the event engine (or the dense reference), print "
                    "effective vs dense MACs, savings and activity sparsity per layer, and "
                    "optionally write the counts JSON (SPEC §4) and the per-step outputs.")
    p.add_argument("--model", required=True, help="model file (.npz, SPEC §4)")
    p.add_argument("--input", required=True,
                   help="dense input .npy (T, m) or (B, T, m), token ids .npy (T,) or (B, T), "
                        "or an event stream .npz (sample, t, channel, value)")
    p.add_argument("--engine", choices=("event", "dense"), default="event",
                   help="event engine (default) or the dense numpy reference")
    p.add_argument("--json", metavar="OUT.json", help="write the counts JSON here")
    p.add_argument("--save-outputs", metavar="OUT.npz",
                   help="write layer{k}.y and layer{k}.c (B, T, n) and readout (B, T, n_out)")
    p.add_argument("--delays", metavar="FF:REC,...",
                   help="integer delays per layer, feed-forward:recurrent (e.g. '0:1,2:0'); "
                        "overrides the model file's")
    p.add_argument("--dtype", choices=("float32", "float64"), help="compute in this precision")
    p.add_argument("--steps", type=int, help="number of steps for an event stream (default: last event + 1)")
    p.add_argument("--threads", type=int, help="threads for the event engine (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="do not print the table")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..inputs import load_input
    from ..egru.model import load_model
    from ..egru.simulate import simulate
    from ._util import parse_delays, write_json

    model = load_model(args.model, dtype=args.dtype)
    if args.delays:
        ff, rec = parse_delays(args.delays, model.n_layers)
        model = model.with_delays(ff, rec)
    inputs = load_input(args.input)
    record = ("y", "c", "readout") if args.save_outputs else ()
    res = simulate(model, inputs, engine=args.engine, record=record, threads=args.threads,
                   n_steps=args.steps, progress=not args.quiet)
    counts = res.counts.to_dict()
    if args.json:
        write_json(args.json, counts)
    if args.save_outputs:
        arrays = {}
        for k in range(model.n_layers):
            arrays[f"layer{k}.y"] = res.y[k]
            arrays[f"layer{k}.c"] = res.c[k]
        if res.readout is not None:
            arrays["readout"] = res.readout
        with open(args.save_outputs, "wb") as f:
            np.savez(f, **arrays)
    if not args.quiet:
        print(f"model {args.model}: layers {model.sizes}, engine {args.engine}")
        print(res.counts.table())
        if args.json:
            print(f"counts written to {args.json}")
        if args.save_outputs:
            print(f"outputs written to {args.save_outputs}")
    sys.stdout.flush()
    return 0
