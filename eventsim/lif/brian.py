"""The same LIF network in Brian2 (optional extra ``brian2``), for cross-validation and benchmarks.

Brian2 must compute exactly the discrete-time update of :mod:`eventsim.lif.model`,
operation by operation (float64, same ``dt``). How each part is mapped:

- **Order inside a step.** The network schedule is
  ``start, groups, synapses, thresholds, resets, end`` (Brian2's default puts
  ``thresholds`` before ``synapses``, which tests the threshold before the input of the
  step has arrived). So in step t: the leak ``v = alpha*v + b`` (``groups``), then the
  synaptic input of step t is added (``synapses``), then ``v > theta`` (``thresholds``),
  then the reset (``resets``): ``v_t = (alpha*v + b) + sum w s`` as in eventsim.
- **Leak.** An explicit discrete update, ``run_regularly`` in ``groups``, with
  ``alpha`` set per neuron to the very float64 ``exp(-dt/tau)`` eventsim uses; no ODE
  integrator (whose ``exp`` might round differently) is involved.
- **Delays.** Input spikes come from a ``SpikeGeneratorGroup`` scheduled at ``start``,
  so a spike of step t is pushed and (delay 0) delivered in the ``synapses`` slot of
  step t: Brian2 delay = ``d * dt``. A neuron's spike of step t is pushed in the
  ``synapses`` slot of step t + 1: Brian2 delay = ``(d - 1) * dt`` for eventsim delay d >= 1.
- **Refractoriness.** Brian2's ``refractory = (r + 1) * dt``: a neuron that spiked at t
  is refractory at steps t+1 .. t+r (Brian2 counts the spike step); the leak and the
  synaptic input are multiplied by ``int(not_refractory)`` so that they are discarded,
  the threshold is blocked by Brian2 itself.
- **Graded events.** The reset stores ``y = v`` and ``on_pre`` adds ``w * y_pre``. Brian2
  reads ``y_pre`` at delivery, so this equals eventsim only if no neuron spikes again
  before its earlier events are delivered (true with recurrent delays of 1 step, or a
  refractory period >= the largest delay - 1).
"""
from __future__ import annotations

import time

import numpy as np

from ..errors import EventsimError

SCHEDULE = ["start", "groups", "synapses", "thresholds", "resets", "end"]


def brian2_unavailable():
    """None if Brian2 imports here, else the reason (Brian2 2.9 fails with numpy >= 2.4)."""
    try:
        import brian2  # noqa: F401
    except Exception as e:  # ImportError, or AttributeError from an incompatible numpy
        return f"{type(e).__name__}: {e}"
    return None


def build_network(model, n_steps: int, spikes=None, poisson_rate_hz=None, record_v: bool = False):
    """Build the Brian2 objects for ``model``; returns (Network, monitors dict).

    spikes: (t, channel) int arrays of binary input spikes (one sample), or None with
    ``poisson_rate_hz``: Brian2's own ``PoissonGroup`` drives the input channels.
    """
    import brian2 as b2

    from ..errors import EventsimError
    if model.has_syn:
        raise EventsimError("the Brian2 check does not cover synaptic currents (tau_syn > 0); the "
                            "naive reference (engine='reference') checks them")
    if model.rec.nnz and int(model.rec.delay.min()) == 0:
        raise EventsimError("the Brian2 check does not cover zero-delay recurrent synapses (Brian2 "
                            "delivers a neuron's spike at the next step at the earliest)")
    n, m = model.n, model.n_in
    dt = float(model.dt) * b2.second
    graded = model.events == "graded"
    eqs = """v : 1
             alpha : 1 (constant)
             b : 1 (constant)
             theta : 1 (constant)
             vr : 1 (constant)"""
    if graded:
        eqs += "\ny : 1"
    reset = "v = vr" if model.reset == "value" else "v = v - theta"
    if graded:
        reset = "y = v\n" + reset
    G = b2.NeuronGroup(n, eqs, threshold="v > theta", reset=reset,
                       refractory=(int(model.refractory) + 1) * dt, dt=dt, name="lif")
    G.run_regularly("v = int(not_refractory)*(alpha*v + b) + int(not not_refractory)*v",
                    when="groups", order=1, name="lif_leak")
    G.alpha = model.alpha
    G.b = model.bias
    G.theta = model.thr
    G.vr = model.v_reset
    if spikes is not None:
        t, ch = spikes
        P = b2.SpikeGeneratorGroup(m, np.asarray(ch, dtype=np.int64), np.asarray(t) * dt, dt=dt,
                                   when="start", name="inputs")
    else:
        P = b2.PoissonGroup(m, rates=float(poisson_rate_hz) * b2.Hz, dt=dt, when="start", name="inputs")
    on_pre = "v_post += w*int(not_refractory_post)"
    objs = [G, P]
    for name, src, proj, shift in (("syn_in", P, model.inp, 0), ("syn_rec", G, model.rec, 1)):
        if proj.nnz == 0:
            continue
        pre, post, w, d = proj.synapses()
        # one delay for all synapses: a scalar delay (Brian2's faster homogeneous queue)
        homog = d.min() == d.max()
        S = b2.Synapses(src, G, "w : 1 (constant)",
                        on_pre=(on_pre.replace("w*", "w*y_pre*") if graded and name == "syn_rec" else on_pre),
                        delay=(int(d[0]) - shift) * dt if homog else None, dt=dt, name=name)
        S.connect(i=pre, j=post)
        S.w = w
        if not homog:
            S.delay = (d - shift) * dt
        objs.append(S)
    mons = {"spikes": b2.SpikeMonitor(G, name="lif_spikes"),
            "inputs": b2.SpikeMonitor(P, record=False, name="input_count")}
    if record_v:
        mons["v"] = b2.StateMonitor(G, "v", record=True, when="end", dt=dt, name="lif_v")
    net = b2.Network(*objs, *mons.values())
    net.schedule = SCHEDULE
    return net, mons


def run_brian2(model, n_steps: int, spikes=None, poisson_rate_hz=None, target: str = "numpy",
               record_v: bool = False) -> dict:
    """Run the Brian2 twin in runtime mode (``target`` "numpy" or "cython").

    Returns {"i", "t" (steps), "v" (T, n) or None, "input_spikes", "run_s"}.
    """
    reason = brian2_unavailable()
    if reason:
        raise EventsimError(f"Brian2 cannot be imported here ({reason}); install the 'brian2' extra "
                            f"with a numpy it supports (Brian2 2.9 needs numpy < 2.4)")
    import brian2 as b2
    if target not in ("numpy", "cython"):
        raise EventsimError(f"Brian2 runtime target {target!r} is unknown; use 'numpy' or 'cython'")
    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = np.float64
    net, mons = build_network(model, n_steps, spikes, poisson_rate_hz, record_v)
    t0 = time.perf_counter()
    net.run(n_steps * float(model.dt) * b2.second)
    run_s = time.perf_counter() - t0
    return spike_results(model, mons, record_v) | {"run_s": run_s}


def spike_results(model, mons, record_v: bool) -> dict:
    sp = mons["spikes"]
    t = np.round(np.asarray(sp.t_) / float(model.dt)).astype(np.int64)
    i = np.asarray(sp.i[:], dtype=np.int64)
    order = np.lexsort((i, t))
    v = np.asarray(mons["v"].v[:]).T.copy() if record_v else None
    return {"i": i[order], "t": t[order], "v": v, "input_spikes": int(mons["inputs"].num_spikes)}
