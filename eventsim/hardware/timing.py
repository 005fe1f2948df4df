"""Discrete-event timing simulation of a run on a many-core chip.

The run's events (``simulate(..., record=("y",))``) are replayed on the cores
of a :class:`~eventsim.hardware.profiles.HardwareProfile` under a
:class:`~eventsim.hardware.mapping.Placement`. Time is continuous (ns); the
queue is a binary heap of entries ``(time, seq, kind, core, population,
macs, packets, feed_forward)``: ``seq`` is a running counter, so entries with
equal times are handled in the order they were created.

Order of work inside one step t (steps of all samples run one after another):

1. At the step start t0 the host injects the step's nonzero inputs: one
   packet per (input channel, core holding targets of it), entering the mesh
   at tile 0. The barrier of layer 0 is passed at t0.
2. A core serves what reaches it in arrival order, one job at a time (FIFO):
   a packet costs ``macs × t_mac`` (t_mac = 1/(clock × macs_per_cycle), plus
   ``spill_ns_per_weight`` for the spilled fraction of that core's weights).
3. Once the barrier of population p is passed and a core has served all
   feed-forward packets of p at this step, it updates its units of p that
   must wake (received a synaptic event, or emit; every unit on a dense
   profile): ``units × unit_update_ns``. When that update ends, each emitting
   unit sends one packet to every core holding targets of it: its layer's
   units (recurrent, for step t+1; not sent at a sample's last step) and the
   next layer's or the readout's units (feed-forward, step t). (A dense
   profile sends the recurrent packets at the last step too: a clocked chip
   does the recurrent MACs every step, at step 1 with y_0 = 0.) A packet
   arrives after ``packet_ns + hops × hop_ns``, hops being the Manhattan
   distance between the tiles of a 2-D mesh (``cores_per_tile`` cores per
   tile, ``mesh_columns`` tiles per row). Packets from one core's update to one
   core share their arrival time and are served back to back (one queue entry).
4. ``barrier_ns`` after the last core finished updating population p, the
   barrier of population p+1 is passed.
5. The step ends when the queue is empty (last core finished); its latency
   includes a final ``barrier_ns``, and the next step starts then.

Delays (SPEC §3) other than zero are not modelled (they raise an error).

A DeltaGRU (SPEC §5) replays the same way with its own senders: the host injects layer
0's sent input deltas; after the update at step t a unit of layer k sends to layer k + 1
when that layer sent an input delta of it at t (the sender holds the next layer's x̂ and
Θx), to a readout always (it reads h_t densely), and to its own layer when its state
delta carrying h_t was sent (at step t + 1 in SPEC §5's indexing); every unit updates
every step. ``ys`` is then ``(dx, dh)`` of ``simulate_deltagru(..., record=("deltas",))``.
The energy adds the delta encoding as :mod:`eventsim.hardware.energy` prices it.

This module's loop (``fast=False``, :class:`_PythonReplay`) is the readable
reference; the default path runs the same model in a Numba kernel
(:mod:`eventsim.hardware._replay`), checked bit for bit against it in the tests. The
kernel serves all batches of one send that arrive at one time from one heap entry (the
same order of work, proved in its docstring), and sums the integer tallies (MACs, packets,
hops), which do not depend on the order of work, from the fan-out tables.
"""
from __future__ import annotations

import heapq
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import EventsimError
from .mapping import Placement, check_memory, fan_in_matrices, place, populations, source_activity

ARRIVE, READY, BARRIER = 0, 1, 2


