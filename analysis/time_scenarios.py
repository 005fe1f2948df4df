"""Estimate how long each built-in scenario trains, from a few timed batches per model.

For every model of a scenario, train ``--batches`` batches with the scenario's exact
settings (data, sizes, batch size, loss) and record the CPU seconds per batch (process
time, so the figure is less sensitive to other jobs on a shared machine than wall time).
Estimated training CPU time = seconds per batch x batches per epoch (capped by
``max_batches_per_epoch``) x epochs, summed over the models; evaluation on the test split
through the event engine comes on top (small next to training).

BLAS runs single-threaded here (threadpoolctl): on this shared 2-core machine a
multi-threaded OpenBLAS spin-waits under load and the same batch then costs 5-25x the
CPU time (measured: MNIST-1D EGRU 1.97 s/batch threaded vs 0.078 s single-threaded).

Results: analysis/results/scenario_timing.json (one entry per scenario, with the machine's
load average at the time). The scenario files quote these estimates.

Usage: python analysis/time_scenarios.py [NAME ...]   (default: every built-in scenario)
"""
import json
import os
import sys
import time

from eventsim.scenario import builtin_scenarios, load_scenario
from eventsim.study import _load_data, _model_epochs, _spec_and_config
from eventsim.train import train

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "results", "scenario_timing.json")


def probe(name: str, n_batches: int = 3) -> dict:
    sc = load_scenario(name)
    t0 = time.time()
    ds = _load_data(sc)
    load_s = time.time() - t0
    per_epoch_batches = -(-len(ds.train) // sc.train["batch_size"])
    if sc.train["max_batches_per_epoch"]:
        per_epoch_batches = min(per_epoch_batches, sc.train["max_batches_per_epoch"])
    models = {}
    for m in sc.models:
        spec, cfg = _spec_and_config(sc, m, ds)
        cfg.epochs, cfg.max_batches_per_epoch, cfg.max_valid_samples = 1, n_batches, 8
        t = time.process_time()
        train(spec, ds.train, ds.valid, cfg, progress=False)
        per_batch = (time.process_time() - t) / n_batches
        models[m["name"]] = {"cpu_seconds_per_batch": round(per_batch, 3),
                             "estimated_train_minutes": round(per_batch * per_epoch_batches
                                                              * _model_epochs(sc, m) / 60, 1)}
    total = sum(v["estimated_train_minutes"] for v in models.values())
    return {"data_load_seconds": round(load_s, 1), "batches_per_epoch": per_epoch_batches,
            "epochs": sc.train["epochs"], "models": models,
            "estimated_train_minutes_total": round(total, 1),
            "load_average_1min": round(os.getloadavg()[0], 1), "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main(names):
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
    results = json.load(open(OUT)) if os.path.exists(OUT) else {}
    for name in names:
        results[name] = probe(name)
        print(name, json.dumps(results[name]), flush=True)
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(builtin_scenarios()))
