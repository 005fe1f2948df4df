"""The training loop: mini-batch BPTT with Adam, checkpoints and resume.

Determinism: one seed gives the initial parameters (a generator seeded with
``[seed, 7]``) and one training generator (``[seed, 1]``) that draws the batch
order, then per batch the threshold-jitter offsets and dropout masks, in this order
every epoch. Its state is saved in
every checkpoint, so a run interrupted after epoch k and resumed computes the
same epochs k+1.. as the uninterrupted run, bit for bit (same machine, same
BLAS threads).

Order of work in one epoch: (1) prune to the epoch's density (pruning
schedule); (2) shuffle; (3) per batch: forward, loss, backward, backward counts,
gradient clipping, Adam step (weight decay, threshold clamp, pruning mask);
(4) validate; (5) append to the history and write the checkpoint.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Callable, Optional

import numpy as np

from ..errors import EventsimError
from ..egru.init import THR_MEAN
from . import losses
from .backward_counts import BackwardCounter
from .checkpoint import KEEP_POLICIES, prune_checkpoints, resumable_checkpoint, save_checkpoint
from .network import NetSpec, init_params, loss_and_grads, predict_batches
from .optim import SCHEDULES, Adam, clip_grads, lr_at
from .pruning import density_at, prune, weight_density

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Training settings (all have defaults; see docs/training.md).

    epochs, batch_size, lr: the usual. lr_schedule: "constant" | "cosine" | "step".
    warmup_steps: linear LR warm-up. weight_decay: decoupled (AdamW), matrices only.
    grad_clip: max global gradient L2 norm (0 = off). dropout: rate on the outputs a
    layer passes up. activity_reg: λ of the event-rate penalty (EGRU). floor_reg,
    floor_rate: λ_f and r_min of the rate floor, a penalty on units that fire in less
    than a fraction r_min of a batch's entries (EGRU; 0 = off; :mod:`.regulariser`).
    thr_jitter: σ of the threshold jitter (EGRU; 0 = off): in training, each sample's
    unit fires when c > ϑ + σ·ε, ε ~ N(0, 1) drawn per sequence; evaluation uses ϑ.
    floor_unjittered: the rate floor counts each unit's events at its threshold ϑ
    (c > ϑ, what evaluation and the event engine see) rather than at the jittered one
    (only matters with thr_jitter).
    delta_penalty: λ of the DeltaGRU's change penalty λ·(1/B)·Σ|h_t − h_{t−1}| (0 = off;
    :func:`eventsim.train.regulariser.change_penalty`).
    loss: "last" | "all" | "trace" | "lm". metric: "accuracy" | "bpc" | "perplexity".
    max_batches_per_epoch: cap (None = all). weight_density: pruning target (1 = off),
    reached between ``prune_start`` and ``prune_end`` (fractions of the epochs).
    train_thr: thresholds trainable (clamped to [0, 1]) or frozen. thr_mean: initial
    mean threshold. update_bias: initial update-gate bias of GRU-type layers
    (:func:`eventsim.train.network.init_params`). max_valid_samples: cap on the
    validation set evaluated per epoch. keep_checkpoints: which checkpoints stay,
    "latest_best" (the latest, the one before it and the best by validation metric) or
    "all" (every epoch); it does not change the training, so it is not part of the
    fingerprint a resume checks.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    dropout: float = 0.0
    activity_reg: float = 0.0
    floor_reg: float = 0.0
    floor_rate: float = 0.02
    thr_jitter: float = 0.0
    floor_unjittered: bool = False
    delta_penalty: float = 0.0
    seed: int = 0
    loss: str = "last"
    metric: str = "accuracy"
    max_batches_per_epoch: Optional[int] = None
    weight_density: float = 1.0
    prune_start: float = 0.25
    prune_end: float = 0.75
    train_thr: bool = True
    thr_mean: float = THR_MEAN
    update_bias: float = 0.0
    max_valid_samples: Optional[int] = None
    eval_batch_size: int = 256
    keep_checkpoints: str = "latest_best"

    def validate(self) -> None:
        def bad(name, why):
            raise EventsimError(f"training setting {name} = {getattr(self, name)!r} {why}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), (int, np.integer)) or getattr(self, name) < 1:
                bad(name, "must be a positive integer")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            bad("lr", "must be a positive number")
        if self.lr_schedule not in SCHEDULES:
            bad("lr_schedule", f"is unknown; use one of {list(SCHEDULES)}")
        if self.loss not in losses.LOSSES:
            bad("loss", f"is unknown; use one of {list(losses.LOSSES)}")
        if self.metric not in losses.METRICS:
            bad("metric", f"is unknown; use one of {list(losses.METRICS)}")
        if (self.loss == "lm") != (self.metric != "accuracy"):
            raise EventsimError(f"loss {self.loss!r} does not fit metric {self.metric!r}: use loss 'lm' "
                                f"with bpc/perplexity and {'/'.join(repr(n) for n in losses.LOSSES if n != 'lm')} "
                                f"with accuracy")
        if not 0.0 <= self.dropout < 1.0:
            bad("dropout", "must be in [0, 1)")
        for name in ("weight_decay", "grad_clip", "activity_reg", "floor_reg", "thr_jitter", "warmup_steps",
                     "delta_penalty"):
            if not getattr(self, name) >= 0:
                bad(name, "must be >= 0")
        if not 0.0 < self.floor_rate < 1.0:
            bad("floor_rate", "must be in (0, 1)")
        if not 0.0 < self.weight_density <= 1.0:
            bad("weight_density", "must be in (0, 1]")
        if not 0.0 <= self.prune_start <= self.prune_end <= 1.0:
            bad("prune_start", f"and prune_end = {self.prune_end} must satisfy 0 <= start <= end <= 1")
        if not 0.0 < self.thr_mean < 1.0:
            bad("thr_mean", "must be in (0, 1)")
        if not math.isfinite(self.update_bias):
            bad("update_bias", "must be a finite number")
        if self.max_batches_per_epoch is not None and self.max_batches_per_epoch < 1:
            bad("max_batches_per_epoch", "must be a positive integer or absent")
        if self.keep_checkpoints not in KEEP_POLICIES:
            bad("keep_checkpoints", f"is unknown; use one of {list(KEEP_POLICIES)}")

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise EventsimError(f"unknown training setting(s) {unknown}; known are {sorted(names)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg


@dataclass
class TrainResult:
    """params: final parameters; history: one dict per epoch (docs/training.md);
    masks: pruning masks; resumed_from: epochs found in the checkpoint (0 = fresh)."""

    params: dict
    history: list
    masks: dict = field(default_factory=dict)
    resumed_from: int = 0


def _as_input(spec: NetSpec, x, dtype):
    return np.asarray(x, dtype=np.int64) if spec.tokens else np.asarray(x, dtype=dtype)


def evaluate(spec: NetSpec, params: dict, x, y, loss: str, metric: str, batch_size: int = 256) -> dict:
    """Metric of the network (no dropout) on (x, y): ``{"metric", "loss", "events",
    "unit_steps", "activity_sparsity", "unit_events", "predictions", "sequence_nll"}``
    (loss: mean cross-entropy of the last step for classification, of all tokens for LM;
    unit_events: for an EGRU, per layer the (n,) int64 events of each unit over all samples
    and steps (for a DeltaGRU: its state deltas sent, as ``events``), else None; predictions: last-step argmax for classification, else None;
    sequence_nll: for LM the (n,) summed cross-entropy of each sequence, else None)."""
    dtype = params["readout.weight"].dtype
    x = _as_input(spec, x, dtype)
    nll = 0.0
    count = correct = events = unit_steps = 0
    preds, seq_nll = [], []
    sparse = spec.kind in ("egru", "deltagru")
    fired = "O" if spec.kind == "egru" else "sent_h"   # an EGRU's events, a DeltaGRU's state deltas
    unit_events = [np.zeros(n, np.int64) for n in spec.units] if sparse else None
    for sl, ps, logits in predict_batches(spec, params, x, loss, batch_size):
        if loss == "lm":   # per-sequence sums; the metric is their total
            seq = losses.sequence_nll(logits, y[sl])
            seq_nll.append(seq)
            s, c = float(seq.sum()), int(y[sl].size)
        else:
            _, _, s, c = losses.cross_entropy(logits, y[sl])
            p = logits.argmax(-1)
            preds.append(p)
            correct += int((p == y[sl]).sum())
        nll += s
        count += c
        if sparse:
            for k, ca in enumerate(ps.caches):
                unit_events[k] += np.count_nonzero(ca[fired], axis=(0, 1))
            unit_steps += sum(ca[fired].size for ca in ps.caches)
    if unit_events is not None:
        events = int(sum(int(u.sum()) for u in unit_events))
    n = x.shape[0]
    return {"metric": losses.metric_value(metric, nll, count, correct, n), "loss": nll / count,
            "events": events if sparse else None,
            "unit_steps": unit_steps if sparse else None,
            "activity_sparsity": (1.0 - events / unit_steps) if sparse else None,
            "unit_events": unit_events,
            "predictions": np.concatenate(preds) if preds else None,
            "sequence_nll": np.concatenate(seq_nll) if seq_nll else None}


# TrainConfig fields added after checkpoints were first written, with the value that
# reproduces the training of before: left out of the fingerprint at that value, so that
# an older checkpoint still resumes (it trained exactly so)
LATER_FIELDS = {"update_bias": 0.0, "floor_reg": 0.0, "floor_rate": 0.02, "thr_jitter": 0.0,
                "delta_penalty": 0.0, "floor_unjittered": False}
#: TrainConfig fields that do not change the training (never part of a fingerprint)
NOT_TRAINING = ("keep_checkpoints",)


def _comparable(cfg: dict) -> dict:
    """A training config (as a dict) without the :data:`LATER_FIELDS` that hold their
    earlier value, and without ``floor_rate`` when there is no floor (it has no effect)."""
    out = {k: v for k, v in cfg.items()
           if not (k in LATER_FIELDS and v == LATER_FIELDS[k]) and k not in NOT_TRAINING}
    if not out.get("floor_reg"):
        out.pop("floor_rate", None)
    return out


def fingerprint(spec: NetSpec, config: TrainConfig) -> dict:
    """What a checkpoint must agree with to be resumed."""
    return json.loads(json.dumps({"spec": spec.to_dict(), "config": _comparable(asdict(config))}))


def _same_run(saved: dict, fp: dict) -> bool:
    """Does a checkpoint's fingerprint equal ``fp``, reading a field it lacks or holds at
    its :data:`LATER_FIELDS` value as absent (checkpoints of earlier versions)?"""
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
        return False
    return dict(saved, config=_comparable(saved["config"])) == fp


def _differences(saved, fp: dict) -> str:
    """The settings in which a checkpoint's fingerprint differs from ``fp``, e.g.
    "config.lr 0.01 -> 0.02, spec.units [16] -> [8]" (at most 4)."""
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
        return "no readable settings"
    saved = dict(saved, config=_comparable(saved["config"]))
    diffs = []
    for part in ("spec", "config"):
        a, b = saved.get(part) or {}, fp.get(part) or {}
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                diffs.append(f"{part}.{k} {a.get(k, 'absent')!r} -> {b.get(k, 'absent')!r}")
    return ", ".join(diffs[:4]) + (", ..." if len(diffs) > 4 else "")


def check_resume(spec: NetSpec, config: TrainConfig, ckpt_dir, desc: str = "") -> int:
    """The epochs a :func:`train` with ``ckpt_dir`` would resume from (0: none readable),
    reading without a warning and writing nothing; raises the error :func:`train` would
    raise when the checkpoint was written with other settings (a study calls it for
    every model before it writes anything)."""
    config.validate()
    path, ck = resumable_checkpoint(ckpt_dir, warn=False) if ckpt_dir else (None, None)
    if path is None:
        return 0
    _check_same(ck["state"], path, fingerprint(spec, config), desc)
    return int(ck["state"]["epoch"])


def _check_same(state: dict, path, fp: dict, desc: str = "") -> None:
    if not _same_run(state.get("fingerprint"), fp):
        who = f"model {desc!r}: " if desc else ""
        raise EventsimError(f"{who}checkpoint {os.fspath(path)!r} was written with other model or training "
                            f"settings ({_differences(state.get('fingerprint'), fp)}); resume only the same "
                            f"run, or start over with --fresh (or another --out)")


@dataclass
class _Run:
    """What a checkpoint saves and a resume restores: parameters, optimiser, pruning
    masks, the training generator, the history so far and the epochs already done."""

    params: dict
    adam: Adam
    masks: dict
    rng: np.random.Generator
    history: list
    start: int = 0


@dataclass
class _Plan:
    """The fixed inputs of every epoch: the training data (X, Y), batches per epoch,
    optimiser steps of the whole run, frozen parameter names and the validation data."""

    X: np.ndarray
    Y: np.ndarray
    n_batches: int
    total_steps: int
    frozen: tuple
    vx: object
    vy: np.ndarray


def train(spec: NetSpec, train_split, valid_split, config: TrainConfig, ckpt_dir=None, resume: bool = True,
          progress: bool = True, desc: str = "", on_epoch_end: Callable = None,
          params: dict = None) -> TrainResult:
    """Train ``spec`` on ``train_split`` (objects with ``x``, ``y``), validating on
    ``valid_split`` after every epoch; checkpoint to ``ckpt_dir`` and resume from it.

    ``on_epoch_end(epoch, history)`` is called after each checkpoint (tests use it
    to interrupt a run). ``params`` overrides the initial parameters.
    """
    from tqdm import tqdm

    config.validate()
    fp = fingerprint(spec, config)
    dtype = np.float32
    run = _fresh_run(spec, config, params, dtype)
    path, ck = resumable_checkpoint(ckpt_dir) if (ckpt_dir and resume) else (None, None)
    if path:
        _restore(run, path, ck, fp, desc)
        log.info("resuming %s from %s (epoch %d of %d)", desc or spec.kind, path, run.start, config.epochs)
    plan = _plan(spec, config, run.params, train_split, valid_split, dtype)
    for epoch in range(run.start, config.epochs):
        t0 = time.perf_counter()
        _prune_for_epoch(run, config, epoch)
        agg, counter = _train_epoch(spec, config, run, plan, epoch, desc, progress)
        val = evaluate(spec, run.params, plan.vx, plan.vy, config.loss, config.metric, config.eval_batch_size)
        entry = _history_entry(config, run, plan, epoch, agg, counter, val, t0)
        run.history.append(entry)
        if progress:
            tqdm.write(_epoch_message(config, desc, epoch, entry, val), file=sys.stderr)
        if ckpt_dir:
            save_checkpoint(ckpt_dir, epoch + 1, run.params, run.adam, run.masks, run.rng.bit_generator.state,
                            run.history, fp)
            # only once the new file is whole: the policy's older files go
            prune_checkpoints(ckpt_dir, epoch + 1, run.history, config.metric, config.keep_checkpoints)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, run.history)
    return TrainResult(params=run.params, history=run.history, masks=run.masks, resumed_from=run.start)


def _fresh_run(spec: NetSpec, config: TrainConfig, params: Optional[dict], dtype) -> _Run:
    """The state before the first epoch: initial parameters (from ``config.seed``, or
    ``params`` cast to ``dtype``), a fresh Adam, no masks and the training generator."""
    params = init_params(spec, config.seed, config.thr_mean, update_bias=config.update_bias) \
        if params is None else \
        {k: np.array(v, dtype=dtype) for k, v in params.items()}
    adam = Adam.for_params(params)
    return _Run(params=params, adam=adam, masks={}, rng=np.random.default_rng([int(config.seed), 1]),
                history=[])


def _restore(run: _Run, path, ck: dict, fp: dict, desc: str = "") -> None:
    """Load checkpoint ``ck`` (read from ``path``) into ``run``, refusing one of another run."""
    st = ck["state"]
    _check_same(st, path, fp, desc)
    run.params = ck["params"]
    run.adam = Adam(m=ck["adam_m"], v=ck["adam_v"], step=int(st["adam_step"]))
    run.masks = ck["masks"]
    run.rng.bit_generator.state = st["rng"]
    run.history = st["history"]
    run.start = int(st["epoch"])


def _plan(spec: NetSpec, config: TrainConfig, params: dict, train_split, valid_split, dtype) -> _Plan:
    X = _as_input(spec, train_split.x, dtype)
    Yt = np.asarray(train_split.y)
    n_batches = math.ceil(X.shape[0] / config.batch_size)
    if config.max_batches_per_epoch:
        n_batches = min(n_batches, config.max_batches_per_epoch)
    frozen = () if config.train_thr else tuple(k for k in params if k.endswith(".thr"))
    vx, vy = valid_split.x, np.asarray(valid_split.y)
    if config.max_valid_samples:
        vx, vy = vx[:config.max_valid_samples], vy[:config.max_valid_samples]
    return _Plan(X=X, Y=Yt, n_batches=n_batches, total_steps=n_batches * config.epochs, frozen=frozen,
                 vx=vx, vy=vy)


def _prune_for_epoch(run: _Run, config: TrainConfig, epoch: int) -> None:
    """Prune to the epoch's density and zero Adam's moments of the pruned weights."""
    density = density_at(epoch, config.epochs, config.weight_density, config.prune_start, config.prune_end)
    prune(run.params, run.masks, density)
    for k, mk in run.masks.items():
        run.adam.m[k] *= mk
        run.adam.v[k] *= mk


def _train_epoch(spec: NetSpec, config: TrainConfig, run: _Run, plan: _Plan, epoch: int, desc: str,
                 progress: bool):
    """One pass over the shuffled training data: ``(agg, counter)``, the summed batch
    statistics and the :class:`BackwardCounter` (EGRU, else None)."""
    from tqdm import tqdm

    perm = run.rng.permutation(plan.X.shape[0])
    counter = BackwardCounter(spec) if spec.kind == "egru" else None
    agg = {"loss": 0.0, "nll": 0.0, "count": 0, "correct": 0, "samples": 0, "events": 0, "unit_steps": 0}
    bar = tqdm(total=plan.n_batches, desc=f"{desc} epoch {epoch + 1}/{config.epochs}".strip(), file=sys.stderr,
               disable=not progress, leave=False, dynamic_ncols=True)
    for b in range(plan.n_batches):
        idx = perm[b * config.batch_size:(b + 1) * config.batch_size]
        lr = lr_at(config.lr, config.lr_schedule, run.adam.step, plan.total_steps, config.warmup_steps)
        value, grads, ps, st = _batch_grads(spec, config, run, plan, idx)
        if not math.isfinite(value):
            raise EventsimError(f"training of {desc or spec.kind} diverged (loss {value}) at epoch "
                                f"{epoch + 1}, batch {b + 1}; lower lr or set grad_clip")
        if counter is not None:
            counter.add_batch(run.params, ps, grads)
        clip_grads(grads, config.grad_clip)
        run.adam.update(run.params, grads, lr, config.weight_decay, plan.frozen, run.masks)
        _accumulate(agg, value, len(idx), st)
        bar.set_postfix(_postfix(config.metric, agg), refresh=False)
        bar.update(1)
    bar.close()
    return agg, counter


def _batch_grads(spec: NetSpec, config: TrainConfig, run: _Run, plan: _Plan, idx):
    """Forward, loss and backward on the training samples ``idx`` (dropout and threshold
    jitter drawn from the training generator): ``(loss, grads, pass, statistics)``."""
    egru = spec.kind == "egru"
    return loss_and_grads(spec, run.params, plan.X[idx], plan.Y[idx], config.loss, config.dropout, run.rng,
                          config.activity_reg if egru else 0.0, config.floor_reg if egru else 0.0,
                          config.floor_rate, config.thr_jitter,
                          config.delta_penalty if spec.kind == "deltagru" else 0.0,
                          floor_unjittered=config.floor_unjittered)


def _accumulate(agg: dict, value: float, n: int, st: dict) -> None:
    """Add one batch of ``n`` samples (mean loss ``value``, statistics ``st``) to ``agg``."""
    agg["loss"] += value * n
    agg["nll"] += st["nll_sum"]
    agg["count"] += st["count"]
    agg["correct"] += st.get("correct", 0)
    agg["samples"] += n
    agg["events"] += st.get("events", 0)
    agg["unit_steps"] += st.get("unit_steps", 0)


def _postfix(metric: str, agg: dict) -> dict:
    """The progress bar's running loss, metric and (EGRU) activity sparsity."""
    post = {"loss": f"{agg['loss'] / agg['samples']:.4f}",
            metric[:3]: f"{_train_metric(metric, agg):.4f}"}
    if agg["unit_steps"]:
        post["sparsity"] = f"{1 - agg['events'] / agg['unit_steps']:.3f}"
    return post


