"""``eventsim data``: list the data sets, describe one, export a split as model input files."""
from __future__ import annotations

import os
import sys

from ..errors import EventsimError


def register(sub) -> None:
    p = sub.add_parser(
        "data", help="list, describe and export the built-in data sets (offline)",
        description="The data sets eventsim trains and measures on (all offline; see docs/data.md).",
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  eventsim data list\n"
               "  eventsim data show digits\n"
               "  eventsim data export digits --split test --limit 100 --out digits.npy --labels y.npy\n"
               "  eventsim data export nmnist5k -o limit=20 --split test --out events.npz\n"
               "  eventsim data export text-char -o plays='[\"hamlet\"]' --split valid --limit 8 --out ids.npy")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION")

    pl = dsub.add_parser("list", help="list the data sets with one line each")
    pl.set_defaults(func=run_list)

    for name, helptext in (("show", "load a data set and print its task, shapes and split sizes"),
                           ("export", "write one split as model input (SPEC §4 input formats)")):
        q = dsub.add_parser(name, help=helptext, description=helptext)
        q.add_argument("name", help="data set name (see 'eventsim data list')")
        q.add_argument("-o", "--option", dest="options", action="append", default=[],
                       metavar="KEY=VALUE",
                       help="loader option, value as TOML (e.g. -o layout=row -o limit=100); repeatable")
        if name == "export":
            q.add_argument("--split", choices=("train", "valid", "test"), default="test",
                           help="which split to write (default: test)")
            q.add_argument("--limit", type=int, help="write only the first N samples of the split")
            q.add_argument("--out", required=True, metavar="FILE",
                           help="output: .npy for dense (B, T, m) float32 or token ids (B, T); "
                                ".npz for an event stream (event data sets only)")
            q.add_argument("--labels", metavar="FILE.npy",
                           help="also write the targets: (B,) labels or (B, T) next tokens")
            q.set_defaults(func=run_export)
        else:
            q.set_defaults(func=run_show)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _parse_options(items) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    out = {}
    for text in items:
        if "=" not in text:
            raise EventsimError(f"option {text!r} must look like key=value, e.g. limit=100")
        k, v = text.split("=", 1)
        k, v = k.strip(), v.strip()
        try:
            out[k] = tomllib.loads(f"v = {v}")["v"]
        except tomllib.TOMLDecodeError:
            out[k] = v
    return out


def run_list(args) -> int:
    from ..data import DATASETS, dataset_options
    width = max(len(n) for n in DATASETS)
    for name, desc in DATASETS.items():
        print(f"{name:<{width}}  {desc}")
        opts = ", ".join(f"{k}={v!r}" for k, v in dataset_options(name).items())
        print(f"{'':<{width}}  options: {opts}")
    return 0


def run_show(args) -> int:
    from ..data import load_dataset
    ds = load_dataset(args.name, **_parse_options(args.options))
    print(f"{ds.name}: task {ds.task}, input {ds.input_kind}, n_in {ds.n_in}, "
          f"n_classes {ds.n_classes}, metric {ds.metric}")
    for split in ("train", "valid", "test"):
        s = ds.split(split)
        line = f"  {split:<5}  x {tuple(s.x.shape)} {s.x.dtype}  y {tuple(s.y.shape)} {s.y.dtype}"
        if s.events is not None:
            line += f"  events {len(s.events)}"
        print(line)
    if ds.vocab is not None:
        shown = ", ".join(repr(v) for v in ds.vocab[:12])
        print(f"  vocabulary {len(ds.vocab)}: {shown}{', ...' if len(ds.vocab) > 12 else ''}")
    opts = ", ".join(f"{k}={v!r}" for k, v in ds.options.items() if v is not None)
    print(f"  options: {opts}")
    return 0


def run_export(args) -> int:
    from .._npz import write_npy
    from ..data import load_dataset
    from ..outputs import check_outputs

    ext = os.path.splitext(args.out)[1].lower()
    if ext not in (".npy", ".npz"):
        raise EventsimError(f"--out {args.out!r} must end in .npy (dense or token input) or "
                            f".npz (event stream)")
    check_outputs([("--out", args.out), ("--labels", args.labels)])
    if args.limit is not None and args.limit < 1:
        raise EventsimError(f"--limit {args.limit} must be >= 1")
    ds = load_dataset(args.name, **_parse_options(args.options))
    s = ds.split(args.split)
    s = s if args.limit is None else s.take(args.limit)
    n = len(s)
    if ext == ".npz":
        if s.events is None:
            raise EventsimError(f"data set {ds.name!r} is not an event data set; write it as .npy")
        s.events.save(args.out)
        what = f"event stream of {n} samples, {len(s.events)} events"
    else:
        write_npy(args.out, s.x)
        what = f"{'token ids' if ds.input_kind == 'tokens' else 'dense input'} {tuple(s.x.shape)}"
    if args.labels:
        write_npy(args.labels, s.y)
        what += f"; targets {tuple(s.y.shape)} -> {args.labels}"
    print(f"wrote {args.out}: {ds.name} {args.split}, {what}", file=sys.stdout)
    return 0
