"""Before/after of issue 18 on the cache-resident regime, each tree in its own process, in turns.

Run:  git archive 545bbb2 eventsim | tar -x -C /tmp/before
      python benchmarks/bench_before_after.py /tmp/before . [--out benchmarks/results/before_after.json]

Each round runs one process per tree (alternating, so that the machine's load hits both alike);
each process measures, interleaved, medians of: the one-matvec numpy dense step
(``bench_engine.dense_step_fn``, one BLAS thread), plain ``simulate(model, x)`` (4,000 steps and
400 steps), ``simulate(compile_model(model), x)`` and a quiet step (zero input). Model: one layer,
n = 1024, m = 16, thresholds 0.02, 5% of inputs nonzero (about 4% of units firing).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CODE = r"""
import sys, time, statistics, json
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[2])
import numpy as np, eventsim
from threadpoolctl import threadpool_limits
from bench_engine import dense_step_fn
assert eventsim.__file__.startswith(sys.argv[1]), eventsim.__file__
from eventsim import simulate
n, m, T, thr, dens = 1024, 16, 4000, 0.02, 0.05
model = eventsim.random_model(m, [n], seed=0); model.layers[0].thr[:] = thr
rng = np.random.default_rng(0)
x = (rng.normal(size=(1, T, m)) * (rng.random((1, T, m)) < dens)).astype(np.float32)
simulate(model, x[:, :2])
cm = eventsim.compile_model(model)
dense = dense_step_fn(model)
xq = np.zeros_like(x)
d = simulate(model, x).counts.to_dict()["layers"][0]
ideal = d["macs"]["dense"] / d["macs"]["effective"]
ts = {"dense": [], "plain": [], "plain400": [], "compiled": [], "quiet": []}
with threadpool_limits(limits=1, user_api="blas"):
    for _ in range(5):
        for k, f in (("dense", lambda: dense(x[0])), ("plain", lambda: simulate(model, x, threads=1)),
                     ("plain400", lambda: simulate(model, x[:, :400], threads=1)),
                     ("compiled", lambda: simulate(cm, x, threads=1)),
                     ("quiet", lambda: simulate(cm, xq, threads=1))):
            t0 = time.perf_counter(); f(); ts[k].append((time.perf_counter() - t0) / (400 if k == "plain400" else T))
med = {k: statistics.median(v) for k, v in ts.items()}
out = {k + "_step_seconds": v for k, v in med.items()}
out.update(ideal_speedup=ideal, activity=1 - d["activity_sparsity"],
           efficiency_plain=med["dense"] / med["plain"] / ideal,
           efficiency_plain_400_steps=med["dense"] / med["plain400"] / ideal,
           efficiency_compiled=med["dense"] / med["compiled"] / ideal)
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/before_after.json")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    res = {"before": [], "after": [], "load_avg_1min_at_start": os.getloadavg()[0]}
    for _ in range(args.rounds):
        for key in ("before", "after"):
            r = subprocess.run([sys.executable, "-c", CODE, os.path.abspath(getattr(args, key)), here],
                               capture_output=True, text=True, check=True)
            res[key].append(json.loads(r.stdout))
            e = res[key][-1]
            print(f"[{key}] efficiency plain {e['efficiency_plain']:.2f} (400 steps "
                  f"{e['efficiency_plain_400_steps']:.2f}), compiled {e['efficiency_compiled']:.2f}; "
                  f"quiet step {e['quiet_step_seconds'] * 1e6:.1f} us, dense step {e['dense_step_seconds'] * 1e6:.1f} us")
    res["load_avg_1min_at_end"] = os.getloadavg()[0]
    with open(args.out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"raw results written to {args.out}")


if __name__ == "__main__":
    main()
