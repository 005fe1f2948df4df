"""Digits EGRU probe, round 6: python probe9.py NAME key=value ...
spec keys: units dampening support reset kind; aug=K (K fixed shifted copies of the
training split); online=P (each training sample shifted by a random (dy, dx) in
{-1,0,1}^2 with probability P, per batch); the rest are TrainConfig fields."""
import json, sys, time
import numpy as np
from types import SimpleNamespace
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, evaluate, train
import eventsim.train.trainer as T

name = sys.argv[1]
kv = {}
for a in sys.argv[2:]:
    k, v = a.split("=")
    try: v = json.loads(v)
    except Exception: pass
    kv[k] = v
AUG = int(kv.pop("aug", 0))
ONLINE = float(kv.pop("online", 0))
NOISE = float(kv.pop("noise", 0))
spec_keys = {"units", "dampening", "support", "reset", "kind"}
sk = {k: kv.pop(k) for k in list(kv) if k in spec_keys}
base = dict(epochs=120, batch_size=32, lr=0.01, activity_reg=0.01, thr_mean=0.5, loss="trace", seed=0,
            lr_schedule="cosine", grad_clip=1.0, update_bias=1.0)
if sk.get("kind", "egru") != "egru":
    base.update(activity_reg=0.0, loss="last", update_bias=0.0, epochs=40)
base.update(kv)
ds = load_dataset("digits")

def shift(img, dy, dx):
    sh = np.zeros_like(img)
    sy0, sy1 = max(dy, 0), 8 + min(dy, 0); sx0, sx1 = max(dx, 0), 8 + min(dx, 0)
    sh[..., sy0:sy1, sx0:sx1] = img[..., sy0 - dy:sy1 - dy, sx0 - dx:sx1 - dx]
    return sh

if AUG:
    x = np.asarray(ds.train.x); yy = np.asarray(ds.train.y)
    img = x.reshape(-1, 8, 8)
    xs, ys = [img], [yy]
    for dy, dx in [(0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1)][:AUG]:
        xs.append(shift(img, dy, dx)); ys.append(yy)
    ds.train = SimpleNamespace(x=np.concatenate(xs).reshape(-1, 64, 1).astype(x.dtype), y=np.concatenate(ys))

if ONLINE or NOISE:
    arng = np.random.default_rng(777)
    _orig = T.loss_and_grads
    def _aug_loss(spec, params, X, Y, *a, **k):
        X = np.array(X)
        img = X.reshape(X.shape[0], 8, 8)
        if NOISE:
            img += NOISE * arng.standard_normal(img.shape).astype(img.dtype)
        for i in range(X.shape[0]):
            if ONLINE and arng.random() < ONLINE:
                dy, dx = arng.integers(-1, 2, size=2)
                img[i] = shift(img[i], int(dy), int(dx))
        return _orig(spec, params, img.reshape(X.shape), Y, *a, **k)
    T.loss_and_grads = _aug_loss

spec = NetSpec(kind=sk.get("kind", "egru"), n_in=ds.n_in, units=(lambda u: u if isinstance(u, list) else [u])(sk.get("units", 128)),
               n_out=ds.n_classes, **{k: v for k, v in sk.items() if k not in ("units", "kind")})
if spec.kind == "egru" and "dampening" not in sk:
    spec = NetSpec(kind="egru", n_in=ds.n_in, units=spec.units, n_out=ds.n_classes, dampening=0.3,
                   **{k: v for k, v in sk.items() if k not in ("units", "kind", "dampening")})
cfg = TrainConfig(metric=ds.metric, **base)
t0 = time.time()
def _cb(e, hist):
    h = hist[-1]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items()
                      if k in ("epoch", "train_loss", "train_metric", "val_metric", "activity_sparsity")}), flush=True)
r = train(spec, ds.train, ds.valid, cfg, progress=False, on_epoch_end=_cb)
np.savez(f'/tmp/dp/r6/{name}.npz', **r.params)
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, base["loss"], ds.metric)
rec = {"name": name, "aug": AUG, "online": ONLINE, "noise": NOISE, "spec": sk, "cfg": base, "test_acc": ev["metric"],
       "test_sparsity": ev["activity_sparsity"], "wall": time.time() - t0, "final_val": r.history[-1]["val_metric"],
       "final_train_metric": r.history[-1]["train_metric"]}
print(json.dumps(rec), flush=True)
with open("/tmp/dp/r6/probes.jsonl", "a") as f: f.write(json.dumps(rec) + "\n")
