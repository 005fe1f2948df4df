"""eventsim: event-driven simulation of activity-sparse recurrent networks (EGRU).

The small public API:

- :func:`random_model`, :func:`load_model`, :func:`save_model` (model format of SPEC §4);
- :func:`simulate` runs a model on inputs with the event engine or the dense reference
  and returns outputs, final state and exact operation counts;
- the DeltaGRU (SPEC §5): :func:`random_deltagru`, :func:`load_deltagru`,
  :func:`simulate_deltagru`, :func:`from_gru`; :func:`load_any_model` reads either kind;
- the continuous-time EGRU (SPEC §6): :func:`random_ctegru`, :func:`load_ctegru`,
  :func:`save_ctegru`, :func:`simulate_ctegru`, :class:`SpikeStream` (input events with
  real-valued times), :func:`from_eventax` (an eventax EGRU network's parameters).
"""
__version__ = "0.1.0"

from .errors import EventsimError  # noqa: E402
from .egru.model import EGRULayer, Model, load_model, random_model, save_model  # noqa: E402
from .inputs import EventStream  # noqa: E402
from .egru.simulate import SimResult, compile_model, simulate  # noqa: E402  (numba is imported only when the engine runs)

_DELTAGRU = ("random_deltagru", "load_deltagru", "save_deltagru", "load_any_model", "simulate_deltagru",
             "from_gru", "DeltaGRUModel")
_CTEGRU = ("random_ctegru", "load_ctegru", "save_ctegru", "simulate_ctegru", "SpikeStream", "CTEGRUModel",
           "from_eventax")


__all__ = ["EventsimError", "EGRULayer", "Model", "load_model", "save_model", "random_model",
           "simulate", "compile_model", "SimResult", "EventStream", "import_checkpoint", *_DELTAGRU,
           *_CTEGRU]


def __getattr__(name):  # lazy: optional parts load on first use
    if name == "import_checkpoint":
        from .interop import import_checkpoint
        return import_checkpoint
    if name in _DELTAGRU:
        from . import deltagru
        return getattr(deltagru, name)
    if name in _CTEGRU:
        from . import ctegru
        return getattr(ctegru, name)
    raise AttributeError(f"module 'eventsim' has no attribute {name!r}")
