"""Energy estimate of a run from its counts alone (SPEC §4 counts dict).

For each population (every EGRU layer, then the readout) the estimate takes
operation counts from the counts dict and multiplies each by one figure of a
:class:`~eventsim.hardware.profiles.HardwareProfile` (all figures in pJ):

- compute       = macs·E_syn + elementwise·E_ew + nonlinearities·E_nl + unit_updates·E_upd
- memory        = macs·((1 − f)·E_read[weight_level] + f·E_read[spill_level])
- communication = packets·E_packet + packets·h·E_hop
- static        = P_static · time, time = (Σ macs·t_mac + Σ unit_updates·t_upd) / cores

where E_syn is the profile's ``mac`` (or ``ac`` with ``event_op="ac"``), f the
fraction of the population's weights spilled out of core SRAM (0 unless a
mapping says otherwise), packets = values sent × destinations (own layer,
recurrently, plus the next layer or readout) and h the mean hops per packet
(0 without a mapping: run the timing simulation for hops). ``time`` is the
ideal, perfectly parallel compute time, a lower bound; the timing simulation
measures the real one. Which counts enter depends on the workload and the
profile's kind (see :data:`WORKLOADS` and docs/hardware.md):

- ``egru`` on an ``event`` profile: effective MACs, event-driven updates,
  values sent = events;
- ``egru`` on a ``dense`` profile: dense MACs, clocked updates, every unit
  sends every step;
- ``gru`` / ``lstm``: the dense baselines of the same layer shapes, GRU
  3n(m+n) MACs, 3n products and 3n nonlinearities per step; LSTM 4n(m+n), 3n
  and 5n; every unit updates and sends every step.

The readout costs its MACs (effective for the EGRU on event hardware, dense
otherwise) and their weight reads; it updates no units and sends nothing.

A DeltaGRU run (counts with ``"kind": "deltagru"``, SPEC §5) is the workload
``deltagru`` (its baselines ``gru`` and ``lstm`` as above). Per layer, over all
samples and steps (executed as ``event`` on an event profile, ``clocked`` on a dense one):

- macs = effective MACs (event) or dense MACs (clocked), always priced as MACs
  (a delta is a graded value, so ``event_op="ac"`` does not apply);
- unit_updates, elementwise, nonlinearities = the counts' (every unit updates every step);
- values sent (event) = state deltas sent (``events``, to the layer itself) + the values
  passed up (the next layer's ``input_events``; h_t of every unit and step to a readout),
  one packet each; clocked: every unit sends every step, as the EGRU clocked;
- delta encoding: ``delta_checks`` x ``energy.delta_check`` (compute), and the state
  memories read and written each step, priced per value at ``memory.small_sram``:
  state_reads = (m + n + 6n)·S (x̂ and ĥ for the checks, Mx and Mh for the gates),
  state_writes = input_events + events + 6n·S (x̂ and ĥ where a delta was sent, Mx and Mh).
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..errors import EventsimError
from .profiles import HardwareProfile

WORKLOADS = ("egru", "gru", "lstm")
#: the workload of a DeltaGRU run (SPEC §5); its baselines are "gru" and "lstm"
DELTAGRU = "deltagru"
#: (MACs per step as a function of (m, n), elementwise per unit, nonlinearities per unit)
_DENSE = {"gru": (lambda m, n: 3 * n * (m + n), 3, 3),
          "lstm": (lambda m, n: 4 * n * (m + n), 3, 5)}
PARTS = ("compute_pj", "memory_pj", "communication_pj")


def _get(d, path: str, where: str):
    cur = d
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            raise EventsimError(f"{where}: key {path!r} is missing; the counts must follow SPEC §4 "
                                f"(as written by eventsim simulate --json or a study's counts.json)")
        cur = cur[key]
    return cur


def _int(d, path, where) -> int:
    v = _get(d, path, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v != int(v):
        raise EventsimError(f"{where}: {path} = {v!r} must be a non-negative integer count")
    return int(v)


def _row(name: str, macs: int, updates: int, ew: int, nl: int, sent: int, dests: int,
         profile: HardwareProfile, e_syn: float, spill: float, hops: float) -> dict:
    e = profile.energy
    packets = sent * dests
    read = (1.0 - spill) * profile.read_pj(profile.weight_level) + spill * profile.read_pj(profile.spill_level)
    compute = macs * e_syn + ew * e["elementwise"] + nl * e["nonlinearity"] + updates * e["unit_update"]
    memory = macs * read
    comm = packets * e["packet"] + packets * hops * e["hop"]
    return {"population": name, "macs": macs, "unit_updates": updates, "elementwise": ew,
            "nonlinearities": nl, "values_sent": sent, "packets": packets, "spill_fraction": spill,
            "compute_pj": compute, "memory_pj": memory, "communication_pj": comm,
            "dynamic_pj": compute + memory + comm}


def estimate_energy(counts: dict, profile: HardwareProfile, workload: str = "egru", *,
                    event_op: str = "mac", spill_fraction: Optional[Sequence[float]] = None,
                    hops_per_packet: float = 0.0, where: str = "counts") -> dict:
    """Energy of ``workload`` with the layer shapes and activity of ``counts`` on ``profile``.

    counts: SPEC §4 dict. workload: ``"egru"`` (this run), ``"deltagru"`` (this run of a
    DeltaGRU: counts with ``"kind": "deltagru"``, priced with its delta encoding; needs
    the profile's ``energy.delta_check``), ``"gru"`` or ``"lstm"`` (dense baselines of the
    same shapes). event_op: ``"mac"`` (graded events, the EGRU's) or ``"ac"`` (binary
    events: weight accumulate only), used for the EGRU on event hardware (a DeltaGRU's
    deltas are always MACs). spill_fraction: per population (layers, then
    readout) the fraction of weights read from the spill level.
    Returns a dict with per-population rows, ``readout`` and ``total`` (pJ, s).
    """
    _check_options(counts, workload, event_op, where)
    samples, steps = _int(counts, "samples", where), _int(counts, "steps", where)
    S = samples * steps
    layers = _get(counts, "layers", where)
    if not isinstance(layers, list) or not layers:
        raise EventsimError(f"{where}: 'layers' must be a non-empty list")
    L = len(layers)
    readout = counts.get("readout") or {}
    n_out = int(readout.get("outputs", 0) or 0)
    ro_dense = _int(counts, "readout.macs.dense", where) if readout else 0
    has_readout = bool(readout) and (n_out > 0 or ro_dense > 0)
    spill_fraction = _spill_fractions(spill_fraction, L + (1 if has_readout else 0))
    if hops_per_packet < 0:
        raise EventsimError(f"hops_per_packet = {hops_per_packet} must be >= 0")

    run = workload in ("egru", DELTAGRU)
    delta = workload == DELTAGRU
    if delta:
        _check_deltagru(counts, profile, where)
    event = run and profile.kind == "event"
    executed_as = "event" if event else ("clocked" if run else "dense")
    e_syn = profile.energy["ac" if (event and event_op == "ac" and not delta) else "mac"]
    rows = []
    for k, layer in enumerate(layers):
        w = f"{where}: layers[{k}]"
        if delta:
            up = _passed_up(layers, k, has_readout, S, where) if event else None
            rows.append(_delta_row(f"layer{k}", layer, event, S, up, profile, spill_fraction[k],
                                   hops_per_packet, has_next=k < L - 1 or has_readout, where=w))
            continue
        dests = 1 + (1 if (k < L - 1 or has_readout) else 0)
        rows.append(_row(f"layer{k}", *_layer_counts(layer, workload, event, S, w),
                         dests, profile, e_syn, spill_fraction[k], hops_per_packet))
    ro_row = None
    if has_readout:
        macs = _int(counts, "readout.macs.effective", where) if event else ro_dense
        ro_row = _row("readout", macs, 0, 0, 0, 0, 0, profile, e_syn, spill_fraction[L], hops_per_packet)
        if delta:
            ro_row.update(delta_checks=0, state_reads=0, state_writes=0)
    _check_baseline(counts, workload, sum(r["macs"] for r in rows) + ro_dense, where)
    total = _total(rows + ([ro_row] if ro_row else []), profile, S)
    return {"profile": profile.name, "kind": profile.kind, "workload": workload,
            "executed_as": executed_as, "event_op": event_op if (event and not delta) else "mac",
            "samples": samples, "steps": steps, "hops_per_packet": hops_per_packet,
            "layers": rows, "readout": ro_row, "total": total}


def _check_options(counts, workload: str, event_op: str, where: str) -> None:
    """Refuse an unknown workload or event_op, and counts that are not a dict."""
    if workload not in WORKLOADS + (DELTAGRU,):
        raise EventsimError(f"workload {workload!r} is unknown; use one of "
                            f"{', '.join(WORKLOADS + (DELTAGRU,))}")
    if event_op not in ("mac", "ac"):
        raise EventsimError(f"event_op {event_op!r} is unknown; use 'mac' (graded events) or 'ac' (binary)")
    if not isinstance(counts, dict):
        raise EventsimError(f"{where}: counts must be a JSON object (SPEC §4), got {type(counts).__name__}")


def _check_deltagru(counts: dict, profile: HardwareProfile, where: str) -> None:
    """A DeltaGRU workload needs DeltaGRU counts and a profile with ``energy.delta_check``."""
    if counts.get("kind") != DELTAGRU:
        raise EventsimError(f"{where}: the deltagru workload needs the counts of a DeltaGRU run "
                            f"(\"kind\": \"deltagru\"), these are of a {counts.get('kind', 'egru')!r} run")
    if "delta_check" not in profile.energy:
        raise EventsimError(f"hardware profile {profile.name!r} has no figure energy.delta_check "
                            f"(pJ per delta-encoding check), needed to price a DeltaGRU; add it to "
                            f"[energy] with its source (docs/hardware.md)")


def _passed_up(layers: list, k: int, has_readout: bool, S: int, where: str) -> int:
    """Values layer k passes up on event hardware: the next layer's sent input deltas, or
    h_t of every unit and step to a readout (it reads h_t densely), or none."""
    if k + 1 < len(layers):
        return _int(layers[k + 1], "input_events", f"{where}: layers[{k + 1}]")
    return _int(layers[k], "units", f"{where}: layers[{k}]") * S if has_readout else 0


def _delta_row(name: str, layer: dict, event: bool, S: int, passed_up, profile: HardwareProfile,
               spill: float, hops: float, has_next: bool, where: str) -> dict:
    """One DeltaGRU layer: the run's counts plus the delta encoding (see the module docstring)."""
    m, n = _int(layer, "inputs", where), _int(layer, "units", where)
    mode = "event_driven" if event else "clocked"
    macs = _int(layer, "macs.effective" if event else "macs.dense", where)
    upd = _int(layer, f"unit_updates.{mode}", where)
    ew, nl = _int(layer, f"elementwise.{mode}", where), _int(layer, f"nonlinearities.{mode}", where)
    events, in_events = _int(layer, "events", where), _int(layer, "input_events", where)
    checks = _int(layer, "delta_checks", where)
    if event:
        sent = events + passed_up
        row = _row(name, macs, upd, ew, nl, sent, 1, profile, profile.energy["mac"], spill, hops)
    else:
        row = _row(name, macs, upd, ew, nl, n * S, 1 + (1 if has_next else 0), profile,
                   profile.energy["mac"], spill, hops)
    reads, writes = (m + 7 * n) * S, in_events + events + 6 * n * S
    e_check = checks * profile.energy["delta_check"]
    e_state = (reads + writes) * profile.read_pj("small_sram")
    row.update(delta_checks=checks, state_reads=reads, state_writes=writes,
               compute_pj=row["compute_pj"] + e_check, memory_pj=row["memory_pj"] + e_state)
    row["dynamic_pj"] = row["compute_pj"] + row["memory_pj"] + row["communication_pj"]
    return row


