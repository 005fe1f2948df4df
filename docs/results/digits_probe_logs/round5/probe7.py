"""Digits EGRU probe with knowledge distillation from a GRU teacher:
python probe7.py name kd_a=0.7 kd_T=4 key=value ... (rest as probe5: spec keys units dampening support reset kind; rest TrainConfig)."""
import json, os, sys, time
import numpy as np
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, evaluate, train
import eventsim.train.network as N
import eventsim.train.trainer as TR
name = sys.argv[1]
kv = {}
for a in sys.argv[2:]:
    k, v = a.split("=")
    try: v = json.loads(v)
    except Exception: pass
    kv[k] = v
A = float(kv.pop("kd_a", 0.7)); TT = float(kv.pop("kd_T", 4.0)); zb = kv.pop("bias_init", None)
spec_keys = {"units", "dampening", "support", "reset", "kind"}
sk = {k: kv.pop(k) for k in list(kv) if k in spec_keys}
base = dict(epochs=40, batch_size=32, lr=0.01, activity_reg=0.01, thr_mean=0.5, loss="trace", seed=0, lr_schedule="cosine", grad_clip=1.0)
base.update(kv)
ds = load_dataset("digits")
tpath = "/tmp/dp/r5/teacher_logits.npy"
if not os.path.exists(tpath):
    tspec = NetSpec(kind="gru", n_in=ds.n_in, units=[128], n_out=ds.n_classes)
    tcfg = TrainConfig(metric=ds.metric, epochs=40, batch_size=32, lr=0.01, lr_schedule="cosine", grad_clip=1.0, loss="last", seed=0)
    tr = train(tspec, ds.train, ds.valid, tcfg, progress=False)
    ev = evaluate(tspec, tr.params, ds.test.x, ds.test.y, "last", ds.metric)
    print("teacher test", ev["metric"], flush=True)
    logits = np.concatenate([lg for _, _, lg in N.predict_batches(tspec, tr.params, np.asarray(ds.train.x, np.float32), "last")])
    np.save(tpath, logits)
TL = np.load(tpath).astype(np.float64)
Y = np.asarray(ds.train.y)
def softmax(z):
    z = z - z.max(-1, keepdims=True); e = np.exp(z); return e / e.sum(-1, keepdims=True)
_orig_ce = N.cross_entropy
def kd_ce(logits, idx):
    lab = Y[idx]; t = TL[idx]; B = len(idx)
    v, d, nll, c = _orig_ce(logits, lab)
    ps = softmax(logits.astype(np.float64) / TT); pt = softmax(t / TT)
    kl = float((pt * (np.log(pt + 1e-12) - np.log(ps + 1e-12))).sum() / B)
    dkd = TT * (ps - pt) / B
    return (1 - A) * v + A * TT * TT * kl, ((1 - A) * d + A * dkd).astype(logits.dtype), nll, c
N.cross_entropy = kd_ce
from types import SimpleNamespace
train_split = SimpleNamespace(x=ds.train.x, y=np.arange(len(Y)))
spec = NetSpec(kind=sk.get("kind", "egru"), n_in=ds.n_in, units=(lambda u: u if isinstance(u, list) else [u])(sk.get("units", 128)), n_out=ds.n_classes,
               **{k: v for k, v in sk.items() if k not in ("units", "kind")})
cfg = TrainConfig(metric=ds.metric, **base)
p0 = N.init_params(spec, cfg.seed, cfg.thr_mean)
if zb == "z1":
    p0["layer0.bias"][:spec.units[0]] = 1.0
t0 = time.time()
def _cb(e, hist):
    h = hist[-1]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k in ("epoch","train_loss","val_metric","activity_sparsity")}), flush=True)
r = train(spec, train_split, ds.valid, cfg, progress=False, params=p0, on_epoch_end=_cb)
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, base["loss"], ds.metric)
rec = {"name": name, "kd_a": A, "kd_T": TT, "bias_init": zb, "spec": sk, "cfg": base, "test_acc": ev["metric"], "test_sparsity": ev["activity_sparsity"], "wall": time.time() - t0,
       "final_val": r.history[-1]["val_metric"]}
print(json.dumps(rec), flush=True)
with open("/tmp/dp/r5/probes.jsonl", "a") as f: f.write(json.dumps(rec) + "\n")
