"""``eventsim report RESULTS_DIR``: one shareable HTML page (and Markdown twin) for a study."""
from __future__ import annotations


def run_report(args):
    from ..plots.report import write_report

    path = write_report(args.results_dir, out=args.out, progress=not args.quiet, dpi=args.dpi)
    print(path)
    print(path.rsplit(".", 1)[0] + ".md")
    return 0


def add_report_arguments(p):
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a study's results folder (holds summary.json)")
    p.add_argument("--out", "-o", help="HTML file to write (default RESULTS_DIR/report.html)")
    p.add_argument("--dpi", type=int, default=150, help="figure resolution in dots per inch (default 150)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def register(subparsers):
    p = subparsers.add_parser(
        "report", help="write a self-contained HTML report (and Markdown twin) of a study's results",
        description="Writes RESULTS_DIR/report.html (or --out): the summary table, every figure embedded as "
                    "PNG (no external files), the scenario, hardware cost tables when present and the software "
                    "versions; and report.md beside it with the figures in report_files/. See docs/analysis.md.")
    add_report_arguments(p)
    p.set_defaults(func=run_report)
