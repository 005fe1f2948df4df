"""The ``eventsim`` command line.

Subcommands live in :mod:`eventsim.commands`, one module per group; each
module exposes ``register(subparsers)`` and sets ``func`` on its parsers
(``func(args) -> int``). A user mistake (:class:`EventsimError`, a bad option
value, or an operating-system error such as a missing, unreadable or unwritable
file, a file that is not UTF-8 text, or running out of memory) is printed as one
line ``eventsim: error: ...`` with exit status 2, never a traceback; Ctrl-C prints
one line and exits with status 130. Outputs follow :mod:`eventsim.outputs`.
"""
from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from . import __version__
from .errors import EventsimError


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in the project's one-line form (after the usage line)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sub = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = f" (see 'eventsim {sub} --help')" if sub else ""
        self.exit(2, f"eventsim: error: {_one_line(message)}{hint}\n")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def os_error_message(e: OSError) -> str:
    """``[Errno 13] Permission denied: 'x'`` as ``cannot use 'x': permission denied``."""
    what = (e.strerror or str(e) or type(e).__name__).rstrip(".")
    what = what[:1].lower() + what[1:]
    if e.filename is not None and e.filename2 is not None:
        return f"{e.filename!r} -> {e.filename2!r}: {what}"
    if e.filename is not None:
        return f"{e.filename!r}: {what}"
    return what


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    if not getattr(args, "func", None):  # a bare 'eventsim': its help, exit 2 (as a bare group)
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EventsimError as e:
        msg = str(e)
    except BrokenPipeError:  # the reader went away (eventsim ... | head): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except OSError as e:  # PermissionError, IsADirectoryError, FileNotFoundError, disk full ...
        msg = os_error_message(e)
    except UnicodeDecodeError as e:
        msg = (f"a file is not UTF-8 text (byte {e.object[e.start:e.start + 1]!r} at position "
               f"{e.start}); give a text file saved as UTF-8")
    except MemoryError as e:
        msg = ("out of memory" + (f" ({e})" if str(e) else "")
               + "; use a smaller input, fewer samples or steps, or a machine with more memory")
    except KeyboardInterrupt:
        print("eventsim: interrupted", file=sys.stderr)
        return 130
    print(f"eventsim: error: {_one_line(msg)}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
