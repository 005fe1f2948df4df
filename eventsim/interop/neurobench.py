"""NeuroBench cross-check helpers (needs ``torch`` and ``neurobench``: ``eventsim[neurobench]``).

:func:`torch_egru` builds a PyTorch network that computes exactly SPEC §1 from an
eventsim :class:`~eventsim.egru.model.Model`, out of the pieces NeuroBench knows how
to count: each layer's input and recurrent projections are ``nn.Linear`` modules
(weights ``kernel.T`` / ``recurrent_kernel.T``), the readout is an ``nn.Linear``
called at every step, and the thresholded event output ``y = H(c − ϑ)·c`` is an
:class:`EventOutput` module, which NeuroBench's ``ActivationSparsity`` sees once
it is registered with ``TorchModel.add_activation_module(EventOutput)``.
NeuroBench counts an ``nn.Linear`` call as Σ over non-zero inputs of the non-zero
weights they touch, which is eventsim's ``effective`` figure, and its ``Dense`` as
all weights times all inputs, eventsim's ``dense``.

:func:`measure` runs NeuroBench's ``SynapticOperations`` and ``ActivationSparsity``
on a network and returns their figures together with the errors NeuroBench
printed (NeuroBench turns a failing metric into ``0.0`` and prints a line; this
function reports that as an error instead of a number).
"""
from __future__ import annotations

import contextlib
import io
import re

import numpy as np

from ..errors import EventsimError


def _torch():
    try:
        import torch
    except ImportError:
        raise EventsimError("the NeuroBench cross-check needs PyTorch: "
                            "pip install 'eventsim[neurobench]'") from None
    return torch


def _module_classes():
    torch = _torch()
    nn = torch.nn

    class EventOutput(nn.Module):
        """y = H(c − ϑ) ⊙ c, H(0) = 0 (SPEC §1): the layer's event output."""

        def __init__(self, thr):
            super().__init__()
            self.register_buffer("thr", thr)

        def forward(self, c):
            return c * (c > self.thr).to(c.dtype)

    class TorchEGRULayer(nn.Module):
        """One EGRU layer (SPEC §1, threshold reset) from two nn.Linear projections."""

        def __init__(self, layer, dtype):
            super().__init__()
            m, n = layer.n_in, layer.n_units
            self.n = n
            self.ff = nn.Linear(m, 3 * n).to(dtype)
            self.rec = nn.Linear(n, 3 * n).to(dtype)
            with torch.no_grad():
                self.ff.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.kernel.T)))
                self.ff.bias.copy_(torch.from_numpy(layer.bias))
                self.rec.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.recurrent_kernel.T)))
                self.rec.bias.copy_(torch.from_numpy(layer.recurrent_bias))
            self.event = EventOutput(torch.from_numpy(layer.thr.copy()).to(dtype))

        def forward(self, x):  # (B, T, m) -> (B, T, n)
            B, T, _ = x.shape
            n = self.n
            s = x.new_zeros(B, n)
            y = x.new_zeros(B, n)
            out = []
            for t in range(T):
                vx = self.ff(x[:, t])
                vh = self.rec(y)
                z = torch.sigmoid(vx[:, :n] + vh[:, :n])
                r = torch.sigmoid(vx[:, n:2 * n] + vh[:, n:2 * n])
                g = torch.tanh(vx[:, 2 * n:] + r * vh[:, 2 * n:])
                c = z * s + (1 - z) * g
                y = self.event(c)
                s = c - (c > self.event.thr).to(c.dtype) * self.event.thr
                out.append(y)
            return torch.stack(out, 1)

    class TorchEGRU(nn.Module):
        """A stack of :class:`TorchEGRULayer` with an optional per-step nn.Linear readout.

        forward(x (B, T, m)) returns the readout logits (B, T, n_out), or the last
        layer's events (B, T, n) without a readout.
        """

        def __init__(self, model):
            super().__init__()
            dtype = torch.float64 if model.dtype == np.float64 else torch.float32
            self.layers = nn.ModuleList([TorchEGRULayer(l, dtype) for l in model.layers])
            self.readout = None
            if model.readout_weight is not None:
                self.readout = nn.Linear(model.layers[-1].n_units, model.n_out).to(dtype)
                with torch.no_grad():
                    self.readout.weight.copy_(torch.from_numpy(model.readout_weight))
                    self.readout.bias.copy_(torch.from_numpy(model.readout_bias))

        def forward(self, x):
            h = x
            for layer in self.layers:
                h = layer(h)
            if self.readout is None:
                return h
            return torch.stack([self.readout(h[:, t]) for t in range(h.shape[1])], 1)

    return EventOutput, TorchEGRULayer, TorchEGRU


