"""The bridge to eventax 0.1.0 (the authors' JAX library; extra ``eventax``).

eventax's ``EvNN`` with ``neuron_models.EGRU`` is one population of ``n`` units with
``in_size`` input channels. Its weights ``W_u, W_r, W_z`` are (n + in_size, n): rows
``0..n-1`` the units' own fan-out (our ``recurrent_kernel`` blocks), rows ``n..`` the
input channels' (our ``kernel``); a synapse exists where ``wmask`` is 1 (its ``syn_conn``).
Biases ``b_u, b_r, b_z``; ``tsyn``, ``tmem``, ``thresh`` scalars or per unit. Delays:
axonal delays per source row (inputs → our ``ff_delays[0]``, units → ``rec_delays[0]``),
or a synaptic delay matrix that is constant per block. Time units are whatever the
caller uses (eventsim states seconds).

- :func:`from_eventax`: an eventax EGRU network → a one-layer
  :class:`~eventsim.ctegru.model.CTEGRUModel`;
- :func:`to_eventax`: a one-layer model → an eventax network (Tsit5 with a PID step-size
  controller at ``rtol``/``atol``, Newton root finder), for the cross-check;
- :func:`run_eventax`: the events of one sample, as eventax computes them.

With ``dtype="float64"`` :func:`to_eventax` turns on JAX's ``jax_enable_x64`` (a global
JAX setting; eventax needs it for float64 runs).
"""
from __future__ import annotations

import numpy as np

from ..errors import EventsimError
from .model import CTEGRULayer, CTEGRUModel, validate_ctegru


def _imports():
    try:
        import diffrax
        import equinox
        import jax
        import optimistix
        from eventax.evnn import EvNN
        from eventax.neuron_models import EGRU
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise EventsimError(f"the eventax bridge needs the extra 'eventax' (pip install "
                            f"'eventsim[eventax]'): {e}") from None
    return jax, equinox, diffrax, optimistix, EvNN, EGRU