@dataclass
class TimingResult:
    """What the timing simulation measured (times in seconds, energies in pJ).

    step_latency_s: (B, T) latency of each step. core_busy_s, core_macs,
    core_updates, packets_sent, packets_received: per core. host_packets:
    input packets injected by the host. hops: sum over packets of their hops.
    energy: compute/memory/communication/static/total pJ. memory: the SRAM
    fit report. wall_s: seconds the simulation itself took. queue_entries: entries of the
    model's event queue, all steps: one per packet batch (an update's, or the host's, packets
    to one core), per core update (READY) and per barrier; the same on both paths.
    heap_entries: entries the path that ran handled at the top of its heap, its own work: the
    Python loop handles every queue entry (= queue_entries, a heap push and pop each); the
    kernel one per (send, arrival time) group of batches, READY, barrier and step with inputs
    (see :mod:`eventsim.hardware._replay`).
    """

    profile: str
    placement: str
    n_cores: int
    step_latency_s: np.ndarray
    core_busy_s: np.ndarray
    core_macs: np.ndarray
    core_updates: np.ndarray
    packets_sent: np.ndarray
    packets_received: np.ndarray
    host_packets: int
    hops: int
    events: int
    input_events: int
    energy: dict
    memory: dict
    wall_s: float = 0.0
    used_cores: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    queue_entries: int = 0
    heap_entries: int = 0

    @property
    def total_time_s(self) -> float:
        return float(self.step_latency_s.sum())

    @property
    def throughput_steps_per_s(self) -> float:
        t = self.total_time_s
        return self.step_latency_s.size / t if t > 0 else float("inf")

    @property
    def utilisation(self) -> np.ndarray:
        t = self.total_time_s
        return self.core_busy_s / t if t > 0 else np.zeros_like(self.core_busy_s)

    @property
    def load_imbalance(self) -> float:
        """max / mean busy time over the cores that hold units (1.0 = perfectly balanced)."""
        busy = self.core_busy_s[self.used_cores]
        return float(busy.max() / busy.mean()) if busy.size and busy.mean() > 0 else 1.0

    def to_dict(self) -> dict:
        lat = self.step_latency_s.reshape(-1)
        u = self.utilisation[self.used_cores]
        return {"profile": self.profile, "placement": self.placement, "cores": self.n_cores,
                "used_cores": int(self.used_cores.sum()), "steps": int(lat.size),
                "total_time_s": self.total_time_s,
                "step_latency_s": {"mean": float(lat.mean()), "median": float(np.median(lat)),
                                   "max": float(lat.max()), "min": float(lat.min())},
                "throughput_steps_per_s": self.throughput_steps_per_s,
                "utilisation": {"mean": float(u.mean()) if u.size else 0.0,
                                "max": float(u.max()) if u.size else 0.0},
                "load_imbalance": self.load_imbalance,
                "macs": int(self.core_macs.sum()), "unit_updates": int(self.core_updates.sum()),
                "events": self.events, "input_events": self.input_events,
                "packets": int(self.packets_sent.sum()) + self.host_packets,
                "host_packets": self.host_packets, "hops": self.hops,
                "per_core": {"busy_s": self.core_busy_s.tolist(), "macs": self.core_macs.tolist(),
                             "unit_updates": self.core_updates.tolist(),
                             "packets_sent": self.packets_sent.tolist(),
                             "packets_received": self.packets_received.tolist()},
                "energy": dict(self.energy), "memory": dict(self.memory), "wall_s": self.wall_s,
                "queue_entries": self.queue_entries, "heap_entries": self.heap_entries}

    def _check(self) -> None:
        """Invariants: packets sent (cores + host) = received; busy time within the run."""
        assert int(self.packets_sent.sum()) + self.host_packets == int(self.packets_received.sum())
        assert np.all(self.core_busy_s <= self.total_time_s * (1 + 1e-9) + 1e-15)
        assert np.all(self.step_latency_s > 0)
        e = self.energy
        parts = e["compute_pj"] + e["memory_pj"] + e["communication_pj"] + e["static_pj"]
        assert abs(parts - e["energy_pj"]) <= 1e-9 * max(1.0, abs(e["energy_pj"]))


def mesh_hops(profile, n_cores: int) -> tuple:
    """(C, C) hops between cores and (C,) hops from the host port at tile 0."""
    tile = np.arange(n_cores) // int(profile.chip["cores_per_tile"])
    cols = int(profile.chip["mesh_columns"])
    x, y = tile % cols, tile // cols
    H = np.abs(x[:, None] - x[None, :]) + np.abs(y[:, None] - y[None, :])
    return H.astype(np.int64), (x + y).astype(np.int64)