def _spill_fractions(spill_fraction: Optional[Sequence[float]], n_pop: int) -> list:
    """The spill fraction of each of the ``n_pop`` populations (all 0 when not given)."""
    if spill_fraction is None:
        spill_fraction = [0.0] * n_pop
    spill_fraction = [float(f) for f in spill_fraction]
    if len(spill_fraction) != n_pop or any(not 0.0 <= f <= 1.0 for f in spill_fraction):
        raise EventsimError(f"spill_fraction needs {n_pop} values in [0, 1] (layers, then readout); "
                            f"got {spill_fraction}")
    return spill_fraction


def _layer_counts(layer: dict, workload: str, event: bool, S: int, w: str) -> tuple:
    """``(macs, unit_updates, elementwise, nonlinearities, values_sent)`` of one layer
    over all ``S`` sample-steps: the run's counts for the EGRU (event-driven when
    ``event``, else clocked), the dense baseline's from the layer shape otherwise."""
    m, n = _int(layer, "inputs", w), _int(layer, "units", w)
    if workload == "egru":
        mode = "event_driven" if event else "clocked"
        macs = _int(layer, "macs.effective" if event else "macs.dense", w)
        upd = _int(layer, f"unit_updates.{mode}", w)
        ew = _int(layer, f"elementwise.{mode}", w)
        nl = _int(layer, f"nonlinearities.{mode}", w)
        sent = _int(layer, "events", w) if event else n * S
        return macs, upd, ew, nl, sent
    fmac, k_ew, k_nl = _DENSE[workload]
    return fmac(m, n) * S, n * S, k_ew * n * S, k_nl * n * S, n * S


