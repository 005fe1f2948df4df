"""Engine benchmarks (issue 2): MAC throughput, sparse speed-up, break-even activity, warm start.

Run:  python benchmarks/bench_engine.py [--quick] [--out benchmarks/results/engine.json]

All figures of one run are measured in the same process, back to back, and
reported as medians of repeats (the machines are shared and noisy).

1. Synaptic MAC throughput at full activity (every input nonzero, every unit
   firing every step), n = m = 1024, float32, against numpy's dense matvec
   (``x @ W`` with W of shape (m + n, 3n)), on 1 and on 2 threads.
2. Time per sample step at 90-95% activity sparsity against the fastest
   plain-numpy dense EGRU step: one BLAS matvec per step with the stacked
   matrix [[K_zr, K_g, 0], [R_zr, 0, R_g]] (m + n, 4n) plus the elementwise
   update. Efficiency = measured speed-up / ideal speed-up (dense MACs /
   effective MACs). Break-even activity: the activity at which the engine's
   step time equals the dense step time (interpolated over a threshold sweep).
3. Warm start: a fresh process's first ``simulate`` call after another
   process compiled and cached the kernels.
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
from threadpoolctl import threadpool_limits

import eventsim
from eventsim import simulate


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def full_activity_model(n, m):
    model = eventsim.random_model(m, [n], seed=0)
    layer = model.layers[0]
    layer.thr[:] = 0.0
    layer.bias[2 * n:] = 8.0  # g ~ 1: c > 0, every unit fires every step
    layer.kernel[:, 2 * n:] *= 0.01
    layer.recurrent_kernel[:, 2 * n:] *= 0.01
    return model


def dense_step_fn(model):
    """The fastest plain-numpy dense EGRU step we know: one matvec per step."""
    layer = model.layers[0]
    n, m = layer.n_units, layer.n_in
    K, R = layer.kernel, layer.recurrent_kernel
    W = np.zeros((m + n, 4 * n), np.float32)
    W[:m, :2 * n] = K[:, :2 * n]
    W[:m, 2 * n:3 * n] = K[:, 2 * n:]
    W[m:, :2 * n] = R[:, :2 * n]
    W[m:, 3 * n:] = R[:, 2 * n:]
    b = np.concatenate([layer.bias[:2 * n] + layer.recurrent_bias[:2 * n], layer.bias[2 * n:],
                        layer.recurrent_bias[2 * n:]]).astype(np.float32)
    thr = layer.thr

    def run(x):  # x: (T, m)
        s = np.zeros(n, np.float32)
        y = np.zeros(n, np.float32)
        xy = np.zeros(m + n, np.float32)
        for t in range(x.shape[0]):
            xy[:m] = x[t]
            xy[m:] = y
            v = xy @ W + b
            zr = 1.0 / (1.0 + np.exp(-v[:2 * n]))
            g = np.tanh(v[2 * n:3 * n] + zr[n:] * v[3 * n:])
            c = zr[:n] * s + (1.0 - zr[:n]) * g
            o = c > thr
            y = np.where(o, c, 0.0).astype(np.float32)
            s = c - o * thr
        return y
    return run


def bench_throughput(n, T, repeats, threads):
    m = n
    model = full_activity_model(n, m)
    B = 2
    x = np.random.default_rng(0).uniform(0.5, 1.0, size=(B, T, m)).astype(np.float32)
    cm = eventsim.compile_model(model)  # lay out the fan-out rows once, outside the timing
    simulate(cm, x[:, :2], threads=threads)  # compile / load the kernel cache
    res = simulate(cm, x, threads=threads)
    eff = res.counts.to_dict()["total"]["macs"]["effective"]
    assert res.counts.to_dict()["total"]["activity_sparsity"] < 0.01, "not at full activity"
    t_engine = median_time(lambda: simulate(cm, x, threads=threads), repeats)
    W = np.random.default_rng(1).normal(size=(m + n, 3 * n)).astype(np.float32)
    v = np.random.default_rng(2).normal(size=m + n).astype(np.float32)
    reps = 200
    with threadpool_limits(limits=threads, user_api="blas"):
        v @ W
        t_blas = median_time(lambda: [v @ W for _ in range(reps)], repeats) / reps
    return {"threads": threads, "n": n, "m": m, "samples": B, "steps": T,
            "engine_macs": eff, "engine_seconds": t_engine, "engine_mac_per_s": eff / t_engine,
            "blas_matvec_seconds": t_blas, "blas_mac_per_s": (m + n) * 3 * n / t_blas,
            "ratio_engine_over_blas": (eff / t_engine) / ((m + n) * 3 * n / t_blas)}


def bench_sparse(n, T, repeats, threads, thresholds):
    m = n
    model = eventsim.random_model(m, [n], seed=0)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(1, T, m)) * (rng.random((1, T, m)) < 0.05)).astype(np.float32)
    dense = dense_step_fn(model)
    with threadpool_limits(limits=threads, user_api="blas"):
        t_dense = median_time(lambda: dense(x[0]), repeats) / T
    rows = []
    for thr in thresholds:
        model.layers[0].thr[:] = thr
        cm = eventsim.compile_model(model)
        simulate(cm, x[:, :2], threads=threads)
        res = simulate(cm, x, threads=threads)
        d = res.counts.to_dict()["layers"][0]
        t_engine = median_time(lambda: simulate(cm, x, threads=threads), repeats) / T
        ideal = d["macs"]["dense"] / d["macs"]["effective"]
        rows.append({"thr": thr, "activity": 1 - d["activity_sparsity"],
                     "activity_sparsity": d["activity_sparsity"],
                     "input_activity": d["active_sources"]["inputs"] / (m * T),
                     "engine_step_seconds": t_engine, "dense_step_seconds": t_dense,
                     "speedup": t_dense / t_engine, "ideal_speedup": ideal,
                     "efficiency": (t_dense / t_engine) / ideal})
    # break-even: activity where engine time == dense time (linear interpolation)
    rows.sort(key=lambda r: r["activity"])
    be = None
    for a, b in zip(rows, rows[1:]):
        if (a["speedup"] - 1) * (b["speedup"] - 1) <= 0 and a["speedup"] != b["speedup"]:
            f = (a["speedup"] - 1) / (a["speedup"] - b["speedup"])
            be = a["activity"] + f * (b["activity"] - a["activity"])
            break
    # the far end: every input and every unit active at every step
    full = full_activity_model(n, m)
    xf = rng.uniform(0.5, 1.0, size=(1, T, m)).astype(np.float32)
    densef = dense_step_fn(full)
    with threadpool_limits(limits=threads, user_api="blas"):
        t_dense_f = median_time(lambda: densef(xf[0]), repeats) / T
    cmf = eventsim.compile_model(full)
    simulate(cmf, xf[:, :2], threads=threads)
    t_engine_f = median_time(lambda: simulate(cmf, xf, threads=threads), repeats) / T
    full_row = {"activity": 1.0, "input_activity": 1.0, "engine_step_seconds": t_engine_f,
                "dense_step_seconds": t_dense_f, "speedup": t_dense_f / t_engine_f}
    return {"threads": threads, "n": n, "m": m, "steps": T, "dense_step_seconds": t_dense, "sweep": rows,
            "break_even_activity": be, "full_activity": full_row}


def bench_warm_start():
    code = ("import time; t0 = time.perf_counter(); import numpy as np, eventsim; "
            "m = eventsim.random_model(16, [32, 32], n_out=4, seed=0); "
            "eventsim.simulate(m, np.ones((2, 20, 16), np.float32)); "
            "print(time.perf_counter() - t0)")
    first = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    second = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                   check=True).stdout) for _ in range(3)]
    return {"first_process_seconds": first, "warm_process_seconds_median": statistics.median(second),
            "warm_process_seconds": second}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default="benchmarks/results/engine.json")
    args = ap.parse_args()
    n = 256 if args.quick else 1024
    T = 20 if args.quick else 200
    reps = 3 if args.quick else 7
    out = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                       "numba": __import__("numba").__version__, "cpus": os.cpu_count(),
                       "processor": platform.processor() or platform.machine()},
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg_1min_at_start": os.getloadavg()[0],
           "throughput": [], "sparse": []}
    for threads in (1, 2):
        r = bench_throughput(n, T // 4 if not args.quick else T, reps, threads)
        print(f"[throughput, {threads} thread(s)] engine {r['engine_mac_per_s'] / 1e9:.2f} GMAC/s, "
              f"BLAS matvec {r['blas_mac_per_s'] / 1e9:.2f} GMAC/s, ratio {r['ratio_engine_over_blas']:.2f}")
        out["throughput"].append(r)
    thresholds = [0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4]
    for threads in (1,):
        r = bench_sparse(n, T, reps, threads, thresholds)
        for row in r["sweep"]:
            print(f"[sparse] thr {row['thr']:.2f} activity {row['activity']:.3f}: engine "
                  f"{row['engine_step_seconds'] * 1e6:.1f} us/step, dense {row['dense_step_seconds'] * 1e6:.1f} "
                  f"us/step, speed-up {row['speedup']:.2f} of ideal {row['ideal_speedup']:.2f} "
                  f"(efficiency {row['efficiency']:.2f})")
        print(f"[sparse] break-even activity (5% input activity): {r['break_even_activity']}")
        f = r["full_activity"]
        print(f"[full activity] engine {f['engine_step_seconds'] * 1e6:.1f} us/step, dense "
              f"{f['dense_step_seconds'] * 1e6:.1f} us/step, speed-up {f['speedup']:.2f}")
        out["sparse"].append(r)
    out["warm_start"] = bench_warm_start()
    out["load_avg_1min_at_end"] = os.getloadavg()[0]
    print(f"[warm start] first process {out['warm_start']['first_process_seconds']:.2f} s, "
          f"later processes {out['warm_start']['warm_process_seconds_median']:.2f} s (median)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"raw results written to {args.out}")


if __name__ == "__main__":
    main()
