"""The dense reference: a plain numpy, time-stepped DeltaGRU (SPEC §5).

This is the oracle the event engine is checked against. It is written straight
from SPEC §5's equations to be obviously correct, not fast: every layer of every
sample at every step forms its deltas as full vectors, updates its memories with
full matrix products, and keeps every per-step value. Every count is computed
here its own way, from its definition (the sets of sent deltas and the nonzero
weights of their rows), never from the engine's code. Do not optimise it.
"""
from __future__ import annotations

import numpy as np

from ..egru.counts import RAW_FIELDS
from .counts import DeltaCounts


def sigmoid(v):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-v))


def run_deltagru_reference(model, table, record_steps: bool = False) -> dict:
    """Run ``model`` (a :class:`~eventsim.deltagru.model.DeltaGRUModel`) on an
    :class:`~eventsim.inputs.InputTable`.

    Returns a dict with ``y`` (list per layer of (B, T, n): h_t), ``dx``/``dh`` (lists per
    layer of (B, T, m) / (B, T, n): the input / state deltas sent at step t, 0 where none
    was sent), ``readout`` ((B, T, n_out) or None), ``state`` (list per layer of dicts
    ``h``, ``x_hat``, ``h_hat``, ``mx``, ``mh``, each (B, ·)) and ``counts``
    (:class:`~eventsim.deltagru.counts.DeltaCounts`).
    """
    x = table.dense()  # (B, T, m): for an embedding model, the embedding rows
    B, T, _ = x.shape
    dt = model.dtype
    L = model.n_layers
    ys = [np.zeros((B, T, l.n_units), dt) for l in model.layers]
    dxs = [np.zeros((B, T, l.n_in), dt) for l in model.layers]
    dhs = [np.zeros((B, T, l.n_units), dt) for l in model.layers]
    # state (SPEC §5): h_0 = 0, x̂ = 0, ĥ = 0, Mx = bias, Mh = recurrent_bias
    h = [np.zeros((B, l.n_units), dt) for l in model.layers]
    x_hat = [np.zeros((B, l.n_in), dt) for l in model.layers]
    h_hat = [np.zeros((B, l.n_units), dt) for l in model.layers]
    mx = [np.tile(l.bias, (B, 1)).astype(dt) for l in model.layers]
    mh = [np.tile(l.recurrent_bias, (B, 1)).astype(dt) for l in model.layers]
    raw = np.zeros((L, len(RAW_FIELDS)), dtype=np.int64)
    steps = {"events": np.zeros((T, L), np.int64), "input_events": np.zeros((T, L), np.int64),
             "effective_macs": np.zeros((T, L + 1), np.int64),
             "event_driven_updates": np.zeros((T, L), np.int64)}
    readout = None
    if model.readout_weight is not None:
        readout = np.zeros((B, T, model.n_out), dt)

    for t in range(T):
        for k, layer in enumerate(model.layers):
            n = layer.n_units
            x_t = x[:, t] if k == 0 else ys[k - 1][:, t]      # layer k > 0 reads h_t of layer k-1
            # deltas: sent where the change since the last value sent exceeds Θ (strictly)
            dx = x_t - x_hat[k]
            A = np.abs(dx) > layer.theta_x                    # input deltas sent at t
            dx = np.where(A, dx, 0).astype(dt)
            x_hat[k] = np.where(A, x_t, x_hat[k]).astype(dt)
            dh = h[k] - h_hat[k]                              # h[k] is h_{t-1} here
            E = np.abs(dh) > layer.theta_h                    # state deltas sent at t
            dh = np.where(E, dh, 0).astype(dt)
            h_hat[k] = np.where(E, h[k], h_hat[k]).astype(dt)
            # memories persist across steps
            mx[k] = (mx[k] + dx @ layer.kernel).astype(dt)
            mh[k] = (mh[k] + dh @ layer.recurrent_kernel).astype(dt)
            z = sigmoid(mx[k][:, :n] + mh[k][:, :n])
            r = sigmoid(mx[k][:, n:2 * n] + mh[k][:, n:2 * n])
            g = np.tanh(mx[k][:, 2 * n:] + r * mh[k][:, 2 * n:])
            h[k] = (z * h[k] + (1 - z) * g).astype(dt)
            ys[k][:, t] = h[k]
            dxs[k][:, t] = dx
            dhs[k][:, t] = dh

            # counts, straight from the definitions of SPEC §2/§5
            K_nz, R_nz = layer.kernel != 0, layer.recurrent_kernel != 0
            ff = int(sum(K_nz[A[b]].sum() for b in range(B)))
            rec = int(sum(R_nz[E[b]].sum() for b in range(B)))
            n_a, n_e = int(A.sum()), int(E.sum())
            raw[k] += (n_e, ff, rec, n_a, n_e, B * n)
            steps["events"][t, k] = n_e
            steps["input_events"][t, k] = n_a
            steps["effective_macs"][t, k] = ff + rec
            steps["event_driven_updates"][t, k] = B * n
        if readout is not None:  # dense: every h_t[j] times every weight of W_out
            readout[:, t] = ys[-1][:, t] @ model.readout_weight.T + model.readout_bias
            steps["effective_macs"][t, L] = B * model.sizes[-1] * model.n_out

    counts = DeltaCounts.for_deltagru(model, B, T, raw, engine="dense",
                                      per_step=steps if record_steps else None)
    state = [dict(h=h[k], x_hat=x_hat[k], h_hat=h_hat[k], mx=mx[k], mh=mh[k]) for k in range(L)]
    return {"y": ys, "dx": dxs, "dh": dhs, "readout": readout, "state": state, "counts": counts}
