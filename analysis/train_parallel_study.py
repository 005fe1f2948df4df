"""Run a study with every model trained in its own process (one per model).

Kept because the commands in docs/results/char-lm*/COMMAND.txt name it: it is now the
same as ``eventsim study SCENARIO --out OUT --set ... --jobs <number of models>``,
which trains the models side by side and gives results identical to a one-after-the-
other study (same seeds, same checkpoints; tests/test_study.py checks it).

    python analysis/train_parallel_study.py digits --out results/digits --set train.epochs=60
"""
import argparse
import sys


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenario")
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    a = ap.parse_args(argv)
    from eventsim.study import _load, run_study, summary_table
    sc = _load(a.scenario, a.overrides)
    summary = run_study(a.scenario, out_dir=a.out, overrides=a.overrides, progress=False, resume=True,
                        jobs=len(sc.models))
    print(summary_table(summary))
    print(f"results written to {a.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
