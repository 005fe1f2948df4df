"""Argument parsing helpers shared by the subcommands."""
from __future__ import annotations

from ..errors import EventsimError


def at_least(value, low, option: str):
    """Refuse ``value < low`` (``None`` passes: the option was not given)."""
    if value is not None and value < low:
        raise EventsimError(f"{option} {value} must be >= {low}")
    return value


def positive(value, option: str):
    """Refuse a value that is not > 0 (or not finite); ``None`` passes."""
    import math
    if value is not None and not (math.isfinite(value) and value > 0):
        raise EventsimError(f"{option} {value} must be a positive number")
    return value


def finite(value, option: str):
    import math
    if value is not None and not math.isfinite(value):
        raise EventsimError(f"{option} {value} must be a finite number")
    return value


def check_seed(seed, option: str = "--seed"):
    """Seeds are integers >= 0 (numpy's generators take no negative seed)."""
    return at_least(seed, 0, option)


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
    """Write ``data`` as JSON, atomically (the path was checked by check_outputs before the work)."""
    from ..outputs import write_json as _write

    _write(path, data, indent=1)
