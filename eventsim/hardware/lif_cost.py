"""Energy and timing of a LIF run (``eventsim.lif``) on the hardware profiles.

The same formulas, figures and JSON schema as the EGRU's (:mod:`eventsim.hardware.energy`,
docs/hardware.md), with one row per population (the nodes of an imported NIR graph, else
all units as ``lif``; :func:`population_counts` splits the counts by the population the
synapses end in) after a row ``input`` for the input channels' packets. From the LIF
counts (``docs/lif.md``):

- on an ``event`` profile: synaptic operations = ``effective_acs`` priced at ``energy.ac``
  plus ``effective_macs`` at ``energy.mac`` (binary spikes accumulate a weight, graded events
  and input values other than 1 multiply); unit updates = ``unit_updates.event_driven``;
  values sent = unit events + input events, one packet each (a multicast to the units);
- on a ``dense`` profile (clocked): ``synops.dense`` MACs, ``unit_updates.clocked`` updates,
  every unit and every input channel sends every step;
- compute = ACs·E_ac + MACs·E_mac + unit_updates·E_upd (a LIF update: leak, input, threshold
  test, reset, no separate elementwise or nonlinearity figure);
- memory = synaptic operations·E_read[weight_level]; communication = packets·E_packet
  (+ hops·E_hop with the timing simulation); static = P_static·(synaptic operations·t_mac +
  unit_updates·t_upd)/cores, as for the EGRU.

In the estimate dict the row's ``macs`` is every synaptic operation and ``acs`` how many of
them are accumulates (the EGRU rows have ``acs`` = 0 or, with ``--event-op ac``, all).

The timing simulation (:func:`simulate_lif_timing`) replays the run's spikes on the chip
mesh with the EGRU replay's rules (docs/hardware.md): per step, the host injects one
packet per (active input channel, core holding targets of it) at tile 0; a core serves
arriving packets first come first served, ``ops × t_mac`` each (a synaptic operation is
done on arrival, whatever its delay: the delayed input waits in the target's delay buffer);
the units of a block (the units between zero-delay synapses, one block without them)
update ``barrier_ns`` after every core finished the previous block, woken units only
(every unit on a dense profile), ``units × unit_update_ns``; each emitting unit then sends
one packet to every core holding targets of it, arriving after ``packet_ns + hops·hop_ns``.
The step ends when every core is idle, plus ``barrier_ns``.
"""
from __future__ import annotations

import heapq

import numpy as np

from ..errors import EventsimError
from .energy import _row, _total


def lif_estimate(counts: dict, profile, *, hops_per_packet: float = 0.0, populations=None) -> dict:
    """The energy estimate of a LIF run (its counts dict, ``LIFCounts.to_dict()``) on ``profile``.

    populations: per-population tallies from :func:`population_counts` (one row each, e.g.
    the nodes of an imported NIR graph), or None for one row ``lif``. A first row ``input``
    holds the input channels' packets (no operations)."""
    if counts.get("model") != "lif":
        raise EventsimError("these counts are not of a LIF run (no \"model\": \"lif\")")
    B, T, m, n = counts["samples"], counts["steps"], counts["inputs"], counts["units"]
    S = B * T
    e = profile.energy
    event = profile.kind == "event"
    if populations is None:
        populations = [{"name": "lif", "units": n, "acs": counts["effective_acs"], "macs": counts["effective_macs"],
                        "event_driven": counts["unit_updates"]["event_driven"], "events": counts["events"]}]
    rows = [_row("input", 0, 0, 0, 0, counts["input_events"] if event else m * S, 1, profile, e["mac"], 0.0,
                 hops_per_packet)]
    rows[0]["acs"] = 0
    for p in populations:
        k = int(p["units"])
        if event:
            acs, macs, updates, sent = int(p["acs"]), int(p["macs"]), int(p["event_driven"]), int(p["events"])
        else:  # clocked: every source to every unit of the population, every step
            acs, macs, updates, sent = 0, S * (m + n) * k, S * k, S * k
        row = _row(p["name"], acs + macs, updates, 0, 0, sent, 1, profile, e["mac"], 0.0, hops_per_packet)
        row["acs"] = acs
        row["compute_pj"] = acs * e["ac"] + macs * e["mac"] + updates * e["unit_update"]
        row["dynamic_pj"] = row["compute_pj"] + row["memory_pj"] + row["communication_pj"]
        rows.append(row)
    total = _total(rows, profile, S)
    total["acs"] = sum(r["acs"] for r in rows)
    return {"profile": profile.name, "kind": profile.kind, "workload": "lif",
            "executed_as": "event" if event else "clocked", "event_op": "ac+mac" if event else "mac",
            "samples": B, "steps": T, "hops_per_packet": hops_per_packet, "layers": rows, "readout": None,
            "total": total}


