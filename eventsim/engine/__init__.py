"""The Numba event engine.

- :mod:`eventsim.engine.core`: what every unit model shares — weight matrices
  as fan-out rows (CSR, contiguous per source, absent synapses never stored),
  the packing of projections into flat arrays, the row walk that accumulates
  ``value · w`` and counts the MACs it performs, and the per-step bucket rings
  that form the event queue.
- :mod:`eventsim.egru.engine`: the EGRU unit model (its state, its step
  update, its event rule) and the kernel that runs a batch.
"""
from .core import Projection, build_projection, pack_projections  # noqa: F401
