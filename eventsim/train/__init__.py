"""Training of EGRU networks and their dense GRU/LSTM baselines (numpy BPTT).

- :mod:`.cells`: EGRU/GRU/LSTM/DeltaGRU layers, forward with cache and hand-written backward;
- :mod:`.network`: embedding + layer stack + readout, parameters, saving;
- :mod:`.losses`: classification (last step / all steps) and language-model losses;
- :mod:`.optim`: Adam, clipping, LR schedules; :mod:`.pruning`: magnitude pruning;
- :mod:`.regulariser`: the activity regulariser (documentation and helpers);
- :mod:`.backward_counts`: the SPEC §2 backward-pass counts;
- :mod:`.checkpoint`, :mod:`.trainer`: checkpoints, resume, the training loop.

See docs/training.md.
"""
from .network import (NetSpec, init_params, load_weights, params_from_model, save_weights,  # noqa: F401
                      to_deltagru, to_model)
from .trainer import TrainConfig, TrainResult, evaluate, train  # noqa: F401

__all__ = ["NetSpec", "TrainConfig", "TrainResult", "init_params", "train", "evaluate", "to_model",
           "params_from_model", "save_weights", "load_weights", "to_deltagru"]
