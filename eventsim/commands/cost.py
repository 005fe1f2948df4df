"""``eventsim cost``: energy (and, with --timing, latency) of a run on hardware profiles."""
from __future__ import annotations

import sys

FORMAT = "eventsim-cost/1"
TABLE_FORMAT = "eventsim-cost-table/1"


def register(sub) -> None:
    p = sub.add_parser(
        "cost", help="energy and latency of a run on hardware profiles (Loihi, SpiNNaker 2, GPU, 45 nm)",
        description="Estimate the energy of a run from its operation counts on one or more hardware "
                    "profiles, split into compute, memory, communication and static energy, for the EGRU "
                    "(event-driven on event hardware, clocked on dense hardware) and for the dense GRU/LSTM "
                    "baselines of the same shapes. Either give a study's results folder (writes "
                    "<model>/cost.json for every model plus cost.json and cost.md in the folder) or "
                    "--model and --input. With --timing, replay the run's events through a discrete-event "
                    "simulation of the chip (latency, throughput, utilisation, packets). "
                    "See docs/hardware.md for every formula.")
    p.add_argument("results", nargs="?", metavar="RESULTS_DIR",
                   help="a study's results folder (results/<scenario>) holding <model>/counts.json")
    p.add_argument("--model", help="model file (.npz, SPEC §4); needs --input")
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


def _timing_table(results) -> str:
    head = ("profile", "placement", "cores", "step latency", "steps/s", "util", "imbalance",
            "packets", "energy", "per step")
    from ..hardware.energy import format_energy
    rows = [head]
    for r in results:
        d = r.to_dict()
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


def _workloads(kind: str) -> tuple:
    return ("egru", "gru", "lstm") if kind == "egru" else (kind,)


def _estimates(counts, profiles, kind, event_op, where):
    from ..hardware.energy import estimate_energy
    return [estimate_energy(counts, prof, w, event_op=event_op, where=where)
            for prof in profiles for w in _workloads(kind)]


def _summary_rows(model_name, estimates) -> list:
    return [{"model": model_name, "workload": e["workload"], "profile": e["profile"],
             "executed_as": e["executed_as"], **{k: e["total"][k] for k in (
                 "compute_pj", "memory_pj", "communication_pj", "static_pj", "energy_pj",
                 "energy_per_step_pj", "macs")}} for e in estimates]


def _markdown(rows) -> str:
    from ..hardware.energy import format_energy
    lines = ["| model | workload | profile | as | compute | memory | communication | static | total | per step |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['workload']} | {r['profile']} | {r['executed_as']} | "
                     + " | ".join(format_energy(r[k]) for k in ("compute_pj", "memory_pj", "communication_pj",
                                                                "static_pj", "energy_pj", "energy_per_step_pj"))
                     + " |")
    return "\n".join(lines) + "\n"


def _kind_of(name, counts, summary) -> str:
    kind = ((summary or {}).get("models", {}).get(name) or {}).get("kind")
    if kind in ("egru", "gru", "lstm"):
        return kind
    engine = str(counts.get("engine", ""))
    for k in ("lstm", "gru"):
        if engine.startswith("closed-form") and k in engine:
            return k
    return "egru"


