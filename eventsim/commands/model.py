"""``eventsim random-model`` and ``eventsim random-input``: files for tests and demos."""
from __future__ import annotations

from ..deltagru.model import THETA_H, THETA_X
from ..egru.init import RESET, RESET_MODES, THR_MEAN


def register(sub) -> None:
    p = sub.add_parser(
        "random-model", help="write a randomly initialised model file",
        description="Write a random EGRU model (.npz, SPEC §4): Xavier-normal weights, zero biases, "
                    "thresholds from a Beta distribution with the given mean; or, with --kind deltagru, "
                    "a DeltaGRU (SPEC §5) with the same weights for the same seed and the delta "
                    "thresholds --theta-x and --theta-h; or, with --kind ctegru, a continuous-time "
                    "EGRU (SPEC §6: eventax's initialisation, tau_syn 5 ms, tau_mem 20 ms, threshold "
                    "--thr-mean or 0.5, no readout).")
    p.add_argument("--kind", choices=("egru", "deltagru", "ctegru"), default="egru",
                   help="unit model (default egru)")
    p.add_argument("--inputs", type=int, required=True, help="inputs per step of layer 0 (m)")
    p.add_argument("--layers", required=True, help="units per layer, comma-separated (e.g. 64,64)")
    p.add_argument("--outputs", type=int, help="add a linear readout with this many outputs")
    p.add_argument("--vocab", type=int, help="add an embedding of this vocabulary size (inputs are token ids)")
    p.add_argument("--density", type=float, default=1.0, help="fraction of nonzero weights (default 1.0)")
    p.add_argument("--thr-mean", type=float,
                   help=f"EGRU only: mean initial threshold (default {THR_MEAN})")
    p.add_argument("--reset", choices=RESET_MODES, help=f"EGRU only: reset mode (default {RESET})")
    p.add_argument("--theta-x", type=float,
                   help=f"DeltaGRU only: input delta threshold of every layer (default {THETA_X})")
    p.add_argument("--theta-h", type=float,
                   help=f"DeltaGRU only: state delta threshold of every unit (default {THETA_H})")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .npz path")
    p.set_defaults(func=run_model)

    q = sub.add_parser(
        "random-input", help="write a random dense input or event stream for a model",
        description="Write random inputs for MODEL: a dense .npy (B, T, m) with the given fraction of "
                    "nonzero entries, token ids for an embedding model, or an event-stream .npz.")
    q.add_argument("--model", required=True, help="model file the input is for")
    q.add_argument("--samples", type=int, default=1, help="B (default 1)")
    q.add_argument("--steps", type=int, help="T (EGRU and DeltaGRU models: required)")
    q.add_argument("--duration", type=float,
                   help="continuous-time EGRU models only: seconds per sample (required for them)")
    q.add_argument("--rate", type=float, default=50.0,
                   help="continuous-time EGRU models only: Poisson input events per channel and "
                        "second (default 50)")
    q.add_argument("--density", type=float, default=0.5, help="fraction of nonzero inputs (default 0.5)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--out", required=True, help=".npy (dense or tokens) or .npz (event stream)")
    q.set_defaults(func=run_input)


def _check_kind_options(args) -> None:
    """Refuse the options of the other unit model, in one line."""
    from ..errors import EventsimError
    if args.kind == "ctegru":
        given = [opt for opt, v in (("--reset", args.reset), ("--theta-x", args.theta_x),
                                    ("--theta-h", args.theta_h), ("--outputs", args.outputs),
                                    ("--vocab", args.vocab)) if v is not None]
        if given:
            raise EventsimError(f"{' and '.join(given)} {'do' if len(given) > 1 else 'does'} not apply to a continuous-time EGRU "
                                f"(--kind ctegru: binary events, no readout, no embedding); drop it")
        return
    other = ([("--thr-mean", args.thr_mean), ("--reset", args.reset)] if args.kind == "deltagru"
             else [("--theta-x", args.theta_x), ("--theta-h", args.theta_h)])
    given = [opt for opt, v in other if v is not None]
    if given:
        owner = "an EGRU" if args.kind == "deltagru" else "a DeltaGRU (--kind deltagru)"
        raise EventsimError(f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} to "
                            f"{owner} only, not to --kind {args.kind}; drop {' and '.join(given)}")
    for opt, v in (("--theta-x", args.theta_x), ("--theta-h", args.theta_h)):
        if v is not None and not (v >= 0 and v != float("inf")):
            raise EventsimError(f"{opt} {v} must be a finite number >= 0")