def torch_egru(model):
    """A torch ``nn.Module`` computing ``model`` exactly as SPEC §1 (threshold reset).

    Refused for models with an embedding, reset "output" or delays (not needed
    for the cross-check). The returned module's class has ``EventOutput`` as
    attribute ``event_output_class`` for ``TorchModel.add_activation_module``.
    """
    if model.embedding is not None:
        raise EventsimError("torch_egru does not build embeddings; use a model without one")
    if model.reset != "threshold" or any(model.ff_delays) or any(model.rec_delays):
        raise EventsimError("torch_egru builds threshold-reset models without delays only")
    EventOutput, _, TorchEGRU = _module_classes()
    net = TorchEGRU(model)
    net.event_output_class = EventOutput
    return net


_ERR = re.compile(r"Error running workload metric '(\w+)': (.*)")


def measure(net, x, activation_modules=(), batch_size=None) -> dict:
    """Run NeuroBench's SynapticOperations and ActivationSparsity on ``net`` with inputs ``x``.

    x: (B, T, m) tensor (or numpy array), fed as DataLoader batches of ``batch_size``
    samples (default: the whole of ``x`` as one batch).
    activation_modules: module classes to register as activations (e.g. EventOutput).
    Returns ``{"effective_macs", "effective_acs", "dense", "activation_sparsity",
    "errors"}``: per-sample figures as NeuroBench reports them, and ``errors``
    a dict metric -> the error NeuroBench printed (its figure is then ``None``
    rather than NeuroBench's ``0.0``); ``reported_synops``: what NeuroBench itself
    returned for SynapticOperations (MACs + ACs per sample, ``0.0`` after a failure),
    errors or not.
    """
    torch = _torch()
    try:
        from neurobench.benchmarks import Benchmark
        from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
        from neurobench.models import TorchModel
    except ImportError:
        raise EventsimError("the NeuroBench cross-check needs neurobench: "
                            "pip install 'eventsim[neurobench]'") from None
    from torch.utils.data import DataLoader, TensorDataset

    x = torch.as_tensor(x)
    model = TorchModel(net)
    for cls in activation_modules:
        model.add_activation_module(cls)
    loader = DataLoader(TensorDataset(x, torch.zeros(x.shape[0])), batch_size=batch_size or x.shape[0])
    bench = Benchmark(model, loader, [], [], [[], [SynapticOperations, ActivationSparsity]])
    out, err = io.StringIO(), io.StringIO()
    with torch.no_grad(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        res = bench.run(quiet=False)
    errors = {m.group(1): m.group(2) for m in _ERR.finditer(out.getvalue())}
    syn = res.get("SynapticOperations")
    row = {"effective_macs": None, "effective_acs": None, "dense": None,
           "activation_sparsity": None, "errors": errors,
           "reported_synops": (float(syn["Effective_MACs"] + syn["Effective_ACs"]) if isinstance(syn, dict)
                               else float(syn or 0.0))}
    if "SynapticOperations" not in errors and isinstance(syn, dict):
        row.update(effective_macs=float(syn["Effective_MACs"]), effective_acs=float(syn["Effective_ACs"]),
                   dense=float(syn["Dense"]))
    if "ActivationSparsity" not in errors:
        row["activation_sparsity"] = float(res["ActivationSparsity"])
    n_hooks = len(model.activation_layers())
    row["activation_layers_hooked"] = n_hooks
    return row


def eventsim_figures(model, x) -> dict:
    """eventsim's per-sample figures for ``model`` on ``x`` (B, T, m), event engine.

    ``effective``/``dense``: total synaptic MACs per sample (layers + readout);
    ``activity_sparsity``: pooled over layers, 1 − Σ events / Σ n·T·B (what
    NeuroBench's ActivationSparsity pools); ``y``: the last layer's events.
    """
    from ..egru.simulate import simulate

    res = simulate(model, np.asarray(x), engine="event", record=("y",))
    d = res.counts.to_dict()
    B = d["samples"]
    return {"effective": d["total"]["macs"]["effective"] / B, "dense": d["total"]["macs"]["dense"] / B,
            "activity_sparsity": d["total"]["activity_sparsity"], "y": res.y[-1],
            "elementwise_clocked": d["total"]["elementwise"]["clocked"] / B}
