"""Hardware profiles: energy, memory and timing figures of a chip, read from TOML.

A profile is a small TOML file (see ``docs/hardware.md`` for every key and
``eventsim/hardware/profiles/*.toml`` for the shipped ones, each figure with
its source in the ``[sources]`` table). Units are in the key names' sections:
``[energy]`` in picojoules per operation, ``[memory]`` in picojoules per
weight read, ``[chip]`` in SI units unless the key says otherwise (``_ns``,
``_kib``).

``load_profile(name_or_path)`` accepts a shipped name (``loihi``) or a path to
a user file; a missing, non-numeric or negative figure raises
:class:`~eventsim.errors.EventsimError` naming the key.
"""
from __future__ import annotations

import math
import os
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EventsimError

PROFILE_DIR = Path(__file__).parent / "profiles"

KINDS = ("event", "dense")
MEMORY_LEVELS = ("small_sram", "large_sram", "dram")

#: required numeric figures per section, with their meaning (docs/hardware.md repeats them)
ENERGY_KEYS = {
    "mac": "pJ per synaptic multiply-accumulate (a graded event value times a weight)",
    "ac": "pJ per synaptic accumulate (a binary event adds a weight)",
    "elementwise": "pJ per elementwise product of the unit update",
    "nonlinearity": "pJ per sigmoid/tanh evaluation",
    "unit_update": "pJ of fixed overhead per unit update (state read/write, threshold test)",
    "packet": "pJ per event packet sent (injection and delivery, no hops)",
    "hop": "pJ per router hop of one packet",
}
#: optional figures: a profile without them prices everything but the model that needs them
OPTIONAL_KEYS = {
    "energy": {"delta_check": "pJ per delta-encoding check of a DeltaGRU (subtract the last sent "
                              "value, compare |change| with the threshold)"},
}
MEMORY_KEYS = {
    "weight_bits": "bits per stored weight",
    "small_sram": "pJ per weight read from a small (~8 KB) SRAM",
    "large_sram": "pJ per weight read from a large (~1 MB) SRAM",
    "dram": "pJ per weight read from DRAM",
    "spill_ns_per_weight": "extra ns per weight read from the spill level (bandwidth-bound)",
}
CHIP_KEYS = {
    "cores": "number of cores",
    "sram_per_core_kib": "weight/state SRAM per core, KiB",
    "static_power_w": "static (leakage + always-on) power of the chip, W",
    "clock_hz": "core clock, Hz",
    "macs_per_cycle": "synaptic MACs one core completes per cycle",
    "unit_update_ns": "time of one unit update on a core, ns",
    "cores_per_tile": "cores sharing one router (0 hops between them)",
    "mesh_columns": "tiles per row of the 2-D mesh",
    "packet_ns": "latency of one packet without hops (injection + delivery), ns",
    "hop_ns": "latency per router hop, ns",
    "barrier_ns": "latency of the chip-wide barrier between layer phases, ns",
}
INTEGER_KEYS = {("memory", "weight_bits"), ("chip", "cores"), ("chip", "cores_per_tile"),
                ("chip", "mesh_columns")}
POSITIVE_KEYS = {("memory", "weight_bits"), ("chip", "cores"), ("chip", "clock_hz"),
                 ("chip", "macs_per_cycle"), ("chip", "cores_per_tile"), ("chip", "mesh_columns"),
                 ("chip", "sram_per_core_kib")}
SECTIONS = {"energy": ENERGY_KEYS, "memory": MEMORY_KEYS, "chip": CHIP_KEYS}


@dataclass(frozen=True)
class HardwareProfile:
    """The figures of one chip (see the module docstring for units).

    name, description: identification; kind: ``"event"`` (asynchronous,
    event-driven: only active sources send, only woken units update) or
    ``"dense"`` (synchronous, clocked: every synapse and unit every step).
    energy, memory, chip: the numeric figures by section (dicts key -> float).
    weight_level: the memory level weights are read from when they fit a
    core's SRAM; spill_level: where weights go that do not fit (``--spill``).
    sources: key (``"energy.mac"``) -> citation or estimate reasoning.
    path: the file it was read from.
    """

    name: str
    description: str
    kind: str
    energy: dict
    memory: dict
    chip: dict
    weight_level: str
    spill_level: str
    sources: dict = field(default_factory=dict)
    path: str = ""

    def read_pj(self, level: str) -> float:
        """Energy of one weight read from memory ``level``."""
        return float(self.memory[level])

    @property
    def mac_ns(self) -> float:
        """Time of one synaptic MAC on one core, ns."""
        return 1e9 / (self.chip["clock_hz"] * self.chip["macs_per_cycle"])

    @property
    def sram_bytes(self) -> int:
        return int(self.chip["sram_per_core_kib"] * 1024)

    def to_dict(self) -> dict:
        return {"name": self.name, "description": self.description, "kind": self.kind,
                "energy": dict(self.energy), "memory": dict(self.memory), "chip": dict(self.chip),
                "weight_level": self.weight_level, "spill_level": self.spill_level,
                "path": self.path}


