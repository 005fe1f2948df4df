"""Argument parsing helpers shared by the subcommands."""
from __future__ import annotations

import json
import os

from ..errors import EventsimError


def int_list(text: str, what: str) -> list:
    try:
        vals = [int(v) for v in text.replace(" ", "").split(",") if v != ""]
    except ValueError:
        raise EventsimError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not vals:
        raise EventsimError(f"{what} is empty")
    return vals


def parse_delays(text: str, n_layers: int) -> tuple:
    """``FF:REC[,FF:REC...]``, one pair per layer (or one pair for every layer)."""
    pairs = [p for p in text.replace(" ", "").split(",") if p]
    try:
        parsed = [tuple(int(v) for v in p.split(":")) for p in pairs]
    except ValueError:
        parsed = [()]
    if not parsed or any(len(p) != 2 for p in parsed):
        raise EventsimError(f"--delays {text!r}: write FF:REC per layer, e.g. '0:1,2:0' "
                            f"(feed-forward and recurrent delay in steps)")
    if len(parsed) == 1:
        parsed = parsed * n_layers
    if len(parsed) != n_layers:
        raise EventsimError(f"--delays gives {len(parsed)} pairs but the model has {n_layers} layers")
    if any(v < 0 for p in parsed for v in p):
        raise EventsimError(f"--delays {text!r}: delays must be >= 0")
    return tuple(p[0] for p in parsed), tuple(p[1] for p in parsed)


def write_json(path: str, data) -> None:
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise EventsimError(f"cannot write {path!r}: folder {d!r} does not exist")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