def _check_baseline(counts: dict, workload: str, got: int, where: str) -> None:
    """A dense baseline's MACs (``got``) must equal those the counts file states, if any."""
    if workload in _DENSE and isinstance(counts.get("baselines"), dict) and workload in counts["baselines"]:
        expect = _int(counts, f"baselines.{workload}.macs", where)
        if expect != got:
            raise EventsimError(f"{where}: baselines.{workload}.macs = {expect:,} but the layer shapes "
                                f"give {got:,}; the counts file is inconsistent")


def _total(allrows: list, profile: HardwareProfile, S: int) -> dict:
    """The sums over all populations plus the ideal time, static and total energy."""
    keys = ("macs", "unit_updates", "elementwise", "nonlinearities", "values_sent",
            "packets", "compute_pj", "memory_pj", "communication_pj", "dynamic_pj")
    if allrows and "delta_checks" in allrows[0]:
        keys += ("delta_checks", "state_reads", "state_writes")
    total = {key: sum(r[key] for r in allrows) for key in keys}
    chip = profile.chip
    busy_ns = total["macs"] * profile.mac_ns + total["unit_updates"] * chip["unit_update_ns"]
    time_s = busy_ns * 1e-9 / chip["cores"]
    total["ideal_time_s"] = time_s
    total["static_pj"] = chip["static_power_w"] * time_s * 1e12
    total["energy_pj"] = total["dynamic_pj"] + total["static_pj"]
    total["energy_per_step_pj"] = total["energy_pj"] / S if S else 0.0
    return total


