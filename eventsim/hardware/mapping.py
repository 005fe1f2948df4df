"""Placement of a model's units onto the cores of a many-core chip.

Populations are the EGRU layers (``layer0``, ``layer1``, ...) and, when the
model has one, the ``readout``. A :class:`Placement` gives the core of every
unit. Two strategies:

- ``contiguous``: all units in order (layer 0, layer 1, ..., readout) cut into
  ``n_cores`` consecutive blocks of near-equal size (``numpy.array_split``);
- ``balanced``: longest-processing-time-first greedy: units sorted by their
  expected work (time per run on the profile), each given to the least loaded
  core that still has SRAM room for it (the least loaded core if none has).

A unit's memory is the weights that target it (the nonzero weights of its
three columns in ``kernel`` and ``recurrent_kernel``, or its row of the
readout; every weight on a dense profile) at ``weight_bits``, plus its state:
15 values of 4 bytes for an EGRU unit (s, y, ϑ, 3 + 3 biases, 6 gate
accumulators), 2 for a readout output (bias, accumulator).
:func:`check_memory` sums them per core and raises :class:`EventsimError`
when a core overflows its SRAM, or (``spill=True``) reads the excess from the
profile's spill level, reported as a per-core spill fraction.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from ..errors import EventsimError

PLACEMENTS = ("contiguous", "balanced")
STATE_BYTES_UNIT = 15 * 4
STATE_BYTES_READOUT = 2 * 4


@dataclass
class Placement:
    """core_of[p]: (n_p,) core index of every unit of population p (names[p])."""

    names: list
    core_of: list
    n_cores: int
    strategy: str

    def units_on(self, p: int, c: int) -> np.ndarray:
        return np.flatnonzero(self.core_of[p] == c)

    def cores_of(self, p: int) -> np.ndarray:
        """Sorted cores holding at least one unit of population p."""
        return np.unique(self.core_of[p])

    def units_per_core(self) -> np.ndarray:
        return sum(np.bincount(c, minlength=self.n_cores) for c in self.core_of)

    def _check(self) -> None:
        """Invariants: every unit on exactly one existing core; the counts add up."""
        assert len(self.names) == len(self.core_of)
        for c in self.core_of:
            assert c.ndim == 1 and c.dtype.kind == "i"
            assert c.size == 0 or (c.min() >= 0 and c.max() < self.n_cores)
        assert self.units_per_core().sum() == sum(c.size for c in self.core_of)


def populations(model) -> list:
    """(name, size) of each population: the layers, then the readout if any."""
    pops = [(f"layer{k}", n) for k, n in enumerate(model.sizes)]
    if model.readout_weight is not None:
        pops.append(("readout", model.n_out))
    return pops


def _fan_in(W: np.ndarray, n: int, dense: bool) -> np.ndarray:
    """(rows, n) synapses from each source row to each target unit (3 gate columns)."""
    if dense:
        return np.full((W.shape[0], n), 3, dtype=np.int64)
    return (W != 0).reshape(W.shape[0], 3, n).sum(axis=1).astype(np.int64)


def fan_in_matrices(model, dense: bool = False) -> dict:
    """Synapse counts source -> target unit for every projection.

    Keys: ``("ff", p)`` (sources of population p's feed-forward input: the
    model inputs for p = 0, layer p-1's units otherwise, the last layer's for
    the readout) and ``("rec", p)`` for the layers' recurrent projections.
    With ``dense=True`` every synapse counts (a clocked chip does them all).
    """
    out = {}
    for k, layer in enumerate(model.layers):
        n = layer.n_units
        out[("ff", k)] = _fan_in(layer.kernel, n, dense)
        out[("rec", k)] = _fan_in(layer.recurrent_kernel, n, dense)
    if model.readout_weight is not None:
        W = model.readout_weight.T  # (n_L, n_out): row j = fan-out of unit j
        out[("ff", model.n_layers)] = (np.ones(W.shape, np.int64) if dense else (W != 0).astype(np.int64))
    return out


def unit_bytes(model, profile) -> list:
    """Bytes of SRAM each unit needs (weights that target it + its state), per population."""
    dense = profile.kind == "dense"
    fan = fan_in_matrices(model, dense)
    wb = profile.memory["weight_bits"] / 8.0
    out = []
    for p, (name, n) in enumerate(populations(model)):
        weights = fan[("ff", p)].sum(axis=0)
        if ("rec", p) in fan:
            weights = weights + fan[("rec", p)].sum(axis=0)
        state = STATE_BYTES_READOUT if name == "readout" else STATE_BYTES_UNIT
        out.append((weights * wb, np.full(n, state, dtype=np.float64)))
    return out


def _n_cores(profile, n_cores) -> int:
    cores = int(profile.chip["cores"])
    if n_cores is None:
        return cores
    n_cores = int(n_cores)
    if not 1 <= n_cores <= cores:
        raise EventsimError(f"--cores {n_cores} is out of range: profile {profile.name!r} has {cores} cores")
    return n_cores


def contiguous(model, profile, n_cores=None) -> Placement:
    """Units in order, cut into ``n_cores`` consecutive near-equal blocks."""
    C = _n_cores(profile, n_cores)
    pops = populations(model)
    total = sum(n for _, n in pops)
    blocks = np.array_split(np.arange(total), C)
    core = np.empty(total, dtype=np.int64)
    for c, b in enumerate(blocks):
        core[b] = c
    cuts = np.cumsum([0] + [n for _, n in pops])
    return Placement([name for name, _ in pops], [core[a:b] for a, b in zip(cuts[:-1], cuts[1:])],
                     C, "contiguous")


def unit_work_ns(model, profile, activity=None) -> list:
    """Expected busy time (ns) each unit causes on its core over a run.

    activity: optional list per population source of how often each source was
    active (``sources_active[("ff", p)]`` arrays etc., from :func:`source_activity`);
    without it every source counts as active once (fan-in only).
    """
    fan = fan_in_matrices(model, profile.kind == "dense")
    out = []
    for p, (name, n) in enumerate(populations(model)):
        macs = np.zeros(n)
        for key in (("ff", p), ("rec", p)):
            if key in fan:
                a = np.ones(fan[key].shape[0]) if activity is None else activity[key]
                macs = macs + a @ fan[key]
        upd = 0.0 if name == "readout" else (1.0 if activity is None else activity[("upd", p)])
        out.append(macs * profile.mac_ns + upd * profile.chip["unit_update_ns"])
    return out


def source_activity(model, x_active: np.ndarray, y_active: list) -> dict:
    """How often each source was active: inputs (B,T,m) and layers' events (B,T,n) masks."""
    act = {("ff", 0): x_active.reshape(-1, x_active.shape[-1]).sum(0).astype(float)}
    for k, y in enumerate(y_active):
        flat = y.reshape(-1, y.shape[-1])
        act[("rec", k)] = flat.sum(0).astype(float) - y[:, -1].reshape(-1, y.shape[-1]).sum(0)
        act[("ff", k + 1)] = flat.sum(0).astype(float)
        act[("upd", k)] = np.full(y.shape[-1], float(flat.shape[0]))  # upper bound: every step
    return act


