"""The ``eventsim`` command line.

Subcommands live in :mod:`eventsim.commands`, one module per group; each
module exposes ``register(subparsers)`` and sets ``func`` on its parsers
(``func(args) -> int``). A user mistake (:class:`EventsimError`) is printed as
one line ``eventsim: error: ...`` with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__
from .errors import EventsimError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eventsim",
        description="Event-driven simulation of activity-sparse recurrent networks (EGRU) "
                    "with exact operation counts.")
    parser.add_argument("--version", action="version", version=f"eventsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{commands.__name__}.{info.name}").register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    try:
        return int(args.func(args) or 0)
    except EventsimError as e:
        print(f"eventsim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eventsim: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
