"""The same NIR graphs simulated by eventsim and by other simulators, spike for spike.

    python analysis/nir_crosscheck.py [--steps 200] [--json out.json]

Graphs (a few hundred units each, built here with fixed seeds):

- ``ff_snntorch``: written by snnTorch (``export_to_nir`` of Linear → Leaky → Linear → Leaky,
  40 → 300 → 100): checked against snnTorch's own import (``import_from_nir``), in float32
  as snnTorch runs it and in float64 (its spike function patched to keep the dtype);
- ``ff_cuba_snntorch``: the same with snnTorch ``Synaptic`` layers (NIR ``CubaLIF``);
- ``recurrent``: Input → Linear → LIF (300) with a recurrent Linear LIF → LIF (a cycle), r = 1:
  Norse (``norse.torch.from_nir``, float32); snnTorch 1.0 cannot import a cycle;
- ``rleaky_snntorch``: written by snnTorch from an ``RLeaky`` layer (300 units, all-to-all
  recurrent ``Linear`` with bias): checked against that snnTorch module itself, run natively
  (float32), since snnTorch cannot import the cycle back;
- ``delays``: two LIF layers (200 + 100) with ``Delay`` nodes on the input and on a back edge
  from the second layer to the first.

Every graph is also run by :func:`interpret`, an independent dense implementation of the
discretisation documented in docs/lif.md ("NIR"), written from the node equations and
evaluated on the graph itself (no synapse lists, no event queue). What differs by
convention is reported, not hidden: snnTorch fixes dt = 1e-4 s and uses r·dt/τ only to
rescale the threshold; Norse ignores ``r`` (it assumes r = 1) and ``Delay`` nodes.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

DT = 1e-4  # snnTorch's fixed NIR step


# --- graphs ---

def _lif(nir, k, tau, r=None, thr=1.0):
    tau = np.full(k, tau)
    return nir.LIF(tau=tau, r=tau / DT if r is None else np.full(k, r), v_leak=np.zeros(k),
                   v_threshold=np.full(k, thr), v_reset=np.zeros(k))


def graph_ff_snntorch(cuba=False, seed=0):
    """A graph written by snnTorch's ``export_to_nir``."""
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(seed)
    f1, f2 = torch.nn.Linear(40, 300), torch.nn.Linear(300, 100)
    with torch.no_grad():
        f1.weight.copy_(torch.from_numpy(rng.normal(0.25, 0.3, (300, 40))))
        f1.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.02, 300)))
        f2.weight.copy_(torch.from_numpy(rng.normal(0.05, 0.2, (100, 300))))
        f2.bias.zero_()
    if cuba:
        l1 = snn.Synaptic(alpha=torch.full((300,), 0.5), beta=torch.full((300,), 0.9),
                          threshold=torch.ones(300), init_hidden=True)
        l2 = snn.Synaptic(alpha=torch.full((100,), 0.6), beta=torch.full((100,), 0.8),
                          threshold=torch.ones(100), init_hidden=True, output=True)
    else:
        l1 = snn.Leaky(beta=torch.full((300,), 0.9), threshold=torch.ones(300), init_hidden=True)
        l2 = snn.Leaky(beta=torch.full((100,), 0.8), threshold=torch.ones(100), init_hidden=True, output=True)
    net = torch.nn.Sequential(f1, l1, f2, l2)
    return export_to_nir(net, torch.zeros(1, 40), model_name="snntorch", ignore_dims=[0])


def rleaky_snntorch(seed=3):
    """(graph written by snnTorch, the snnTorch module it was written from)."""
    import snntorch as snn
    import torch
    from snntorch.export_nir import export_to_nir

    rng = np.random.default_rng(seed)
    n = 300
    fc = torch.nn.Linear(40, n)
    rl = snn.RLeaky(beta=torch.full((n,), 0.9), threshold=torch.ones(n), linear_features=n, init_hidden=True,
                    output=True, reset_mechanism="zero", reset_delay=False)
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(rng.normal(0.25, 0.3, (n, 40))))
        fc.bias.zero_()
        rl.recurrent.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.1, (n, n))))
        rl.recurrent.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.01, n)))
    net = torch.nn.Sequential(fc, rl)
    return export_to_nir(net, torch.zeros(1, 40), model_name="snntorch", ignore_dims=[0]), net


