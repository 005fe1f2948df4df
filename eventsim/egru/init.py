"""One home for the EGRU's defaults and its threshold initialisation.

``random_model``, the trainer (:mod:`eventsim.train`), the scenario schema
(:mod:`eventsim.scenario`) and the study all read their defaults from here, so
that a change of default is made once.

Thresholds start from a Beta distribution with mean ``thr_mean`` = mu and
concentration k: Beta(mu*k, (1-mu)*k), as EvNN draws its initial thresholds
from a Beta distribution too. The pseudo-derivative's dampening gamma and
support s_w, and the reset mode, are defined in SPEC §1 and docs/training.md.
"""
from __future__ import annotations

import numpy as np

THR_MEAN = 0.3            # mean of the initial thresholds' Beta distribution
THR_CONCENTRATION = 10.0  # its concentration k
DAMPENING = 0.7           # gamma of the pseudo-derivative
SUPPORT = 1.0             # s_w of the pseudo-derivative
RESET = "threshold"       # s_t = c_t - o_t * thr (EvNN); "output": c_t gets -y_{t-1}
RESET_MODES = ("threshold", "output")


def draw_thresholds(rng: np.random.Generator, n: int, thr_mean: float = THR_MEAN,
                    thr_concentration: float = THR_CONCENTRATION) -> np.ndarray:
    """``n`` initial thresholds ~ Beta(mu*k, (1-mu)*k), mu = ``thr_mean``, k = ``thr_concentration``."""
    a, b = thr_mean * thr_concentration, (1.0 - thr_mean) * thr_concentration
    return rng.beta(a, b, size=n)
