"""NIR graphs in and out of eventsim's LIF model (``docs/lif.md``, "NIR").

:func:`from_nir` reads a NIR graph (a ``nir.NIRGraph`` or a ``.nir`` file) of ``Input``,
``Output``, ``Affine``, ``Linear``, ``Scale``, ``Delay``, ``LIF``, ``CubaLIF``, ``IF``,
``LI``, ``CubaLI`` and ``Threshold`` nodes (``Flatten`` passes the channels through in C
order; subgraphs are inlined) into one
:class:`~eventsim.lif.model.LIFModel` for a step ``dt``; :func:`to_nir` writes a model
back. The discretisation is forward Euler, as snnTorch and Norse read NIR (``leak =
"euler"``), per node:

- ``LIF``: ``v ← (1 − dt/τ)·v + (dt/τ)·v_leak + (r·dt/τ)·I``, event when ``v > v_threshold``,
  then ``v ← v_reset``;  ``LI``: the same without events (threshold +inf);
- ``IF``: ``v ← v + r·dt·I`` (τ = inf), event and reset as ``LIF``;
- ``CubaLIF``: ``I ← (1 − dt/τ_syn)·I + (w_in·dt/τ_syn)·S``, then ``v`` as ``LIF`` with input
  ``I`` (``CubaLI``: without events);
- ``Threshold``: ``v ← input`` (no state: τ = dt), event when ``v > threshold``;
- ``Affine``/``Linear``/``Scale`` compose into the synaptic weights (times the target's
  input scale), ``Delay`` into the synaptic delays (whole steps of ``dt``).

An edge from a neuron node to another acts in the same step (a feed-forward layer sees the
events of the layer before it, as snnTorch's sequential models do) unless it closes a
cycle: the neuron nodes are ordered by a depth-first search from the ``Input`` nodes
(nodes and successors in name order), and an edge to a node at or before the source in that
order (a back edge, a self-loop) delivers at the next step, as a recurrent connection does.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import EventsimError
from .model import LIFModel, make_lif, validate_lif

NEURONS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI", "Threshold")
LINEAR = ("Affine", "Linear", "Scale", "Delay", "Flatten")
SUPPORTED = ("Input", "Output") + LINEAR + NEURONS


def nir_module():
    """The ``nir`` package, or a clear error naming the extra to install."""
    try:
        import nir
    except ImportError:
        raise EventsimError("NIR support needs the 'nir' package: pip install 'eventsim[nir]'") from None
    return nir


def read_graph(graph_or_path):
    """A ``nir.NIRGraph`` from a graph or a ``.nir`` file path."""
    nir = nir_module()
    if isinstance(graph_or_path, nir.NIRGraph):
        return graph_or_path
    path = os.fspath(graph_or_path)
    if not os.path.isfile(path):
        raise EventsimError(f"NIR graph file {path!r} does not exist")
    try:
        return nir.read(path)
    except Exception as e:  # h5py / nir raise many kinds
        raise EventsimError(f"{path} is not a readable NIR graph ({type(e).__name__}: {e})") from None


def _type(node) -> str:
    return type(node).__name__


def _arr(x, size=None, name="", node=""):
    a = np.asarray(x, dtype=np.float64).ravel()
    if size is not None and a.size == 1 and size != 1:
        a = np.full(size, float(a[0]))
    if size is not None and a.size != size:
        raise EventsimError(f"node {node!r}: {name} has {a.size} entries but the node has {size} units")
    return a


def _flatten(graph, prefix=""):
    """(nodes, edges) with subgraphs inlined: a subgraph's Input and Output nodes become
    pass-through nodes named ``sub.name``."""
    nir = nir_module()
    nodes, edges = {}, []
    sub_io = {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            n2, e2 = _flatten(node, full + ".")
            ins = [k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            for k in ins + outs:
                n2[full + "." + k] = ("pass", n2[full + "." + k][1])
            nodes.update(n2)
            edges += e2
            sub_io[full] = ([full + "." + k for k in ins], [full + "." + k for k in outs])
        else:
            nodes[full] = (_type(node), node)
    for a, b in graph.edges:
        a, b = prefix + a, prefix + b
        for x in (a, b):
            if x not in nodes and x not in sub_io:
                raise EventsimError(f"edge ({a!r}, {b!r}) names node {x!r}, which the graph does not have")
        srcs = sub_io[a][1] if a in sub_io else [a]
        dsts = sub_io[b][0] if b in sub_io else [b]
        edges += [(s, d) for s in srcs for d in dsts]
    return nodes, edges


def _size(kind, node, name):
    if kind in ("Input", "Output", "pass", "Flatten"):
        t = node.input_type if kind != "Input" else node.output_type
        shape = next(iter(t.values()))
        return int(np.prod(shape))
    if kind in ("Affine", "Linear"):
        return int(np.asarray(node.weight).shape[0])
    if kind == "Scale":
        return int(np.asarray(node.scale).size)
    if kind == "Delay":
        return int(np.asarray(node.delay).size)
    if kind == "Threshold":
        return int(np.asarray(node.threshold).size)
    if kind == "IF":
        return int(np.asarray(node.v_threshold).size)
    if kind in ("LI", "CubaLI"):
        return int(np.asarray(node.tau if kind == "LI" else node.tau_mem).size)
    return int(np.asarray(node.v_threshold).size)


def _neuron_units(kind, node, name, dt):
    """Per-unit (tau, thr, v_reset, bias, tau_syn, input scale) of a neuron node."""
    k = _size(kind, node, name)
    inf = np.full(k, np.inf)
    zero = np.zeros(k)
    g = lambda attr, default=None: (default if getattr(node, attr, None) is None
                                    else _arr(getattr(node, attr), k, attr, name))
    if kind == "Threshold":
        return dict(tau=np.full(k, dt), thr=g("threshold"), v_reset=zero, bias=zero, tau_syn=zero,
                    scale=np.ones(k))
    if kind == "IF":
        return dict(tau=inf, thr=g("v_threshold"), v_reset=g("v_reset", zero), bias=zero, tau_syn=zero,
                    scale=input_scale_if(g("r"), dt))
    if kind in ("LIF", "LI"):
        tau = g("tau")
        return dict(tau=tau, thr=g("v_threshold") if kind == "LIF" else inf,
                    v_reset=g("v_reset", zero) if kind == "LIF" else zero,
                    bias=dt / tau * g("v_leak"), tau_syn=zero, scale=input_scale_lif(g("r"), dt, tau))
    # CubaLIF / CubaLI
    tau, ts = g("tau_mem"), g("tau_syn")
    w_in = g("w_in", np.ones(k))
    return dict(tau=tau, thr=g("v_threshold") if kind == "CubaLIF" else inf,
                v_reset=g("v_reset", zero) if kind == "CubaLIF" else zero,
                bias=dt / tau * g("v_leak"), tau_syn=ts,
                scale=input_scale_syn(w_in, dt, ts) * input_scale_lif(g("r"), dt, tau))


# The input scales, written once for import and export (export picks r and w_in so that
# these are exactly 1 where it can).
def input_scale_lif(r, dt, tau):
    return r * dt / tau


def input_scale_if(r, dt):
    return r * dt


def input_scale_syn(w_in, dt, tau_syn):
    return w_in * dt / tau_syn


def _steps(delay, dt, name):
    d = np.asarray(delay, dtype=np.float64).ravel()
    k = np.rint(d / dt)
    bad = (d < 0) | ~np.isfinite(d) | (np.abs(k * dt - d) > 1e-6 * dt)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise EventsimError(f"Delay node {name!r}: delay[{i}] = {d[i]} s is not a whole number of steps "
                            f"of dt = {dt} s (>= 0)")
    return k.astype(np.int64)


def from_nir(graph_or_path, dt: float, name_meta: bool = True) -> LIFModel:
    """A validated LIF model (leak "euler", reset "value") equivalent to a NIR graph at step
    ``dt`` (seconds); see the module docstring for the discretisation and the edge rule.
    Raises :class:`EventsimError` naming the first node that cannot be represented."""
    if not (isinstance(dt, (int, float, np.floating)) and np.isfinite(dt) and dt > 0):
        raise EventsimError(f"dt = {dt!r} must be a positive number of seconds")
    dt = float(dt)
    graph = read_graph(graph_or_path)
    nodes, edges = _flatten(graph)
    for name in sorted(nodes):
        kind = nodes[name][0]
        if kind not in SUPPORTED + ("pass",):
            raise EventsimError(f"node {name!r} of type {kind} cannot be represented by eventsim's LIF model "
                                f"(supported: {', '.join(SUPPORTED)})")
    succ = {k: [] for k in nodes}
    for a, b in edges:
        succ[a].append(b)
    sizes = {k: _size(kind, node, k) for k, (kind, node) in nodes.items()}
    inputs = sorted(k for k, (kind, _) in nodes.items() if kind == "Input")
    neurons = sorted(k for k, (kind, _) in nodes.items() if kind in NEURONS)
    if not inputs:
        raise EventsimError("the NIR graph has no Input node; eventsim needs at least one input channel")
    if not neurons:
        raise EventsimError("the NIR graph has no neuron node (LIF, CubaLIF, IF, LI, CubaLI, Threshold)")

    def propagate(start, M, bias_only=False):
        """Follow linear nodes from ``start`` (whose output is ``{delay: M}``); returns the
        contributions {neuron: {delay: matrix}} and the outputs reached."""
        out, outs = {}, []

        def walk(node, maps, stack, linear=False):
            for nxt in succ[node]:
                kind, obj = nodes[nxt]
                if kind in NEURONS:
                    acc = out.setdefault(nxt, {})
                    for d, A in maps.items():
                        if A.shape[0] != sizes[nxt]:
                            raise EventsimError(f"node {nxt!r} ({kind}, {sizes[nxt]} units) receives "
                                                f"{A.shape[0]} values from {node!r}")
                        acc[d] = acc.get(d, 0) + A
                    continue
                if kind == "Output":
                    if linear and not bias_only:
                        raise EventsimError(f"Output {nxt!r} is fed by {node!r} ({nodes[node][0]}), not by a "
                                            f"neuron node; eventsim records neuron events and membranes, not "
                                            f"linear read-outs")
                    outs.append((nxt, start))
                    continue
                if nxt in stack:
                    raise EventsimError(f"node {nxt!r} ({kind}) is on a cycle without a neuron node; "
                                        f"eventsim cannot represent an algebraic loop")
                new = {}
                for d, A in maps.items():
                    if kind in ("Affine", "Linear"):
                        W = np.asarray(obj.weight, dtype=np.float64)
                        if W.ndim != 2 or W.shape[1] != A.shape[0]:
                            raise EventsimError(f"node {nxt!r} ({kind}) has weight shape {W.shape} but "
                                                f"receives {A.shape[0]} values from {node!r}")
                        new[d] = new.get(d, 0) + W @ A
                    elif kind == "Scale":
                        new[d] = new.get(d, 0) + _arr(obj.scale, A.shape[0], "scale", nxt)[:, None] * A
                    elif kind == "Delay":
                        ks = _steps(obj.delay, dt, nxt)
                        if ks.size != A.shape[0]:
                            raise EventsimError(f"Delay node {nxt!r} has {ks.size} channels but receives "
                                                f"{A.shape[0]} values")
                        if bias_only:
                            new[d] = new.get(d, 0) + A
                            continue
                        for k in np.unique(ks):
                            B = np.where((ks == k)[:, None], A, 0.0)
                            new[d + int(k)] = new.get(d + int(k), 0) + B
                    else:  # pass-through: a subgraph's Input / Output, Flatten (channels in C order)
                        new[d] = new.get(d, 0) + A
                walk(nxt, new, stack | {nxt}, linear or kind in LINEAR[:4])

        walk(start, {0: M}, {start})
        return out, outs

    contrib, out_of = {}, []
    for s in inputs + neurons:
        c, outs = propagate(s, np.eye(sizes[s]))
        contrib[s] = c
        out_of += outs
    # constant input: every Affine bias, carried through the linear nodes after it
    bias_in = {k: np.zeros(sizes[k]) for k in neurons}
    for a in sorted(k for k, (kind, _) in nodes.items() if kind == "Affine"):
        b = getattr(nodes[a][1], "bias", None)
        if b is None or not np.any(np.asarray(b)):
            continue
        c, _ = propagate(a, _arr(b, sizes[a], "bias", a)[:, None], bias_only=True)
        for tgt, maps in c.items():
            bias_in[tgt] += sum(maps.values())[:, 0]

    order = order_neurons(inputs, neurons, {s: sorted(contrib[s]) for s in inputs + neurons})
    pos = {k: i for i, k in enumerate(order)}
    off, start = {}, 0
    for k in order:
        off[k] = start
        start += sizes[k]
    n = start
    in_off, m = {}, 0
    for k in inputs:
        in_off[k] = m
        m += sizes[k]
    units = {key: np.zeros(n) for key in ("tau", "thr", "v_reset", "bias", "tau_syn", "scale", "syn_bias")}
    for k in order:
        u = _neuron_units(nodes[k][0], nodes[k][1], k, dt)
        # a constant input enters the synaptic current of a CubaLIF / CubaLI, else v
        if nodes[k][0] in ("CubaLIF", "CubaLI"):
            u["syn_bias"] = u["scale"] * bias_in[k]
        else:
            u["syn_bias"] = np.zeros(sizes[k])
            u["bias"] = u["bias"] + u["scale"] * bias_in[k]
        for key in units:
            units[key][off[k]:off[k] + sizes[k]] = u[key]
    syn = {"input": ([], [], [], []), "recurrent": ([], [], [], [])}
    for s in inputs + order:
        for tgt, maps in contrib[s].items():
            is_in = s in in_off
            base = 0 if is_in or pos[s] < pos[tgt] else 1
            for d in sorted(maps):
                post, pre = np.nonzero(maps[d])
                w = maps[d][post, pre] * units["scale"][off[tgt] + post]
                lst = syn["input" if is_in else "recurrent"]
                lst[0].append(pre + (in_off[s] if is_in else off[s]))
                lst[1].append(post + off[tgt])
                lst[2].append(w)
                lst[3].append(np.full(pre.size, base + d, np.int64))
    cat = lambda parts: tuple(np.concatenate(p) if p else np.zeros(0) for p in parts)
    meta = {}
    if name_meta:
        meta["nir"] = {"dt": dt,
                       "inputs": [[k, in_off[k], in_off[k] + sizes[k]] for k in inputs],
                       "nodes": [[k, nodes[k][0], off[k], off[k] + sizes[k]] for k in order],
                       "outputs": sorted({(o, src) for o, src in out_of})}
    try:
        model = make_lif(m, n, cat(syn["input"]), cat(syn["recurrent"]), tau=units["tau"], thr=units["thr"],
                         bias=units["bias"], v_reset=units["v_reset"], dt=dt, reset="value",
                         tau_syn=units["tau_syn"] if np.any(units["tau_syn"]) else None, leak="euler",
                         syn_bias=units["syn_bias"] if np.any(units["syn_bias"]) else None, meta=meta)
    except EventsimError as e:
        raise EventsimError(f"the NIR graph gives an invalid LIF model at dt = {dt} s: {e}") from None
    return model


def order_neurons(inputs, neurons, succ):
    """The neuron nodes in reverse post-order of a depth-first search from the inputs (then from
    any node not reached), successors in name order: in that order every edge of an acyclic
    graph goes forward, and an edge to an earlier node or to itself closes a cycle."""
    seen, post = set(), []

    def dfs(k):
        seen.add(k)
        stack = [(k, iter(succ.get(k, ())))]
        while stack:
            node, it = stack[-1]
            for nxt in it:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, iter(succ.get(nxt, ()))))
                    break
            else:
                stack.pop()
                if node in neurons:
                    post.append(node)

    for k in list(inputs) + list(neurons):
        if k not in seen:
            dfs(k)
    return post[::-1]


# --- export ---

def _exact_one(make, x0):
    """A value x near x0 with make(x) == 1.0 exactly (a few ulps around x0), or x0."""
    x = float(x0)
    for _ in range(8):
        v = make(x)
        if v == 1.0:
            return x
        x = float(np.nextafter(x, -np.inf if v > 1.0 else np.inf))
    return float(x0)


def _unit_kind(model, i):
    ts = 0.0 if model.tau_syn is None else float(model.tau_syn[i])
    spiking = np.isfinite(model.thr[i])
    if ts > 0:
        if not np.isfinite(model.tau[i]):
            return None
        return "CubaLIF" if spiking else "CubaLI"
    if not np.isfinite(model.tau[i]):
        return "IF" if spiking else None
    return "LIF" if spiking else "LI"


def _blocks(model):
    """Contiguous unit blocks of one kind, no zero-delay synapse inside, cut where the
    model's NIR names (meta) cut; names and kinds."""
    n = model.n
    kinds = []
    for i in range(n):
        k = _unit_kind(model, i)
        if k is None:
            raise EventsimError(f"unit {i} has tau = inf and a synaptic current or no threshold; NIR has no "
                                f"such node (IF units have no synaptic current)")
        kinds.append(k)
    cuts = {0, n}
    names = {}
    info = model.meta.get("nir") if isinstance(model.meta, dict) else None
    if isinstance(info, dict) and isinstance(info.get("nodes"), list):
        try:
            for name, _, a, b in info["nodes"]:
                if 0 <= int(a) < int(b) <= n:
                    cuts |= {int(a), int(b)}
                    names[int(a)] = str(name)
        except (TypeError, ValueError):
            names = {}
    pre, post, _, d = model.rec.synapses()
    zmax = np.full(n, -1, np.int64)
    np.maximum.at(zmax, post[d == 0], pre[d == 0])
    blocks, a = [], 0
    for i in range(1, n + 1):
        if i == n or i in cuts or kinds[i] != kinds[a] or zmax[i] >= a:
            blocks.append((a, i))
            a = i
    # the import orders nodes by name among equals: keep the model's names when they sort in
    # unit order, else number them
    given = [names.get(a) for a, _ in blocks]
    if None in given or len(set(given)) != len(given) or sorted(given) != given:
        given = [f"b{j:03d}_{names.get(a) or kinds[a].lower()}" for j, (a, _) in enumerate(blocks)]
    return [(name, kinds[a], a, b) for name, (a, b) in zip(given, blocks)]