def run_snntorch_module(net, x):
    """Output spikes of an snnTorch module with hidden state, run step by step (float32)."""
    import torch
    from snntorch import utils
    torch.set_num_threads(1)
    utils.reset(net)
    outs = []
    with torch.no_grad():
        for t in range(x.shape[1]):
            spk, _ = net(torch.from_numpy(x[:, t]).float())
            outs.append(spk.numpy())
    return np.stack(outs, axis=1).astype(np.float64)


def graph_recurrent(seed=1):
    import nir
    rng = np.random.default_rng(seed)
    n = 300
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([40])), "fc": nir.Linear(rng.normal(8.0, 8.0, (n, 40))),
               "lif": _lif(nir, n, 2e-3, r=1.0), "rec": nir.Linear(rng.normal(0.0, 2.5, (n, n))),
               "output": nir.Output(np.array([n]))},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")])


def graph_delays(seed=2):
    import nir
    rng = np.random.default_rng(seed)
    return nir.NIRGraph(
        nodes={"input": nir.Input(np.array([40])),
               "din": nir.Delay(rng.integers(0, 4, 40) * DT),
               "fc1": nir.Affine(rng.normal(0.3, 0.3, (200, 40)), rng.normal(0.0, 0.01, 200)),
               "lif1": _lif(nir, 200, 2e-3),
               "fc2": nir.Linear(rng.normal(0.05, 0.2, (100, 200))),
               "lif2": _lif(nir, 100, 3e-3),
               "dback": nir.Delay(rng.integers(0, 6, 100) * DT),
               "back": nir.Linear(rng.normal(0.0, 0.3, (200, 100))),
               "output": nir.Output(np.array([100]))},
        edges=[("input", "din"), ("din", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "dback"), ("dback", "back"), ("back", "lif1"), ("lif2", "output")])


# --- the independent interpreter ---

def interpret(graph, x, dt, order):
    """Run a NIR graph on dense input x (B, T, m) by the documented discretisation.

    ``order``: the neuron nodes in update order (an edge from a node earlier in it acts in the
    same step, any other one step later). Returns {neuron node: (B, T, size) spikes}."""
    nodes, edges = graph.nodes, graph.edges
    preds = {k: [a for a, b in edges if b == k] for k in nodes}
    B, T, _ = x.shape
    name = lambda k: type(nodes[k]).__name__
    size = {k: (np.asarray(nodes[k].tau).size if name(k) == "LIF" else
                np.asarray(nodes[k].tau_mem).size if name(k) == "CubaLIF" else None) for k in order}
    S = {k: np.zeros((B, T, size[k])) for k in order}

    def val(k, t, ctx):
        """Output of node k at step t as seen by neuron node ctx."""
        kind = name(k)
        if kind == "Input":
            return x[:, t] if t >= 0 else np.zeros_like(x[:, 0])
        if k in S:
            tt = t if order.index(k) < order.index(ctx) else t - 1
            return S[k][:, tt] if tt >= 0 else np.zeros((B, size[k]))
        if kind == "Delay":
            steps = np.rint(np.asarray(nodes[k].delay) / dt).astype(int)
            out = None
            for s in np.unique(steps):
                part = inn(k, t - s, ctx) * (steps == s)
                out = part if out is None else out + part
            return out
        u = inn(k, t, ctx)
        if kind == "Affine":
            return u @ np.asarray(nodes[k].weight).T + np.asarray(nodes[k].bias)
        if kind == "Linear":
            return u @ np.asarray(nodes[k].weight).T
        if kind == "Scale":
            return u * np.asarray(nodes[k].scale)
        raise ValueError(kind)

    def inn(k, t, ctx):
        return sum(val(p, t, ctx) for p in preds[k])

    state = {k: [np.zeros((B, size[k])), np.zeros((B, size[k]))] for k in order}  # v, I
    for t in range(T):
        for k in order:
            nd, u = nodes[k], inn(k, t, k)
            v, cur = state[k]
            if name(k) == "LIF":
                tau = np.asarray(nd.tau)
                v = v + dt / tau * (np.asarray(nd.v_leak) - v) + np.asarray(nd.r) * dt / tau * u
            else:  # CubaLIF
                ts, tm = np.asarray(nd.tau_syn), np.asarray(nd.tau_mem)
                cur = cur + dt / ts * (-cur) + np.asarray(nd.w_in) * dt / ts * u
                v = v + dt / tm * (np.asarray(nd.v_leak) - v) + np.asarray(nd.r) * dt / tm * cur
            z = v > np.asarray(nd.v_threshold)
            S[k][:, t] = z
            v = np.where(z, np.asarray(nd.v_reset), v)
            state[k] = [v, cur]
    return S


