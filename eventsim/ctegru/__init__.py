"""The continuous-time EGRU (SPEC §6: the seed paper's asynchronous formulation, as the
authors' library eventax simulates it), on a continuous-time event engine.

- :mod:`.model`: parameters, validation, the ``.npz`` format (``meta`` ``"kind":
  "ctegru"``), :func:`random_ctegru`;
- :mod:`.inputs`: :class:`SpikeStream`, input events with real-valued times;
- :mod:`.reference`: the naive reference (the whole network as one ODE system, fixed-step
  RK4 with event detection by bisection): the oracle the engine is held to;
- :mod:`.engine`: the Numba event engine (private kernels; the queue is
  :mod:`eventsim.engine.pqueue`);
- :mod:`.counts`: :class:`CTCounts`, the SPEC §6 figures;
- :mod:`.simulate`: :func:`simulate_ctegru`;
- :mod:`.eventax`: :func:`from_eventax` (an eventax EGRU network's parameters) and
  :func:`run_eventax` (the same network run by eventax, for the cross-check).
"""
from .model import (CTEGRULayer, CTEGRUModel, load_ctegru, random_ctegru, save_ctegru,  # noqa: F401
                    validate_ctegru)
from .inputs import SpikeStream, poisson_stream  # noqa: F401
from .counts import CTCounts  # noqa: F401
from .simulate import CTSimResult, simulate_ctegru  # noqa: F401

__all__ = ["CTEGRULayer", "CTEGRUModel", "load_ctegru", "random_ctegru", "save_ctegru",
           "validate_ctegru", "SpikeStream", "poisson_stream", "CTCounts", "CTSimResult",
           "simulate_ctegru", "from_eventax", "run_eventax"]


def __getattr__(name):  # the eventax bridge imports jax: only on use
    if name in ("from_eventax", "run_eventax", "to_eventax"):
        from . import eventax
        return getattr(eventax, name)
    raise AttributeError(f"module 'eventsim.ctegru' has no attribute {name!r}")
