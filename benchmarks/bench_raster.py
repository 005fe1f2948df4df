"""Benchmark: event raster of large recordings (issue 4: 1024 units x 10 000 steps in seconds).

For each size, a synthetic event recording (T steps x n units, float32, a given
fraction of entries are events with values in (0.3, 1.3)) is drawn; we time

- ``bin``: :func:`eventsim.plots.raster.bin_events` alone (the decimation),
- ``figure``: building the figure (decimation of every panel included),
- ``save``: writing the PNG at 150 dpi,

and record the peak extra memory of the decimation measured with tracemalloc
(numpy allocations are traced), next to the size of the recording itself. The
Numba kernel is compiled (or loaded from its cache) before any timing.
Each timing is the best of ``--repeat`` runs (default 3). A last case draws real
events: a random EGRU of 1024 units (``random_model(16, [1024], thr_mean=0.05)``)
simulated by the event engine for 10 000 steps on an input of 150-step bursts
every 500 steps; its figure (input on top) is written to
``docs/figures/raster_1024x10000.png`` (``--figure``; shown in the README). Results go to
``benchmarks/results/bench_raster.json`` with the machine description.

    python benchmarks/bench_raster.py            # default sizes
    python benchmarks/bench_raster.py --quick    # one small size
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(256, 1000), (1024, 10_000), (4096, 10_000), (1024, 100_000)]


def recording(n, T, density, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros((T, n), dtype=np.float32)
    for t0 in range(0, T, 2000):  # fill in chunks: bounded temporaries
        blk = y[t0:t0 + 2000]
        mask = rng.random(blk.shape, dtype=np.float32) < density
        blk[mask] = 0.3 + rng.random(int(mask.sum()), dtype=np.float32)
    return y


def best(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def model_case(args, best, raster_figure, save):
    """Real events: a random 1024-unit EGRU on 10 000 steps of bursty input (see module doc)."""
    import eventsim

    n, T, m = 1024, 10_000, 16
    model = eventsim.random_model(m, [n], seed=0, thr_mean=0.05)
    rng = np.random.default_rng(0)
    x = np.zeros((1, T, m), np.float32)
    for t0 in range(0, T, 500):
        ch = rng.choice(m, 4, replace=False)
        x[0, t0:t0 + 150][:, ch] = 3.0 * rng.normal(size=(150, 4))
    t = time.perf_counter()
    res = eventsim.simulate(model, x, record=("y",))
    t_sim = time.perf_counter() - t
    y = res.y[0][0]
    title = f"Random EGRU, {n} units, {T:,} steps (event engine)"
    t_fig, fig = best(lambda: raster_figure([y], x[0], title=title), args.repeat)
    png = args.figure
    t_save, _ = best(lambda: save(fig, png), args.repeat)
    row = {"case": "egru", "units": n, "steps": T, "inputs": m,
           "activity_sparsity": round(res.counts.to_dict()["total"]["activity_sparsity"], 4),
           "simulate_s": round(t_sim, 3), "figure_s": round(t_fig, 3), "save_png_s": round(t_save, 3),
           "total_s": round(t_fig + t_save, 3), "png": os.path.relpath(png, os.path.dirname(HERE))}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="only 256 units x 1000 steps")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--density", type=float, default=0.05, help="fraction of entries that are events")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "bench_raster.json"))
    ap.add_argument("--figure", default=os.path.join(os.path.dirname(HERE), "docs", "figures", "raster_1024x10000.png"),
                    help="where the real-event figure goes")
    args = ap.parse_args(argv)

    from eventsim import __version__
    from eventsim.plots.raster import bin_events, raster_figure
    from eventsim.plots.style import save

    sizes = SIZES[:1] if args.quick else SIZES
    bin_events(np.zeros((4, 4), np.float32))  # compile (or load from cache) the Numba kernel first
    rows = []
    for n, T in sizes:
        y = recording(n, T, args.density)
        tracemalloc.start()
        t_bin, _ = best(lambda: bin_events(y), 1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        t_bin, (img, _, bt, bu) = best(lambda: bin_events(y), args.repeat)
        t_fig, fig = best(lambda: raster_figure([y], title=f"{n} units x {T} steps"), args.repeat)
        png = os.path.join(os.path.dirname(args.out), "_bench_tmp.png")
        t_save, _ = best(lambda: save(fig, png), args.repeat)
        os.remove(png)
        row = {"case": "synthetic", "units": n, "steps": T, "density": args.density,
               "recording_MB": round(y.nbytes / 2**20, 1),
               "image_shape": list(img.shape), "block_steps": bt, "block_units": bu,
               "bin_s": round(t_bin, 3), "figure_s": round(t_fig, 3), "save_png_s": round(t_save, 3),
               "total_s": round(t_fig + t_save, 3),
               "bin_peak_extra_MB": round(peak / 2**20, 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        y = fig = None  # free the recording before the next size
    if not args.quick:
        rows.append(model_case(args, best, raster_figure, save))
    result = {"benchmark": "raster", "command": "python benchmarks/bench_raster.py" + (" --quick" if args.quick else ""),
              "repeat": args.repeat, "python": platform.python_version(), "numpy": np.__version__,
              "matplotlib": __import__("matplotlib").__version__, "eventsim": __version__,
              "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                          "cpus": os.cpu_count(), "load_avg_1min_at_start": os.getloadavg()[0]},
              "results": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
