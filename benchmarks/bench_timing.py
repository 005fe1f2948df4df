"""Timing-simulation benchmark (issue 5): events replayed per second.

Run:  python benchmarks/bench_timing.py [--steps 1000] [--repeats 3] [--out benchmarks/results/timing.json]

Workload: a 3-layer EGRU of 3 x 450 = 1350 units like the paper's language
model (embedding of 50 tokens into 64 inputs, readout of 50 logits), random
weights (``eventsim.random_model``, seed 0, mean threshold 0.1, which gives
about 87% activity sparsity), one sample of ``--steps`` random tokens run
once through ``eventsim.simulate(record=("y",))``. The recorded events are then
replayed by ``eventsim.hardware.timing.simulate_timing`` on Loihi (128 cores)
and SpiNNaker 2 (152 cores) with the contiguous and the balanced placement.

Reported per configuration: median wall time of ``--repeats`` runs (the first,
compiling, call is made before timing), events per second (emitted events /
median wall time), queue entries' packets per second, the entries the replay's queue
handled and its wall time per entry (its own work; a balanced placement spreads each layer
over more cores, so each emitting core sends to more cores: more entries), and what the
simulation measured (chip steps/s, mean step latency, load imbalance, energy per step).
The raw times of every repeat are kept in the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

import eventsim
from eventsim.hardware import load_profile
from eventsim.hardware.timing import simulate_timing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profiles", default="loihi,spinnaker2")
    ap.add_argument("--placements", default="contiguous,balanced")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "timing.json"))
    args = ap.parse_args(argv)

    model = eventsim.random_model(64, [450, 450, 450], n_out=50, vocab=50, seed=0, thr_mean=0.1)
    tokens = np.random.default_rng(0).integers(0, 50, size=(1, args.steps))
    t0 = time.perf_counter()
    res = eventsim.simulate(model, tokens, record=("y",))
    sim_s = time.perf_counter() - t0
    counts = res.counts.to_dict()
    events = counts["total"]["events"]
    print(f"workload: 3 x 450 units, {args.steps} steps, {events:,} events, activity sparsity "
          f"{counts['total']['activity_sparsity']:.1%} (engine run {sim_s:.1f} s)")
    # compile the kernel once, outside the timed runs
    simulate_timing(model, tokens[:, :2], [y[:, :2] for y in res.y], load_profile("loihi"))

    rows = []
    for pname in args.profiles.split(","):
        prof = load_profile(pname)
        for placement in args.placements.split(","):
            walls = []
            out = None
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                out = simulate_timing(model, tokens, res.y, prof, placement)
                walls.append(time.perf_counter() - t0)
            med = statistics.median(walls)
            d = out.to_dict()
            row = {"profile": pname, "placement": placement, "cores": d["cores"],
                   "wall_s": walls, "median_wall_s": med,
                   "events_per_s": events / med, "packets_per_s": d["packets"] / med,
                   "packets": d["packets"], "chip_steps_per_s": d["throughput_steps_per_s"],
                   "step_latency_mean_s": d["step_latency_s"]["mean"],
                   "load_imbalance": d["load_imbalance"], "utilisation_mean": d["utilisation"]["mean"],
                   "energy_per_step_pj": d["energy"]["energy_per_step_pj"],
                   "queue_entries": d["queue_entries"], "wall_ns_per_queue_entry": med / d["queue_entries"] * 1e9}
            rows.append(row)
            print(f"{pname:11s} {placement:10s} median {med:6.2f} s  {row['events_per_s']:9,.0f} events/s  "
                  f"{row['packets_per_s']:11,.0f} packets/s  chip {row['chip_steps_per_s']:9,.0f} steps/s  "
                  f"imbalance {row['load_imbalance']:.2f}  {row['queue_entries']:,} queue entries "
                  f"({row['wall_ns_per_queue_entry']:.0f} ns each)")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = None
    doc = {"benchmark": "timing simulation speed (issue 5)",
           "workload": {"layers": [450, 450, 450], "inputs": 64, "vocab": 50, "outputs": 50,
                        "thr_mean": 0.1, "seed": 0, "steps": args.steps, "samples": 1,
                        "events": events, "activity_sparsity": counts["total"]["activity_sparsity"],
                        "effective_macs": counts["total"]["macs"]["effective"]},
           "repeats": args.repeats, "rows": rows,
           "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                       "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
                       "numpy": np.__version__},
           "commit": commit, "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