def population_counts(model, result, inputs) -> list:
    """Per population (the NIR nodes of an imported model, else all units as ``lif``): units,
    ACs and MACs of the synapses that end in it, event-driven updates and events of its units,
    taken from the run's spikes with the definitions of ``docs/lif.md``; they add up to the
    run's counts (checked)."""
    from ..lif.inputs import input_table
    c = result.counts
    B, T, n = c.samples, c.steps, c.units
    info = model.meta.get("nir") if isinstance(model.meta, dict) else None
    blocks = [("lif", 0, n)]
    if isinstance(info, dict) and info.get("nodes"):
        blocks = [(str(name), int(a), int(b)) for name, _, a, b in info["nodes"]]
    pop = np.zeros(n, np.int64)
    for k, (_, a, b) in enumerate(blocks):
        pop[a:b] = k
    P = len(blocks)
    acs, macs, upd, evs = (np.zeros(P, np.int64) for _ in range(4))
    X = input_table(inputs, model.n_in, T).dense()
    graded = model.events == "graded"

    def deliver(proj, t, j, val, mark):
        """Ops of events (t, j, value) through ``proj`` inside the run, into mark and tallies."""
        L = proj.row_lengths()[j]
        if not L.sum():
            return
        start = np.repeat(proj.indptr[j], L)
        k = start + (np.arange(L.sum()) - np.repeat(np.cumsum(L) - L, L))
        tt = np.repeat(t, L) + proj.delay[k]
        ok = tt < T
        tgt = proj.indices[k][ok]
        is_mac = np.repeat(val != 1.0, L)[ok] if not (graded and proj is model.rec) else np.ones(ok.sum(), bool)
        np.add.at(acs, pop[tgt[~is_mac]], 1)
        np.add.at(macs, pop[tgt[is_mac]], 1)
        mark[tt[ok], tgt] = True

    for b in range(B):
        mark = np.zeros((T, n), bool)
        t, ch = np.nonzero(X[b])
        deliver(model.inp, t, ch, X[b][t, ch], mark)
        sel = result.sample == b
        deliver(model.rec, result.t[sel], result.unit[sel], result.value[sel], mark)
        mark[result.t[sel], result.unit[sel]] = True
        np.add.at(upd, pop[np.nonzero(mark)[1]], 1)
        np.add.at(evs, pop[result.unit[sel]], 1)
    assert (acs.sum(), macs.sum(), upd.sum(), evs.sum()) == (c.effective_acs, c.effective_macs,
                                                             c.event_driven_updates, c.events)
    return [{"name": name, "units": b - a, "acs": int(acs[k]), "macs": int(macs[k]), "event_driven": int(upd[k]),
             "events": int(evs[k])} for k, (name, a, b) in enumerate(blocks)]


# --- timing ---

def _cores_of_rows(proj, core_of_unit):
    """For each source row: (distinct cores holding its targets, synapses per core)."""
    out = []
    for j in range(proj.n_src):
        tg = proj.indices[proj.indptr[j]:proj.indptr[j + 1]]
        cs, k = np.unique(core_of_unit[tg], return_counts=True)
        out.append((cs, k))
    return out


