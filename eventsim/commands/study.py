"""``eventsim study``: train a scenario's models and measure them with the event engine."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--jobs wants a positive integer, not {text!r}")
    return n


def register(sub) -> None:
    p = sub.add_parser(
        "study", help="train a scenario's EGRU and GRU/LSTM baselines and measure them (default: digits)",
        description="Train (or load) every model of SCENARIO and evaluate each on the test split:\n"
                    "the EGRU through the event engine, GRU/LSTM with closed-form dense counts.\n"
                    "Writes a results folder (summary.json/md/csv; per model counts.json,\n"
                    "history.json, model.npz, checkpoint/, raster.npz) and prints the summary table:\n"
                    "task metric, activity and backward sparsity, effective MACs per step and\n"
                    "savings against dense GRU/LSTM of the same sizes; under it each metric's\n"
                    "95% interval and a paired test of each model against the same-size GRU on\n"
                    "the same test samples. An interrupted study resumes from its per-epoch\n"
                    "checkpoints; re-running a finished one only re-evaluates (docs/training.md).",
        epilog="examples:\n  eventsim study                       # default scenario (sequential digits)\n"
               "  eventsim study char-lm --set train.epochs=2 --set models.egru.units=[128]\n"
               "  eventsim study my.toml --out runs/my --fresh\n"
               "  eventsim study --keep-checkpoints all   # keep every epoch's checkpoint\n"
               "  eventsim study tiny --seeds 0,1,2       # mean and spread over three seeds",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("scenario", nargs="?", default="digits",
                   help="scenario TOML file or built-in name (default: digits; see docs/scenarios.md)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. train.epochs=3 or models.egru.units=[32] "
                        "(repeatable; the value is TOML)")
    p.add_argument("--out", metavar="DIR", help="results folder (default: results/<scenario name>/)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", dest="resume", action="store_true", default=True,
                   help="continue from checkpoints in the results folder (default)")
    g.add_argument("--fresh", dest="resume", action="store_false",
                   help="delete the results folder's checkpoints and train from scratch")
    p.add_argument("--keep-checkpoints", choices=("latest_best", "all"), default=None,
                   help="which per-epoch checkpoints each model keeps: latest_best (the latest, the "
                        "one before it and the best by validation metric; the default, or the "
                        "scenario's train.keep_checkpoints) or all")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                   help="train up to N models side by side in worker processes (default: the number "
                        "of CPU cores; 1 = one after the other; results are identical either way)")
    p.add_argument("--seeds", metavar="S,S,...", default=None,
                   help="train every model once per seed, e.g. 0,1,2: each seed's study goes to OUT/seed<k>/ "
                        "(resumable on its own), the tables show mean ± sd and min-max over the seeds and "
                        "each seed's paired test (default: the scenario's train.seeds, else its one train.seed)")
    p.add_argument("--no-report", dest="report", action="store_false",
                   help="do not write report.html/report.md")
    p.set_defaults(func=run)


def write_report_if_available(results_dir):
    """Call :func:`eventsim.plots.report.write_report` when it exists.

    Returns ``(path or None, reason skipped or None)``; a failure inside the report
    writer is logged (with its message) and reported as the reason, the study's
    results stay valid.
    """
    try:
        from ..plots.report import write_report
    except ImportError as e:
        return None, f"report step skipped: eventsim.plots.report.write_report is not available ({e})"
    try:
        return write_report(results_dir), None
    except Exception as e:  # noqa: BLE001 - the report is an extra; the results are written already
        logging.getLogger("eventsim.study").warning("report step failed: %s", e)
        return None, f"report step failed: {type(e).__name__}: {e}"


def run(args) -> int:
    from ..study import run_study, summary_table, uncertainty_lines
    from ..study.tables import delta_lines
    from ..study.run import disk_usage_line

    logging.basicConfig(level=logging.WARNING, format="eventsim: %(levelname)s: %(message)s")
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        from ..errors import EventsimError
        raise EventsimError(f"--out {args.out!r} is a file; give a results folder (created if missing)")
    seeds = None
    if args.seeds is not None:
        from ..study.seeds import parse_seeds
        seeds = parse_seeds(args.seeds)
    jobs = args.jobs if args.jobs is not None else max(1, len(os.sched_getaffinity(0))
                                                       if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        summary = run_study(args.scenario, out_dir=args.out, overrides=args.overrides,
                            progress=args.progress, resume=args.resume, jobs=jobs,
                            keep_checkpoints=args.keep_checkpoints, seeds=seeds)
    except KeyboardInterrupt:
        print("eventsim: interrupted; the finished epochs are checkpointed: run the same command "
              "again (without --fresh) to resume", file=sys.stderr)
        return 130
    print(summary_table(summary))
    for line in uncertainty_lines(summary) + delta_lines(summary):
        print(textwrap.fill(line, width=100))
    out = summary["results_dir"]
    bad = [n for n, v in summary["models"].items() if v.get("engine_check") and not v["engine_check"]["ok"]]
    for n in bad:
        ec = summary["models"][n]["engine_check"]
        print(f"WARNING: model {n}: the event engine's test metric {ec['engine_metric']:.6g} differs from "
              f"the trainer's {ec['trainer_metric']:.6g} beyond tolerance ({ec['tolerance']})", file=sys.stderr)
    where = "seed<k>/<model>/..." if summary.get("seed_dirs") else "<model>/..."
    print(f"\nresults written to {out}/ (summary.json, summary.md, summary.csv, {where})")
    from ..hardware.results import cost_results
    # energy on every shipped hardware profile, from the counts alone (milliseconds); per seed
    for d in [os.path.join(out, s) for s in (summary.get("seed_dirs") or {}).values()] or [out]:
        cost_results(d)
        print(f"hardware cost estimates written to {d}/cost.md")
    print(f"  (a many-core timing simulation: eventsim cost {d} --timing)")
    if args.report:
        path, reason = write_report_if_available(out)
        if path:
            print(f"report written to {path}")
        else:
            print(f"eventsim: {reason}", file=sys.stderr)
    else:
        print("report step skipped: --no-report was given", file=sys.stderr)
    print(disk_usage_line(out))
    return 1 if bad else 0
