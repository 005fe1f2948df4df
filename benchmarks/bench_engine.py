"""Engine benchmarks (issues 2 and 18): MAC throughput, sparse speed-up, break-even activity,
warm start; machine limits, the two sparse regimes via plain ``simulate(model, x)``, quiet
steps, layout time and memory, 2-thread scaling, paper-size models.

Run:  python benchmarks/bench_engine.py [--quick] [--out benchmarks/results/engine.json]
      python benchmarks/bench_engine.py --issue18 [--paper] [--out benchmarks/results/issue18.json]
      python benchmarks/bench_engine.py --embedding-only [--out benchmarks/results/embedding.json]

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

With ``--issue18`` (docs/performance.md quotes these):

4. Machine limits: memory bandwidth (numpy copy of 128 MB, read + write bytes per second) and
   the single-thread BLAS matvec rate.
5. The two regimes of issue 18 through plain ``simulate(model, x)`` (the layout cache: the
   first call lays the model out, later calls check it and reuse it): cache-resident (n = 1024,
   m = 16, ~4% of units firing, 4,000 steps) and memory-bound (m = n = 1024, ~4% firing);
   efficiency = (dense step time / engine step time) / (dense MACs / effective MACs), the
   dense step being the one-matvec numpy step of ``dense_step_fn``.
6. Quiet steps: a step in which nothing reaches any unit (the units take their biases' gates)
   against a step in which 16 input rows reach every unit and none fires (every unit updated
   with exp, exp, tanh).
7. Layout: time, and process memory (RSS and its peak) per byte of weights, in a fresh process,
   for 1024 and 4096 units; the per-call check that the parameters are unchanged.
8. Threads: a batch of 64 samples on 1 and 2 threads.
9. With ``--paper``: a paper-size language model (embedding 750, layers 1350/1350/750,
   vocabulary 10,000, random weights) over 20,000 and 80,000 tokens, and a 590-unit model over
   1,000 samples of 784 steps: time, peak memory, GMAC/s.
10. With ``--embedding-only``: the per-call cost of a model with the language model's 10,000 x
   750 embedding, 10 tokens: a plain ``simulate(model, ids)`` call (its layout and the
   embedding's input rows kept and checked) against building the input table from the
   embedding, as every call did before (``prepare_input`` without the kept rows).
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
    W = np.random.default_rng(1).normal(size=(m + n, 3 * n)).astype(np.float32)
    v = np.random.default_rng(2).normal(size=m + n).astype(np.float32)
    reps = 200
    with threadpool_limits(limits=threads, user_api="blas"):
        v @ W
        med = interleaved_medians({"engine": lambda: simulate(cm, x, threads=threads),
                                   "blas": lambda: [v @ W for _ in range(reps)]}, repeats)
    t_engine, t_blas = med["engine"], med["blas"] / reps
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


def interleaved_medians(fns, repeats):
    """Median time of each function, the functions run in turn (round robin) so that a change
    of the machine's load hits them alike."""
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def machine_limits(repeats):
    """Memory bandwidth (numpy copy) and the single-thread BLAS matvec rate."""
    a = np.ones(32 * 1024 * 1024, np.float32)  # 128 MB
    b = np.empty_like(a)
    np.copyto(b, a)
    t_copy = median_time(lambda: np.copyto(b, a), repeats)
    out = {"copy_bytes": a.nbytes, "copy_seconds": t_copy, "copy_bandwidth_bytes_per_s": 2 * a.nbytes / t_copy}
    del a, b
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, (rows, cols) in {"cache_resident": (1040, 3072), "memory_bound": (2048, 3072),
                                   "large": (4096, 12288)}.items():
            W = rng.normal(size=(rows, cols)).astype(np.float32)
            v = rng.normal(size=rows).astype(np.float32)
            reps = max(1, int(2e8 // W.size))
            v @ W
            t = median_time(lambda: [v @ W for _ in range(reps)], repeats) / reps
            out[f"blas_matvec_{name}"] = {"shape": [rows, cols], "seconds": t, "mac_per_s": W.size / t,
                                          "bytes_per_s": W.nbytes / t}
    return out


def sparse_input(rng, shape, density):
    return (rng.normal(size=shape) * (rng.random(shape) < density)).astype(np.float32)


def bench_regime(name, n, m, T, thr, input_density, repeats):
    """One regime through plain simulate(model, x): first call (lays out) and later calls."""
    model = eventsim.random_model(m, [n], seed=0)
    model.layers[0].thr[:] = thr
    x = sparse_input(np.random.default_rng(0), (1, T, m), input_density)
    dense = dense_step_fn(model)
    simulate(eventsim.random_model(m, [8], seed=1), x[:, :2])  # load the kernels from the cache
    t0 = time.perf_counter()
    res = simulate(model, x, threads=1)
    t_first = time.perf_counter() - t0
    cm = eventsim.compile_model(model)
    with threadpool_limits(limits=1, user_api="blas"):
        dense(x[0, :10])
        med = interleaved_medians({"dense": lambda: dense(x[0]),
                                   "plain": lambda: simulate(model, x, threads=1),
                                   "compiled": lambda: simulate(cm, x, threads=1)}, repeats)
    t_dense, t_engine, t_compiled = med["dense"] / T, med["plain"] / T, med["compiled"] / T
    d = res.counts.to_dict()["layers"][0]
    ideal = d["macs"]["dense"] / d["macs"]["effective"]
    return {"regime": name, "n": n, "m": m, "steps": T, "thr": thr, "input_density": input_density,
            "activity": 1 - d["activity_sparsity"], "effective_macs_per_step": d["macs"]["effective"] / T,
            "dense_macs_per_step": d["macs"]["dense"] / T, "ideal_speedup": ideal,
            "dense_step_seconds": t_dense, "engine_step_seconds": t_engine,
            "first_call_seconds": t_first, "compiled_step_seconds": t_compiled,
            "speedup": t_dense / t_engine, "efficiency": t_dense / t_engine / ideal,
            "efficiency_compiled": t_dense / t_compiled / ideal,
            "efficiency_first_call": t_dense * T / t_first / ideal,
            "effective_mac_per_s": d["macs"]["effective"] / (t_engine * T)}


def bench_quiet(n, m, T, repeats):
    """A quiet step (nothing reaches any unit: every unit sleeps, SPEC §2's event-driven update)
    against a step in which 16 input rows reach every unit and none fires (every unit updated
    with its gates), and the quiet step for several layer sizes (its cost per unit)."""
    model = eventsim.random_model(m, [n], seed=0)
    model.layers[0].thr[:] = 0.9
    model.layers[0].kernel[:] *= 1e-3  # every input row reaches every unit, no unit fires
    xq = np.zeros((1, T, m), np.float32)
    xw = np.full((1, T, m), 0.1, np.float32)
    simulate(model, xq[:, :2])
    med = interleaved_medians({"q": lambda: simulate(model, xq, threads=1),
                               "w": lambda: simulate(model, xw, threads=1)}, repeats)
    t_q, t_w = med["q"] / T, med["w"] / T
    rw = simulate(model, xw)
    r = rw.counts.to_dict()["layers"][0]
    assert r["events"] == 0 and r["unit_updates"]["event_driven"] == n * T
    slept = simulate(model, xq).slept
    sizes = {}
    for k in (64, 256, 1024, 4096):
        mk = eventsim.random_model(m, [k], seed=0)
        mk.layers[0].thr[:] = 0.9
        simulate(mk, xq[:, :2])
        sizes[k] = median_time(lambda: simulate(mk, xq, threads=1), repeats) / T
    return {"n": n, "m": m, "steps": T, "quiet_step_seconds": t_q, "woken_step_seconds": t_w,
            "woken_macs_per_step": r["macs"]["effective"] / T, "ratio": t_w / t_q,
            "quiet_unit_steps_slept": slept, "quiet_unit_steps": n * T,
            "quiet_step_seconds_by_units": sizes}


LAYOUT_CODE = r"""
import json, sys, time, statistics, numpy as np, eventsim
from eventsim.egru.engine import CompiledEGRU
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
n, m = int(sys.argv[1]), int(sys.argv[2])
model = eventsim.random_model(m, [n], seed=0)
wb = sum(a.nbytes for l in model.layers for a in (l.kernel, l.recurrent_kernel))
CompiledEGRU(eventsim.random_model(4, [8], seed=0))  # load the kernels
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
r0 = status("VmRSS")
t0 = time.perf_counter(); cm = CompiledEGRU(model); t1 = time.perf_counter()
r1, peak = status("VmRSS"), status("VmHWM")
ts = []
for _ in range(7):
    t2 = time.perf_counter(); assert cm.matches(model); ts.append(time.perf_counter() - t2)
print(json.dumps({"n": n, "m": m, "weights": wb // model.layers[0].kernel.itemsize, "weight_bytes": wb,
                  "layout_seconds": t1 - t0, "seconds_per_million_weights": (t1 - t0) / (wb / 4 / 1e6),
                  "rss_increase_over_weight_bytes": (r1 - r0) / wb,
                  "peak_increase_over_weight_bytes": (peak - r0) / wb,
                  "check_seconds": statistics.median(ts)}))
"""


def bench_layout(sizes):
    out = []
    for n, m in sizes:
        r = subprocess.run([sys.executable, "-c", LAYOUT_CODE, str(n), str(m)], capture_output=True,
                           text=True, check=True)
        out.append(json.loads(r.stdout))
    return out


def bench_threads(n, m, B, T, thr, repeats):
    model = eventsim.random_model(m, [n], seed=0)
    model.layers[0].thr[:] = thr
    x = sparse_input(np.random.default_rng(1), (B, T, m), 0.05)
    simulate(model, x[:, :2])
    med = interleaved_medians({1: lambda: simulate(model, x, threads=1),
                               2: lambda: simulate(model, x, threads=2)}, repeats)
    t1, t2 = med[1], med[2]
    c1, c2 = _control_scaling(repeats)
    l1, l2 = _control_libm_scaling(repeats)
    v1, v2 = _control_vector_scaling(repeats)
    procs = _control_two_processes(repeats)
    return {"n": n, "m": m, "samples": B, "steps": T, "one_thread_seconds": t1, "two_threads_seconds": t2,
            "speedup": t1 / t2, "control_speedup": c1 / c2, "control_libm_speedup": l1 / l2,
            "control_vector_speedup": v1 / v2, "two_processes": procs, "load_avg_1min": os.getloadavg()[0]}


TWO_PROC_CODE = r"""
import sys, time, numpy as np
from numba import njit
from eventsim.engine.vmath import gate_block
kind = sys.argv[1]
@njit
def vec(v, z, k, reps):
    n = v.shape[0] // 6
    for _ in range(reps):
        gate_block(v[:n], v[n:2 * n], v[2 * n:3 * n], v[3 * n:4 * n], v[4 * n:5 * n], v[5 * n:], z, k)
@njit
def chain(a, reps):
    x = 1.0
    for i in range(reps):  # each step waits for the last: latency-bound, the units mostly idle
        x = x * a[i & 7] + 1e-7
    return x
v = np.random.default_rng(0).normal(size=6 * 1024).astype(np.float32)
z = np.zeros(1024, np.float32); k = np.zeros(1024, np.float32)
a = np.full(8, 0.9999999)
vec(v, z, k, 1); chain(a, 10)
sys.stdout.write("ready\n"); sys.stdout.flush(); sys.stdin.readline()
t0 = time.perf_counter()
if kind == "vector":
    vec(v, z, k, 60000)
else:
    chain(a, 100_000_000)
print(time.perf_counter() - t0)
"""


def _control_two_processes(repeats):
    """The same work in one process alone and in two processes at once (no threads, nothing
    shared but the machine): aggregate speed-up 2·t(alone)/t(together) for the engine's
    vectorised gates (throughput-bound SIMD) and for a latency-bound arithmetic chain."""
    def run(kind, k):
        ps = [subprocess.Popen([sys.executable, "-c", TWO_PROC_CODE, kind], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True) for _ in range(k)]
        for p in ps:
            assert p.stdout.readline().strip() == "ready"
        for p in ps:  # start them together
            p.stdin.write("go\n")
            p.stdin.flush()
        times = [float(p.communicate()[0]) for p in ps]
        return max(times)
    out = {}
    for kind in ("vector", "chain"):
        alone = statistics.median(run(kind, 1) for _ in range(repeats))
        together = statistics.median(run(kind, 2) for _ in range(repeats))
        out[kind] = {"alone_seconds": alone, "together_seconds": together, "speedup": 2 * alone / together}
    return out


def _control_scaling(repeats):
    """The machine's own 2-thread scaling right now: 64 independent pure-arithmetic chunks under
    Numba's prange (no memory traffic, nothing shared), on 1 and on 2 threads."""
    import numba
    from numba import njit, prange

    @njit(parallel=True)
    def spin(out, iters):
        for b in prange(out.shape[0]):
            x = 1.0 + b
            for _ in range(iters):
                x = x * 0.9999999 + 1e-7
            out[b] = x

    out = np.zeros(64)
    spin(out, 10)
    old = numba.get_num_threads()
    times = {}
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            times[k] = median_time(lambda: spin(out, 2_000_000), repeats)
    finally:
        numba.set_num_threads(old)
    return times[1], times[2]


def _control_libm_scaling(repeats):
    """Like :func:`_control_scaling` but each chunk does the engine's unit update arithmetic
    (two expf and one tanhf per unit over 1024 float32 units, 400 times): throughput-bound libm
    calls instead of a latency-bound chain."""
    import numba
    from numba import njit, prange

    @njit(parallel=True)
    def upd(v, out, reps):
        n = v.shape[1] // 3
        one = np.float32(1)
        for b in prange(v.shape[0]):
            acc = np.float32(0)
            for _ in range(reps):
                for j in range(n):
                    zz = one / (one + np.exp(-v[b, j]))
                    rr = one / (one + np.exp(-v[b, n + j]))
                    acc += zz * np.tanh(v[b, 2 * n + j] + rr * acc * np.float32(1e-9))
            out[b] = acc

    v = np.random.default_rng(0).normal(size=(64, 3072)).astype(np.float32)
    out = np.zeros(64, np.float32)
    upd(v, out, 1)
    old = numba.get_num_threads()
    times = {}
    try:
        for k in (1, 2):
            numba.set_num_threads(k)
            times[k] = median_time(lambda: upd(v, out, 400), repeats)
    finally:
        numba.set_num_threads(old)
    return times[1], times[2]


def _control_vector_scaling(repeats):
    """Like :func:`_control_scaling` but each chunk computes the engine's vectorised gates
    (:func:`eventsim.engine.vmath.gate_block`) of 1024 float32 units 400 times: throughput-bound
    SIMD arithmetic in the first-level cache, no calls, nothing shared."""
    import numba
    from numba import njit, prange

    from eventsim.engine.vmath import gate_block

    @njit(parallel=True)
    def upd(v, z, k, reps):
        n = v.shape[1] // 6
        for b in prange(v.shape[0]):
            for _ in range(reps):
                gate_block(v[b, :n], v[b, n:2 * n], v[b, 2 * n:3 * n], v[b, 3 * n:4 * n],
                           v[b, 4 * n:5 * n], v[b, 5 * n:], z[b], k[b])

    v = np.random.default_rng(0).normal(size=(64, 6 * 1024)).astype(np.float32)
    z = np.zeros((64, 1024), np.float32)
    k = np.zeros((64, 1024), np.float32)
    upd(v, z, k, 1)
    old = numba.get_num_threads()
    times = {}
    try:
        for t in (1, 2):
            numba.set_num_threads(t)
            times[t] = median_time(lambda: upd(v, z, k, 400), repeats)
    finally:
        numba.set_num_threads(old)
    return times[1], times[2]


PAPER_CODE = r"""
import json, sys, time, numpy as np, eventsim
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
open("/proc/self/clear_refs", "w").write("5")  # the peak (VmHWM) from here (ru_maxrss survives exec)
kind, T = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
if kind == "lm":
    model = eventsim.random_model(750, [1350, 1350, 750], n_out=10000, vocab=10000, seed=0)
    x = np.random.default_rng(0).integers(0, 10000, size=(1, T))
else:  # sMNIST size: one pixel per step, 590 units, 10 classes; T = samples
    model = eventsim.random_model(1, [590], n_out=10, seed=0)
    model.layers[0].thr[:] = 0.01  # about 3% of units firing
    rng = np.random.default_rng(0)
    x = (rng.random((T, 784, 1)) * (rng.random((T, 784, 1)) < 0.2)).astype(np.float32)
simulate = eventsim.simulate
simulate(model, x[:, :2] if kind == "lm" else x[:1, :2])  # lay out, load the kernels
t1 = time.perf_counter()
res = simulate(model, x, threads=1)
t2 = time.perf_counter()
d = res.counts.to_dict()
macs = d["total"]["macs"]["effective"]
print(json.dumps({"model": kind, "input": list(x.shape), "setup_seconds": t1 - t0, "run_seconds": t2 - t1,
                  "effective_macs": macs, "gmac_per_s": macs / (t2 - t1) / 1e9,
                  "activity_sparsity": d["total"]["activity_sparsity"],
                  "effective_over_dense": d["ratios"]["effective_over_dense"],
                  "run_seconds_per_step": (t2 - t1) / x.shape[1],
                  "peak_rss_bytes": status("VmHWM"), "final_rss_bytes": status("VmRSS")}))
"""


def bench_paper(quick):
    out = []
    for kind, T in ([("lm", 2000), ("lm", 8000), ("smnist", 10), ("smnist", 40)] if quick else
                    [("lm", 20000), ("lm", 80000), ("smnist", 250), ("smnist", 1000)]):
        r = subprocess.run([sys.executable, "-c", PAPER_CODE, kind, str(T)], capture_output=True,
                           text=True, check=True)
        out.append(json.loads(r.stdout))
        print(f"[paper] {out[-1]}")
    return out


def main_issue18(args):
    q = args.quick
    reps = 3 if q else 7
    out = {"machine": {"python": platform.python_version(), "numpy": np.__version__,
                       "numba": __import__("numba").__version__, "cpus": os.cpu_count(),
                       "processor": platform.processor() or platform.machine()},
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg_1min_at_start": os.getloadavg()[0]}
    out["limits"] = machine_limits(reps)
    lim = out["limits"]
    print(f"[limits] copy {lim['copy_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s; BLAS matvec "
          + ", ".join(f"{k[12:]} {v['mac_per_s'] / 1e9:.2f} GMAC/s" for k, v in lim.items()
                      if k.startswith("blas")))
    out["regimes"] = [bench_regime("cache_resident", 1024, 16, 400 if q else 4000, 0.02, 0.05, reps),
                      bench_regime("memory_bound", 1024, 1024, 100 if q else 1000, 0.15, 0.05, reps)]
    for r in out["regimes"]:
        print(f"[{r['regime']}] activity {r['activity']:.3f}: engine {r['engine_step_seconds'] * 1e6:.1f} "
              f"us/step (compiled {r['compiled_step_seconds'] * 1e6:.1f}), dense "
              f"{r['dense_step_seconds'] * 1e6:.1f} us/step, speed-up {r['speedup']:.2f} of ideal "
              f"{r['ideal_speedup']:.1f}: efficiency {r['efficiency']:.2f} (compiled "
              f"{r['efficiency_compiled']:.2f}, first call {r['efficiency_first_call']:.2f})")
    out["quiet"] = bench_quiet(1024, 16, 400 if q else 4000, reps)
    print(f"[quiet] {out['quiet']['quiet_step_seconds'] * 1e6:.1f} us per quiet step, "
          f"{out['quiet']['woken_step_seconds'] * 1e6:.1f} us per step waking every unit; quiet step by "
          "layer size: " + ", ".join(f"{k} units {v * 1e6:.1f} us" for k, v in
                                     out['quiet']['quiet_step_seconds_by_units'].items()))
    out["layout"] = bench_layout([(1024, 16), (1024, 1024)] + ([] if q else [(4096, 16)]))
    for r in out["layout"]:
        print(f"[layout] n={r['n']} m={r['m']}: {r['layout_seconds'] * 1e3:.1f} ms "
              f"({r['seconds_per_million_weights'] * 1e3:.1f} ms per million weights), RSS "
              f"+{r['rss_increase_over_weight_bytes']:.2f}x weights (peak +{r['peak_increase_over_weight_bytes']:.2f}x), "
              f"check {r['check_seconds'] * 1e3:.2f} ms")
    out["threads"] = bench_threads(1024, 16, 64, 50 if q else 400, 0.02, reps)
    print(f"[threads] 64 samples: 1 thread {out['threads']['one_thread_seconds']:.2f} s, 2 threads "
          f"{out['threads']['two_threads_seconds']:.2f} s: {out['threads']['speedup']:.2f}x (the machine's own "
          f"2-thread scaling now: arithmetic chain {out['threads']['control_speedup']:.2f}x, libm "
          f"{out['threads']['control_libm_speedup']:.2f}x, vectorised gates "
          f"{out['threads']['control_vector_speedup']:.2f}x; two processes at once: vectorised gates "
          f"{out['threads']['two_processes']['vector']['speedup']:.2f}x, chain "
          f"{out['threads']['two_processes']['chain']['speedup']:.2f}x)")
    out["throughput"] = []
    for _ in range(1 if q else 3):  # three runs, each interleaving the engine and BLAS
        r = bench_throughput(1024, 10 if q else 50, reps, 1)
        out["throughput"].append(r)
        print(f"[throughput] engine {r['engine_mac_per_s'] / 1e9:.2f} GMAC/s, BLAS matvec "
              f"{r['blas_mac_per_s'] / 1e9:.2f} GMAC/s, ratio {r['ratio_engine_over_blas']:.2f}")
    out["throughput_ratio_median"] = statistics.median(r["ratio_engine_over_blas"] for r in out["throughput"])
    if args.paper:
        out["paper"] = bench_paper(q)
    out["load_avg_1min_at_end"] = os.getloadavg()[0]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"raw results written to {args.out}")


def bench_embedding(repeats):
    """Per-call cost of an embedding model (10 tokens): simulate with its kept input rows
    against rebuilding the input table from the embedding (interleaved)."""
    from eventsim.inputs import prepare_input
    model = eventsim.random_model(750, [64], n_out=8, vocab=10000, seed=0)
    ids = np.random.default_rng(0).integers(0, 10000, size=(1, 10))
    simulate(model, ids)
    med = interleaved_medians({"call": lambda: simulate(model, ids, threads=1),
                               "rebuild": lambda: prepare_input(model, ids)}, repeats)
    return {"embedding": list(model.embedding.shape), "tokens": 10, "layers": model.sizes,
            "simulate_call_seconds": med["call"], "input_table_rebuild_seconds": med["rebuild"],
            "load_avg_1min": os.getloadavg()[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default=None, help="default benchmarks/results/engine.json "
                    "(issue18.json with --issue18)")
    ap.add_argument("--issue18", action="store_true", help="the figures of issue 18 (docs/performance.md)")
    ap.add_argument("--paper", action="store_true", help="with --issue18: the paper-size models too")
    ap.add_argument("--threads-only", action="store_true",
                    help="only the 2-thread figures, three times (default out: benchmarks/results/threads.json)")
    ap.add_argument("--embedding-only", action="store_true",
                    help="only the embedding model's per-call cost (default out: benchmarks/results/embedding.json)")
    ap.add_argument("--paper-only", action="store_true",
                    help="only the paper-size models (default out: benchmarks/results/paper.json)")
    args = ap.parse_args()
    if args.threads_only:
        args.out = args.out or "benchmarks/results/threads.json"
        runs = []
        for _ in range(3):
            r = bench_threads(1024, 16, 64, 400, 0.02, 5)
            runs.append(r)
            print(f"[threads] engine {r['speedup']:.2f}x, control (arithmetic chain) {r['control_speedup']:.2f}x, "
                  f"control (libm update) {r['control_libm_speedup']:.2f}x, control (vectorised update) "
                  f"{r['control_vector_speedup']:.2f}x, two processes: vectorised gates "
                  f"{r['two_processes']['vector']['speedup']:.2f}x, chain {r['two_processes']['chain']['speedup']:.2f}x, "
                  f"load {r['load_avg_1min']:.1f}")
        with open(args.out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M:%S"), "runs": runs}, f, indent=1)
        print(f"raw results written to {args.out}")
        return
    if args.embedding_only:
        args.out = args.out or "benchmarks/results/embedding.json"
        r = bench_embedding(7)
        print(f"[embedding] 10-token simulate call {r['simulate_call_seconds'] * 1e3:.1f} ms; rebuilding the "
              f"input table alone {r['input_table_rebuild_seconds'] * 1e3:.1f} ms")
        with open(args.out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d %H:%M:%S"), **r}, f, indent=1)
        print(f"raw results written to {args.out}")
        return
    if args.paper_only:
        args.out = args.out or "benchmarks/results/paper.json"
        res = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "load_avg_1min_at_start": os.getloadavg()[0],
               "paper": bench_paper(args.quick)}
        res["load_avg_1min_at_end"] = os.getloadavg()[0]
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
        print(f"raw results written to {args.out}")
        return
    if args.issue18:
        args.out = args.out or "benchmarks/results/issue18.json"
        return main_issue18(args)
    args.out = args.out or "benchmarks/results/engine.json"
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