class ChipState:
    """Mutable state of the simulation: the heap, the cores, the barriers of one step.

    now: time of the entry being handled (ns). busy[c]: time core c is free.
    pending[p][c]: feed-forward packets of population p still to reach core c
    this step; ff_done[p][c]: when the last one was served. done[p]: cores that
    finished updating p; barrier[p]: whether p's barrier was passed.
    """

    def __init__(self, n_cores: int, n_pops: int):
        self.heap = []
        self.seq = 0
        self.now = 0.0
        self.busy = [0.0] * n_cores
        self.busy_total = [0.0] * n_cores
        self.n_cores = n_cores
        self.n_pops = n_pops
        self.new_step(0.0)

    def new_step(self, t0: float) -> None:
        self.now = t0
        self.pending = [[0] * self.n_cores for _ in range(self.n_pops)]
        self.ff_done = [[t0] * self.n_cores for _ in range(self.n_pops)]
        self.done = [0] * self.n_pops
        self.last_update = [t0] * self.n_pops
        self.barrier = [False] * self.n_pops

    def push(self, t: float, kind: int, core: int, pop: int, macs: int = 0, packets: int = 0,
             ff: bool = False) -> None:
        heapq.heappush(self.heap, (t, self.seq, kind, core, pop, macs, packets, ff))
        self.seq += 1

    def serve(self, core: int, at: float, duration: float) -> float:
        start = self.busy[core] if self.busy[core] > at else at
        self.busy[core] = start + duration
        self.busy_total[core] += duration
        return start + duration

    def _check(self) -> None:
        """Invariants: no entry earlier than now; pending counts non-negative; heap ordered."""
        assert all(e[0] >= self.now for e in self.heap), "an entry lies in the past"
        assert all(v >= 0 for d in self.pending for v in d)
        for i in range(1, len(self.heap)):
            assert self.heap[(i - 1) // 2][:2] <= self.heap[i][:2]


def _is_delta(model) -> bool:
    return getattr(model, "kind", "egru") == "deltagru"


def _delta_masks(model, inputs, ys, dense: bool):
    """(x_act, ff senders per layer, recurrent senders per layer) of a DeltaGRU run."""
    from ..inputs import prepare_input
    table = prepare_input(model, inputs)
    B, T = table.n_samples, table.n_steps
    L = model.n_layers
    if dense:
        ones = [np.ones((B, T, n), bool) for n in model.sizes]
        return np.ones((B, T, model.n_in), bool), ones, ones
    if not (isinstance(ys, (tuple, list)) and len(ys) == 2 and all(len(d) == L for d in ys)):
        raise EventsimError(f"the timing simulation of a DeltaGRU needs its sent deltas: pass (res.dx, "
                            f"res.dh) of simulate_deltagru(model, x, record=('deltas',)) ({L} arrays each)")
    dx, dh = [[np.asarray(a) != 0 for a in d] for d in ys]
    for k in range(L):
        m, n = model.layers[k].n_in, model.sizes[k]
        if dx[k].shape != (B, T, m) or dh[k].shape != (B, T, n):
            raise EventsimError(f"deltas of layer {k} have shapes {dx[k].shape}, {dh[k].shape} but the "
                                f"inputs and model give {(B, T, m)}, {(B, T, n)}")
    ff = [dx[k + 1] if k + 1 < L else np.ones((B, T, model.sizes[k]), bool) for k in range(L)]
    rec = []
    for k in range(L):
        r = np.zeros_like(dh[k])
        r[:, :-1] = dh[k][:, 1:]  # the state delta sent at t + 1 carries h_t: sent after step t
        rec.append(r)
    return dx[0], ff, rec


def _active_masks(model, inputs, ys, dense: bool):
    from ..inputs import prepare_input
    table = prepare_input(model, inputs)
    x = table.dense() != 0
    B, T = x.shape[:2]
    if dense:
        return np.ones_like(x), [np.ones((B, T, n), bool) for n in model.sizes]
    if ys is None or len(ys) != model.n_layers:
        raise EventsimError(f"the timing simulation needs the events of every layer: pass "
                            f"simulate(model, x, record=('y',)).y ({model.n_layers} arrays)")
    out = []
    for k, y in enumerate(ys):
        y = np.asarray(y)
        if y.shape != (B, T, model.sizes[k]):
            raise EventsimError(f"events of layer {k} have shape {y.shape} but the inputs and model "
                                f"give (B, T, n) = {(B, T, model.sizes[k])}")
        out.append(y != 0)
    return x, out


def simulate_timing(model, inputs, ys=None, profile=None, placement="contiguous", *, n_cores=None,
                    spill: bool = False, event_op: str = "mac", progress: bool = False,
                    check: bool = False, fast: bool = True) -> TimingResult:
    """Replay a run's events on ``profile``'s cores; see the module docstring for the model.

    model, inputs: as given to :func:`eventsim.simulate`; ys: its recorded ``y``
    (list of (B, T, n) arrays; ignored on a dense profile, where every unit
    sends every step). For a DeltaGRU: ``(res.dx, res.dh)`` of
    ``simulate_deltagru(model, inputs, record=("deltas",))``. placement: ``"contiguous"``, ``"balanced"`` or a
    :class:`Placement`. spill: read weights that overflow a core's SRAM from
    the spill level instead of raising. check: assert the queue's invariants
    (:meth:`ChipState._check`) after every entry (slow; for tests). fast: run
    the Numba kernel (:mod:`eventsim.hardware._replay`, same model and results)
    instead of this module's Python loop (which ``check=True`` always uses).
    """
    t_wall = _time.perf_counter()
    r = _prepare(model, inputs, ys, profile, placement, n_cores, spill)
    if fast and not check:
        out = _run_kernel(r)
    else:
        out = _PythonReplay(r, progress, check).run()
    latency, busy_total, macs_c, upd_c, sent_c, recv_c, host_packets, hops_total, entries, heap = out
    latency = np.asarray(latency, np.float64).reshape(r.B, r.T)
    host_packets, hops_total = int(host_packets), int(hops_total)
    macs_c, upd_c = np.asarray(macs_c, np.int64), np.asarray(upd_c, np.int64)
    sent_c, recv_c = np.asarray(sent_c, np.int64), np.asarray(recv_c, np.int64)
    energy = _energy(r, event_op, macs_c, upd_c, int(sent_c.sum()) + host_packets, hops_total,
                     float(latency.sum()))
    used = r.placement.units_per_core() > 0
    return TimingResult(profile=profile.name, placement=r.placement.strategy, n_cores=r.placement.n_cores,
                        step_latency_s=latency, core_busy_s=np.asarray(busy_total) * 1e-9, core_macs=macs_c,
                        core_updates=upd_c, packets_sent=sent_c, packets_received=recv_c,
                        host_packets=host_packets, hops=hops_total,
                        events=int(sum(y.sum() for y in r.y_rec)) if r.delta is not None
                        else int(sum(y.sum() for y in r.y_act)), input_events=int(r.x_act.sum()),
                        energy=energy, memory=r.mem.to_dict(), wall_s=_time.perf_counter() - t_wall,
                        used_cores=used, queue_entries=int(entries), heap_entries=int(heap))


@dataclass
class _Replay:
    """What a replay needs: the profile, the placement and its memory report, the activity
    (x_act (B, T, m), y_act per layer (B, T, n)), the MACs one active source causes on each
    core (``to_core`` per projection, ``ff_next[p]``: population p -> p+1, ``rec[p]``), the
    units to wake per (b*T + t, core) of each layer, the mesh hops (H, H_host) and the cores
    of each population."""

    profile: object
    placement: Placement
    mem: object
    dense: bool
    x_act: np.ndarray
    y_act: list
    to_core: dict
    ff_next: dict
    rec: dict
    wake: list
    H: np.ndarray
    H_host: np.ndarray
    cores_of: list
    B: int
    T: int
    P: int
    L: int
    y_rec: list = None
    delta: dict = None


def _prepare(model, inputs, ys, profile, placement, n_cores, spill) -> _Replay:
    """Check the run, place the model, and build the replay's tables."""
    ffd, recd = getattr(model, "ff_delays", ()), getattr(model, "rec_delays", ())
    if any(ffd) or any(recd):
        raise EventsimError("the timing simulation supports zero delays only; this model has "
                            f"ff_delays={list(ffd)}, rec_delays={list(recd)}")
    dense = profile.kind == "dense"
    delta = None
    if _is_delta(model):
        x_act, y_act, y_rec = _delta_masks(model, inputs, ys, dense)
        delta = _delta_tallies(model, x_act, y_rec, ys, dense)
    else:
        x_act, y_act = _active_masks(model, inputs, ys, dense)
        y_rec = y_act
    B, T = x_act.shape[:2]
    if not isinstance(placement, Placement):
        activity = source_activity(model, x_act, y_act) if placement == "balanced" else None
        if activity is not None and delta is not None:
            for k, y in enumerate(y_rec):
                activity[("rec", k)] = y.reshape(-1, y.shape[-1]).sum(0).astype(float)
        placement = place(model, profile, placement, n_cores, activity)
    placement._check()
    C = placement.n_cores
    if C > profile.chip["cores"]:
        raise EventsimError(f"the placement uses {C} cores but profile {profile.name!r} has "
                            f"{profile.chip['cores']}")
    mem = check_memory(placement, model, profile, spill=spill)
    P, L = len(populations(model)), model.n_layers
    fan = fan_in_matrices(model, dense)
    # MACs that one active source causes on each core: (sources, C) per projection
    to_core = {key: _sum_by_core(f, placement.core_of[key[1]], C) for key, f in fan.items()}
    H, H_host = mesh_hops(profile, C)
    if delta is not None:  # every unit updates every step
        wake = [np.repeat(np.bincount(placement.core_of[k], minlength=C).astype(np.int64)[None], B * T, axis=0)
                for k in range(L)]
    else:
        wake = _wake_counts(x_act, y_act, fan, placement.core_of, C)
    return _Replay(profile=profile, placement=placement, mem=mem, dense=dense, x_act=x_act, y_act=y_act,
                   to_core=to_core, ff_next={p: to_core[("ff", p + 1)] for p in range(P - 1)},
                   rec={p: to_core[("rec", p)] for p in range(L)},
                   wake=wake, H=H, H_host=H_host,
                   cores_of=[placement.cores_of(p) for p in range(P)], B=B, T=T, P=P, L=L,
                   y_rec=y_rec, delta=delta)


def _delta_tallies(model, x_act, y_rec, ys, dense) -> dict:
    """A DeltaGRU run's delta encoding over all samples and steps (as energy.py prices it):
    checks (m + n)·S, state reads (m + 7n)·S, writes input deltas + state deltas + 6n·S."""
    if ys is None:
        raise EventsimError("the timing simulation of a DeltaGRU needs its sent deltas (also on a dense "
                            "profile, for the delta encoding): pass (res.dx, res.dh) of "
                            "simulate_deltagru(model, x, record=('deltas',))")
    B, T = x_act.shape[:2]
    S = B * T
    dx, dh = ([np.asarray(a) != 0 for a in d] for d in ys)
    m, n = [l.n_in for l in model.layers], model.sizes
    return {"delta_checks": sum((a + b) * S for a, b in zip(m, n)),
            "state_reads": sum((a + 7 * b) * S for a, b in zip(m, n)),
            "state_writes": sum(int(x.sum()) + int(h.sum()) + 6 * b * S for x, h, b in zip(dx, dh, n))}


def _sum_by_core(a, core_of, C) -> np.ndarray:
    """(rows, C) int64: the columns of ``a`` (rows, n) summed by the core of their unit (exact)."""
    order = np.argsort(core_of, kind="stable")
    cores, starts = np.unique(core_of[order], return_index=True)
    out = np.zeros((a.shape[0], C), np.int64)
    if cores.size and a.shape[0]:
        out[:, cores] = np.add.reduceat(a[:, order].astype(np.int64), starts, axis=1)
    return out


def _receives(src, reach) -> np.ndarray:
    """(S, n) bool: which units receive an event from the active sources ``src`` (S, m) through
    the synapses ``reach`` (m, n) bool. A unit every source reaches (all of them in a dense
    kernel) receives when any source is active; the others go through a float32 matmul (exact:
    counts of 0/1 far below 2**24)."""
    full = reach.all(axis=0)
    out = np.empty((src.shape[0], reach.shape[1]), bool)
    out[:, full] = src.any(axis=1)[:, None]
    if not full.all():
        out[:, ~full] = (src.astype(np.float32) @ reach[:, ~full].astype(np.float32)) > 0
    return out


def _wake_counts(x_act, y_act, fan, core_of, C) -> list:
    """Per layer, the (B*T, C) units that wake on each core at (b, t): they received a
    synaptic event or emit (SPEC §2 event-driven updates)."""
    B, T = x_act.shape[:2]
    wake = []
    for k in range(len(y_act)):
        src = x_act if k == 0 else y_act[k - 1]
        recv = _receives(src.reshape(B * T, -1), fan[("ff", k)] > 0)
        prev = np.zeros_like(y_act[k])
        prev[:, 1:] = y_act[k][:, :-1]
        recv |= _receives(prev.reshape(B * T, -1), fan[("rec", k)] > 0)
        w = recv.reshape(B, T, -1) | y_act[k]
        wake.append(_sum_by_core(w.reshape(B * T, -1), core_of[k], C))
    return wake


def _energy(r: _Replay, event_op, macs_c, upd_c, n_packets, hops_total, total_s) -> dict:
    """Energy (pJ) of the replayed run from its counts and duration."""
    profile, mem = r.profile, r.mem
    e = profile.energy
    e_syn = e["ac" if (event_op == "ac" and not r.dense) else "mac"]
    read = ((1 - mem.spill_fraction) * profile.read_pj(profile.weight_level)
            + mem.spill_fraction * profile.read_pj(profile.spill_level))
    per_update = e["unit_update"] + 3 * e["elementwise"] + 3 * e["nonlinearity"]
    d = r.delta or {"delta_checks": 0, "state_reads": 0, "state_writes": 0}
    if r.delta is not None:
        e_syn = e["mac"]  # a delta is a graded value
    enc_c = d["delta_checks"] * e.get("delta_check", 0.0)
    enc_m = (d["state_reads"] + d["state_writes"]) * profile.read_pj("small_sram")
    energy = {"compute_pj": float(macs_c.sum() * e_syn + upd_c.sum() * per_update + enc_c),
              "memory_pj": float((macs_c * read).sum() + enc_m),
              "communication_pj": float(n_packets * e["packet"] + hops_total * e["hop"]),
              "static_pj": float(profile.chip["static_power_w"] * total_s * 1e12)}
    energy["dynamic_pj"] = energy["compute_pj"] + energy["memory_pj"] + energy["communication_pj"]
    energy["energy_pj"] = energy["dynamic_pj"] + energy["static_pj"]
    energy["energy_per_step_pj"] = energy["energy_pj"] / (r.B * r.T)
    return energy


def _destination_orders(r: _Replay, hop_ns: float):
    """For each population q and source s (the cores, then the host as s = C, which only sends
    to population 0): the cores holding q in (hops, core) order (core order alone when hops take
    no time), the inverse order, the bounds and hops of its runs of equal hops, and the run of
    each position."""
    P, C = r.P, r.placement.n_cores
    dcore = np.zeros((P, C + 1, C), np.int64)
    dpos = np.full((P, C + 1, C), -1, np.int64)
    rptr = np.zeros((P, C + 1, C + 1), np.int64)
    rh = np.zeros((P, C + 1, C), np.int64)
    nruns = np.zeros((P, C + 1), np.int64)
    run_of = np.full((P, C + 1, C), -1, np.int64)
    for q in range(P):
        cores = r.cores_of[q]
        k = cores.size
        if k == 0:
            continue
        H = np.vstack([r.H[:, cores], r.H_host[cores][None]]) if q == 0 else r.H[:, cores]
        if hop_ns <= 0:
            H = np.zeros_like(H)
        S = H.shape[0]
        order = np.argsort(H, axis=1, kind="stable")
        h = np.take_along_axis(H, order, axis=1)
        dcore[q, :S, :k] = cores[order]
        dpos[q, np.arange(S)[:, None], cores[order]] = np.arange(k)[None]
        new = np.ones((S, k), bool)
        new[:, 1:] = h[:, 1:] != h[:, :-1]
        run_of[q, :S, :k] = np.cumsum(new, axis=1) - 1
        nruns[q, :S] = run_of[q, :S, k - 1] + 1
        rr, cc = np.nonzero(new)
        j = run_of[q, rr, cc]
        rptr[q, rr, j] = cc
        rptr[q, np.arange(S), nruns[q, :S]] = k
        rh[q, rr, j] = h[rr, cc]
    return dcore, dpos, rptr, rh, nruns, run_of


def _run_kernel(r: _Replay):
    """Flatten the tables, call the Numba kernel (same model as :class:`_PythonReplay`) for the
    times, and sum the integer tallies, which do not depend on the order of work: every unit's
    packets reach the same cores whenever it emits (its fan-out rows times its emissions)."""
    from ._replay import ReplayActivity, ReplayChip, ReplayNet, _replay
    B, T, P, L = r.B, r.T, r.P, r.L
    placement = r.placement
    C = placement.n_cores
    sizes = [c.size for c in placement.core_of]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    N, m = int(off[-1]), r.x_act.shape[2]
    hop_ns = float(r.profile.chip["hop_ns"])
    dcore, dpos, rptr, rh, nruns, run_of = _destination_orders(r, hop_ns)
    # fan-out rows: MACs per destination core, in core order (FF, REC, IN) and in each source's
    # destination order (W)
    core_u = np.concatenate(placement.core_of).astype(np.int64)
    pop_u = np.repeat(np.arange(P), sizes).astype(np.int64)
    FF = np.zeros((N, C), np.int64)
    REC = np.zeros((N, C), np.int64)
    W = np.zeros((2 * N + m, C), np.int64)
    y_all = np.zeros((B * T, N), np.bool_)
    y_rec = np.zeros((B * T, N), np.bool_)
    for p in range(P):
        u = slice(off[p], off[p + 1])
        if p + 1 < P:
            FF[u] = r.ff_next[p]
            k = r.cores_of[p + 1].size
            W[u, :k] = np.take_along_axis(FF[u], dcore[p + 1, core_u[u], :k], axis=1)
        if p < L:
            REC[u] = r.rec[p]
            k = r.cores_of[p].size
            W[N + off[p]:N + off[p + 1], :k] = np.take_along_axis(REC[u], dcore[p, core_u[u], :k], axis=1)
            y_all[:, u] = r.y_act[p].reshape(B * T, -1)
            y_rec[:, u] = r.y_rec[p].reshape(B * T, -1)
    IN = np.asarray(r.to_core[("ff", 0)], np.int64)
    W[2 * N:, :r.cores_of[0].size] = IN[:, dcore[0, C, :r.cores_of[0].size]]
    unit_ptr = np.zeros((P, C + 1), np.int64)
    units = []
    base = 0
    for p in range(P):
        order = np.argsort(placement.core_of[p], kind="stable")
        units.append(order + off[p])
        unit_ptr[p] = base + np.searchsorted(placement.core_of[p][order], np.arange(C + 1))
        base += sizes[p]
    units = np.concatenate(units).astype(np.int64)
    n_cores_pop = np.array([c.size for c in r.cores_of], np.int64)
    wake_a = np.stack(r.wake) if r.wake else np.zeros((0, B * T, C), np.int64)
    mac_ns = r.profile.mac_ns + r.mem.spill_fraction * r.profile.memory["spill_ns_per_weight"]
    ch = r.profile.chip
    # per row of W: the runs holding batches (ascending), and which cores (in core order) a
    # feed-forward or input row sends a batch to
    src_w = np.concatenate([core_u, core_u, np.full(m, C, np.int64)])
    q_w = np.concatenate([pop_u + 1, pop_u, np.zeros(m, np.int64)])
    sends = q_w < P
    runs = np.where(sends[:, None], run_of[np.minimum(q_w, P - 1), src_w], -1)
    rows, pos = np.nonzero((W > 0) & (runs >= 0))  # row-major: each row's runs ascending
    key = rows * (C + 1) + runs[rows, pos]
    first = np.ones(key.size, bool)
    first[1:] = key[1:] != key[:-1]
    run_idx = runs[rows, pos][first].astype(np.int64)
    run_ptr = np.concatenate([[0], np.cumsum(np.bincount(rows[first], minlength=W.shape[0]))]).astype(np.int64)
    PM = np.zeros(W.shape, np.int8)
    PM[:N] = FF > 0
    PM[2 * N:] = IN > 0
    net = ReplayNet(P, L, C, N, m, W, PM, run_ptr, run_idx, dcore, dpos, rptr, rh, nruns, unit_ptr, units,
                    n_cores_pop)
    chip = ReplayChip(mac_ns.astype(np.float64), float(ch["unit_update_ns"]), float(ch["packet_ns"]), hop_ns,
                      float(ch["barrier_ns"]), bool(r.dense))
    act = ReplayActivity(B, T, np.ascontiguousarray(r.x_act.reshape(B * T, -1)), y_all, y_rec,
                         np.ascontiguousarray(wake_a))
    latency, busy_total, upd_c, entries, heap = _replay(net, chip, act)
    # tallies: emissions per unit (recurrent ones not at a sample's last step on an event chip)
    n_ff = y_all.sum(0, dtype=np.int64)
    n_rec = (y_rec.reshape(B, T, N) if r.dense else y_rec.reshape(B, T, N)[:, :-1]).sum((0, 1), dtype=np.int64)
    n_in = r.x_act.sum((0, 1), dtype=np.int64)
    macs_c = n_ff @ FF + n_rec @ REC + n_in @ IN
    recv_c = n_ff @ (FF > 0) + n_rec @ (REC > 0) + n_in @ (IN > 0)
    sent_u = n_ff * np.count_nonzero(FF, axis=1) + n_rec * np.count_nonzero(REC, axis=1)
    sent_c = np.zeros(C, np.int64)
    np.add.at(sent_c, core_u, sent_u)
    H_u = r.H[core_u]
    hops = (n_ff @ ((FF > 0) * H_u).sum(1) + n_rec @ ((REC > 0) * H_u).sum(1)
            + n_in @ ((IN > 0) * r.H_host[None]).sum(1))
    host = n_in @ np.count_nonzero(IN, axis=1)
    return latency, busy_total, macs_c, upd_c, sent_c, recv_c, host, hops, entries, heap


class _PythonReplay:
    """The reference loop over the heap (see the module docstring for the order of work)."""

    def __init__(self, r: _Replay, progress: bool, check: bool):
        self.r, self.check = r, check
        C = r.placement.n_cores
        prof = r.profile
        self.mac_ns = (prof.mac_ns + r.mem.spill_fraction * prof.memory["spill_ns_per_weight"]).tolist()
        self.upd_ns = prof.chip["unit_update_ns"]
        self.pkt_ns, self.hop_ns, self.bar_ns = prof.chip["packet_ns"], prof.chip["hop_ns"], prof.chip["barrier_ns"]
        # plain Python lists in the hot loop: scalar access to numpy arrays is slow
        self.Hl, self.H_host_l = r.H.tolist(), r.H_host.tolist()
        self.macs_c, self.upd_c, self.sent_c, self.recv_c = [0] * C, [0] * C, [0] * C, [0] * C
        self.host_packets = 0
        self.hops_total = 0
        self.st = ChipState(C, r.P)
        self.cores_of_l = [c.tolist() for c in r.cores_of]
        self.progress = progress

    def run(self):
        """Every step of every sample; returns the tallies (as :func:`_run_kernel`)."""
        r, st = self.r, self.st
        latency = np.zeros((r.B, r.T))
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=r.B * r.T, desc=f"timing on {r.profile.name}", unit="step", leave=False)
        t0 = 0.0
        for b in range(r.B):
            for t in range(r.T):
                end = self.step(b, t, t0)
                latency[b, t] = (end - t0 + self.bar_ns) * 1e-9
                t0 = end + self.bar_ns
                if bar is not None:
                    bar.update()
        if bar is not None:
            bar.close()
        return (latency, st.busy_total, self.macs_c, self.upd_c, self.sent_c, self.recv_c, self.host_packets,
                self.hops_total, st.seq, st.seq)

    def step(self, b, t, t0):
        """Step t of sample b from t0 until the queue is empty; returns when the last core finished."""
        st = self.st
        st.new_step(t0)
        bt = b * self.r.T + t
        self.wake_bt = [w[bt].tolist() for w in self.r.wake]
        self.emit = self.emitters(b, t, self.r.y_act)
        self.emit_rec = self.emit if self.r.y_rec is self.r.y_act else self.emitters(b, t, self.r.y_rec)
        self.inject(b, t, t0)
        st.push(t0, BARRIER, -1, 0)
        end = t0
        heap, pop = st.heap, heapq.heappop
        while heap:
            now, _, kind, c, p, macs, npk, ff = pop(heap)
            st.now = now
            if self.check:
                st._check()
            if kind == ARRIVE:
                fin = self.arrive(now, c, p, macs, npk, ff)
            elif kind == BARRIER:
                self.barrier(now, p)
                continue
            else:  # READY: update the waking units of population p on core c
                fin = self.ready(now, c, p, t)
            if fin > end:
                end = fin
        return end

    def emitters(self, b, t, y):
        """Per population: core -> its emitting units at (b, t) (``y``: per layer (B, T, n) masks)."""
        emit = []
        for p in range(self.r.L):
            core_of = self.r.placement.core_of[p]
            em = np.flatnonzero(y[p][b, t])
            groups = {}
            if em.size:
                cs = core_of[em]
                order = np.argsort(cs, kind="stable")
                em, cs = em[order], cs[order]
                cut = np.flatnonzero(np.diff(cs)) + 1
                for part in np.split(em, cut):
                    groups[int(core_of[part[0]])] = part
            emit.append(groups)
        return emit

    def inject(self, b, t, t0):
        """The host's packets of the step's active inputs: one entry per core holding targets."""
        st = self.st
        chans = np.flatnonzero(self.r.x_act[b, t])
        if not chans.size:
            return
        rows = self.r.to_core[("ff", 0)][chans]
        macs = rows.sum(axis=0)
        dest = np.flatnonzero(macs)
        npk = np.count_nonzero(rows[:, dest], axis=0).tolist()
        for d, m, k in zip(dest.tolist(), macs[dest].tolist(), npk):
            st.push(t0 + self.pkt_ns + self.H_host_l[d] * self.hop_ns, ARRIVE, d, 0, m, k, True)
            st.pending[0][d] += 1
            self.host_packets += k
            self.hops_total += k * self.H_host_l[d]

    def send(self, c, t_emit, fanout, emitters, pop_to, ff):
        """One queue entry per destination core of the emitters' packets."""
        st = self.st
        rows = fanout[emitters]
        macs = rows.sum(axis=0)
        dest = np.flatnonzero(macs)
        npk = np.count_nonzero(rows[:, dest], axis=0).tolist()
        Hc = self.Hl[c]
        pend = st.pending[pop_to]
        t_out = t_emit + self.pkt_ns
        for d, m, k in zip(dest.tolist(), macs[dest].tolist(), npk):
            h = Hc[d]
            heapq.heappush(st.heap, (t_out + h * self.hop_ns, st.seq, ARRIVE, d, pop_to, m, k, ff))
            st.seq += 1
            self.sent_c[c] += k
            self.hops_total += k * h
            if ff:
                pend[d] += 1

    def arrive(self, now, c, p, macs, npk, ff):
        """Packets reach core c: serve their MACs; returns when served."""
        st = self.st
        dur = macs * self.mac_ns[c]
        fin = (st.busy[c] if st.busy[c] > now else now) + dur
        st.busy[c] = fin
        st.busy_total[c] += dur
        self.macs_c[c] += macs
        self.recv_c[c] += npk
        if ff:
            left = st.pending[p][c] - 1
            st.pending[p][c] = left
            st.ff_done[p][c] = fin
            if left == 0 and st.barrier[p] and p < self.r.L:
                st.push(fin, READY, c, p)
        return fin

    def barrier(self, now, p):
        """The barrier of population p is passed: its cores with no packet left become ready."""
        st = self.st
        st.barrier[p] = True
        if p == self.r.L:  # readout: nothing to update
            return
        for c2 in self.cores_of_l[p]:
            if st.pending[p][c2] == 0:
                st.push(max(now, st.ff_done[p][c2]), READY, c2, p)

    def ready(self, now, c, p, t):
        """Core c updates its waking units of population p and sends its emitters' packets."""
        st, r = self.st, self.r
        n_upd = self.wake_bt[p][c]
        fin = st.serve(c, now, n_upd * self.upd_ns) if n_upd else now
        self.upd_c[c] += n_upd
        emitters = self.emit[p].get(c)
        if emitters is not None and p + 1 < r.P:
            self.send(c, fin, r.ff_next[p], emitters, p + 1, True)
        emitters = self.emit_rec[p].get(c)
        if emitters is not None and (t + 1 < r.T or r.dense):
            self.send(c, fin, r.rec[p], emitters, p, False)
        st.done[p] += 1
        if fin > st.last_update[p]:
            st.last_update[p] = fin
        if st.done[p] == len(self.cores_of_l[p]) and p + 1 < r.P:
            st.push(st.last_update[p] + self.bar_ns, BARRIER, -1, p + 1)
        return fin
