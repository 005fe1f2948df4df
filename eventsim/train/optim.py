"""Adam with decoupled weight decay, global gradient-norm clipping, LR schedules.

Weight decay (AdamW style: ``w ← w − lr·wd·w``) applies to weight matrices only
(keys ending in ``kernel``, ``recurrent_kernel`` or ``.weight``), never to biases
or thresholds. EGRU thresholds are clamped to [0, 1] after every step (as EvNN)
when trainable, and left untouched when frozen. Pruned weights (a mask) are
multiplied back to exactly zero after every step, and their moments are zeroed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCHEDULES = ("constant", "cosine", "step")


def lr_at(base_lr: float, schedule: str, step: int, total_steps: int, warmup: int = 0) -> float:
    """Learning rate at optimiser step ``step`` (0-based) of ``total_steps``.

    constant: base_lr; cosine: base_lr·(0.05 + 0.95·(1 + cos(π·step/total))/2);
    step: base_lr·0.1^(number of thirds of the run completed), i.e. ×0.1 at 2/3.
    A linear warm-up over the first ``warmup`` steps multiplies any of them.
    """
    if schedule == "constant":
        lr = base_lr
    elif schedule == "cosine":
        frac = min(1.0, step / max(1, total_steps))
        lr = base_lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * frac)))
    elif schedule == "step":
        lr = base_lr * (0.1 if step >= (2 * total_steps) // 3 else 1.0)
    else:
        raise ValueError(schedule)
    if warmup and step < warmup:
        lr *= (step + 1) / warmup
    return lr


def is_decayed(key: str) -> bool:
    return key.endswith("kernel") or key.endswith(".weight")


def clip_grads(grads: dict, max_norm: float) -> float:
    """Scale all gradients in place so that their global L2 norm is at most
    ``max_norm`` (no clipping when it is 0 or None); returns the norm before."""
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
    if max_norm and norm > max_norm:
        s = max_norm / (norm + 1e-12)
        for g in grads.values():
            g *= s
    return norm


@dataclass
class Adam:
    """Adam state: first and second moments per parameter and the step count."""

    m: dict
    v: dict
    step: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @classmethod
    def for_params(cls, params: dict) -> "Adam":
        return cls(m={k: np.zeros_like(v) for k, v in params.items()},
                   v={k: np.zeros_like(v) for k, v in params.items()})

    def update(self, params: dict, grads: dict, lr: float, weight_decay: float = 0.0,
               frozen=(), masks: dict = None) -> None:
        """One in-place Adam step on every parameter not in ``frozen``."""
        self.step += 1
        b1, b2 = self.beta1, self.beta2
        c1 = 1.0 - b1 ** self.step
        c2 = 1.0 - b2 ** self.step
        for k, w in params.items():
            if k in frozen or k not in grads:
                continue
            g = grads[k]
            m, v = self.m[k], self.v[k]
            m *= b1; m += (1.0 - b1) * g
            v *= b2; v += (1.0 - b2) * g * g
            upd = (lr / c1) * m / (np.sqrt(v / c2) + self.eps)
            if weight_decay and is_decayed(k):
                upd += lr * weight_decay * w
            w -= upd.astype(w.dtype)
            if k.endswith(".thr"):
                np.clip(w, 0.0, 1.0, out=w)
            if masks and k in masks:
                w *= masks[k]
                m *= masks[k]
                v *= masks[k]