def balanced(model, profile, n_cores=None, activity=None) -> Placement:
    """Longest-processing-time-first: heaviest units first, each to the least loaded core with room."""
    C = _n_cores(profile, n_cores)
    pops = populations(model)
    work = unit_work_ns(model, profile, activity)
    mem = unit_bytes(model, profile)
    flat_work = np.concatenate(work)
    flat_mem = np.concatenate([w + s for w, s in mem])
    pop_of = np.concatenate([np.full(n, p) for p, (_, n) in enumerate(pops)])
    cap = profile.sram_bytes
    order = np.argsort(-flat_work, kind="stable")
    load = np.zeros(C)
    used = np.zeros(C)
    heap = [(0.0, c) for c in range(C)]
    core = np.empty(flat_work.size, dtype=np.int64)
    for u in order:
        skipped = []
        chosen = None
        while heap:
            l, c = heapq.heappop(heap)
            if used[c] + flat_mem[u] <= cap:
                chosen = c
                break
            skipped.append((l, c))
        if chosen is None:  # nothing fits: least loaded core, check_memory reports the overflow
            chosen = min(skipped)[1]
            skipped.remove((load[chosen], chosen))
        core[u] = chosen
        load[chosen] += flat_work[u]
        used[chosen] += flat_mem[u]
        for item in skipped:
            heapq.heappush(heap, item)
        heapq.heappush(heap, (load[chosen], chosen))
    return Placement([name for name, _ in pops], [core[pop_of == p] for p in range(len(pops))],
                     C, "balanced")


