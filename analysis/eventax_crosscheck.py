"""Cross-check of the continuous-time EGRU (SPEC §6) against eventax 0.1.0.

For several random networks (one population with input channels and recurrence, a few
hundred units, random weights, weight density and transmission delays), run eventsim's
event engine and eventax (Tsit5, PID step control at rtol 1e-10 / atol 1e-12, Newton root
finder at 1e-13, float64) on the same Poisson input events, and report per network: the
spikes of each (count), whether they are the same units in the same order, the largest
difference of spike times, and the wall time of each (eventax: after compilation; its
compile time apart).

    python analysis/eventax_crosscheck.py --out benchmarks/results/ctegru_eventax.json

needs the extra ``eventax`` (eventax, jax, diffrax). Each network compiles its own JAX
graph (tens of seconds on one core).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

NETWORKS = [  # (units, inputs, weight density, input rate Hz per channel, seed)
    dict(n=100, m=16, density=1.0, rate=60.0, seed=1),
    dict(n=200, m=20, density=0.3, rate=60.0, seed=2),
    dict(n=300, m=20, density=0.2, rate=50.0, seed=3),
    dict(n=300, m=32, density=0.5, rate=40.0, seed=4),
]


def network(spec, duration):
    """The model and input events of one network spec (also used by benchmarks/bench_ctegru.py):
    recurrent weights ~ N(0, 9/(density·n)), input weights sqrt(density·n)/2 times larger,
    b_u ~ 0, b_r ~ 1, b_z ~ 0, threshold 0.3, τ_syn 5 ms, τ_mem 20 ms, delays ~ U(0, 2 ms)."""
    from eventsim.ctegru import poisson_stream, random_ctegru
    rng = np.random.default_rng(spec["seed"])
    d_ff, d_rec = (float(x) for x in rng.uniform(0.0, 2e-3, 2))
    model = random_ctegru(spec["m"], [spec["n"]], seed=spec["seed"], weight_density=spec["density"],
                          weight_scale=3.0 / np.sqrt(spec["density"] * spec["n"]),
                          bias_means=(0.0, 1.0, 0.0), thr=0.3, ff_delays=[d_ff], rec_delays=[d_rec])
    model.layers[0].kernel[:] *= np.sqrt(spec["density"] * spec["n"]) / 2  # inputs drive harder
    stream = poisson_stream(spec["m"], spec["rate"], duration, seed=spec["seed"])
    return model, stream


def one(spec, duration, rtol, atol, root_tol):
    from eventsim.ctegru import simulate_ctegru
    from eventsim.ctegru.eventax import run_eventax, to_eventax

    model, stream = network(spec, duration)
    d_ff, d_rec = model.ff_delays[0], model.rec_delays[0]
    simulate_ctegru(model, stream, rtol=rtol, atol=atol, root_tol=root_tol)  # loads Numba's cache
    t0 = time.perf_counter()
    ours = simulate_ctegru(model, stream, rtol=rtol, atol=atol, root_tol=root_tol)
    t_ours = time.perf_counter() - t0
    sp = ours.spikes(0)
    steps = len(stream) + 3 * len(sp) + 200
    net = to_eventax(model, duration, rtol=rtol, atol=atol, root_tol=root_tol, max_event_steps=steps)
    t0 = time.perf_counter()
    run_eventax(net, stream.t, stream.channel)
    t_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    et, eu = run_eventax(net, stream.t, stream.channel)
    t_ax = time.perf_counter() - t0
    ou = np.array([u for _, _, u in sp], np.int64)
    ot = np.array([t for t, _, _ in sp])
    k = min(len(ou), len(eu))
    agree = int(np.argmax(ou[:k] != eu[:k])) if np.any(ou[:k] != eu[:k]) else k
    same = len(ou) == len(eu) and agree == k
    return {**spec, "duration_s": duration, "ff_delay_s": d_ff, "rec_delay_s": d_rec,
            "input_events": len(stream), "spikes_eventsim": len(sp), "spikes_eventax": int(len(eu)),
            "same_units_same_order": bool(same), "spikes_agreeing_from_start": agree,
            "max_abs_time_difference_s": float(np.max(np.abs(ot[:agree] - et[:agree]))) if agree else 0.0,
            "seconds_eventsim": t_ours, "seconds_eventax": t_ax, "seconds_eventax_compile": t_compile}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=0.1, help="seconds per network (default 0.1)")
    ap.add_argument("--rtol", type=float, default=1e-10)
    ap.add_argument("--atol", type=float, default=1e-12)
    ap.add_argument("--root-tol", type=float, default=1e-13)
    ap.add_argument("--networks", type=int, default=len(NETWORKS), help="run the first N networks")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    from tqdm import tqdm
    rows = [one(spec, args.duration, args.rtol, args.atol, args.root_tol)
            for spec in tqdm(NETWORKS[:args.networks], desc="networks", unit="net")]
    print(f"{'units':>5} {'inputs':>6} {'density':>7} {'spikes es/ax':>13} {'same':>5} "
          f"{'max |dt| s':>10} {'eventsim s':>10} {'eventax s':>9}")
    for r in rows:
        print(f"{r['n']:>5} {r['m']:>6} {r['density']:>7} "
              f"{r['spikes_eventsim']:>6}/{r['spikes_eventax']:<6} {str(r['same_units_same_order']):>5} "
              f"{r['max_abs_time_difference_s']:>10.2e} {r['seconds_eventsim']:>10.3f} "
              f"{r['seconds_eventax']:>9.3f}")
    if args.out:
        import eventax  # noqa: F401
        from importlib.metadata import version
        doc = {"command": "python analysis/eventax_crosscheck.py " + " ".join(argv or sys.argv[1:]),
               "versions": {p: version(p) for p in ("eventax", "jax", "diffrax", "numba")},
               "rtol": args.rtol, "atol": args.atol, "root_tol": args.root_tol, "networks": rows}
        from eventsim.outputs import write_json
        write_json(args.out, doc)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
