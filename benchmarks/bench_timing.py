"""Timing-simulation benchmark (issue 5, issue 18): events replayed per second.

Run:  python benchmarks/bench_timing.py [--steps 1000] [--repeats 7] [--out benchmarks/results/timing.json]

Workload: a 3-layer EGRU of 3 x 450 = 1350 units like the paper's language
model (embedding of 50 tokens into 64 inputs, readout of 50 logits), random
weights (``eventsim.random_model``, seed 0, mean threshold 0.1, which gives
about 87% activity sparsity), one sample of ``--steps`` random tokens run
once through ``eventsim.simulate(record=("y",))``. The recorded events are then
replayed by ``eventsim.hardware.timing.simulate_timing`` on Loihi (128 cores)
and SpiNNaker 2 (152 cores) with the contiguous and the balanced placement.

Per profile the placements run round robin (``--repeats`` rounds, the first,
compiling, call made before timing), so both see the same load; the ratio
balanced / contiguous of their median wall times is printed and recorded. Reported
per configuration: median wall time of the whole ``simulate_timing`` call, the time
computing the placement alone takes (``place``, the balanced one reads the run's
activity; part of the call), events per second (emitted events / median wall
time), packets per second, the entries of the model's event queue (one per packet
batch, core update and barrier) and the entries the kernel's heap handled (one per
send and arrival time, core update and barrier), and what the simulation measured
(chip steps/s, mean step latency, load imbalance, energy per step). The raw times
of every repeat are kept in the JSON.
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
from eventsim.hardware.mapping import place, source_activity
from eventsim.hardware.timing import _active_masks, simulate_timing


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=7)
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

    x_act, y_act = _active_masks(model, tokens, res.y, False)
    rows = []
    ratios = {}
    placements = args.placements.split(",")
    for pname in args.profiles.split(","):
        prof = load_profile(pname)
        walls = {pl: [] for pl in placements}
        place_s = {pl: [] for pl in placements}
        outs = {}
        for _ in range(args.repeats):
            for placement in placements:  # round robin: the placements see the same load
                t0 = time.perf_counter()
                outs[placement] = simulate_timing(model, tokens, res.y, prof, placement)
                walls[placement].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                place(model, prof, placement, None,
                      source_activity(model, x_act, y_act) if placement == "balanced" else None)
                place_s[placement].append(time.perf_counter() - t0)
        for placement in placements:
            med = statistics.median(walls[placement])
            med_place = statistics.median(place_s[placement])
            out = outs[placement]
            d = out.to_dict()
            row = {"profile": pname, "placement": placement, "cores": d["cores"],
                   "wall_s": walls[placement], "median_wall_s": med,
                   "placement_s": place_s[placement], "median_placement_s": med_place,
                   "events_per_s": events / med, "packets_per_s": d["packets"] / med,
                   "packets": d["packets"], "chip_steps_per_s": d["throughput_steps_per_s"],
                   "step_latency_mean_s": d["step_latency_s"]["mean"],
                   "load_imbalance": d["load_imbalance"], "utilisation_mean": d["utilisation"]["mean"],
                   "energy_per_step_pj": d["energy"]["energy_per_step_pj"],
                   "queue_entries": d["queue_entries"], "heap_entries": d["heap_entries"],
                   "wall_ns_per_queue_entry": med / d["queue_entries"] * 1e9,
                   "wall_ns_per_heap_entry": med / d["heap_entries"] * 1e9}
            rows.append(row)
            print(f"{pname:11s} {placement:10s} median {med:6.3f} s (placement {med_place * 1e3:5.1f} ms)  "
                  f"{row['events_per_s']:9,.0f} events/s  {row['packets_per_s']:11,.0f} packets/s  "
                  f"chip {row['chip_steps_per_s']:9,.0f} steps/s  imbalance {row['load_imbalance']:.2f}  "
                  f"{row['queue_entries']:,} queue entries, {row['heap_entries']:,} heap entries")
        if "balanced" in walls and "contiguous" in walls:
            med = {pl: statistics.median(walls[pl]) for pl in ("balanced", "contiguous")}
            med_place = {pl: statistics.median(place_s[pl]) for pl in ("balanced", "contiguous")}
            ratios[pname] = {"balanced_over_contiguous": med["balanced"] / med["contiguous"],
                             "without_placement": (med["balanced"] - med_place["balanced"])
                             / (med["contiguous"] - med_place["contiguous"])}
            print(f"{pname:11s} balanced / contiguous wall time: {ratios[pname]['balanced_over_contiguous']:.2f}x "
                  f"({ratios[pname]['without_placement']:.2f}x without computing the placement)")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = None
    doc = {"benchmark": "timing simulation speed (issue 5, issue 18)",
           "workload": {"layers": [450, 450, 450], "inputs": 64, "vocab": 50, "outputs": 50,
                        "thr_mean": 0.1, "seed": 0, "steps": args.steps, "samples": 1,
                        "events": events, "activity_sparsity": counts["total"]["activity_sparsity"],
                        "effective_macs": counts["total"]["macs"]["effective"]},
           "repeats": args.repeats, "rows": rows, "ratio_balanced_over_contiguous": ratios,
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
