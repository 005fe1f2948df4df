"""The DeltaGRU engine against a second, scalar implementation of SPEC §5.

Written from SPEC §5's text alone, unit by unit with Python floats and the ``math``
module (no numpy products, nothing shared with eventsim's reference or engine), so that
a convention both of eventsim's implementations might share by mistake (when a delta is
sent, what ĥ holds, what is counted) would show here.
"""
import math

import numpy as np
import pytest

from eventsim.deltagru import random_deltagru, simulate_deltagru


def spec_deltagru(model, x):
    """One sample x (T, m) through SPEC §5: per layer the sent deltas (lists of (t, i, Δ)),
    h_t, and the counts of SPEC §2/§5."""
    T = len(x)
    layers = []
    for L in model.layers:
        m, n = L.n_in, L.n_units
        layers.append(dict(K=L.kernel.tolist(), R=L.recurrent_kernel.tolist(), tx=L.theta_x.tolist(),
                           th=L.theta_h.tolist(), h=[0.0] * n, xh=[0.0] * m, hh=[0.0] * n,
                           Mx=L.bias.tolist(), Mh=L.recurrent_bias.tolist(), m=m, n=n,
                           dx=[], dh=[], ys=[], events=0, inputs=0, macs=0, act=0))
    logits = []
    for t in range(T):
        below = [float(v) for v in x[t]]
        for S in layers:
            m, n = S["m"], S["n"]
            sent_x, sent_h = [], []
            for i in range(m):
                if abs(below[i] - S["xh"][i]) > S["tx"][i]:
                    sent_x.append((i, below[i] - S["xh"][i]))
                    S["xh"][i] = below[i]
            for j in range(n):
                if abs(S["h"][j] - S["hh"][j]) > S["th"][j]:
                    sent_h.append((j, S["h"][j] - S["hh"][j]))
                    S["hh"][j] = S["h"][j]
            for i, d in sent_x:
                for c in range(3 * n):
                    if S["K"][i][c] != 0:
                        S["Mx"][c] += d * S["K"][i][c]
                        S["macs"] += 1
            for j, d in sent_h:
                for c in range(3 * n):
                    if S["R"][j][c] != 0:
                        S["Mh"][c] += d * S["R"][j][c]
                        S["macs"] += 1
            sig = lambda v: 1.0 / (1.0 + math.exp(-v))
            new = []
            for j in range(n):
                z = sig(S["Mx"][j] + S["Mh"][j])
                r = sig(S["Mx"][n + j] + S["Mh"][n + j])
                g = math.tanh(S["Mx"][2 * n + j] + r * S["Mh"][2 * n + j])
                new.append(z * S["h"][j] + (1 - z) * g)
            S["h"] = new
            S["ys"].append(new)
            S["dx"] += [(t, i, d) for i, d in sent_x]
            S["dh"] += [(t, j, d) for j, d in sent_h]
            S["events"] += len(sent_h)
            S["inputs"] += len(sent_x)
            S["act"] += (len(sent_x) + len(sent_h)) * 3 * n
            below = new
        if model.readout_weight is not None:
            W, b = model.readout_weight.tolist(), model.readout_bias.tolist()
            logits.append([b[q] + sum(W[q][j] * below[j] for j in range(len(below))) for q in range(len(b))])
    return layers, logits


def sent(arr):
    """(t, i, Δ) of the nonzero entries of a (T, k) array of sent deltas."""
    t, i = np.nonzero(arr)
    return [(int(a), int(c), float(arr[a, c])) for a, c in zip(t, i)]


@pytest.mark.parametrize("seed", range(6))
def test_engine_equals_scalar_spec(seed):
    rng = np.random.default_rng(100 + seed)
    sizes = [int(v) for v in rng.integers(1, 7, size=int(rng.integers(1, 4)))]
    m_in = int(rng.integers(1, 5))
    m = random_deltagru(m_in, sizes, n_out=int(rng.integers(1, 4)), seed=seed, dtype="float64",
                        weight_density=float(rng.choice([1.0, 0.5])),
                        theta_x=float(rng.choice([0.0, 0.1, 0.4])), theta_h=float(rng.choice([0.0, 0.05, 0.2])))
    for layer in m.layers:
        layer.bias[:] = rng.normal(scale=0.5, size=layer.bias.shape)
        layer.recurrent_bias[:] = rng.normal(scale=0.5, size=layer.recurrent_bias.shape)
    B, T = 2, 12
    x = rng.normal(size=(B, T, m_in)) * (rng.random((B, T, m_in)) < 0.7)
    res = simulate_deltagru(m, x, record=("y", "deltas", "readout"))
    d = res.counts.to_dict()
    totals = [dict(events=0, inputs=0, macs=0, act=0) for _ in sizes]
    for b in range(B):
        layers, logits = spec_deltagru(m, x[b])
        for k, S in enumerate(layers):
            for got, want in ((sent(res.dx[k][b]), S["dx"]), (sent(res.dh[k][b]), S["dh"])):
                assert [g[:2] for g in got] == [w[:2] for w in want]  # the same deltas were sent
                np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], atol=1e-12)
            np.testing.assert_allclose(res.y[k][b], np.array(S["ys"]), atol=1e-12)
            for key in totals[k]:
                totals[k][key] += S[key]
        np.testing.assert_allclose(res.readout[b], np.array(logits), atol=1e-12)
    for k, (l, tot) in enumerate(zip(d["layers"], totals)):
        mi, n = l["inputs"], l["units"]
        assert (l["events"], l["input_events"]) == (tot["events"], tot["inputs"])
        assert l["macs"]["effective"] == tot["macs"] and l["macs"]["activity_sparse"] == tot["act"]
        assert l["macs"]["dense"] == (mi + n) * 3 * n * B * T
        assert l["delta_checks"] == (mi + n) * B * T
        assert l["unit_updates"]["event_driven"] == n * B * T
    assert d["readout"]["macs"]["effective"] == sizes[-1] * m.n_out * B * T
