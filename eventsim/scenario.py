"""Study scenarios: TOML files naming the data, the models, training and measurement.

A scenario is read with :func:`load_scenario` from a path or from the name of a
built-in scenario (``eventsim/scenarios/<name>.toml``; the top-level ``scenarios/``
folder of the repository is a link to it). Everything is validated up front: an
unknown section or key, a wrong type, an out-of-range value, a duplicate model name or
an unknown data set is an :class:`EventsimError` naming the key and what is allowed.
The format is documented in ``docs/scenarios.md``.

Overrides are ``key=value`` strings with dotted keys whose value is a TOML value
(``train.epochs=3``, ``data.limit=100``, ``models.egru.units=[32,32]``; a model is
addressed by its name). A value that is not valid TOML is taken as a plain string, so
``train.lr_schedule=cosine`` works without quotes.
"""
from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import EventsimError
from .egru.init import DAMPENING, RESET, RESET_MODES, SUPPORT, THR_MEAN

SCENARIO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios")

TOP_KEYS = ("name", "description", "data", "train", "models", "measure")
KINDS = ("egru", "gru", "lstm", "deltagru")
LR_SCHEDULES = ("constant", "cosine", "step")
LOSSES = ("last", "all", "trace", "lm")  # = eventsim.train.losses.LOSSES (kept import-light)
PATH_OPTIONS = ("path", "train", "valid", "test")   # data options naming files or folders
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_INT, _FLOAT, _BOOL, _STR = "an integer", "a number", "true or false", "a string"


def allowed_losses(task: str) -> str:
    """The losses that fit a task, for error messages ("'lm'" or "'last', 'all' or 'trace'")."""
    if task == "lm":
        return "'lm'"
    names = [repr(name) for name in LOSSES if name != "lm"]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _fields():
    """Schema: section -> {key: (default, type, range)}; range (lo, hi) or allowed tuple."""
    train = {
        "epochs": (10, _INT, (1, None)),
        "batch_size": (32, _INT, (1, None)),
        "lr": (3e-3, _FLOAT, (0.0, None, "open")),
        "lr_schedule": ("cosine", _STR, LR_SCHEDULES),
        "weight_decay": (0.0, _FLOAT, (0.0, None)),
        "grad_clip": (1.0, _FLOAT, (0.0, None)),
        "dropout": (0.0, _FLOAT, (0.0, 1.0, "hi_open")),
        "activity_reg": (0.0, _FLOAT, (0.0, None)),
        "floor_reg": (0.0, _FLOAT, (0.0, None)),          # rate floor λ_f (EGRU; 0 = off)
        "floor_rate": (0.02, _FLOAT, (0.0, 1.0, "both_open")),  # its r_min
        "seed": (0, _INT, (0, None)),
        # a study over several seeds (None: the one seed above); checked in check_seeds
        "seeds": (None, "a non-empty list of distinct integers >= 0", None),
        "loss": (None, _STR, LOSSES),            # default: "last" (classify) or "lm"
        "max_batches_per_epoch": (None, _INT, (1, None)),
        # which checkpoints a study keeps (None: "latest_best"); not a training setting
        "keep_checkpoints": (None, _STR, ("latest_best", "all")),
    }
    model = {
        "name": (None, _STR, None),
        "kind": (None, _STR, KINDS),
        "units": (None, "a list of positive integers", None),
        "thr_mean": (THR_MEAN, _FLOAT, (0.0, 1.0, "both_open")),  # mean of a Beta distribution
        "train_thr": (True, _BOOL, None),
        "dampening": (DAMPENING, _FLOAT, (0.0, None, "open")),
        "support": (SUPPORT, _FLOAT, (0.0, None, "open")),
        "reset": (RESET, _STR, RESET_MODES),
        "weight_density": (1.0, _FLOAT, (0.0, 1.0, "open")),
        "update_bias": (0.0, _FLOAT, None),      # initial update-gate bias (egru, gru)
        "activity_reg": (None, _FLOAT, (0.0, None)),
        "floor_reg": (None, _FLOAT, (0.0, None)),
        "floor_rate": (None, _FLOAT, (0.0, 1.0, "both_open")),
        "thr_jitter": (0.0, _FLOAT, (0.0, None)),  # σ of the training threshold jitter (0 = off)
        "floor_unjittered": (False, _BOOL, None),  # the rate floor counts events at ϑ, not ϑ + σε
        "epochs": (None, _INT, (1, None)),        # None: train.epochs
        "loss": (None, _STR, LOSSES),             # None: train.loss
        "lr": (None, _FLOAT, (0.0, None, "open")),  # None: train.lr
        "embedding_dim": (None, _INT, (1, None)),  # token input only; None: trainer's choice
        "checkpoint": (None, _STR, None),
        "theta_x": (None, _FLOAT, (0.0, None)),   # DeltaGRU: input delta threshold Θx (None: 0)
        "theta_h": (None, _FLOAT, (0.0, None)),   # DeltaGRU: state delta threshold Θh (None: 0)
        "delta_penalty": (None, _FLOAT, (0.0, None)),  # DeltaGRU: change penalty λ (None: 0)
        # DeltaGRU converted from a trained GRU of the scenario, Θ picked on validation (_delta_from)
        "from": (None, _STR, None),
        "thetas": (None, "a non-empty list of numbers >= 0", None),
        "tolerance": (None, _FLOAT, (0.0, None)),
    }
    measure = {
        "test_samples": (None, _INT, (1, None)),   # None: the whole test split
        "raster_samples": (4, _INT, (0, None)),
    }
    return train, model, measure


