"""``eventsim cost``: energy (and, with --timing, latency) of a run on hardware profiles."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "cost", help="energy and latency of a run on hardware profiles (Loihi, SpiNNaker 2, GPU, 45 nm)",
        description="Estimate the energy of a run from its operation counts on one or more hardware "
                    "profiles, split into compute, memory, communication and static energy, for the EGRU "
                    "(event-driven on event hardware, clocked on dense hardware) or the DeltaGRU (its "
                    "sent deltas plus the delta encoding) and for the dense GRU/LSTM "
                    "baselines of the same shapes. Either give a study's results folder (writes "
                    "<model>/cost.json for every model plus cost.json and cost.md in the folder; a "
                    "selection of profiles or --event-op ac whose settings differ from the folder's "
                    "cost.json writes beside it, e.g. cost-loihi.json and cost-loihi.md) or "
                    "--model and --input. With --timing, replay the run's events through a discrete-event "
                    "simulation of the chip (latency, throughput, utilisation, packets). "
                    "See docs/hardware.md for every formula.")
    p.add_argument("results", nargs="?", metavar="RESULTS_DIR",
                   help="a study's results folder (results/<scenario>) holding <model>/counts.json")
    p.add_argument("--model", help="model file (.npz, SPEC §4; an EGRU or a DeltaGRU, §5); needs --input")
    p.add_argument("--input", help="input .npy (dense or token ids) or event-stream .npz")
    p.add_argument("--hardware", action="append", metavar="NAME|FILE",
                   help="a shipped profile name or a .toml file; repeat for several "
                        "(default: every shipped profile: see docs/hardware.md)")
    p.add_argument("--json", metavar="OUT.json", help="write the estimates (and timing) as JSON")
    p.add_argument("--timing", action="store_true",
                   help="also run the many-core timing simulation (needs the run's events: --model "
                        "mode, or raster.npz in a results folder)")
    p.add_argument("--placement", choices=("contiguous", "balanced"), default="contiguous",
                   help="how units are placed on cores for --timing (default contiguous)")
    p.add_argument("--cores", type=int, help="use this many cores of each profile for --timing "
                                             "(default: all of them)")
    p.add_argument("--spill", action="store_true",
                   help="when a core's weights do not fit its SRAM, read the excess from the spill "
                        "level (DRAM) instead of stopping with an error")
    p.add_argument("--event-op", choices=("mac", "ac"), default="mac",
                   help="energy of a synaptic event on event hardware: 'mac' (graded events, the "
                        "EGRU's, default) or 'ac' (binary events, accumulate only)")
    p.add_argument("--quiet", action="store_true", help="do not print the tables")
    p.set_defaults(func=run)


def _profiles(names):
    from ..hardware.profiles import available_profiles, load_profile
    return [load_profile(n) for n in (names or available_profiles())]


def _profile_files(names):
    """The --hardware values that are files (inputs of the command)."""
    import os
    return [("--hardware", n) for n in (names or []) if os.path.exists(n)]


def _check_numbers(args):
    from ..errors import EventsimError
    if args.cores is not None and args.cores < 1:
        raise EventsimError(f"--cores {args.cores} must be >= 1")


def _timing_table(results) -> str:
    """Rows of timing dicts (``TimingResult.to_dict()``) as a table."""
    head = ("profile", "placement", "cores", "step latency", "steps/s", "util", "imbalance",
            "packets", "energy", "per step")
    from ..hardware.energy import format_energy
    rows = [head]
    for d in results:
        rows.append((d["profile"], d["placement"], f"{d['used_cores']}/{d['cores']}",
                     f"{d['step_latency_s']['mean'] * 1e6:.3g} us", f"{d['throughput_steps_per_s']:.3g}",
                     f"{d['utilisation']['mean']:.1%}", f"{d['load_imbalance']:.2f}", f"{d['packets']:,}",
                     format_energy(d["energy"]["energy_pj"]), format_energy(d["energy"]["energy_per_step_pj"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _timings(model, inputs, ys, profiles, args, desc):
    from tqdm import tqdm

    from ..hardware.timing import simulate_timing
    out = []
    for prof in tqdm(profiles, desc=f"timing {desc}", unit="profile", leave=False):
        out.append(simulate_timing(model, inputs, ys, prof, args.placement, n_cores=args.cores,
                                   spill=args.spill, event_op=args.event_op))
    return out


def _run_results(args, profiles) -> int:
    import os

    from ..hardware.energy import energy_table
    from ..hardware.results import cost_files, cost_results
    from ..outputs import check_outputs
    from ._util import write_json

    plan = cost_files(args.results, profiles, args.event_op)
    check_outputs([("--json", args.json)] + [("cost table", p) for p in plan["outputs"]],
                  [("results file", p) for p in plan["inputs"]] + _profile_files(args.hardware))
    out = cost_results(args.results, profiles, timing=args.timing, placement=args.placement,
                       n_cores=args.cores, spill=args.spill, event_op=args.event_op)
    if args.json:
        write_json(args.json, out["table"])
    if not args.quiet:
        for name, doc in out["models"].items():
            print(f"== {name} ({doc['kind']}): {doc['samples']} sample(s) x {doc['steps']} steps")
            print(energy_table(doc["estimates"]))
            if "timing" in doc:
                print(f"timing on {doc['timing_samples']} raster sample(s):")
                print(_timing_table(doc["timing"]))
            for note in out["notes"]:
                if note.startswith(f"{name}:"):
                    print(note)
            print()
        stem = out["stem"]
        print(f"wrote {len(out['models'])} <model>/{stem}.json, "
              f"{os.path.join(args.results, stem + '.json')} and {stem}.md"
              + ("" if stem == "cost" else " (beside the study's cost.json, which has other settings)"))
    return 0


def _run_model(args, profiles) -> int:
    from ..errors import EventsimError
    from ..hardware.energy import energy_table
    from ..hardware.results import estimates
    from ..inputs import load_input
    from ..deltagru.model import load_any_model
    from ..egru.simulate import simulate
    from ..outputs import check_outputs
    from .._fmt import format_sparsity
    from ._util import write_json

    if not args.input:
        raise EventsimError("--model needs --input (the run to cost)")
    check_outputs([("--json", args.json)],
                  [("--model", args.model), ("--input", args.input)] + _profile_files(args.hardware))
    if _is_lif_file(args.model):  # a LIF network (eventsim.lif): its own counts, same formulas
        return _run_lif(args, profiles)
    from .count import is_ctegru
    if is_ctegru(args.model):
        return _run_ctegru(args, profiles)
    model = load_any_model(args.model)
    kind = getattr(model, "kind", "egru")
    if kind == "deltagru":
        _check_deltagru_options(args, profiles)
    inputs = load_input(args.input)
    if kind == "deltagru":
        from ..deltagru.simulate import simulate_deltagru
        res = simulate_deltagru(model, inputs, engine="event", record=("deltas",) if args.timing else ())
    else:
        res = simulate(model, inputs, engine="event", record=("y",) if args.timing else ())
    counts = res.counts.to_dict()
    ests = estimates(counts, profiles, kind, args.event_op, args.model)
    doc = {"format": "eventsim-cost/1", "model": args.model, "kind": kind, "input": args.input,
           "samples": counts["samples"], "steps": counts["steps"], "estimates": ests,
           "profiles": {p.name: p.to_dict() for p in profiles}}
    tim = None
    if args.timing:
        events = (res.dx, res.dh) if kind == "deltagru" else res.y
        tim = _timings(model, inputs, events, profiles, args, args.model)
        doc["timing"] = [t.to_dict() for t in tim]
    if args.json:
        write_json(args.json, doc)
    if not args.quiet:
        print(f"model {args.model}: {'DeltaGRU, ' if kind == 'deltagru' else ''}layers {model.sizes}; "
              f"{counts['samples']} sample(s) x "
              f"{counts['steps']} steps; activity sparsity "
              f"{format_sparsity(counts['total']['activity_sparsity'], counts['total']['events'])}")
        print(energy_table(ests))
        if tim:
            print()
            print(_timing_table(doc["timing"]))
        if args.json:
            print(f"written to {args.json}")
    return 0


def _run_ctegru(args, profiles) -> int:
    """A continuous-time EGRU run (SPEC §6) priced on event-driven profiles only."""
    from ..ctegru.inputs import SpikeStream
    from ..ctegru.model import load_ctegru
    from ..ctegru.simulate import simulate_ctegru
    from ..errors import EventsimError
    from ..hardware.energy import ctegru_table, estimate_ctegru
    from ._util import write_json

    if args.timing or args.event_op != "mac" or args.spill or args.cores is not None:
        raise EventsimError("--timing, --event-op, --spill and --cores apply to the discrete-time models; "
                            "a continuous-time EGRU is priced by its SPEC §6 counts only")
    if not args.hardware:  # default: every shipped event-driven profile
        profiles = [p for p in profiles if p.kind == "event"]
    clocked = [p.name for p in profiles if p.kind != "event"]
    if clocked:
        raise EventsimError(f"hardware profile(s) {', '.join(clocked)} are clocked; a continuous-time EGRU "
                            f"has no clock (no step at which every unit updates): use event-driven "
                            f"profiles only")
    model = load_ctegru(args.model)
    stream = SpikeStream.load(args.input)
    counts = simulate_ctegru(model, stream, progress=not args.quiet).counts.to_dict()
    ests = [estimate_ctegru(counts, p, args.model) for p in profiles]
    doc = {"format": "eventsim-cost/1", "model": args.model, "kind": "ctegru", "input": args.input,
           "samples": counts["samples"], "duration_s": counts["duration_s"], "counts": counts,
           "estimates": ests, "profiles": {p.name: p.to_dict() for p in profiles}}
    if args.json:
        write_json(args.json, doc)
    if not args.quiet:
        t = counts["total"]
        print(f"model {args.model}: continuous-time EGRU, layers {model.sizes}; {counts['samples']} "
              f"sample(s), {counts['duration_s']:g} s; events {t['events']:,}, synaptic events "
              f"{t['synaptic_events']:,}")
        print(ctegru_table(ests))
        if args.json:
            print(f"written to {args.json}")
    return 0


def _check_deltagru_options(args, profiles) -> None:
    """Refuse what does not apply to a DeltaGRU, before the run (docs/hardware.md says why)."""
    from ..errors import EventsimError
    if args.event_op == "ac":
        raise EventsimError("--event-op ac prices binary events; a DeltaGRU sends graded deltas "
                            "(always priced as MACs): drop --event-op")
    missing = [p.name for p in profiles if "delta_check" not in p.energy]
    if missing:
        raise EventsimError(f"hardware profile(s) {', '.join(missing)} lack energy.delta_check (pJ per "
                            f"delta-encoding check), needed to price a DeltaGRU: add it with its source")


def run(args) -> int:
    from ..errors import EventsimError
    if bool(args.results) == bool(args.model):
        raise EventsimError("give either a results folder (eventsim cost results/<scenario>) or "
                            "--model M.npz --input X, not both and not neither")
    _check_numbers(args)
    profiles = _profiles(args.hardware)
    rc = _run_results(args, profiles) if args.results else _run_model(args, profiles)
    sys.stdout.flush()
    return rc


def _is_lif_file(path) -> bool:
    """True for a LIF model file (``.npz`` with ``tau`` and ``input.indptr``)."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return {"tau.npy", "input.indptr.npy"} <= names


