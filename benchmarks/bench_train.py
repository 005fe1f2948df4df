"""Training speed: the fast passes (eventsim/train/_fast.py) against the NumPy reference
(eventsim/train/cells.py), which they equal bit for bit.

Two parts, one process, one BLAS thread (set below before NumPy loads):

1. ``layers``: one forward + backward of a single layer on a batch of 32 sequences of
   64 steps, 128 units, float32 (the digits study's shape): EGRU with a 1-feature input
   (a first layer) and with a 128-feature input (a second layer), GRU and LSTM. Median
   of ``--repeats`` alternating runs of each; milliseconds.
2. ``epochs``: whole training epochs of the two-layer digits models (1258 sequences,
   validation included), reference and fast alternating; seconds per epoch.

The machine is shared: the load averages are recorded, and ratios come from runs that
alternate the two implementations.

    python benchmarks/bench_train.py           # writes benchmarks/results/train.json
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from eventsim.train import cells  # noqa: E402


def layer_case(kind, m, B=32, T=64, n=128, seed=0):
    rng = np.random.default_rng(seed)
    G = 4 if kind == "lstm" else 3
    p = dict(kernel=rng.normal(0, 0.3, (m, G * n)), recurrent_kernel=rng.normal(0, 0.1, (n, G * n)),
             bias=np.zeros(G * n), recurrent_bias=np.zeros(G * n), thr=np.full(n, 0.3))
    p = {k: v.astype(np.float32) for k, v in p.items()}
    X = rng.normal(0, 1, (B, T, m)).astype(np.float32)
    dY = rng.normal(0, 1, (B, T, n)).astype(np.float32)
    opt = cells.EGRUOptions(activity_reg=1e-4)
    offset = (0.2 * rng.standard_normal((B, n))).astype(np.float32) if kind == "egru" else None

    def run():
        Y, cache = cells.layer_forward(kind, p, X, opt, offset)
        cells.layer_backward(kind, p, cache, dY, opt)
        return float(cache["O"].mean()) if kind == "egru" else None

    return run


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_layers(repeats):
    rows = []
    for kind, m in (("egru", 1), ("egru", 128), ("gru", 128), ("lstm", 128)):
        run = layer_case(kind, m)
        times = {False: [], True: []}
        for fast in (False, True):   # compile and warm up
            cells.FAST = fast
            run()
        for _ in range(repeats):
            for fast in (False, True):
                cells.FAST = fast
                times[fast].append(timed(run)[0])
        ref, fast = (float(np.median(times[k])) * 1e3 for k in (False, True))
        rows.append(dict(kind=kind, inputs=m, units=128, batch=32, steps=64, reference_ms=ref, fast_ms=fast,
                         speedup=ref / fast))
        print(f"{kind:5s} m={m:3d}: reference {ref:6.1f} ms, fast {fast:6.1f} ms ({ref / fast:.2f}x)", flush=True)
    cells.FAST = True
    return rows


def bench_epochs(epochs, kinds):
    from eventsim.data import load_dataset
    from eventsim.train import NetSpec, TrainConfig, train
    ds = load_dataset("digits", layout="pixel")
    rows = []
    for kind in kinds:
        spec = NetSpec(kind=kind, n_in=ds.n_in, units=[128, 128], n_out=ds.n_classes, dampening=0.3)
        egru = kind == "egru"
        cfg = TrainConfig(epochs=epochs, batch_size=32, lr=0.01, loss="trace" if egru else "last",
                          thr_mean=0.7, thr_jitter=0.2 if egru else 0.0, activity_reg=0.1 if egru else 0.0,
                          floor_reg=1.0 if egru else 0.0, floor_unjittered=egru, update_bias=1.0 if kind != "lstm" else 0.0)
        per = {}
        for fast in (False, True, False, True):
            cells.FAST = fast
            t, res = timed(lambda: train(spec, ds.train, ds.valid, cfg, progress=False))
            per.setdefault(fast, []).append(t / epochs)
            per.setdefault(("params", fast), res.params)
        same = all(np.array_equal(per[("params", False)][k], per[("params", True)][k]) for k in per[("params", True)])
        ref, fast = (float(np.median(per[k])) for k in (False, True))
        rows.append(dict(kind=kind, units=[128, 128], epochs=epochs, reference_s_per_epoch=ref,
                         fast_s_per_epoch=fast, speedup=ref / fast, identical_parameters=bool(same)))
        print(f"{kind:5s} 2x128 digits: reference {ref:.2f} s/epoch, fast {fast:.2f} s/epoch ({ref / fast:.2f}x), "
              f"parameters identical: {same}", flush=True)
    cells.FAST = True
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--kinds", default="egru,gru,lstm")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                  "train.json"))
    a = ap.parse_args(argv)
    out = dict(machine=dict(platform=platform.platform(), python=platform.python_version(),
                            cpus=os.cpu_count(), load_before=os.getloadavg()),
               layers=bench_layers(a.repeats), epochs=bench_epochs(a.epochs, a.kinds.split(",")))
    out["machine"]["load_after"] = os.getloadavg()
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"written {a.out}")


if __name__ == "__main__":
    main()