def simulate_lif_timing(model, result, inputs, profile, n_cores=None) -> dict:
    """Replay a LIF run's events on ``profile``'s cores (units placed contiguously);
    returns the timing dict (the keys of the EGRU's ``TimingResult.to_dict()``)."""
    from ..lif.inputs import input_table
    from .timing import mesh_hops

    chip = profile.chip
    C = int(chip["cores"]) if n_cores is None else int(n_cores)
    if C < 1 or C > int(chip["cores"]):
        raise EventsimError(f"--cores {n_cores} must be between 1 and the profile's {int(chip['cores'])} cores")
    n = model.n
    C = min(C, n)
    per = -(-n // C)
    core_of = np.arange(n) // per
    used = int(core_of.max()) + 1
    hops, tile0 = mesh_hops(profile, used)
    mac_ns, upd_ns = profile.mac_ns, chip["unit_update_ns"]
    pk_ns, hop_ns, bar_ns = chip["packet_ns"], chip["hop_ns"], chip["barrier_ns"]
    dense = profile.kind != "event"
    if dense:  # clocked: every source sends to every core, a dense row of its units each
        allc = (np.arange(used), np.bincount(core_of, minlength=used))
        in_rows, rec_rows = [allc] * model.n_in, [allc] * n
    else:
        in_rows = _cores_of_rows(model.inp, core_of)
        rec_rows = _cores_of_rows(model.rec, core_of)
    from ..lif.engine import unit_blocks
    blocks = unit_blocks(model)  # as the engine updates them
    table = input_table(inputs, model.n_in, result.counts.steps)
    X = table.dense()
    B, T = X.shape[0], X.shape[1]
    R = result.raster() != 0
    # units that receive a synaptic operation at (b, t): for the event-driven update count
    lat = np.zeros((B, T))
    busy = np.zeros(used)
    ops_c = np.zeros(used, np.int64)
    upd_c = np.zeros(used, np.int64)
    sent_c = np.zeros(used, np.int64)
    recv_c = np.zeros(used, np.int64)
    host = 0
    hop_sum = 0.0
    n_packets = 0

    woke = np.zeros((T + model.max_delay + 1, n), bool)
    for b in range(B):
        woke[:] = False
        for t in range(T):
            if dense and (b or t):  # clocked: every step does the same work as the first
                lat[b, t] = lat[0, 0]
                continue
            free = np.zeros(used)  # time each core becomes idle
            heap = []  # (arrival time, seq, core, ops)
            seq = 0
            for c in (range(model.n_in) if dense else np.flatnonzero(X[b, t])):  # host injection at t0 = 0
                cs, k = in_rows[c]
                syn = model.inp.indptr[c] + np.arange(model.inp.row_lengths()[c])
                due = t + model.inp.delay[syn]
                ok = due < T
                woke[due[ok], model.inp.indices[syn][ok]] = True
                for cc, kk in zip(cs, k):
                    heapq.heappush(heap, (pk_ns + tile0[cc] * hop_ns, seq, int(cc), int(kk)))
                    seq += 1
                    host += 1
                    recv_c[cc] += 1
                    hop_sum += tile0[cc]
            t_block = 0.0
            for k in range(len(blocks) - 1):
                lo, hi = blocks[k], blocks[k + 1]
                # a block updates once every packet sent before it is served (its feed among them)
                while heap:
                    at, _, cc, kk = heapq.heappop(heap)
                    start = max(free[cc], at)
                    free[cc] = start + kk * mac_ns
                    busy[cc] += kk * mac_ns
                    ops_c[cc] += kk
                t_up = max(t_block, free.max()) + (bar_ns if k else 0.0)
                units = np.arange(lo, hi)
                wake = units if dense else units[woke[t, lo:hi] | R[b, t, lo:hi]]
                for cc in np.unique(core_of[units]):
                    u = wake[core_of[wake] == cc]
                    dur = u.size * upd_ns
                    start = max(free[cc], t_up)
                    free[cc] = start + dur
                    busy[cc] += dur
                    upd_c[cc] += u.size
                    for j in (u if dense else u[R[b, t, u]]):  # emitters send after their core's update
                        syn = model.rec.indptr[j] + np.arange(model.rec.row_lengths()[j])
                        due = t + model.rec.delay[syn]
                        ok = due < T
                        woke[due[ok], model.rec.indices[syn][ok]] = True
                        cs, kk2 = rec_rows[j]
                        for c2, k2 in zip(cs, kk2):
                            h = float(hops[cc, c2])
                            heapq.heappush(heap, (free[cc] + pk_ns + h * hop_ns, seq, int(c2), int(k2)))
                            seq += 1
                            sent_c[cc] += 1
                            recv_c[c2] += 1
                            n_packets += 1
                            hop_sum += h
                t_block = max(free.max(), t_up)
            while heap:  # packets for later steps are served now (the operation happens on arrival)
                at, _, cc, kk = heapq.heappop(heap)
                start = max(free[cc], at)
                free[cc] = start + kk * mac_ns
                busy[cc] += kk * mac_ns
                ops_c[cc] += kk
            lat[b, t] = max(free.max(), t_block) + bar_ns
    if dense:  # scale the first step's tallies to every step
        k = B * T
        busy, ops_c, upd_c, sent_c, recv_c = busy * k, ops_c * k, upd_c * k, sent_c * k, recv_c * k
        host, n_packets, hop_sum = host * k, n_packets * k, hop_sum * k
    total_s = lat.sum() * 1e-9
    packets = host + n_packets
    e = profile.energy
    read = profile.read_pj(profile.weight_level)
    n_ac = int(result.counts.effective_acs) if not dense else 0
    ops = int(ops_c.sum())
    n_mac = ops - n_ac if not dense else ops
    compute = n_ac * e["ac"] + n_mac * e["mac"] + int(upd_c.sum()) * e["unit_update"]
    memory = ops * read
    comm = packets * e["packet"] + hop_sum * e["hop"]
    static = chip["static_power_w"] * total_s * 1e12
    util = busy / max(lat.sum(), 1e-30)
    return {"profile": profile.name, "placement": "contiguous", "cores": int(chip["cores"]), "used_cores": used,
            "steps": int(B * T), "step_latency_s": {"mean": float(lat.mean() * 1e-9), "max": float(lat.max() * 1e-9),
                                                    "min": float(lat.min() * 1e-9)},
            "total_time_s": total_s, "throughput_steps_per_s": (B * T) / total_s if total_s else 0.0,
            "utilisation": {"mean": float(util.mean()), "max": float(util.max())},
            "load_imbalance": float(busy.max() / busy.mean()) if busy.mean() > 0 else 1.0,
            "packets": int(packets), "host_packets": int(host), "hops": float(hop_sum),
            "synaptic_ops": ops, "unit_updates": int(upd_c.sum()),
            "energy": {"compute_pj": compute, "memory_pj": memory, "communication_pj": comm, "static_pj": static,
                       "energy_pj": compute + memory + comm + static,
                       "energy_per_step_pj": (compute + memory + comm + static) / (B * T)}}