def _run_lif(args, profiles) -> int:
    """``eventsim cost --model LIF.npz --input X [--timing]``: the LIF run's energy per profile."""
    from ..errors import EventsimError
    from ..hardware.energy import energy_table
    from ..hardware.lif_cost import lif_estimate, population_counts, simulate_lif_timing
    from ..inputs import load_input
    from ..lif import load_lif, simulate_lif
    from .._fmt import format_sparsity
    from ._util import write_json

    if args.event_op == "ac":
        raise EventsimError("--event-op ac does not apply to a LIF run: its counts split the synaptic "
                            "operations into ACs (binary spikes) and MACs (graded values) exactly; drop it")
    if args.placement != "contiguous" or args.spill:
        raise EventsimError("--placement balanced and --spill apply to EGRU runs; a LIF run is placed "
                            "contiguously and its weights are read from the profile's weight level")
    model = load_lif(args.model)
    inputs = load_input(args.input)
    res = simulate_lif(model, inputs)
    counts = res.counts.to_dict()
    pops = population_counts(model, res, inputs)
    ests = [lif_estimate(counts, p, populations=pops) for p in profiles]
    doc = {"format": "eventsim-cost/1", "model": args.model, "kind": "lif", "input": args.input,
           "samples": counts["samples"], "steps": counts["steps"], "estimates": ests,
           "profiles": {p.name: p.to_dict() for p in profiles}}
    if args.timing:
        doc["timing"] = [simulate_lif_timing(model, res, inputs, p, args.cores) for p in profiles]
    if args.json:
        write_json(args.json, doc)
    if not args.quiet:
        print(f"model {args.model}: LIF, {model.n_in} inputs -> {model.n} units; {counts['samples']} sample(s) x "
              f"{counts['steps']} steps; activity sparsity "
              f"{format_sparsity(counts['activity_sparsity'], counts['events'])}; "
              f"{counts['effective_acs']:,} ACs, {counts['effective_macs']:,} MACs")
        print(energy_table(ests))
        if args.timing:
            print()
            print(_timing_table(doc["timing"]))
        if args.json:
            print(f"written to {args.json}")
    return 0
