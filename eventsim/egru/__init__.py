"""The EGRU unit model (SPEC §1–§4), on the shared event engine (:mod:`eventsim.engine`).

- :mod:`.model`: parameters, validation, the ``.npz`` file format, random initialisation;
- :mod:`.reference`: the dense numpy reference (the oracle the engine is held to);
- :mod:`.engine`: the Numba kernel and the model's layout for it (private);
- :mod:`.counts`: the exact operation counts and the dense GRU/LSTM baselines;
- :mod:`.simulate`: :func:`simulate`, which runs either engine and returns outputs and counts.
"""
from .model import EGRULayer, Model, load_model, random_model, save_model, validate_model  # noqa: F401
from .counts import Counts  # noqa: F401
from .simulate import SimResult, compile_model, simulate  # noqa: F401