def run_model(args) -> int:
    from ..egru.model import random_model, save_model
    from ..outputs import check_outputs
    from ._util import at_least, check_seed, finite, int_list

    check_outputs([("--out", args.out)])
    _check_kind_options(args)
    at_least(args.inputs, 1, "--inputs")
    layers = int_list(args.layers, "--layers")
    if any(n < 1 for n in layers):
        from ..errors import EventsimError
        raise EventsimError(f"--layers {args.layers!r}: every layer needs >= 1 unit")
    at_least(args.outputs, 1, "--outputs")
    at_least(args.vocab, 1, "--vocab")
    check_seed(args.seed)
    finite(args.density, "--density")
    finite(args.thr_mean, "--thr-mean")
    from ..inputs import check_memory
    sizes = [args.inputs] + layers
    n_weights = sum(3 * n * (a + n) for a, n in zip(sizes, layers)) + (args.outputs or 0) * layers[-1] \
        + (args.vocab or 0) * args.inputs
    check_memory(8 * 3 * n_weights, f"a model of {n_weights:,} weights")
    if args.kind == "ctegru":
        from ..ctegru.model import THR, random_ctegru, save_ctegru
        thr = THR if args.thr_mean is None else args.thr_mean
        if not thr > 0:
            from ..errors import EventsimError
            raise EventsimError(f"--thr-mean {thr} must be > 0 for a continuous-time EGRU")
        if not 0.0 <= args.density <= 1.0:
            from ..errors import EventsimError
            raise EventsimError(f"--density {args.density} must be in [0, 1]")
        m = random_ctegru(args.inputs, layers, seed=args.seed, weight_density=args.density, thr=thr,
                          dtype=args.dtype)
        save_ctegru(m, args.out)
        print(f"wrote {args.out}: ctegru, inputs {m.n_in}, layers {m.sizes}, weight density "
              f"{args.density}, threshold {thr}")
        return 0
    if args.kind == "deltagru":
        from ..deltagru.model import random_deltagru, save_deltagru
        tx = THETA_X if args.theta_x is None else args.theta_x
        th = THETA_H if args.theta_h is None else args.theta_h
        m = random_deltagru(args.inputs, layers, n_out=args.outputs, theta_x=tx, theta_h=th,
                            seed=args.seed, weight_density=args.density, vocab=args.vocab,
                            dtype=args.dtype)
        save_deltagru(m, args.out)
        extra = f", theta_x {tx}, theta_h {th}"
    else:
        m = random_model(args.inputs, layers, n_out=args.outputs, seed=args.seed,
                         weight_density=args.density,
                         thr_mean=THR_MEAN if args.thr_mean is None else args.thr_mean,
                         vocab=args.vocab, dtype=args.dtype, reset=args.reset or RESET)
        save_model(m, args.out)
        extra = ""
    print(f"wrote {args.out}: {args.kind}, inputs {m.n_in}, layers {m.sizes}, outputs {m.n_out}, "
          f"vocab {m.vocab}, weight density {args.density}{extra}")
    return 0


def run_input(args) -> int:
    import numpy as np

    from .._npz import write_npy
    from ..errors import EventsimError
    from ..inputs import EventStream
    from ..deltagru.model import load_any_model as load_model
    from ..outputs import check_outputs
    from ._util import check_seed

    check_outputs([("--out", args.out)], [("--model", args.model)])
    from ..ctegru.model import KIND as CT
    from ..deltagru.model import file_kind
    from .._npz import read_npz
    if file_kind(read_npz(args.model, "model file"), args.model) == CT:
        return _run_ct_input(args)
    if args.duration is not None:
        raise EventsimError("--duration applies to continuous-time EGRU models only; use --steps")
    if args.steps is None:
        raise EventsimError("--steps is required (the number of steps T of the input)")
    if not args.out.endswith((".npy", ".npz")):
        raise EventsimError(f"--out {args.out!r}: use .npy (dense or token ids) or .npz (event stream)")
    if args.samples < 1 or args.steps < 1:
        raise EventsimError("--samples and --steps must be >= 1")
    if not 0.0 <= args.density <= 1.0:
        raise EventsimError(f"--density {args.density} must be in [0, 1]")
    check_seed(args.seed)
    model = load_model(args.model)
    from ..inputs import check_memory
    check_memory(4 * 8 * args.samples * args.steps * (1 if model.embedding is not None else model.n_in),
                 f"a random input of {args.samples:,} samples x {args.steps:,} steps")
    rng = np.random.default_rng(args.seed)
    if model.embedding is not None:
        if not args.out.endswith(".npy"):
            raise EventsimError("an embedding model takes token ids: use an .npy output")
        x = rng.integers(0, model.vocab, size=(args.samples, args.steps))
        write_npy(args.out, x)
    else:
        shape = (args.samples, args.steps, model.n_in)
        x = (rng.normal(size=shape) * (rng.random(shape) < args.density)).astype(np.float32)
        if args.out.endswith(".npz"):
            EventStream.from_dense(x).save(args.out)
        else:
            write_npy(args.out, x)
    print(f"wrote {args.out}")
    return 0


def _run_ct_input(args) -> int:
    """Poisson input events with real-valued times for a continuous-time EGRU (.npz)."""
    from ..ctegru.inputs import poisson_stream
    from ..ctegru.model import load_ctegru
    from ..errors import EventsimError
    from ._util import check_seed

    if args.steps is not None:
        raise EventsimError("--steps does not apply to a continuous-time EGRU: give --duration "
                            "(seconds) and --rate (events per channel and second)")
    if args.duration is None or not (args.duration > 0 and args.duration != float("inf")):
        raise EventsimError("a continuous-time EGRU needs --duration SECONDS (> 0) of input")
    if not (args.rate >= 0 and args.rate != float("inf")):
        raise EventsimError(f"--rate {args.rate} must be a finite number of events per second >= 0")
    if not args.out.endswith(".npz"):
        raise EventsimError(f"--out {args.out!r}: a continuous-time input is an event stream (.npz)")
    if args.samples < 1:
        raise EventsimError("--samples must be >= 1")
    check_seed(args.seed)
    model = load_ctegru(args.model)
    from ..inputs import check_memory
    check_memory(24 * args.rate * args.duration * model.n_in * args.samples,
                 f"about {args.rate * args.duration * model.n_in * args.samples:,.0f} input events")
    s = poisson_stream(model.n_in, args.rate, args.duration, n_samples=args.samples, seed=args.seed)
    s.save(args.out)
    print(f"wrote {args.out}: {len(s):,} input events, {args.samples} sample(s) x {args.duration} s")
    return 0