# --- the simulators ---

def run_eventsim(graph, x, dt):
    from eventsim.lif import simulate_lif
    from eventsim.lif.nir import from_nir
    m = from_nir(graph, dt)
    R = simulate_lif(m, x).raster()
    return {k: R[:, :, a:b] for k, _, a, b in m.meta["nir"]["nodes"]}, m


def _step_torch(net, x, dtype):
    import torch
    torch.set_num_threads(1)  # small matrices: threads only contend
    state, outs = None, []
    for t in range(x.shape[1]):
        o, state = net(torch.from_numpy(x[:, t]).to(dtype), state)
        outs.append(o.detach().numpy())
    return np.stack(outs, axis=1).astype(np.float64)


def run_snntorch(graph, x, float64):
    """The graph's output spikes as snnTorch's NIR import computes them."""
    import torch
    from snntorch.import_nir import import_from_nir
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # snnTorch prints warnings
        net = import_from_nir(graph)
    if float64:
        net = net.double()
        for mod in net.modules():
            if hasattr(mod, "spike_grad"):
                mod.spike_grad = lambda z: (z > 0).to(z.dtype)
    return _step_torch(net, x, torch.float64 if float64 else torch.float32)


def run_norse(graph, x, dt):
    import torch
    import norse.torch as nt
    return _step_torch(nt.from_nir(graph, dt=dt), x, torch.float32)


def inputs(seed, B=2, T=200, m=40, p=0.1):
    return (np.random.default_rng(seed).random((B, T, m)) < p).astype(np.float64)


def compare(a, b):
    """(spikes in a, spikes in b, (sample, step, unit) cells that differ)."""
    return int(a.sum()), int(b.sum()), int((a != b).sum())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []

    def row(graph_name, units, other, out_e, out_o):
        e, o, d = compare(out_e, out_o)
        rows.append(dict(graph=graph_name, units=units, against=other, spikes_eventsim=e, spikes_other=o,
                         differing=d))
        print(f"| {graph_name} | {units} | {other} | {e:,} | {o:,} | {d} |")

    print("| graph | units | against | spikes (eventsim) | spikes (other) | differing cells |")
    print("|---|---:|---|---:|---:|---:|")
    try:
        g, net = rleaky_snntorch()
        x = inputs(99, T=args.steps)
        ev, m = run_eventsim(g, x, DT)
        row("rleaky_snntorch", m.n, "the snnTorch RLeaky module itself (float32)", ev["1.lif"],
            run_snntorch_module(net, x))
    except ImportError as e:
        print(f"| rleaky_snntorch | - | (not built: {e}) | | | |")
    for seed, (name, build, order, others) in enumerate((
            ("ff_snntorch", lambda: graph_ff_snntorch(False), ["1", "3"], ("snntorch32", "snntorch64")),
            ("ff_cuba_snntorch", lambda: graph_ff_snntorch(True), ["1", "3"], ("snntorch32", "snntorch64")),
            ("recurrent", graph_recurrent, ["lif"], ("norse",)),
            ("delays", graph_delays, ["lif1", "lif2"], ("norse",)))):
        try:
            g = build()
        except ImportError as e:
            print(f"| {name} | - | (not built: {e}) | | | |")
            continue
        x = inputs(seed, T=args.steps)
        ev, m = run_eventsim(g, x, DT)
        last = order[-1]
        row(name, m.n, "independent interpreter (all nodes)",
            np.concatenate([ev[k] for k in order], -1),
            np.concatenate([v for k, v in sorted(interpret(g, x, DT, order).items(),
                                                 key=lambda kv: order.index(kv[0]))], -1))
        for other in others:
            try:
                if other.startswith("snntorch"):
                    out = run_snntorch(g, x, other == "snntorch64")
                    label = f"snnTorch import ({'float64' if other == 'snntorch64' else 'float32'}), output"
                else:
                    out = run_norse(g, x, DT)
                    label = "Norse from_nir (float32), output"
            except ImportError as e:
                print(f"| {name} | {m.n} | {other}: not installed ({e}) | | | |")
                continue
            except Exception as e:  # the other simulator cannot read this graph: say so
                msg = f"{type(e).__name__}: {e}".splitlines()[0][:80]
                rows.append(dict(graph=name, units=m.n, against=other, error=msg))
                print(f"| {name} | {m.n} | {other} cannot run it ({msg}) | | | |")
                continue
            row(name, m.n, label, ev[last], out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "dt": DT, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
