"""Naive time-stepped LIF (numpy): the oracle the event engine is checked against.

Deliberately plain: every step every synapse is looked at, the equations of
:mod:`eventsim.lif.model` are written out as they stand, and the counts are taken
straight from their definitions (``docs/lif.md``). Never optimise this module.
"""
from __future__ import annotations

import numpy as np

from .inputs import input_table
from .model import LIFModel, validate_lif


def reference_run(model: LIFModel, inputs, n_steps=None) -> dict:
    """Run ``model`` on ``inputs``; returns spikes, membrane traces and raw counts.

    Returns a dict with ``spikes`` (list per sample of (T, n) arrays of event values,
    0 where no event), ``v`` (B, T, n) post-reset membrane values, ``v_final`` (B, n),
    and ``raw`` with the counts: events, input_events, effective_acs, effective_macs,
    event_driven_updates (summed over samples).
    """
    validate_lif(model)
    table = input_table(inputs, model.n_in, n_steps)
    X = table.dense()  # (B, T, m) float64
    B, T, m = X.shape
    n = model.n
    alpha = model.alpha
    beta = model.syn_decay            # 0 where a unit has no synaptic current
    ipre, ipost, iw, idl = model.inp.synapses()
    rpre, rpost, rw, rdl = model.rec.synapses()
    # zero-delay synapses (lower -> higher unit index) act inside the step: units are updated
    # in "levels", level(i) = 1 + the largest level of a zero-delay source of i
    level = np.zeros(n, dtype=np.int64)
    zd = rdl == 0
    for i in range(n):
        src = rpre[zd & (rpost == i)]
        if src.size:
            level[i] = 1 + level[src].max()
    levels = [np.flatnonzero(level == k) for k in range(level.max() + 1)]
    graded = model.events == "graded"
    raw = dict(events=0, input_events=0, effective_acs=0, effective_macs=0, event_driven_updates=0)
    all_S, all_V, v_final = [], [], []
    for b in range(B):
        S = np.zeros((T, n))        # event values s_i(t)
        V = np.zeros((T, n))
        v = np.zeros(n)
        cur = np.zeros(n)           # synaptic currents
        ref = np.zeros(n, dtype=np.int64)
        for t in range(T):
            for units in levels:
                # synaptic input arriving at step t at these units, synapse by synapse
                here = np.zeros(n, dtype=bool)
                here[units] = True
                I = np.zeros(n)
                received = np.zeros(n, dtype=bool)
                ts = t - idl
                ok = (ts >= 0) & here[ipost]
                x = np.where(ok, X[b, np.maximum(ts, 0), ipre], 0.0)
                arrive = ok & (x != 0)
                np.add.at(I, ipost[arrive], x[arrive] * iw[arrive])
                received[ipost[arrive]] = True
                ts = t - rdl
                ok = (ts >= 0) & here[rpost]
                s = np.where(ok, S[np.maximum(ts, 0), rpre], 0.0)  # S[t] holds the lower levels
                arrive = ok & (s != 0)
                np.add.at(I, rpost[arrive], s[arrive] * rw[arrive])
                received[rpost[arrive]] = True
                # synaptic current (where tau_syn > 0; refractory or not)
                syn = here & (beta > 0)
                cb = np.zeros(n) if model.syn_bias is None else model.syn_bias
                cur = np.where(syn, beta * cur + I + cb, cur)
                I = np.where(syn, cur, I)
                # unit update
                free = here & (ref == 0)
                v = np.where(free, (alpha * v + model.bias) + I, v)
                ref = np.where(here & ~free, ref - 1, ref)
                fire = free & (v > model.thr)
                S[t] = np.where(fire, v if graded else 1.0, S[t])
                if model.reset == "value":
                    v = np.where(fire, model.v_reset, v)
                else:
                    v = np.where(fire, v - model.thr, v)
                ref = np.where(fire, model.refractory, ref)
                raw["events"] += int(fire.sum())
                raw["event_driven_updates"] += int((received | fire).sum())
            V[t] = v
        # synaptic operations: every (event, synapse) pair delivered before the end of the run
        xin = X[b]
        for t, c in zip(*np.nonzero(xin)):
            raw["input_events"] += 1
            k = int(np.sum((ipre == c) & (t + idl < T)))
            raw["effective_acs" if xin[t, c] == 1.0 else "effective_macs"] += k
        for t, j in zip(*np.nonzero(S)):
            k = int(np.sum((rpre == j) & (t + rdl < T)))
            raw["effective_macs" if graded else "effective_acs"] += k
        all_S.append(S)
        all_V.append(V)
        v_final.append(v)
    return {"spikes": all_S, "v": np.stack(all_V), "v_final": np.stack(v_final), "raw": raw,
            "samples": B, "steps": T}
