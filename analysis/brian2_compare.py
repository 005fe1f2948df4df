"""Spike-for-spike cross-validation of eventsim's LIF engine against Brian2 (issue 7).

Builds each network once, runs it with eventsim's event engine and with Brian2
(runtime mode, numpy target, float64, the same dt, weights, delays, inputs and
discrete-time update; the mapping is documented in eventsim/lif/brian.py), and
compares the spike trains (every (step, neuron) pair), the membrane traces, and the
synaptic operations eventsim counted against those implied by Brian2's own spikes.

Cases: 1000-2000 neurons, 2000 steps (0.2 s at dt = 0.1 ms), random and structured
connectivity, with and without per-synapse delays and refractoriness, both resets,
binary and graded events.

Usage (Brian2 2.9 needs numpy < 2.4):
    PYTHONPATH=. /path/to/python-with-brian2 analysis/brian2_compare.py [--quick]
Writes benchmarks/results/brian2_compare.json and prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from eventsim.lif import make_lif, poisson_stream, random_lif_model, simulate_lif
from eventsim.lif.brian import run_brian2

HERE = os.path.dirname(os.path.abspath(__file__))
DT = 1e-4


def ring(n, k, refractory, seed):
    """Unit i excites its k nearest neighbours on each side of a ring (w = 0.35/distance,
    delay = 2*distance steps); input channel c drives the block of 20 units 20c..20c+19."""
    rng = np.random.default_rng(seed)
    off = np.arange(1, k + 1)
    i = np.repeat(np.arange(n), 2 * k)
    o = np.tile(np.concatenate([off, -off]), n)
    post = (i + o) % n
    w = 0.35 / np.abs(o) * rng.uniform(0.9, 1.1, size=o.size)
    d = 2 * np.abs(o)
    ch = np.arange(n) // 20
    return make_lif(n // 20, n, (ch, np.arange(n), np.full(n, 0.8)), (i, post, w, d), tau=0.02, thr=1.0,
                    dt=DT, refractory=refractory, reset="value", v_reset=0.0)


def chain(groups, size, refractory, seed):
    """Synfire-like chain: group g projects all-to-all to group g+1 (delay 5 steps);
    the last group feeds back to the first with delay 30; inputs drive group 0."""
    rng = np.random.default_rng(seed)
    pre, post = [], []
    for g in range(groups):
        a = np.arange(g * size, (g + 1) * size)
        b = np.arange(((g + 1) % groups) * size, ((g + 1) % groups + 1) * size)
        pre.append(np.repeat(a, size))
        post.append(np.tile(b, size))
    pre, post = np.concatenate(pre), np.concatenate(post)
    w = rng.normal(0.02, 0.01, size=pre.size)
    d = np.where(pre // size == groups - 1, 30, 5)
    m_in = 50
    ipre = np.repeat(np.arange(m_in), 20)
    ipost = rng.integers(0, size, size=ipre.size)
    return make_lif(m_in, groups * size, (ipre, ipost, np.full(ipre.size, 0.6)), (pre, post, w, d),
                    tau=0.01, thr=1.0, dt=DT, refractory=refractory, reset="subtract")


def cases(quick):
    n = 300 if quick else 1000
    R = lambda **kw: (lambda: random_lif_model(
        200, n, **{**dict(fanout_in=50, fanout_rec=50, w_in=(0.25, 0.15), w_rec=(0.0, 0.25), tau=0.02,
                          thr=1.0, dt=DT, seed=1), **kw}))
    return {
        "random, no delays, no refractory, high rate": (R(), 200, 300.0),
        "random, no delays, no refractory": (R(seed=11), 200, 20.0),
        "random, delays in 0-5 / rec 1-20 steps": (R(delay_in=(0, 5), delay_rec=(1, 20), seed=2), 200, 20.0),
        "random, delays + refractory 20 steps, subtract reset":
            (R(delay_in=(0, 5), delay_rec=(1, 20), refractory=20, reset="subtract", seed=3), 200, 20.0),
        "random, no delays, refractory 10, bias + v_reset":
            (R(refractory=10, bias=0.005, v_reset=-0.2, seed=4), 200, 20.0),
        "random, graded events, rec delay 1": (R(events="graded", w_rec=(0.0, 0.1), seed=5), 200, 20.0),
        "random, 2000 neurons, heterogeneous tau/thr, delays + refractory 5": (lambda: random_lif_model(
            200, 2 * n, fanout_in=100, fanout_rec=100, w_in=(0.2, 0.1), w_rec=(0.0, 0.2),
            tau=np.random.default_rng(6).uniform(0.005, 0.05, 2 * n),
            thr=np.random.default_rng(7).uniform(0.8, 1.2, 2 * n), delay_in=(0, 3), delay_rec=(1, 15),
            refractory=5, dt=DT, seed=6), 200, 20.0),
        "ring (structured), distance delays, refractory 5": (lambda: ring(n, 10, 5, 8), n // 20, 100.0),
        "synfire chain (structured), all-to-all blocks, refractory 20":
            (lambda: chain(10, n // 10, 20, 9), 50, 300.0),
    }


def implied_synops(model, x, spikes_t, spikes_i, T):
    """Synaptic operations implied by the spike trains: each event delivers the synapses of its
    row whose delay keeps the delivery inside the run (independent of the engine's counters)."""
    total = 0
    for proj, t_arr, src in ((model.inp, x.t, x.channel), (model.rec, spikes_t, spikes_i)):
        for t, j in zip(t_arr, src):
            d = proj.delay[proj.indptr[j]:proj.indptr[j + 1]]
            total += int(np.sum(t + d < T))
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="300 neurons, for a smoke test")
    ap.add_argument("--out", default=os.path.join(HERE, "..", "benchmarks", "results", "brian2_compare.json"))
    a = ap.parse_args()
    T = a.steps
    rows = []
    for name, (build, m_in, rate) in cases(a.quick).items():
        model = build()
        x = poisson_stream(model.n_in, T, rate, DT, seed=len(rows) + 100)
        t0 = time.perf_counter()
        ours = simulate_lif(model, x, record_v=True)
        t1 = time.perf_counter()
        br = run_brian2(model, T, spikes=(x.t, x.channel), target="numpy", record_v=True)
        t2 = time.perf_counter()
        same = (len(br["t"]) == len(ours.t) and np.array_equal(br["t"], ours.t)
                and np.array_equal(br["i"], ours.unit))
        first = None
        if not same:
            a_set = set(zip(ours.t.tolist(), ours.unit.tolist()))
            b_set = set(zip(br["t"].tolist(), br["i"].tolist()))
            diff = sorted(a_set ^ b_set)
            first = {"step": diff[0][0], "neuron": diff[0][1], "only_in": "eventsim" if diff[0] in a_set else "brian2",
                     "n_differences": len(diff)}
        implied = implied_synops(model, x, br["t"], br["i"], T)
        c = ours.counts.to_dict()
        row = {"case": name, "neurons": model.n, "inputs": model.n_in, "steps": T,
               "synapses": model.inp.nnz + model.rec.nnz, "max_delay": model.max_delay,
               "refractory": model.refractory, "reset": model.reset, "events": model.events,
               "input_spikes": len(x), "spikes_eventsim": int(len(ours.t)), "spikes_brian2": int(len(br["t"])),
               "identical": bool(same), "first_difference": first,
               "max_abs_v_difference": float(np.max(np.abs(br["v"] - ours.v[0]))),
               "max_abs_v": float(np.max(np.abs(ours.v[0]))),
               "synops_eventsim": c["synops"]["effective"], "synops_implied_by_brian2_spikes": implied,
               "seconds_eventsim": t1 - t0, "seconds_brian2_numpy": t2 - t1}
        rows.append(row)
        print(f"{name}: {row['spikes_eventsim']} vs {row['spikes_brian2']} spikes, identical={same}, "
              f"max|dv|={row['max_abs_v_difference']:.2e}, synops {row['synops_eventsim']} vs {implied}",
              flush=True)
    import brian2
    out = {"brian2": brian2.__version__, "numpy": np.__version__, "dt_s": DT, "target": "numpy",
           "all_identical": all(r["identical"] for r in rows),
           "all_synops_equal": all(r["synops_eventsim"] == r["synops_implied_by_brian2_spikes"] for r in rows),
           "cases": rows}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=2)
    print("\n| case | neurons | synapses | spikes (eventsim / Brian2) | identical | max abs v diff |"
          " synaptic ops (eventsim / from Brian2 spikes) |")
    print("|---|---:|---:|---:|:---:|---:|---:|")
    for r in rows:
        print(f"| {r['case']} | {r['neurons']} | {r['synapses']:,} | {r['spikes_eventsim']:,} / "
              f"{r['spikes_brian2']:,} | {'yes' if r['identical'] else 'NO'} | {r['max_abs_v_difference']:.1e} | "
              f"{r['synops_eventsim']:,} / {r['synops_implied_by_brian2_spikes']:,} |")
    print(f"\nwrote {a.out}")
    return 0 if out["all_identical"] and out["all_synops_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