def available_profiles() -> list:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path) -> HardwareProfile:
    """A shipped profile by name, or a user profile from a TOML path."""
    s = os.fspath(name_or_path)
    shipped = PROFILE_DIR / f"{s}.toml"
    if os.sep not in s and "/" not in s and not s.endswith(".toml"):
        if not shipped.exists():
            raise EventsimError(f"hardware profile {s!r} is unknown; shipped profiles are "
                                f"{', '.join(available_profiles())}, or give a path to a .toml file")
        path = shipped
    else:
        path = Path(s)
        if not path.exists():
            raise EventsimError(f"hardware profile file {s!r} does not exist")
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise EventsimError(f"hardware profile {str(path)!r} is not valid TOML ({e})") from None
    return profile_from_dict(data, source=str(path))


def _number(data: dict, section: str, key: str, where: str, meanings=None) -> float:
    sec = data.get(section)
    if not isinstance(sec, dict):
        raise EventsimError(f"{where}: section [{section}] is missing; it needs "
                            f"{', '.join(SECTIONS[section])}")
    if key not in sec:
        raise EventsimError(f"{where}: figure {section}.{key} is missing "
                            f"({(meanings or SECTIONS[section])[key]}); add it to [{section}]")
    v = sec[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise EventsimError(f"{where}: figure {section}.{key} = {v!r} is not a number")
    v = float(v)
    if not math.isfinite(v) or v < 0:
        raise EventsimError(f"{where}: figure {section}.{key} = {v} must be a finite number >= 0")
    if (section, key) in POSITIVE_KEYS and v <= 0:
        raise EventsimError(f"{where}: figure {section}.{key} = {v} must be > 0")
    if (section, key) in INTEGER_KEYS:
        if v != int(v):
            raise EventsimError(f"{where}: figure {section}.{key} = {v} must be an integer")
        v = int(v)
    return v


def profile_from_dict(data: dict, source: str = "profile") -> HardwareProfile:
    """Validate a parsed TOML dict and build a :class:`HardwareProfile`."""
    where = f"hardware profile {source!r}"
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise EventsimError(f"{where}: top-level key 'name' (a string) is missing")
    kind = data.get("kind")
    if kind not in KINDS:
        raise EventsimError(f"{where}: kind = {kind!r}; use 'event' (asynchronous, event-driven) "
                            f"or 'dense' (synchronous, clocked)")
    secs = {}
    for section, keys in SECTIONS.items():
        secs[section] = {k: _number(data, section, k, where) for k in keys}
        optional = OPTIONAL_KEYS.get(section, {})
        secs[section].update({k: _number(data, section, k, where, optional) for k in optional
                              if k in data[section]})
        unknown = set(data[section]) - set(keys) - set(optional) - {"weight_level", "spill_level"}
        if unknown:
            raise EventsimError(f"{where}: unknown key(s) {sorted(unknown)} in [{section}]; "
                                f"allowed are {', '.join(list(keys) + list(optional))}")
    levels = {}
    for key, default in (("weight_level", None), ("spill_level", "dram")):
        v = data["memory"].get(key, default)
        if v not in MEMORY_LEVELS:
            raise EventsimError(f"{where}: memory.{key} = {v!r}; use one of {', '.join(MEMORY_LEVELS)}")
        levels[key] = v
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise EventsimError(f"{where}: [sources] must be a table of key = \"citation\"")
    unknown = set(data) - {"name", "description", "kind", "energy", "memory", "chip", "sources"}
    if unknown:
        raise EventsimError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
    return HardwareProfile(name=name, description=str(data.get("description", "")), kind=kind,
                           energy=secs["energy"], memory=secs["memory"], chip=secs["chip"],
                           weight_level=levels["weight_level"], spill_level=levels["spill_level"],
                           sources={str(k): str(v) for k, v in sources.items()}, path=source)


def required_figures() -> list:
    """Every numeric key as ``section.key`` (each shipped profile cites all of them)."""
    return [f"{s}.{k}" for s, keys in SECTIONS.items() for k in keys]


def optional_figures() -> list:
    """The optional numeric keys as ``section.key`` (each shipped profile has and cites them)."""
    return [f"{s}.{k}" for s, keys in OPTIONAL_KEYS.items() for k in keys]
