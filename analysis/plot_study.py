"""Render every figure of a study's results folder as PNG files (the figures of its report).

    python analysis/plot_study.py results/digits --out docs/figures [--prefix digits_] [--dpi 150]

Writes <out>/<prefix><figure>.png for each figure eventsim.plots.report would embed
(trade-off, sparsity over epochs, and for each EGRU: MAC bars, raster, sparsity over
steps, event-rate histogram) and prints the paths.
"""
import argparse
import json
import os
import sys

from eventsim.errors import EventsimError
from eventsim.plots.report import build_figures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results_dir")
    ap.add_argument("--out", required=True, help="folder for the PNG files")
    ap.add_argument("--prefix", default=None, help="file name prefix (default: '<scenario>_')")
    ap.add_argument("--dpi", type=int, default=150)
    args = ap.parse_args(argv)
    sp = os.path.join(args.results_dir, "summary.json")
    if not os.path.isfile(sp):
        print(f"plot_study: error: {sp} not found (run 'eventsim study' first)", file=sys.stderr)
        return 2
    with open(sp) as f:
        summary = json.load(f)
    prefix = args.prefix if args.prefix is not None else f"{summary.get('scenario', 'study')}_"
    try:
        figs = build_figures(args.results_dir, summary, progress=True, dpi=args.dpi)
    except EventsimError as e:
        print(f"plot_study: error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    for fg in figs:
        path = os.path.join(args.out, f"{prefix}{fg.slug}.png")
        with open(path, "wb") as f:
            f.write(fg.png)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
