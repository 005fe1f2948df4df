"""Continuous-time EGRU (SPEC §6): eventsim's event engine beside eventax, and its scaling.

Three parts, one process, one thread (NUMBA_NUM_THREADS=1; XLA's CPU backend limited to
one thread by the flags set below before JAX loads):

1. ``queue``: the continuous-time queue, an indexed binary heap in Numba
   (:mod:`eventsim.engine.pqueue`) against a ``sortedcontainers.SortedList`` of
   (time, key, slot) tuples with a slot → entry dict for removal; the same random workload
   (push / pop / reschedule mix, ~n entries queued) driven from Python for both, and the
   heap also driven from a Numba loop (how the engine uses it). Operations per second.
2. ``eventax``: the networks of ``analysis/eventax_crosscheck.py`` (one population, inputs
   and recurrence, random weights and delays), both libraries at the same accuracy (rtol
   1e-10, atol 1e-12, root tolerance 1e-13, float64). Spikes per wall second, after
   compilation (eventax's compile time and Numba's cache load recorded apart); the spikes
   must agree (checked, as in the cross-check).
3. ``scaling``: eventsim alone at its default tolerances: wall time, spikes, synaptic
   events and solver steps as the network grows (fixed input rate) and as the input rate
   grows (fixed network).

Medians of ``--repeats`` runs (default 3). The machine is shared: the load averages are
recorded.

    python benchmarks/bench_ctegru.py            # writes benchmarks/results/ctegru.json
"""
from __future__ import annotations

import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "analysis"))


def _median_time(fn, repeats):
    ts = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), ts, out


# ------------------------------------------------------------------------------ queue

def _workload(n_ops, size, seed=0):
    rng = np.random.default_rng(seed)
    ops = rng.random(n_ops)
    ts = rng.random(n_ops)
    keys = rng.integers(0, 1 << 30, n_ops)
    picks = rng.random(n_ops)
    return ops, ts, keys, picks, size


def _run_sortedlist(w):
    from sortedcontainers import SortedList
    ops, ts, keys, picks, size = w
    sl = SortedList()
    entry = {}
    live = []
    where = {}  # id -> index in live
    now = 0.0
    for i in range(size):
        e = (now + ts[i], int(keys[i]), i)
        sl.add(e)
        entry[i] = e
        live.append(i)
        where[i] = i
    nxt = size
    for i in range(len(ops)):
        if ops[i] < 0.5:  # pop the first, push a new one later
            t, k, s = sl.pop(0)
            now = t
            del entry[s]
            j = where.pop(s)
            live[j] = nxt
            where[nxt] = j
            e = (now + ts[i], int(keys[i]), nxt)
            sl.add(e)
            entry[nxt] = e
            nxt += 1
        else:  # reschedule a random queued entry
            s = live[int(picks[i] * len(live))]
            sl.remove(entry[s])
            e = (now + ts[i], entry[s][1], s)
            sl.add(e)
            entry[s] = e
    return len(sl)


def _run_heap_python(w):
    from eventsim.engine.pqueue import pq_new, pq_pop, pq_push, pq_reserve, pq_update
    ops, ts, keys, picks, size = w
    q = pq_new(size + 4)
    live = []
    where = {}  # slot -> index in live
    now = 0.0
    for i in range(size):
        live.append(pq_push(q, now + ts[i], int(keys[i]), i))
        where[live[-1]] = i
    for i in range(len(ops)):
        if ops[i] < 0.5:
            s = pq_pop(q)
            now = q[0][s]
            q = pq_reserve(q)
            j = where.pop(s)
            s2 = pq_push(q, now + ts[i], int(keys[i]), i)
            live[j] = s2
            where[s2] = j
        else:
            s = live[int(picks[i] * len(live))]
            pq_update(q, s, now + ts[i], q[1][s])
    return int(q[6][0])


def _heap_numba_driver():
    from numba import njit

    from eventsim.engine.pqueue import pq_new, pq_pop, pq_push, pq_reserve, pq_update

    @njit(cache=False)
    def drive(ops, ts, keys, picks, size):
        q = pq_new(size + 4)
        live = np.empty(size, np.int64)
        where = np.full(size + 4, -1, np.int64)  # slot -> index in live
        now = 0.0
        for i in range(size):
            s = pq_push(q, now + ts[i], keys[i], i)
            live[i] = s
            where[s] = i
        for i in range(ops.size):
            if ops[i] < 0.5:
                s = pq_pop(q)
                now = q[0][s]
                j = where[s]
                q = pq_reserve(q)
                s2 = pq_push(q, now + ts[i], keys[i], i)
                live[j] = s2
                where[s2] = j
            else:
                s = live[int(picks[i] * size)]
                pq_update(q, s, now + ts[i], q[1][s])
        return q[6][0]
    return drive


def bench_queue(repeats, n_ops=100_000, sizes=(100, 1000, 10_000)):
    out = []
    drive = _heap_numba_driver()
    for size in sizes:
        w = _workload(n_ops, size)
        drive(*w)  # compile
        row = {"queued": size, "operations": n_ops}
        for name, fn in (("sortedlist_python", lambda: _run_sortedlist(w)),
                         ("heap_numba_from_python", lambda: _run_heap_python(w)),
                         ("heap_numba_in_kernel", lambda: drive(*w))):
            med, ts, _ = _median_time(fn, repeats)
            row[name] = {"median_s": med, "runs_s": ts, "ops_per_s": n_ops / med}
        out.append(row)
        print(f"queue n={size}: SortedList {row['sortedlist_python']['ops_per_s']:.3g} op/s, "
              f"heap from Python {row['heap_numba_from_python']['ops_per_s']:.3g}, "
              f"heap in Numba {row['heap_numba_in_kernel']['ops_per_s']:.3g}", flush=True)
    return out