def to_nir(model: LIFModel):
    """A ``nir.NIRGraph`` of ``model`` that :func:`from_nir` at the model's ``dt`` reads back
    to the same network (see ``docs/lif.md``). Raises :class:`EventsimError` for what NIR
    cannot express: graded events, refractoriness, the subtractive reset, stored zero weights."""
    nir = nir_module()
    validate_lif(model)
    if model.events == "graded":
        raise EventsimError("graded events cannot be exported: NIR neuron nodes emit binary spikes")
    if model.refractory:
        raise EventsimError(f"refractory = {model.refractory} steps cannot be exported: NIR neuron nodes "
                            f"have no refractory period")
    if model.reset != "value":
        raise EventsimError("reset 'subtract' cannot be exported: NIR neuron nodes reset to v_reset")
    for pname, p in (("input", model.inp), ("recurrent", model.rec)):
        if p.nnz and np.any(p.weight == 0):
            k = int(np.argmax(p.weight == 0))
            raise EventsimError(f"{pname}.weight[{k}] = 0: a stored zero-weight synapse cannot be exported "
                                f"(NIR's dense weight matrices cannot tell it from no synapse)")
    dt = float(model.dt)
    blocks = _blocks(model)
    tau_eff = (np.asarray(model.tau, float) if model.leak == "euler"
               else dt / (1.0 - model.alpha))  # the Euler time constant of the same leak factor
    nodes = {"input": nir.Input(np.array([model.n_in]))}
    edges = []
    block_of = np.zeros(model.n, np.int64)
    for j, (name, kind, a, b) in enumerate(blocks):
        block_of[a:b] = j
        sl = slice(a, b)
        tau = tau_eff[sl].copy()
        thr, vr, bias = model.thr[sl], model.v_reset[sl], model.bias[sl]
        k = b - a
        if kind in ("LIF", "LI"):
            r = np.array([_exact_one(lambda x, t=t: input_scale_lif(x, dt, t), t / dt) for t in tau])
            args = dict(tau=tau, r=r, v_leak=np.zeros(k))
            node = nir.LIF(v_threshold=thr, v_reset=vr, **args) if kind == "LIF" else nir.LI(**args)
        elif kind == "IF":
            r = np.full(k, _exact_one(lambda x: input_scale_if(x, dt), 1.0 / dt))
            node = nir.IF(r=r, v_threshold=thr, v_reset=vr)
        else:
            ts = np.asarray(model.tau_syn[sl], float)
            ts_eff = ts if model.leak == "euler" else dt / (1.0 - model.syn_decay[sl])
            r = np.array([_exact_one(lambda x, t=t: input_scale_lif(x, dt, t), t / dt) for t in tau])
            w_in = np.array([_exact_one(lambda x, t=t: input_scale_syn(x, dt, t), t / dt) for t in ts_eff])
            # a bias acts on v: as v_leak (dt/tau * v_leak = bias, to within rounding)
            args = dict(tau_syn=ts_eff, tau_mem=tau, r=r, v_leak=bias * tau / dt, w_in=w_in)
            node = nir.CubaLIF(v_threshold=thr, v_reset=vr, **args) if kind == "CubaLIF" else nir.CubaLI(**args)
        nodes[name] = node
        # a constant input: into v (LIF, LI, IF) or into the synaptic current (Cuba nodes),
        # through an Affine of zero weights; the input scale is exactly 1
        const = (bias if kind not in ("CubaLIF", "CubaLI") else
                 (np.zeros(k) if model.syn_bias is None else model.syn_bias[sl]))
        if np.any(const):
            nodes[f"{name}.bias"] = nir.Affine(np.zeros((k, model.n_in)), np.asarray(const, float))
            edges += [("input", f"{name}.bias"), (f"{name}.bias", name)]
        nodes[f"{name}.output"] = nir.Output(np.array([k]))
        edges.append((name, f"{name}.output"))
    # synapses, one Linear per (source, target block, delay), behind a Delay node when the
    # delay (beyond the step a back edge takes anyway) is not 0
    names = [blk[0] for blk in blocks]
    paths = {}
    for pname, p in (("input", model.inp), ("recurrent", model.rec)):
        pre, post, w, d = p.synapses()
        tb = block_of[post]
        sb = block_of[pre] if pname == "recurrent" else np.full(pre.size, -1)
        for key in set(zip(sb.tolist(), tb.tolist(), d.tolist())):
            s, t, dd = key
            sel = (sb == s) & (tb == t) & (d == dd)
            paths[key] = (pre[sel], post[sel], w[sel])
    for (s, t, dd), (pre, post, w) in sorted(paths.items()):
        tname, _, ta, tz = blocks[t]
        if s < 0:
            src, sa, sk = "input", 0, model.n_in
            base = 0
        else:
            src, _, sa, sz = blocks[s]
            sk = sz - sa
            base = 0 if s < t else 1
        extra = dd - base
        if extra < 0:
            raise EventsimError(f"a delay-{dd} synapse from block {src!r} to block {tname!r} cannot be "
                                f"exported: that edge closes a cycle and takes at least one step")
        W = np.zeros((tz - ta, sk))
        np.add.at(W, (post - ta, pre - sa), w)
        lname = f"w.{src}.{tname}.d{dd}"
        nodes[lname] = nir.Linear(W)
        if extra:
            dname = f"delay.{src}.{tname}.d{dd}"
            nodes[dname] = nir.Delay(np.full(sk, extra * dt))
            edges += [(src, dname), (dname, lname)]
        else:
            edges.append((src, lname))
        edges.append((lname, tname))
    # the import must find the same order of blocks, or the same-step rule would differ: where
    # block j does not reach block j+1, a zero-weight Linear (no synapse) leads the import's
    # depth-first search from j to j+1, so that it finds the blocks in unit order
    succ = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)

    def reach(k):  # neuron nodes reached from k through linear nodes
        out, todo = set(), list(succ.get(k, ()))
        while todo:
            x = todo.pop()
            if x in names:
                out.add(x)
            elif x in succ:
                todo += list(succ[x])
        return out
    hints = [("input", names[0])] if names[0] not in reach("input") else []
    hints += [(a, b) for a, b in zip(names, names[1:]) if b not in reach(a)]
    for a, b in hints:
        ia = model.n_in if a == "input" else next(z - y for nm, _, y, z in blocks if nm == a)
        ib = next(z - y for nm, _, y, z in blocks if nm == b)
        nodes[f"order.{a}.{b}"] = nir.Linear(np.zeros((ib, ia)))
        edges += [(a, f"order.{a}.{b}"), (f"order.{a}.{b}", b)]
        succ.setdefault(a, set()).add(f"order.{a}.{b}")
        succ[f"order.{a}.{b}"] = {b}
    order = order_neurons(["input"], sorted(names), {k: sorted(reach(k)) for k in ["input"] + names})
    if order != names:
        raise EventsimError(f"this network cannot be exported so that it reads back the same: its blocks "
                            f"{names} would be ordered {order} by the NIR import's same-step rule")
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"source": "eventsim", "dt": dt})


def write_nir(model: LIFModel, path):
    """Write ``model`` as a NIR graph file (atomically); returns the graph."""
    from ..outputs import atomic_path
    nir = nir_module()
    graph = to_nir(model)
    with atomic_path(path, ".nir") as tmp:
        nir.write(tmp, graph)
    return graph