def place(model, profile, strategy: str = "contiguous", n_cores=None, activity=None) -> Placement:
    if strategy == "contiguous":
        return contiguous(model, profile, n_cores)
    if strategy == "balanced":
        return balanced(model, profile, n_cores, activity)
    raise EventsimError(f"placement {strategy!r} is unknown; use 'contiguous' or 'balanced'")


@dataclass
class MemoryReport:
    """Per core: bytes of weights and state, SRAM capacity, spill fraction of weights."""

    weight_bytes: np.ndarray
    state_bytes: np.ndarray
    capacity: int
    spill_fraction: np.ndarray
    spill_level: str

    @property
    def used_bytes(self) -> np.ndarray:
        return self.weight_bytes + self.state_bytes

    def to_dict(self) -> dict:
        return {"capacity_bytes": self.capacity, "max_used_bytes": float(self.used_bytes.max()),
                "cores_over_capacity": int((self.used_bytes > self.capacity).sum()),
                "spill_level": self.spill_level,
                "spill_fraction_max": float(self.spill_fraction.max()),
                "spilled_weight_bytes": float((self.spill_fraction * self.weight_bytes).sum())}


def check_memory(placement: Placement, model, profile, spill: bool = False) -> MemoryReport:
    """Sum each core's bytes; overflow -> :class:`EventsimError`, or spill with ``spill=True``."""
    mem = unit_bytes(model, profile)
    C = placement.n_cores
    wbytes = np.zeros(C)
    sbytes = np.zeros(C)
    for p, (w, s) in enumerate(mem):
        wbytes += np.bincount(placement.core_of[p], weights=w, minlength=C)
        sbytes += np.bincount(placement.core_of[p], weights=s, minlength=C)
    cap = profile.sram_bytes
    over = wbytes + sbytes - cap
    frac = np.zeros(C)
    bad = np.flatnonzero(over > 0)
    if bad.size:
        c = int(bad[np.argmax(over[bad])])
        held = ", ".join(f"{placement.names[p]} ({int((placement.core_of[p] == c).sum())} units)"
                         for p in range(len(mem)) if (placement.core_of[p] == c).any())
        if not spill:
            raise EventsimError(
                f"core {c} needs {(wbytes[c] + sbytes[c]) / 1024:.1f} KiB for {held} but profile "
                f"{profile.name!r} has {cap / 1024:.0f} KiB of SRAM per core ({bad.size} core(s) overflow); "
                f"use more cores (--cores), the balanced placement, or --spill to read the excess "
                f"weights from {profile.spill_level}")
        if (sbytes[bad] > cap).any():
            c = int(bad[np.argmax(sbytes[bad])])
            raise EventsimError(f"core {c}: the unit state alone ({sbytes[c] / 1024:.1f} KiB) exceeds the "
                                f"{cap / 1024:.0f} KiB SRAM of profile {profile.name!r}; state cannot spill; "
                                f"use more cores")
        frac[bad] = over[bad] / wbytes[bad]
    return MemoryReport(wbytes, sbytes, cap, frac, profile.spill_level)