def _run_results(args, profiles) -> int:
    import json
    import os

    import numpy as np

    from ..errors import EventsimError
    from ..hardware.energy import energy_table
    from ._util import write_json

    root = args.results
    if not os.path.isdir(root):
        raise EventsimError(f"results folder {root!r} does not exist; give results/<scenario> of a study")
    names = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "counts.json")))
    if not names:
        raise EventsimError(f"results folder {root!r} holds no <model>/counts.json; run the study first")
    summary = None
    if os.path.isfile(os.path.join(root, "summary.json")):
        with open(os.path.join(root, "summary.json")) as f:
            summary = json.load(f)
    all_rows = []
    for name in names:
        path = os.path.join(root, name, "counts.json")
        try:
            with open(path) as f:
                counts = json.load(f)
        except json.JSONDecodeError as e:
            raise EventsimError(f"{path}: not valid JSON ({e})") from None
        kind = _kind_of(name, counts, summary)
        ests = _estimates(counts, profiles, kind, args.event_op, path)
        doc = {"format": FORMAT, "model": name, "kind": kind, "counts": path,
               "samples": counts["samples"], "steps": counts["steps"], "estimates": ests,
               "profiles": {p.name: p.to_dict() for p in profiles}}
        notes = []
        if args.timing:
            raster = os.path.join(root, name, "raster.npz")
            mfile = os.path.join(root, name, "model.npz")
            if kind != "egru":
                notes.append(f"{name}: timing is simulated for EGRU models only (this is a {kind})")
            elif not os.path.isfile(raster):
                notes.append(f"{name}: no raster.npz (set measure.raster_samples in the scenario): timing skipped")
            else:
                from ..model import load_model
                model = load_model(mfile)
                with np.load(raster) as z:
                    inputs = z["tokens"] if "tokens" in z.files else z["input"]
                    ys = [z[f"layer{k}.y"] for k in range(model.n_layers)]
                tim = _timings(model, inputs, ys, profiles, args, name)
                doc["timing"] = [t.to_dict() for t in tim]
                doc["timing_samples"] = int(ys[0].shape[0])
        write_json(os.path.join(root, name, "cost.json"), doc)
        rows = _summary_rows(name, ests)
        all_rows += rows
        if not args.quiet:
            print(f"== {name} ({kind}): {counts['samples']} sample(s) x {counts['steps']} steps")
            print(energy_table(ests))
            if "timing" in doc:
                print(f"timing on {doc['timing_samples']} raster sample(s):")
                print(_timing_table(tim))
            for n in notes:
                print(n)
            print()
    table = {"format": TABLE_FORMAT, "results": os.path.abspath(root),
             "profiles": [p.name for p in profiles], "rows": all_rows}
    write_json(os.path.join(root, "cost.json"), table)
    with open(os.path.join(root, "cost.md"), "w") as f:
        f.write(_markdown(all_rows))
    if args.json:
        write_json(args.json, table)
    if not args.quiet:
        print(f"wrote {len(names)} <model>/cost.json, {os.path.join(root, 'cost.json')} and cost.md")
    return 0


def _run_model(args, profiles) -> int:
    from ..errors import EventsimError
    from ..hardware.energy import energy_table
    from ..inputs import load_input
    from ..model import load_model
    from ..simulation import simulate
    from ._util import write_json

    if not args.input:
        raise EventsimError("--model needs --input (the run to cost)")
    model = load_model(args.model)
    inputs = load_input(args.input)
    res = simulate(model, inputs, engine="event", record=("y",) if args.timing else ())
    counts = res.counts.to_dict()
    ests = _estimates(counts, profiles, "egru", args.event_op, args.model)
    doc = {"format": FORMAT, "model": args.model, "kind": "egru", "input": args.input,
           "samples": counts["samples"], "steps": counts["steps"], "estimates": ests,
           "profiles": {p.name: p.to_dict() for p in profiles}}
    tim = None
    if args.timing:
        tim = _timings(model, inputs, res.y, profiles, args, args.model)
        doc["timing"] = [t.to_dict() for t in tim]
    if args.json:
        write_json(args.json, doc)
    if not args.quiet:
        print(f"model {args.model}: layers {model.sizes}; {counts['samples']} sample(s) x "
              f"{counts['steps']} steps; activity sparsity {counts['total']['activity_sparsity']:.1%}")
        print(energy_table(ests))
        if tim:
            print()
            print(_timing_table(tim))
        if args.json:
            print(f"written to {args.json}")
    return 0


def run(args) -> int:
    from ..errors import EventsimError
    if bool(args.results) == bool(args.model):
        raise EventsimError("give either a results folder (eventsim cost results/<scenario>) or "
                            "--model M.npz --input X, not both and not neither")
    profiles = _profiles(args.hardware)
    rc = _run_results(args, profiles) if args.results else _run_model(args, profiles)
    sys.stdout.flush()
    return rc