# ------------------------------------------------------------------------------ eventax

def _network(spec, duration):
    from eventax_crosscheck import network  # the cross-check's construction
    return network(spec, duration)


def bench_eventax(repeats, duration, specs):
    from eventsim.ctegru import simulate_ctegru
    from eventsim.ctegru.eventax import run_eventax, to_eventax
    tol = dict(rtol=1e-10, atol=1e-12, root_tol=1e-13)
    out = []
    for spec in specs:
        model, stream = _network(spec, duration)
        t0 = time.perf_counter()
        simulate_ctegru(model, stream, **tol)
        first = time.perf_counter() - t0
        med_es, ts_es, res = _median_time(lambda: simulate_ctegru(model, stream, **tol), repeats)
        sp = res.spikes(0)
        net = to_eventax(model, duration, max_event_steps=len(stream) + 3 * len(sp) + 200, **tol)
        t0 = time.perf_counter()
        run_eventax(net, stream.t, stream.channel)
        compile_s = time.perf_counter() - t0
        med_ax, ts_ax, (et, eu) = _median_time(lambda: run_eventax(net, stream.t, stream.channel), repeats)
        same = len(eu) == len(sp) and all(int(u) == s[2] for u, s in zip(eu, sp))
        dt = float(np.max(np.abs(np.array([s[0] for s in sp]) - et))) if same and sp else None
        row = {**spec, "duration_s": duration, "input_events": len(stream), "spikes": len(sp),
               "synaptic_events": res.counts.to_dict()["total"]["synaptic_events"],
               "solver_steps": int(res.counts.raw[:, 4].sum()),
               "same_spikes": bool(same), "max_abs_time_difference_s": dt,
               "eventsim": {"median_s": med_es, "runs_s": ts_es, "first_call_s": first,
                            "spikes_per_s": len(sp) / med_es},
               "eventax": {"median_s": med_ax, "runs_s": ts_ax, "compile_and_first_s": compile_s,
                           "spikes_per_s": len(eu) / med_ax},
               "speedup": med_ax / med_es}
        out.append(row)
        print(f"eventax n={spec['n']}: {len(sp)} spikes, same {same}, max|dt| {dt}, eventsim "
              f"{med_es:.3f} s, eventax {med_ax:.3f} s, speed-up {row['speedup']:.2f}x", flush=True)
    return out


# ------------------------------------------------------------------------------ scaling

def bench_scaling(repeats, duration):
    from eventsim.ctegru import simulate_ctegru
    rows = []
    base = dict(m=32, density=0.2, rate=50.0, seed=11)
    cases = [("size", dict(base, n=n)) for n in (100, 200, 400, 800, 1600)]
    cases += [("rate", dict(base, n=400, rate=r)) for r in (25.0, 50.0, 100.0, 200.0)]
    for axis, spec in cases:
        model, stream = _network(spec, duration)
        simulate_ctegru(model, stream)
        med, ts, res = _median_time(lambda: simulate_ctegru(model, stream), repeats)
        t = res.counts.to_dict()["total"]
        row = {"axis": axis, **spec, "duration_s": duration, "input_events": len(stream),
               "spikes": t["events"], "synaptic_events": t["synaptic_events"],
               "solver_steps": t["solver_steps"], "median_s": med, "runs_s": ts,
               "spikes_per_s": t["events"] / med,
               "ns_per_synaptic_event": med / max(t["synaptic_events"], 1) * 1e9}
        rows.append(row)
        print(f"scaling {axis}: n={spec['n']} rate={spec['rate']}: {t['events']} spikes, "
              f"{t['synaptic_events']:,} syn. events, {med:.3f} s, "
              f"{row['ns_per_synaptic_event']:.0f} ns per synaptic event", flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=0.1, help="seconds simulated per network")
    ap.add_argument("--skip-eventax", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "ctegru.json"))
    args = ap.parse_args(argv)
    from importlib.metadata import version
    doc = {"command": "python benchmarks/bench_ctegru.py " + " ".join(argv or sys.argv[1:]),
           "machine": {"python": platform.python_version(), "processor": platform.processor(),
                       "cpus": os.cpu_count(), "load_average_start": os.getloadavg()},
           "threads": 1, "repeats": args.repeats,
           "versions": {p: version(p) for p in ("numba", "numpy", "sortedcontainers")}}
    doc["queue"] = bench_queue(args.repeats)
    if not args.skip_eventax:
        from eventax_crosscheck import NETWORKS
        doc["versions"].update({p: version(p) for p in ("eventax", "jax", "diffrax")})
        doc["eventax"] = bench_eventax(args.repeats, args.duration, NETWORKS)
    doc["scaling"] = bench_scaling(args.repeats, args.duration)
    doc["machine"]["load_average_end"] = os.getloadavg()
    from eventsim.outputs import write_json
    write_json(args.out, doc)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
