"""The dense reference: a plain numpy, time-stepped EGRU (SPEC §1, delays of SPEC §3).

This is the oracle the event engine is checked against. It is written to be
obviously correct, not fast: every layer is computed for every sample at every
step with full matrix products, all per-step values are kept, and every count
of SPEC §2 is computed here its own way, straight from its definition (sets of
active sources, nonzero weights in their rows), never from the engine's code.
Do not optimise it.
"""
from __future__ import annotations

import numpy as np

from .counts import RAW_FIELDS, Counts


def sigmoid(v):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def run_reference(model, table, record_steps: bool = False) -> dict:
    """Run ``model`` on an :class:`~eventsim.inputs.InputTable`.

    Returns a dict with ``y``, ``c`` (lists of (B, T, n)), ``readout``
    ((B, T, n_out) or None), ``state`` (list of (s, y) final arrays) and
    ``counts`` (:class:`~eventsim.egru.counts.Counts`).
    """
    x = table.dense()  # (B, T, m): for an embedding model, the embedding rows
    B, T, _ = x.shape
    dt = model.dtype
    L = model.n_layers
    ys = [np.zeros((B, T, l.n_units), dt) for l in model.layers]
    cs = [np.zeros((B, T, l.n_units), dt) for l in model.layers]
    s = [np.zeros((B, l.n_units), dt) for l in model.layers]
    raw = np.zeros((L, len(RAW_FIELDS)), dtype=np.int64)
    steps_events = np.zeros((T, L), dtype=np.int64)
    steps_macs = np.zeros((T, L + 1), dtype=np.int64)
    steps_upd = np.zeros((T, L), dtype=np.int64)
    readout = None
    if model.readout_weight is not None:
        readout = np.zeros((B, T, model.n_out), dt)
        W_out = model.readout_weight
        out_nnz_per_source = np.count_nonzero(W_out, axis=0)  # nnz(W_out[:, j])

    for t in range(T):
        for k, layer in enumerate(model.layers):
            n = layer.n_units
            d_ff, d_rec = model.ff_delays[k], model.rec_delays[k]
            below = x if k == 0 else ys[k - 1]
            x_in = below[:, t - d_ff] if t - d_ff >= 0 else np.zeros((B, layer.n_in), dt)
            h_in = ys[k][:, t - 1 - d_rec] if t - 1 - d_rec >= 0 else np.zeros((B, n), dt)
            vx = x_in @ layer.kernel + layer.bias
            vh = h_in @ layer.recurrent_kernel + layer.recurrent_bias
            z = sigmoid(vx[:, :n] + vh[:, :n])
            r = sigmoid(vx[:, n:2 * n] + vh[:, n:2 * n])
            g = np.tanh(vx[:, 2 * n:] + r * vh[:, 2 * n:])
            c = z * s[k] + (1 - z) * g
            if model.reset == "output":
                c = c - (ys[k][:, t - 1] if t >= 1 else 0)
            o = c > layer.thr
            y = np.where(o, c, 0).astype(dt)
            if model.reset == "threshold":
                s[k] = (c - o * layer.thr).astype(dt)
            else:
                s[k] = c.astype(dt)
            ys[k][:, t] = y
            cs[k][:, t] = c

            # counts, straight from the definitions of SPEC §2
            A = x_in != 0                                   # active inputs A_t
            E = h_in != 0                                   # own (delayed) events E_{t-1}
            K_nz, R_nz = layer.kernel != 0, layer.recurrent_kernel != 0
            ff = int(sum(K_nz[A[b]].sum() for b in range(B)))
            rec = int(sum(R_nz[E[b]].sum() for b in range(B)))
            K_unit = K_nz.reshape(layer.n_in, 3, n).any(axis=1)   # input i reaches unit j
            R_unit = R_nz.reshape(n, 3, n).any(axis=1)
            touched = np.zeros((B, n), bool)
            for b in range(B):
                touched[b] = K_unit[A[b]].any(axis=0) | R_unit[E[b]].any(axis=0) | o[b]
            ev = int(o.sum())
            raw[k] += (ev, ff, rec, int(A.sum()), int(E.sum()), int(touched.sum()))
            steps_events[t, k] = ev
            steps_macs[t, k] = ff + rec
            steps_upd[t, k] = int(touched.sum())
        if readout is not None:
            yL = ys[-1][:, t]
            readout[:, t] = yL @ W_out.T + model.readout_bias
            steps_macs[t, L] = int(sum(out_nnz_per_source[yL[b] != 0].sum() for b in range(B)))

    per_step = None
    if record_steps:
        per_step = {"events": steps_events, "effective_macs": steps_macs,
                    "event_driven_updates": steps_upd}
    counts = Counts.for_model(model, B, T, raw, readout_macs=int(steps_macs[:, L].sum()),
                              readout_active=int((ys[-1] != 0).sum()) if readout is not None else 0,
                              engine="dense", per_step=per_step)
    state = [(s[k], ys[k][:, -1].copy()) for k in range(L)]
    return {"y": ys, "c": cs, "readout": readout, "state": state, "counts": counts}
