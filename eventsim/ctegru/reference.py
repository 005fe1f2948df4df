"""The naive reference of the continuous-time EGRU (SPEC §6): the oracle the engine is
held to. It is slow on purpose and never optimised.

The whole network (every unit's ``c, a_u, a_r, a_z``) is one ODE system, integrated
with classical RK4 at a fixed step ``h`` (the pre-activations too, not in closed
form). After each step, if any unit's ``c`` exceeds its threshold, the step is cut by
bisection (each trial an RK4 step of the whole system from the step's start) to the
earliest crossing time, to ``1e-15`` s; the units above threshold there fire, in
(layer, unit) order. Pending deliveries (input events, and events with a delay) are
kept in a sorted list keyed by (time, source layer, source index, target layer); the
integration stops at each one's time, and all those due at that time are delivered in
key order. An event with zero delay is delivered at once, when its source fires.
Nothing later than the sample's duration is processed.
"""
from __future__ import annotations

import bisect

import numpy as np


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


class _Net:
    def __init__(self, model):
        self.L = model.n_layers
        self.n = model.sizes
        self.W = []  # per layer: (ff (m,3n), rec (n,3n))
        self.P = []  # per layer: b_u, b_r, b_z, thr, tau_syn, tau_mem
        for layer in model.layers:
            n = layer.n_units
            b = layer.bias.astype(np.float64)
            self.W.append((layer.kernel.astype(np.float64), layer.recurrent_kernel.astype(np.float64)))
            self.P.append((b[:n], b[n:2 * n], b[2 * n:], layer.thr.astype(np.float64),
                           layer.tau_syn.astype(np.float64), layer.tau_mem.astype(np.float64)))
        self.ff = model.ff_delays
        self.rec = model.rec_delays
        self.eps = model.eps

    def f(self, y):
        out = []
        for (c, au, ar, az), (bu, br, bz, thr, ts, tm) in zip(y, self.P):
            out.append(((_sig(au) * (np.tanh(az) - c)) / tm, (bu - au) / ts, (br - ar) / ts,
                        (bz - az) / ts))
        return out

    def rk4(self, y, h):
        def add(a, k, s):
            return [tuple(x + s * dx for x, dx in zip(ya, ka)) for ya, ka in zip(a, k)]
        k1 = self.f(y)
        k2 = self.f(add(y, k1, h / 2))
        k3 = self.f(add(y, k2, h / 2))
        k4 = self.f(add(y, k3, h))
        return [tuple(x + h / 6 * (a + 2 * b + 2 * c + d) for x, a, b, c, d in zip(ya, *ks))
                for ya, *ks in zip(y, k1, k2, k3, k4)]

    def above(self, y):
        return [np.nonzero(c > p[3])[0] for (c, _, _, _), p in zip(y, self.P)]


def reference_sample(model, times, channels, duration, h=1e-5):
    """Simulate one sample; returns (events [(t, layer, unit)], raw counts (L, 4) int64 of
    events, feed-forward synaptic events, recurrent synaptic events, unit wakeups)."""
    net = _Net(model)
    L = net.L
    y = [tuple(np.zeros(n) for _ in range(4)) for n in net.n]
    raw = np.zeros((L, 4), np.int64)
    pending = []  # sorted (t, src_layer, src, target_layer); inputs have src_layer -1
    for t, ch in zip(times, channels):
        bisect.insort(pending, (float(t) + net.ff[0], -1, int(ch), 0))
    events = []

    def deliver(src_layer, src, target):
        w = net.W[target][1 if src_layer == target else 0][src]
        n = net.n[target]
        wu, wr, wz = w[:n], w[n:2 * n], w[2 * n:]
        hit = (wu != 0) | (wr != 0) | (wz != 0)
        c, au, ar, az = y[target]
        az = az + np.where(hit, wz * _sig(ar), 0.0)   # a_r before its jump
        au = au + np.where(hit, wu, 0.0)
        ar = ar + np.where(hit, wr, 0.0)
        y[target] = (c, au, ar, az)
        k = int(hit.sum())
        raw[target, 2 if src_layer == target else 1] += k
        raw[target, 3] += k

    def send(t, l, j):
        for target, d in ((l, net.rec[l]), (l + 1, net.ff[l + 1] if l + 1 < L else None)):
            if d is None:
                continue
            if d == 0:
                deliver(l, j, target)
            elif t + d <= duration:
                bisect.insort(pending, (t + d, l, j, target))

    t = 0.0
    while True:
        t_stop = min(pending[0][0], duration) if pending else duration
        fired = False
        while t < t_stop:
            step = min(h, t_stop - t)
            y1 = net.rk4(y, step)
            if not any(len(a) for a in net.above(y1)):
                y, t = y1, (t_stop if step == t_stop - t else t + step)
                continue
            lo, hi = 0.0, step
            while hi - lo > 1e-15:
                mid = 0.5 * (lo + hi)
                if mid <= lo or mid >= hi:
                    break
                if any(len(a) for a in net.above(net.rk4(y, mid))):
                    hi = mid
                else:
                    lo = mid
            y, t = net.rk4(y, hi), t + hi
            for l, units in enumerate(net.above(y)):
                thr = net.P[l][3]
                for j in units:
                    c = y[l][0].copy()
                    c[j] = min(c[j] - thr[j], thr[j] - net.eps)
                    y[l] = (c,) + y[l][1:]
                    events.append((t, l, int(j)))
                    raw[l, 0] += 1
                    raw[l, 3] += 1
                    send(t, l, int(j))
            fired = True
            break
        if fired:
            continue
        if not pending or pending[0][0] > duration:
            break
        t = pending[0][0]
        while pending and pending[0][0] == t:
            _, sl, j, target = pending.pop(0)
            deliver(sl, j, target)
    return events, raw


def reference(model, stream, duration=None, h=1e-5):
    """Run every sample of a :class:`~eventsim.ctegru.inputs.SpikeStream`; returns
    (list of per-sample event lists, summed raw counts (L, 4))."""
    durs = stream.durations(duration)
    out, raw = [], np.zeros((model.n_layers, 4), np.int64)
    for b in range(stream.n_samples):
        sel = stream.sample == b
        order = np.lexsort((stream.channel[sel], stream.t[sel]))
        ev, r = reference_sample(model, stream.t[sel][order], stream.channel[sel][order], durs[b], h)
        out.append(ev)
        raw += r
    return out, raw
