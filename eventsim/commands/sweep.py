"""``eventsim sweep``: run the cartesian product of scenario overrides as studies (Dask or local)."""
from __future__ import annotations

import argparse
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run a study for every combination of parameter values (Dask distributed or local)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run SCENARIO once for every combination of --param values (each a scenario "
                    "override, as 'eventsim study --set'), as independent tasks on Dask distributed: "
                    "a LocalCluster of --workers processes by default, or an existing cluster with "
                    "--scheduler. Each task's results land in OUT/<task id>/ as it finishes; a rerun "
                    "skips finished tasks; a failed task is reported and the others go on. At the end "
                    "OUT/table.csv, OUT/table.json and OUT/tradeoff.png (task metric vs effective MACs) "
                    "are written. Without Dask, tasks run on local processes.",
        epilog="examples:\n"
               "  eventsim sweep tiny --param train.seed=0,1 --param models.egru.thr_mean=0.1,0.3\n"
               "  eventsim sweep digits --param 'models.egru.units=[32],[64]' --workers 4 --out runs/sw\n"
               "  eventsim sweep digits --param train.seed=0,1,2,3 --scheduler tcp://head:8786\n"
               "several machines: 'dask scheduler' on one, 'dask worker tcp://head:8786' on each;\n"
               "see docs/sweeps.md")
    p.add_argument("scenario", help="scenario TOML file or built-in name (see docs/scenarios.md)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2",
                   help="a scenario key and its values, comma-separated (brackets keep lists whole: "
                        "'models.egru.units=[16],[32,32]'); repeatable, the sweep is the product")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="address of a running Dask scheduler (e.g. tcp://head:8786)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (LocalCluster or process pool; default 2 with Dask)")
    p.add_argument("--backend", choices=("auto", "dask", "processes", "inline"), default="auto",
                   help="auto: Dask if installed, else local processes (default); inline: one by one "
                        "in this process")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="sweep folder (default results/sweep-<scenario name>)")
    p.add_argument("--allowed-failures", type=int, default=3, metavar="K",
                   help="worker deaths tolerated per task on the LocalCluster (default 3)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--no-plot", dest="plot", action="store_false", help="do not write tradeoff.png")
    p.set_defaults(func=run)


def run(args) -> int:
    import logging

    from ..sweep import format_table, parse_params, run_sweep

    logging.basicConfig(level=logging.WARNING, format="eventsim: %(levelname)s: %(message)s")
    if args.backend in ("auto", "dask"):
        try:  # distributed sets its loggers to INFO when imported; its chatter is not ours to show
            import distributed  # noqa: F401
            logging.getLogger("distributed").setLevel(logging.ERROR)
        except ImportError:
            pass
    import os

    from ..errors import EventsimError
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise EventsimError(f"--out {args.out!r} is a file; give a sweep folder (created if missing)")
    if args.workers is not None and args.workers < 1:
        raise EventsimError(f"--workers {args.workers} must be >= 1")
    if args.allowed_failures < 0:
        raise EventsimError(f"--allowed-failures {args.allowed_failures} must be >= 0")
    params = parse_params(args.param)
    res = run_sweep(args.scenario, params, out_dir=args.out, scheduler=args.scheduler,
                    workers=args.workers, backend=args.backend, progress=args.progress,
                    allowed_failures=args.allowed_failures, plot=args.plot)
    print(format_table(res.rows, list(params)))
    n, nf, ns = len(res.tasks), len(res.failed), len(res.skipped)
    print(f"\n{n} task(s) on {res.backend}: {n - nf} ok ({ns} skipped as already done), {nf} failed")
    print(f"results in {res.out_dir}/ (table.csv, table.json"
          + (", tradeoff.png)" if res.plot else ")"))
    if not res.plot and args.plot:
        print(f"eventsim: {res.plot_note}", file=sys.stderr)
    return 1 if nf else 0
