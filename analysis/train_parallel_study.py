"""Run a study with its models trained in parallel processes (one per model).

`eventsim study` trains the models one after the other. On a shared machine it can
be faster to train them side by side: this script trains every model of the
scenario in its own process, with exactly the network spec and training settings
the study would use, into ``OUT/<model>/checkpoint/``; then it runs the study
itself with ``--resume``, which finds the finished checkpoints, skips training and
evaluates (event engine, counts, summary). The results are identical to a plain
``eventsim study SCENARIO --out OUT --set ...`` run (same seeds, same checkpoints).

    python analysis/train_parallel_study.py digits --out results/digits --set train.epochs=60
"""
import argparse
import multiprocessing as mp
import os
import sys


def _train_one(args):
    scenario, overrides, out, name = args
    from eventsim.data import load_dataset
    from eventsim.study import _load, _spec_and_config
    from eventsim.train import train
    sc = _load(scenario, overrides)
    ds = load_dataset(sc.data["name"], **{k: v for k, v in sc.data.items() if k != "name"})
    m = sc.model(name)
    if m.get("checkpoint"):
        return name
    spec, cfg = _spec_and_config(sc, m, ds)
    train(spec, ds.train, ds.valid, cfg, ckpt_dir=os.path.join(out, name, "checkpoint"), resume=True,
          progress=False, desc=name)
    return name


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    a = ap.parse_args(argv)
    from eventsim.study import _load, run_study, summary_table
    sc = _load(a.scenario, a.overrides)
    jobs = [(a.scenario, a.overrides, a.out, m["name"]) for m in sc.models]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        for name in pool.imap_unordered(_train_one, jobs):
            print(f"trained {name}", flush=True)
    summary = run_study(a.scenario, out_dir=a.out, overrides=a.overrides, progress=False, resume=True)
    print(summary_table(summary))
    print(f"results written to {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