TRAIN_FIELDS, MODEL_FIELDS, MEASURE_FIELDS = _fields()
EGRU_ONLY = ("thr_mean", "train_thr", "dampening", "support", "reset", "activity_reg", "floor_reg",
             "floor_rate", "thr_jitter", "floor_unjittered")
DELTAGRU_ONLY = ("theta_x", "theta_h", "delta_penalty", "from", "thetas", "tolerance")
#: the Θ grid (Θx = Θh) of a DeltaGRU converted from a GRU when the scenario gives none
DEFAULT_THETAS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5)
#: what a converted DeltaGRU may lose against its GRU on the validation split (1 accuracy point)
DEFAULT_TOLERANCE = 0.01
#: keys that mean nothing for a DeltaGRU converted from a GRU (it is not trained)
_NOT_WITH_FROM = ("theta_x", "theta_h", "delta_penalty", "checkpoint", "epochs", "loss", "lr",
                  "weight_density", "update_bias", "embedding_dim")


@dataclass
class Scenario:
    """A validated scenario; every default is filled in.

    name, description: free text (name is also the results folder name).
    path: the file it was read from (None when built from a dict).
    data: ``{"name": data set, **loader options}`` (options as given, defaults not
        filled: the loader fills them).
    train: every key of :data:`TRAIN_FIELDS` (``max_batches_per_epoch`` may be None;
        ``keep_checkpoints`` and ``seeds`` only when the scenario gives them).
    models: list of dicts with every key of :data:`MODEL_FIELDS` (EGRU-only keys are
        None for GRU/LSTM; the DeltaGRU-only keys theta_x, theta_h, delta_penalty are
        present for a DeltaGRU only, None meaning 0, and so are ``from``, ``thetas`` and
        ``tolerance`` (a DeltaGRU converted from the GRU ``from``, Θ picked on validation); ``activity_reg`` / ``floor_reg`` / ``floor_rate`` None mean
        the ``train`` section's,
        ``epochs`` / ``loss`` / ``lr`` None mean ``train.epochs`` / ``train.loss`` /
        ``train.lr``;
        ``embedding_dim`` None lets the trainer choose; ``checkpoint`` None means train
        from scratch).
    measure: ``test_samples`` (None: whole test split), ``raster_samples``.
    """

    name: str
    description: str
    path: Optional[str]
    data: dict
    train: dict
    models: list
    measure: dict
    task: str = field(default="classify")

    def model(self, name: str) -> dict:
        for m in self.models:
            if m["name"] == name:
                return m
        raise EventsimError(f"scenario {self.name!r} has no model {name!r}; models: "
                            f"{', '.join(m['name'] for m in self.models)}")

    def to_dict(self) -> dict:
        """The scenario as a plain dict (None values left out), as in the TOML file."""
        def clean(d):
            return {k: v for k, v in d.items() if v is not None}
        return {"name": self.name, "description": self.description, "data": dict(self.data),
                "train": clean(self.train), "models": [clean(m) for m in self.models],
                "measure": clean(self.measure)}

    def to_toml(self) -> str:
        """TOML text that :func:`load_scenario` reads back to an equal scenario."""
        return dumps_toml(self.to_dict(), header=f"eventsim scenario {self.name!r} "
                                                 f"(as run, after overrides and defaults)")