def format_energy(pj: float) -> str:
    """A human unit for an energy given in pJ."""
    for unit, scale in (("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:.3g} {unit}"
    return f"{pj:.3g} pJ"


def energy_table(estimates: Sequence[dict], label: str = "") -> str:
    """A readable table of estimates (one row per profile × workload)."""
    head = ("profile", "workload", "as", "compute", "memory", "comm", "static", "total", "per step")
    rows = [head]
    for est in estimates:
        t = est["total"]
        rows.append((est["profile"], (f"{label}:" if label else "") + est["workload"], est["executed_as"],
                     format_energy(t["compute_pj"]), format_energy(t["memory_pj"]),
                     format_energy(t["communication_pj"]), format_energy(t["static_pj"]),
                     format_energy(t["energy_pj"]), format_energy(t["energy_per_step_pj"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


#: the workload of a continuous-time EGRU run (SPEC §6): event-driven chips only
CTEGRU = "ctegru"


def estimate_ctegru(counts: dict, profile: HardwareProfile, where: str = "counts") -> dict:
    """Energy of a continuous-time EGRU run (counts of SPEC §6, ``"kind": "ctegru"``) on an
    event-driven ``profile``. Per layer: compute = macs·E_mac + accumulates·E_ac +
    sigmoids·E_nl + unit_wakeups·E_upd; memory = 3 weight reads per synaptic event (w_u,
    w_r, w_z); communication = events × destinations (the layer itself, plus the next
    layer) packets. ``solver_steps`` are not priced: they are the simulator's work, not the
    chip's. A clocked profile (kind ``dense``) is refused: the model has no clock, so there
    is no step at which a clocked chip would update every unit."""
    if profile.kind != "event":
        raise EventsimError(f"hardware profile {profile.name!r} is clocked (kind {profile.kind!r}); a "
                            f"continuous-time EGRU has no clock, so it runs on event-driven hardware only")
    if not isinstance(counts, dict) or counts.get("kind") != CTEGRU:
        raise EventsimError(f"{where}: not the counts of a continuous-time EGRU run (\"kind\": \"ctegru\")")
    samples = _int(counts, "samples", where)
    layers = _get(counts, "layers", where)
    e = profile.energy
    read = profile.read_pj(profile.weight_level)
    rows = []
    for k, layer in enumerate(layers):
        w = f"{where}: layers[{k}]"
        syn, ev = _int(layer, "synaptic_events", w), _int(layer, "events", w)
        wake, acc = _int(layer, "unit_wakeups", w), _int(layer, "accumulates", w)
        row = _row(f"layer{k}", _int(layer, "macs", w), wake, 0, _int(layer, "sigmoids", w), ev,
                   1 + (1 if k < len(layers) - 1 else 0), profile, e["mac"], 0.0, 0.0)
        row.update(accumulates=acc, compute_pj=row["compute_pj"] + acc * e["ac"],
                   memory_pj=row["memory_pj"] + 2 * syn * read)
        row["dynamic_pj"] = row["compute_pj"] + row["memory_pj"] + row["communication_pj"]
        rows.append(row)
    total = _total(rows, profile, samples)
    total["energy_per_sample_pj"] = total.pop("energy_per_step_pj")
    dur = float(_get(counts, "duration_s", where))
    total["power_w"] = total["energy_pj"] * 1e-12 / dur if dur > 0 else None
    return {"profile": profile.name, "kind": profile.kind, "workload": CTEGRU, "executed_as": "event",
            "samples": samples, "duration_s": dur, "layers": rows, "total": total}


def ctegru_table(estimates: Sequence[dict]) -> str:
    """A readable table of :func:`estimate_ctegru` results (one row per profile)."""
    head = ("profile", "compute", "memory", "comm", "static", "total", "per sample", "mean power")
    rows = [head]
    for est in estimates:
        t = est["total"]
        power = "-" if t["power_w"] is None else f"{t['power_w']:.3g} W"
        rows.append((est["profile"], format_energy(t["compute_pj"]), format_energy(t["memory_pj"]),
                     format_energy(t["communication_pj"]), format_energy(t["static_pj"]),
                     format_energy(t["energy_pj"]), format_energy(t["energy_per_sample_pj"]), power))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i < 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
