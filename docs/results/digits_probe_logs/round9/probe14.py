"""Digits EGRU probe, round 9 (layers): python probe14.py NAME key=value ...
probe13.py of round 8 with its paths moved to /tmp/dp/r9; units may be a list (units=[64,64]).
As probe12.py without its "jit" patch: the threshold jitter is now the product's
TrainConfig field thr_jitter (commit 48c5e6d).
Round 8 adds probe-only switches: rdetach=1 (no gradient through the reset term o*thr),
ls=EPS (label smoothing of the training cross-entropy), and the test accuracy after every
epoch (for checkpoint selection by validation accuracy).
Defaults: the digits scenario's EGRU (128 units, batch 32, lr 0.01 cosine, grad clip 1,
dampening 0.3, support 1, thr_mean 0.5 trained, trace readout, update_bias 1, 120 epochs,
activity_reg 0.2, floor_reg 1.0, floor_rate 0.02, seed 0), trained with the product's own
trainer. Spec keys: units dampening support reset kind; the rest are TrainConfig fields."""
import json, sys, time
import numpy as np
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, evaluate, train

name = sys.argv[1]
kv = {}
for a in sys.argv[2:]:
    k, v = a.split("=")
    try: v = json.loads(v)
    except Exception: pass
    kv[k] = v
IGAIN = float(kv.pop("igain", 1.0))
if IGAIN != 1.0:
    # probe only: the input kernel of layer 0 starts IGAIN times larger (Xavier-uniform x IGAIN)
    import eventsim.train.trainer as T
    _ip = T.init_params
    def _init(*a, **k):
        p = _ip(*a, **k)
        p["layer0.kernel"] = (p["layer0.kernel"] * IGAIN).astype(p["layer0.kernel"].dtype)
        return p
    T.init_params = _init
CEIL = float(kv.pop("ceil", 0.0))
if CEIL:
    # probe only: the activity regulariser becomes a hinge, λ·max(0, rate − CEIL) over the batch:
    # no pressure on the events while the batch's event rate is at or below CEIL
    import eventsim.train.network as NW
    _erp = NW.event_rate_penalty
    def _hinge(caches, lam, smooth=False):
        v, scale, ev, ent = _erp(caches, lam, smooth)
        if not ent or ev / ent <= CEIL:
            return 0.0, 0.0, ev, ent
        return v - lam * CEIL, scale, ev, ent
    NW.event_rate_penalty = _hinge
RDETACH = int(kv.pop("rdetach", 0))
if RDETACH:
    # probe only: the reset s = c - o*thr passes no gradient through o (detached reset)
    import inspect, eventsim.train.cells as CE
    s = inspect.getsource(CE.gru_type_backward)
    a = "dc += ds * (1.0 - thr * h)"; b = "dthr += (ds * (thr * h - o)).sum(0)"
    assert a in s and b in s
    s = s.replace(a, "dc += ds").replace(b, "dthr -= (ds * o).sum(0)")
    ns = {}
    exec(compile(s, "cells_patched", "exec"), CE.__dict__, ns)
    CE.gru_type_backward = ns["gru_type_backward"]
LS = float(kv.pop("ls", 0.0))
if LS:
    # probe only: label smoothing eps on the training loss (uniform mass eps over the classes)
    import eventsim.train.network as NW
    from eventsim.train.losses import log_softmax
    def _ce(logits, target):
        lp = log_softmax(logits)
        V = lp.shape[-1]
        flat = lp.reshape(-1, V); tg = target.reshape(-1); cnt = tg.size
        q = np.full(flat.shape, LS / V); q[np.arange(cnt), tg] += 1.0 - LS
        nll = -flat[np.arange(cnt), tg]
        loss = float(-(q * flat).sum() / cnt)
        d = ((np.exp(flat) - q) / cnt).reshape(logits.shape).astype(logits.dtype)
        return loss, d, float(nll.sum()), cnt
    NW.cross_entropy = _ce
spec_keys = {"units", "dampening", "support", "reset", "kind"}
sk = dict(units=[128], dampening=0.3, kind="egru")
sk.update({k: kv.pop(k) for k in list(kv) if k in spec_keys})
if not isinstance(sk["units"], list): sk["units"] = [sk["units"]]
base = dict(epochs=120, batch_size=32, lr=0.01, lr_schedule="cosine", grad_clip=1.0, seed=0,
            activity_reg=0.2, floor_reg=1.0, floor_rate=0.02, thr_mean=0.5, loss="trace", update_bias=1.0)
if sk["kind"] != "egru":
    sk.pop("dampening")
    base.update(activity_reg=0.0, floor_reg=0.0, loss="last", update_bias=0.0, epochs=40)
base.update(kv)
ds = load_dataset("digits")
spec = NetSpec(n_in=ds.n_in, n_out=ds.n_classes, **sk)
cfg = TrainConfig(metric=ds.metric, **base)
t0 = time.time()
import eventsim.train.trainer as _T
_cur = {}
_ev = _T.evaluate
def _ev_capture(spec_, params_, *a, **k):
    _cur["p"] = params_          # the validation call of each epoch: remember the parameters
    return _ev(spec_, params_, *a, **k)
_T.evaluate = _ev_capture
PER_EPOCH = []
def _cb(e, hist):
    h = dict(hist[-1])
    h["test"] = evaluate(spec, _cur["p"], ds.test.x, ds.test.y, base["loss"], ds.metric)["metric"]
    PER_EPOCH.append((h["epoch"], h["val_metric"], h["test"]))
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()
                      if k in ("epoch", "train_loss", "train_metric", "val_metric", "test", "activity_sparsity")}), flush=True)
r = train(spec, ds.train, ds.valid, cfg, progress=False, on_epoch_end=_cb)
np.savez(f"/tmp/dp/r9/{name}.npz", **r.params)
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, base["loss"], ds.metric)
silent = None if ev["unit_events"] is None else int(sum(int((u == 0).sum()) for u in ev["unit_events"]))
rec = {"name": name, "igain": IGAIN, "ceil": CEIL, "spec": sk, "cfg": base, "test_acc": ev["metric"], "test_sparsity": ev["activity_sparsity"],
       "silent": silent, "wall": time.time() - t0, "final_val": r.history[-1]["val_metric"],
       "final_train_metric": r.history[-1]["train_metric"],
       "rdetach": RDETACH, "ls": LS,
       # checkpoint selection: the last epoch with the best validation accuracy, and its test accuracy
       "best_val_epoch": max(PER_EPOCH, key=lambda p: (p[1], p[0]))[0],
       "test_at_best_val": max(PER_EPOCH, key=lambda p: (p[1], p[0]))[2]}
print(json.dumps(rec), flush=True)
with open("/tmp/dp/r9/probes14.jsonl", "a") as f: f.write(json.dumps(rec) + "\n")