# --- loading ------------------------------------------------------------------------------

def builtin_scenarios() -> dict:
    """{name: description} of the scenarios shipped with the package."""
    out = {}
    if os.path.isdir(SCENARIO_DIR):
        for fn in sorted(os.listdir(SCENARIO_DIR)):
            if fn.endswith(".toml"):
                try:
                    with open(os.path.join(SCENARIO_DIR, fn), "rb") as f:
                        out[fn[:-5]] = str(tomllib.load(f).get("description", ""))
                except (OSError, tomllib.TOMLDecodeError):
                    out[fn[:-5]] = "(unreadable)"
    return out


def resolve_scenario(path_or_name) -> str:
    """A scenario file path: ``path_or_name`` itself if it is a file, else the built-in
    scenario of that name."""
    p = os.fspath(path_or_name)
    if os.path.isfile(p):
        return p
    cand = os.path.join(SCENARIO_DIR, p + ".toml")
    if os.sep not in p and "/" not in p and os.path.isfile(cand):
        return cand
    names = ", ".join(builtin_scenarios()) or "(none installed)"
    raise EventsimError(f"scenario {p!r} is neither a file nor a built-in scenario; "
                        f"built-in scenarios: {names}")


def load_scenario(path_or_name="digits", overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate a scenario (see module docstring)."""
    path = resolve_scenario(path_or_name)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise EventsimError(f"scenario file {path!r} is not valid TOML: {e}") from None
    raw.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    raw = apply_overrides(raw, overrides)
    return scenario_from_dict(raw, path=path)


def parse_override(text: str) -> tuple:
    """``"a.b=value"`` -> (["a", "b"], parsed value)."""
    if not isinstance(text, str) or "=" not in text:
        raise EventsimError(f"override {text!r} must look like key=value, e.g. train.epochs=3")
    key, value = text.split("=", 1)
    key = key.strip()
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise EventsimError(f"override {text!r} has an empty key; use dotted keys like data.limit=100")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value                            # bare word: a plain string
    return parts, parsed


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """Return a copy of the raw scenario dict with ``overrides`` applied."""
    if isinstance(overrides, str):
        overrides = [overrides]
    raw = copy.deepcopy(raw)
    for text in overrides:
        parts, value = parse_override(text)
        head = parts[0]
        if head not in TOP_KEYS:
            raise EventsimError(f"override {text!r}: unknown section {head!r}; allowed: "
                                f"{', '.join(TOP_KEYS)}")
        if head in ("name", "description"):
            if len(parts) != 1:
                raise EventsimError(f"override {text!r}: {head} has no sub-keys")
            raw[head] = value
        elif head == "models":
            if len(parts) != 3:
                raise EventsimError(f"override {text!r}: address a model key as "
                                    f"models.<model name>.<key>, e.g. models.egru.units=[32,32]")
            models = raw.get("models") if isinstance(raw.get("models"), list) else []
            hit = [m for m in models if isinstance(m, dict) and m.get("name") == parts[1]]
            if not hit:
                names = ", ".join(str(m.get("name")) for m in models if isinstance(m, dict))
                raise EventsimError(f"override {text!r}: no model named {parts[1]!r}; models: {names}")
            hit[0][parts[2]] = value
        else:
            if len(parts) != 2:
                raise EventsimError(f"override {text!r}: use {head}.<key>=value")
            sec = raw.setdefault(head, {})
            if not isinstance(sec, dict):
                raise EventsimError(f"override {text!r}: [{head}] is not a table in the scenario")
            sec[parts[1]] = value
    return raw


# --- validation -------------------------------------------------------------------------

def _check_value(where: str, value, typ: str, rng):
    given = value
    if typ == _INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EventsimError(f"{where} = {value!r} must be {typ}")
    elif typ == _FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EventsimError(f"{where} = {value!r} must be {typ}")
        value = float(value)
        if not math.isfinite(value):
            raise EventsimError(f"{where} = {value!r} must be finite")
    elif typ == _BOOL:
        if not isinstance(value, bool):
            raise EventsimError(f"{where} = {value!r} must be {typ}")
    elif typ == _STR:
        if not isinstance(value, str):
            raise EventsimError(f"{where} = {value!r} must be {typ}")
    if isinstance(rng, tuple) and rng and isinstance(rng[0], str):       # allowed values
        if value not in rng:
            raise EventsimError(f"{where} = {value!r} is not allowed; allowed values: "
                                f"{', '.join(repr(r) for r in rng)}")
    elif isinstance(rng, tuple):
        lo, hi = rng[0], rng[1]
        mode = rng[2] if len(rng) > 2 else ""
        lo_open, hi_open = mode in ("open", "both_open"), mode in ("hi_open", "both_open")
        if lo is not None and (value < lo or (lo_open and value == lo)):
            raise EventsimError(f"{where} = {given!r} is out of range; it must be "
                                f"{'>' if lo_open else '>='} {lo}")
        if hi is not None and (value > hi or (hi_open and value == hi)):
            raise EventsimError(f"{where} = {given!r} is out of range; it must be "
                                f"{'<' if hi_open else '<='} {hi}")
    return value


def _section(raw, name: str, fields: dict, where: str) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise EventsimError(f"{where} must be a table, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise EventsimError(f"{where} has unknown key {unknown[0]!r}; allowed keys: "
                            f"{', '.join(fields)}")
    out = {}
    for key, (default, typ, rng) in fields.items():
        if key in raw:
            out[key] = _check_value(f"{name}.{key}", raw[key], typ, rng)
        else:
            out[key] = default
    return out


def _model(raw, i: int) -> dict:
    where = f"models[{i}]"
    if not isinstance(raw, dict):
        raise EventsimError(f"{where} must be a table ([[models]]), got {type(raw).__name__}")
    for req in ("name", "kind", "units"):
        if req not in raw:
            raise EventsimError(f"{where} lacks the required key {req!r} (each [[models]] needs "
                                f"name, kind and units)")
    name = raw["name"]
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise EventsimError(f"{where}.name = {name!r} must be a string of letters, digits, '_', "
                            f"'-' or '.' (it names the results folder)")
    m = _section(raw, f"models.{name}", MODEL_FIELDS, f"model {name!r}")
    units = m["units"]
    if (not isinstance(units, list) or not units
            or not all(isinstance(u, int) and not isinstance(u, bool) and u >= 1 for u in units)):
        raise EventsimError(f"models.{name}.units = {units!r} must be a non-empty list of "
                            f"positive integers, one per layer, e.g. [64] or [128, 128]")
    if m["kind"] != "egru":
        bad = [k for k in EGRU_ONLY if k in raw]
        if bad:
            raise EventsimError(f"models.{name}.{bad[0]} applies only to EGRU models, but "
                                f"{name!r} is a {m['kind']}; remove it")
        for k in EGRU_ONLY:
            m[k] = None
    if m["kind"] != "deltagru":
        bad = [k for k in DELTAGRU_ONLY if k in raw]
        if bad:
            raise EventsimError(f"models.{name}.{bad[0]} applies only to DeltaGRU models, but "
                                f"{name!r} is a {m['kind']}; remove it")
        for k in DELTAGRU_ONLY:     # not filled in: other kinds' model dicts stay as they were
            del m[k]
    elif m["from"] is None:
        bad = [k for k in ("thetas", "tolerance") if k in raw]
        if bad:
            raise EventsimError(f"models.{name}.{bad[0]} applies only to a DeltaGRU converted from a GRU "
                                f"(with from = \"<gru model name>\"); add from or remove it")
    else:
        bad = [k for k in _NOT_WITH_FROM if k in raw]
        if bad:
            raise EventsimError(f"models.{name}.{bad[0]} does not apply to a DeltaGRU converted from a GRU "
                                f"(from = {m['from']!r}: it is not trained, its Θ is picked from thetas); "
                                f"remove it")
        th = m["thetas"]
        if th is not None and (not isinstance(th, list) or not th or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) and t >= 0
                for t in th)):
            raise EventsimError(f"models.{name}.thetas = {th!r} must be a non-empty list of numbers >= 0 "
                                f"(the delta thresholds Θx = Θh to try), e.g. [0.05, 0.1, 0.2]")
        m["thetas"] = [float(t) for t in th] if th is not None else None
        m["weight_density"] = m["update_bias"] = None   # the GRU's; left out of to_toml()
    if m["kind"] == "lstm" and m["update_bias"]:
        raise EventsimError(f"models.{name}.update_bias applies only to GRU-type models (egru, gru), but "
                            f"{name!r} is an lstm (it starts with forget-gate bias 1); remove it")
    return m


def check_seeds(seeds) -> None:
    """Refuse a ``train.seeds`` that is not a non-empty list of distinct integers >= 0."""
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise EventsimError(f"train.seeds = {seeds!r} must be a non-empty list of integers >= 0, "
                            f"e.g. [0, 1, 2]")
    if len(set(seeds)) != len(seeds):
        raise EventsimError(f"train.seeds = {seeds!r} names a seed twice; give each seed once")


def _delta_from(m: dict, models: list) -> None:
    """Refuse a DeltaGRU ``from`` that does not name a GRU of the scenario with its units."""
    src = [g for g in models if g["name"] == m["from"]]
    if not src or src[0]["kind"] != "gru":
        grus = ", ".join(g["name"] for g in models if g["kind"] == "gru") or "none"
        raise EventsimError(f"models.{m['name']}.from = {m['from']!r} must name a GRU model of the scenario "
                            f"(GRU models: {grus})")
    if src[0]["units"] != m["units"]:
        raise EventsimError(f"models.{m['name']}.units = {m['units']!r} must equal those of its GRU "
                            f"{m['from']!r} ({src[0]['units']!r}): the DeltaGRU is that GRU converted")


def scenario_from_dict(raw: dict, path: Optional[str] = None) -> Scenario:
    """Validate a raw (parsed TOML) scenario dict and fill the defaults."""
    from .data import DATASET_TASKS, DATASETS, check_dataset_options
    if not isinstance(raw, dict):
        raise EventsimError("a scenario must be a TOML table")
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise EventsimError(f"scenario has unknown section or key {unknown[0]!r}; allowed: "
                            f"{', '.join(TOP_KEYS)}")
    name = raw.get("name", "scenario")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise EventsimError(f"scenario name = {name!r} must be a string of letters, digits, '_', "
                            f"'-' or '.' (it names the results folder)")
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise EventsimError(f"description = {desc!r} must be a string")

    data = raw.get("data")
    if not isinstance(data, dict) or "name" not in data:
        raise EventsimError(f"the scenario needs a [data] table with name = one of: "
                            f"{', '.join(DATASETS)}")
    dname = data["name"]
    if dname not in DATASETS:
        raise EventsimError(f"data.name = {dname!r} is not a known data set; available: "
                            f"{', '.join(DATASETS)}")
    opts = {k: v for k, v in data.items() if k != "name"}
    check_dataset_options(dname, opts)          # raises on unknown option or bad value
    data = dict(data)
    if path is not None:                        # file options relative to the scenario file
        base = os.path.dirname(os.path.abspath(path))
        for key in PATH_OPTIONS:
            v = data.get(key)
            if isinstance(v, str) and not os.path.isabs(v) and not os.path.exists(v) \
                    and os.path.exists(os.path.join(base, v)):
                data[key] = os.path.join(base, v)
    task = DATASET_TASKS[dname]

    train = _section(raw.get("train"), "train", TRAIN_FIELDS, "[train]")
    if train["keep_checkpoints"] is None:   # present only when given (a study's default otherwise)
        del train["keep_checkpoints"]
    if train["seeds"] is None:   # present only when given (a one-seed study otherwise)
        del train["seeds"]
    else:
        check_seeds(train["seeds"])
    if train["loss"] is None:
        train["loss"] = "lm" if task == "lm" else "last"
    if (train["loss"] == "lm") != (task == "lm"):
        raise EventsimError(f"train.loss = {train['loss']!r} does not fit data set {dname!r} "
                            f"(task {task}); use {allowed_losses(task)}")

    models_raw = raw.get("models")
    if not isinstance(models_raw, list) or not models_raw:
        raise EventsimError("the scenario needs at least one [[models]] table "
                            "(name, kind = 'egru'|'gru'|'lstm'|'deltagru', units)")
    models = [_model(m, i) for i, m in enumerate(models_raw)]
    for m in models:
        if m["loss"] is not None and (m["loss"] == "lm") != (task == "lm"):
            raise EventsimError(f"models.{m['name']}.loss = {m['loss']!r} does not fit data set {dname!r} "
                                f"(task {task}); use {allowed_losses(task)}")
        if m["embedding_dim"] is not None and task != "lm":
            raise EventsimError(f"models.{m['name']}.embedding_dim applies only to token input "
                                f"(text-char, text-word), not to data set {dname!r}; remove it")
    seen = set()
    for m in models:
        if m["name"] in seen:
            raise EventsimError(f"model name {m['name']!r} appears twice; model names must be unique")
        seen.add(m["name"])
    for m in models:
        if m.get("from") is not None:
            _delta_from(m, models)

    measure = _section(raw.get("measure"), "measure", MEASURE_FIELDS, "[measure]")
    return Scenario(name=name, description=desc, path=path, data=data, train=train,
                    models=models, measure=measure, task=task)


# --- a small TOML writer ----------------------------------------------------------------
# (tomllib only reads; the values of a scenario are a small, fixed subset of TOML, so a
# 40-line writer avoids a dependency.)

def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise EventsimError(f"cannot write the non-finite number {v!r} to a scenario")
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise EventsimError(f"cannot write a value of type {type(v).__name__} to a scenario")


def _key(k: str) -> str:
    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else _toml_str(k)


def dumps_toml(d: dict, header: str = "") -> str:
    """TOML for a dict of scalars/lists, tables (dict) and arrays of tables (list of dict)."""
    lines = [f"# {header}"] if header else []
    scalars = {k: v for k, v in d.items() if not isinstance(v, dict)
               and not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))}
    for k, v in scalars.items():
        lines.append(f"{_key(k)} = {_toml_value(v)}")
    for k, v in d.items():
        if isinstance(v, dict):
            lines += ["", f"[{_key(k)}]"] + [f"{_key(a)} = {_toml_value(b)}" for a, b in v.items()]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                lines += ["", f"[[{_key(k)}]]"] + [f"{_key(a)} = {_toml_value(b)}"
                                                   for a, b in item.items()]
    return "\n".join(lines) + "\n"
