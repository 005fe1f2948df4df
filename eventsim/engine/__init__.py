"""The Numba event engine.

- :mod:`eventsim.engine.core`: what every unit model shares — weight matrices
  as fan-out rows (CSR, contiguous per source, absent synapses never stored),
  the packing of projections into flat arrays (:class:`Projections`), and the
  row walks that accumulate ``value · w``, count the MACs they perform and mark
  the units they reach.
- :mod:`eventsim.engine.queue`: the event queue, a calendar queue of per-step
  buckets per projection (:class:`EventQueue`, :func:`queue_push`,
  :func:`queue_drain`); its docstring gives the delivery order and the step
  order of a run.
- :mod:`eventsim.egru.engine`, :mod:`eventsim.lif.engine`: the unit models (their
  state, their step update and event rule, their run loop) on this core.
"""
from .core import Projection, Projections, build_projection, pack_projections  # noqa: F401
from .queue import EventQueue, queue_drain, queue_push  # noqa: F401
