"""The leaky integrate-and-fire unit model (see :mod:`eventsim.lif.model` and ``docs/lif.md``).

- :class:`LIFModel`, :func:`make_lif`, :func:`random_lif_model`, :func:`load_lif`,
  :func:`save_lif`: parameters and the ``.npz`` file format;
- :func:`poisson_stream`: Poisson input spike trains (an :class:`eventsim.inputs.EventStream`);
- :func:`simulate_lif`: the event engine (Numba) or the naive reference, with exact counts.
"""
from .inputs import poisson_stream  # noqa: F401
from .model import (LIFModel, Projection, load_lif, make_lif, projection_from_dense,  # noqa: F401
                    projection_from_synapses, random_lif_model, save_lif, validate_lif)
from .simulate import LIFResult, simulate_lif  # noqa: F401
