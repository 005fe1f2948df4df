"""Losses and task metrics.

- ``"last"``: cross-entropy of the readout at the last step against the sample's
  class (sequence classification; the prediction is the last step's argmax);
- ``"all"``: classification from all steps: cross-entropy of the readout averaged
  over the steps, ``mean_t(W·y_t + b)`` (the event engine evaluates the readout at
  every step anyway, so this costs no extra MAC); the prediction is its argmax;
- ``"trace"``: classification from an exponential trace of the readout, read at
  the last step: ``W·tr_T + b`` with ``tr_t = α·tr_{t−1} + (1 − α)·y_t``,
  ``α = TRACE_DECAY = 0.9`` (EvNN's ``use_output_trace`` for sequential MNIST): a
  leaky integrator behind the readout, so a unit that fired a few steps before
  the end still counts; the same readout MACs as "last"/"all" (one per event);
- ``"lm"``: next-token language modelling, mean cross-entropy over all (sample,
  step) positions against the next token; reported as bits per character
  (``bpc = CE / ln 2``) or perplexity (``exp(CE)``).

Each loss function returns ``(loss, dlogits)`` with ``dlogits`` the gradient of
the mean loss w.r.t. the logits it was given, plus what the metric needs.
"""
from __future__ import annotations

import math

import numpy as np

LOSSES = ("last", "all", "trace", "lm")
TRACE_DECAY = 0.9  # α of the "trace" readout (EvNN's value)
METRICS = ("accuracy", "bpc", "perplexity")


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, target: np.ndarray):
    """Mean cross-entropy (nats) over all leading positions and its gradient.

    logits (..., V); target (...) int. Returns ``(loss, dlogits, nll_sum, count)``.
    """
    lp = log_softmax(logits)
    flat = lp.reshape(-1, lp.shape[-1])
    tg = target.reshape(-1)
    nll = -flat[np.arange(tg.size), tg]
    count = tg.size
    p = np.exp(flat)
    p[np.arange(tg.size), tg] -= 1.0
    dlogits = (p / count).reshape(logits.shape).astype(logits.dtype)
    return float(nll.sum() / count), dlogits, float(nll.sum()), count


def sequence_nll(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Summed negative log-likelihood (nats) of each sample: logits (n, T, V), target
    (n, T) int; returns (n,) float64 (a language model's per-sequence score)."""
    lp = log_softmax(np.asarray(logits, np.float64))
    return -np.take_along_axis(lp, np.asarray(target)[..., None], axis=-1)[..., 0].sum(axis=1)


def step_weights(loss: str, T: int) -> np.ndarray:
    """Weights ``w_t`` (T,) with which a classification loss reads the per-step
    readouts: ``logits = Σ_t w_t·(W·y_t) + b``. "last": one-hot at the last step;
    "all": 1/T; "trace": ``(1 − α)·α^(T−1−t)`` (the trace at the last step)."""
    if loss == "last":
        w = np.zeros(T)
        w[-1] = 1.0
    elif loss == "all":
        w = np.full(T, 1.0 / T)
    elif loss == "trace":
        w = (1.0 - TRACE_DECAY) * TRACE_DECAY ** np.arange(T - 1, -1, -1, dtype=np.float64)
    else:
        raise ValueError(f"{loss!r} is not a classification loss")
    return w


def metric_value(metric: str, nll_sum: float, count: int, correct: int = 0, samples: int = 0) -> float:
    """The task metric from summed statistics (accuracy as a fraction in [0, 1])."""
    if metric == "accuracy":
        return correct / samples if samples else float("nan")
    ce = nll_sum / count
    if metric == "bpc":
        return ce / math.log(2.0)
    if metric == "perplexity":
        return math.exp(ce)
    raise ValueError(f"unknown metric {metric!r}")


def higher_is_better(metric: str) -> bool:
    return metric == "accuracy"