def _history_entry(config: TrainConfig, run: _Run, plan: _Plan, epoch: int, agg: dict, counter, val: dict,
                   t0: float) -> dict:
    """The epoch's entry of the history (docs/training.md)."""
    return {"epoch": epoch + 1,
            "train_loss": agg["loss"] / agg["samples"],
            "train_metric": _train_metric(config.metric, agg),
            "val_metric": val["metric"],
            "val_loss": val["loss"],
            "activity_sparsity": (1.0 - agg["events"] / agg["unit_steps"]) if agg["unit_steps"] else None,
            "val_activity_sparsity": val["activity_sparsity"],
            "weight_density": weight_density(run.params),
            "lr": lr_at(config.lr, config.lr_schedule, max(run.adam.step - 1, 0), plan.total_steps,
                        config.warmup_steps),
            "backward": counter.to_dict() if counter is not None else None,
            "seconds": time.perf_counter() - t0}


def _epoch_message(config: TrainConfig, desc: str, epoch: int, entry: dict, val: dict) -> str:
    """The line written after each epoch when ``progress`` is on."""
    msg = (f"{desc} epoch {epoch + 1}/{config.epochs}: loss {entry['train_loss']:.4f}, "
           f"val {config.metric} {val['metric']:.4f}")
    if entry["activity_sparsity"] is not None:
        msg += f", activity sparsity {entry['activity_sparsity']:.3f}"
        if entry["backward"] is not None:
            msg += f", backward sparsity {entry['backward']['total']['backward_sparsity']:.3f}"
    return msg.strip()


def _train_metric(metric: str, agg: dict) -> float:
    if not agg["samples"]:
        return float("nan")
    return losses.metric_value(metric, agg["nll"], agg["count"], agg["correct"], agg["samples"])
