"""Trade-off figure of several studies or a sweep table: task metric vs effective MACs.

    python analysis/plot_sweep.py results/digits results/digits-64 sweep.csv --out tradeoff.png [--task smnist5k]

Each input is a study folder / summary.json (one point per model), a sweep table
(.csv with columns name, kind, task, metric, effective_macs_per_step,
activity_sparsity, savings_vs_gru) or a JSON list of such rows. Same figure as
`eventsim plot tradeoff`.
"""
import argparse
import sys

from eventsim.errors import EventsimError
from eventsim.plots.savings import load_tradeoff_rows, tradeoff_figure
from eventsim.plots.style import save


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--out", required=True, help="PNG file")
    ap.add_argument("--task", default=None, help="task name for the paper's reference points")
    ap.add_argument("--metric", default=None, help="row field holding the task metric (default 'metric')")
    args = ap.parse_args(argv)
    try:
        fig = tradeoff_figure(load_tradeoff_rows(args.sources), task=args.task, metric=args.metric)
        print(save(fig, args.out))
    except EventsimError as e:
        print(f"plot_sweep: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
