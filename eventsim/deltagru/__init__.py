"""The DeltaGRU unit model (SPEC §5: delta networks), on the shared event engine.

- :mod:`.model`: parameters, validation, the ``.npz`` file format (``meta``
  ``"kind": "deltagru"``), :func:`random_deltagru` and :func:`from_gru` (a trained GRU
  with chosen delta thresholds; exact at Θ = 0);
- :mod:`.reference`: the dense numpy reference (the oracle the engine is held to);
- :mod:`.engine`: the Numba kernel and the model's layout for it (private);
- :mod:`.counts`: :class:`DeltaCounts`, the EGRU's counts with sources replaced by sent
  deltas, plus ``input_events`` and ``delta_checks``;
- :mod:`.simulate`: :func:`simulate_deltagru`, which runs either engine.
"""
from .model import (DeltaGRULayer, DeltaGRUModel, from_gru, load_any_model, load_deltagru,  # noqa: F401
                    random_deltagru, save_deltagru, validate_deltagru)
from .counts import DeltaCounts  # noqa: F401
from .simulate import DeltaSimResult, LayerState, compile_deltagru, simulate_deltagru  # noqa: F401

__all__ = ["DeltaGRULayer", "DeltaGRUModel", "from_gru", "load_any_model", "load_deltagru",
           "random_deltagru", "save_deltagru", "validate_deltagru", "DeltaCounts", "DeltaSimResult",
           "LayerState", "compile_deltagru", "simulate_deltagru"]
