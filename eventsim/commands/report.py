"""``eventsim report RESULTS_DIR``: one shareable HTML page (and Markdown twin) for a study."""
from __future__ import annotations


def _study_files(results_dir):
    """Every file of a study's folder and its model folders (the report's inputs), except a
    previous report."""
    import os

    own = {"report.html", "report.md"}
    files = []
    for entry in sorted(os.listdir(results_dir)):
        p = os.path.join(results_dir, entry)
        if os.path.isfile(p) and entry not in own:
            files.append(p)
        elif os.path.isdir(p) and entry != "report_files":
            files += [os.path.join(p, f) for f in sorted(os.listdir(p)) if os.path.isfile(os.path.join(p, f))]
    return files


def run_report(args):
    import os

    from ..errors import EventsimError
    from ..outputs import check_outputs
    from ..plots.report import write_report

    if not 1 <= args.dpi <= 2400:
        raise EventsimError(f"--dpi {args.dpi} must be between 1 and 2400 dots per inch")
    if not os.path.isdir(args.results_dir):
        raise EventsimError(f"results folder {args.results_dir!r} does not exist; run 'eventsim study' first")
    out = args.out or os.path.join(args.results_dir, "report.html")
    if not out.lower().endswith((".html", ".htm")):
        raise EventsimError(f"--out {out!r} must end in .html (the Markdown twin goes beside it as .md)")
    twin = os.path.splitext(out)[0] + ".md"
    check_outputs([("--out", out), ("--out's Markdown twin", twin)],
                  [("study file", f) for f in _study_files(args.results_dir)])
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