def _per_unit(x, n, what):
    a = np.asarray(getattr(x, "value", x), dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise EventsimError(f"eventax {what} has shape {a.shape}; expected a scalar or ({n},)")
    return a.copy()


def from_eventax(net, dtype="float64") -> CTEGRUModel:
    """The parameters of an eventax ``EvNN`` whose neuron model is ``EGRU``, as a one-layer
    continuous-time EGRU (absent synapses, ``wmask`` 0, become zero weights)."""
    nm = net.neuron_model
    if type(nm).__name__ != "EGRU":
        raise EventsimError(f"from_eventax needs an EvNN with the EGRU neuron model, got "
                            f"{type(nm).__name__}")
    n, m = int(net.n_neurons), int(net.in_size)
    mask = np.asarray(net.get_wmask(), dtype=np.float64)
    W = [np.asarray(w, np.float64) * mask for w in (nm.W_u, nm.W_r, nm.W_z)]
    rec = np.concatenate([w[:n] for w in W], axis=1)
    ker = np.concatenate([w[n:] for w in W], axis=1)
    bias = np.concatenate([np.asarray(b, np.float64) for b in (nm.b_u, nm.b_r, nm.b_z)])
    d_ff = d_rec = 0.0
    if net.use_axonal_delays:
        ax = np.maximum(np.asarray(net.axonal_delays, np.float64), 0.0)
        if np.ptp(ax[:n]) > 0 or (m and np.ptp(ax[n:]) > 0):
            raise EventsimError("eventax axonal delays differ within the units or within the inputs; "
                                "eventsim has one delay per projection (ff_delays, rec_delays)")
        d_rec, d_ff = float(ax[0]), float(ax[n]) if m else 0.0
    if net.use_delays:
        dl = np.maximum(np.asarray(net.delays, np.float64), 0.0)
        for rows, name in ((slice(0, n), "recurrent"), (slice(n, n + m), "input")):
            vals = dl[rows][mask[rows] > 0]
            if vals.size and np.ptp(vals) > 0:
                raise EventsimError(f"eventax synaptic delays of the {name} synapses differ; eventsim "
                                    f"has one delay per projection (ff_delays, rec_delays)")
        vr = dl[:n][mask[:n] > 0]
        vi = dl[n:][mask[n:] > 0]
        d_rec += float(vr[0]) if vr.size else 0.0
        d_ff += float(vi[0]) if vi.size else 0.0
    layer = CTEGRULayer(ker.astype(dtype), rec.astype(dtype), bias.astype(dtype),
                        _per_unit(nm.thresh, n, "thresh").astype(dtype),
                        _per_unit(nm.tsyn, n, "tsyn").astype(dtype),
                        _per_unit(nm.tmem, n, "tmem").astype(dtype))
    model = CTEGRUModel([layer], (d_ff,), (d_rec,), {"source": "eventax"})
    validate_ctegru(model)
    return model


def to_eventax(model: CTEGRUModel, max_time: float, rtol: float = 1e-10, atol: float = 1e-12,
               root_tol: float = 1e-13, dt0=None, max_event_steps: int = 20000,
               buffer_capacity: int = 4096, dtype="float64"):
    """The one-layer ``model`` as an eventax ``EvNN`` (EGRU neurons, Tsit5, PID controller at
    ``rtol``/``atol``, Newton root finder at ``root_tol``), simulating up to ``max_time``."""
    jax, eqx, dfx, optx, EvNN, EGRU = _imports()
    if model.n_layers != 1:
        raise EventsimError(f"eventax's EvNN is one population: the model has {model.n_layers} layers")
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    jdt = jnp.float64 if dtype == "float64" else jnp.float32
    layer = model.layers[0]
    n, m = layer.n_units, layer.n_in
    blocks = lambda a: [a[:, :n], a[:, n:2 * n], a[:, 2 * n:]]  # noqa: E731
    Ws = [np.concatenate([r, k], axis=0) for r, k in zip(blocks(layer.recurrent_kernel),
                                                         blocks(layer.kernel))]
    wmask = ((Ws[0] != 0) | (Ws[1] != 0) | (Ws[2] != 0)).astype(np.float64)
    d_ff, d_rec = model.ff_delays[0], model.rec_delays[0]
    axonal = None
    if d_ff > 0 or d_rec > 0:
        axonal = jnp.asarray(np.concatenate([np.full(n, d_rec), np.full(m, d_ff)]), dtype=jdt)
    if dt0 is None:
        dt0 = float(min(layer.tau_syn.min(), layer.tau_mem.min())) * 1e-2
    net = EvNN(EGRU, n_neurons=n, max_solver_time=float(max_time), in_size=m,
               key=jax.random.PRNGKey(0), wmask=jnp.asarray(wmask, dtype=jdt),
               init_axonal_delays=axonal, buffer_capacity=buffer_capacity if axonal is not None else None,
               max_event_steps=max_event_steps, solver_stepsize=dt0,
               root_finder=optx.Newton(rtol=root_tol, atol=root_tol),
               stepsize_controller=dfx.PIDController(rtol=rtol, atol=atol),
               solver=dfx.Tsit5(), dtype=jdt,
               tsyn=jnp.asarray(layer.tau_syn, jdt), tmem=jnp.asarray(layer.tau_mem, jdt),
               thresh=jnp.asarray(layer.thr, jdt))
    b = layer.bias
    net = eqx.tree_at(lambda x: (x.neuron_model.W_u, x.neuron_model.W_r, x.neuron_model.W_z,
                                 x.neuron_model.b_u, x.neuron_model.b_r, x.neuron_model.b_z), net,
                      tuple(jnp.asarray(a, jdt) for a in (*Ws, b[:n], b[n:2 * n], b[2 * n:])))
    return net


def input_times(times, channels, n_in: int, dtype="float64"):
    """One sample's input events as eventax's (in_size, K) array of times (inf: none)."""
    times, channels = np.asarray(times, np.float64), np.asarray(channels, np.int64)
    K = max(1, int(np.bincount(channels, minlength=n_in).max()) if channels.size else 1)
    out = np.full((n_in, K), np.inf)
    fill = np.zeros(n_in, np.int64)
    for t, c in zip(times, channels):
        out[c, fill[c]] = t
        fill[c] += 1
    return out.astype(dtype)


def run_eventax(net, times, channels, dtype="float64"):
    """Events of one sample (input ``times`` in seconds, ``channels``) as eventax computes
    them: (times (k,), units (k,)) in order. Uses ``EvNN.record``; refuses a run that
    fills its ``max_event_steps``."""
    jax, *_ = _imports()
    import jax.numpy as jnp
    x = jnp.asarray(input_times(times, channels, net.in_size, dtype))
    import equinox as eqx
    rec = eqx.filter_jit(type(net).record)
    t, ids, buf = rec(net, x)
    t, ids, buf = np.asarray(t), np.asarray(ids), np.asarray(buf)
    if buf[-1] >= 0:
        raise EventsimError(f"eventax used all {net.max_event_steps} event steps; raise max_event_steps")
    keep = np.isfinite(t) & (ids < net.n_neurons)
    return t[keep].astype(np.float64), ids[keep].astype(np.int64)
