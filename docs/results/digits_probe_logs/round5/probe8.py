"""Digits EGRU probe: python probe.py name key=value ... (spec keys: units dampening support reset; rest TrainConfig)."""
import json, sys, time
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, evaluate, train
name = sys.argv[1]
kv = {}
for a in sys.argv[2:]:
    k, v = a.split("=")
    try: v = json.loads(v)
    except Exception: pass
    kv[k] = v
import eventsim.train.losses as _L
if "trace_decay" in kv: _L.TRACE_DECAY = float(kv.pop("trace_decay"))
bias_init = kv.pop("bias_init", None)
kv_swa = kv.pop("swa", 30)
spec_keys = {"units", "dampening", "support", "reset", "kind"}
sk = {k: kv.pop(k) for k in list(kv) if k in spec_keys}
base = dict(epochs=40, batch_size=64, lr=0.01, activity_reg=0.01, thr_mean=0.3, loss="last", seed=0, lr_schedule="cosine", grad_clip=1.0)
base.update(kv)
ds = load_dataset("digits")
spec = NetSpec(kind=sk.get("kind", "egru"), n_in=ds.n_in, units=(lambda u: u if isinstance(u, list) else [u])(sk.get("units", 64)), n_out=ds.n_classes,
               **{k: v for k, v in sk.items() if k not in ("units", "kind")})
cfg = TrainConfig(metric=ds.metric, **base)
t0 = time.time()
from eventsim.train.network import init_params
import numpy as np
p0 = init_params(spec, cfg.seed, cfg.thr_mean)
n = spec.units[0]
brng = np.random.default_rng(123)
if bias_init is None:
    pass
elif bias_init == "uniform01":
    for k in ("layer0.bias", "layer0.recurrent_bias"):
        p0[k] = brng.uniform(0, 1, p0[k].shape).astype(np.float32)
elif bias_init.startswith("zb"):
    p0["layer0.bias"][:n] = float(bias_init[2:])
elif bias_init == "z1r1":
    p0["layer0.bias"][:n] = 1.0
    p0["layer0.bias"][n:2*n] = 1.0
elif bias_init == "z1":
    p0["layer0.bias"][:n] = 1.0
elif bias_init == "z1g05":
    p0["layer0.bias"][:n] = 1.0
    p0["layer0.bias"][2*n:] = 0.5
def _cb(e, hist):
    h = hist[-1]
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k in ("epoch","train_loss","val_metric","activity_sparsity")}), flush=True)
import eventsim.train.trainer as TR
SWA_N = int(kv_swa)
swa = {}
def _save(d, epoch, params, *a, **k):
    if epoch > cfg.epochs - SWA_N:
        for key, v in params.items():
            swa[key] = swa.get(key, 0) + v.astype(np.float64)
TR.save_checkpoint = _save
r = train(spec, ds.train, ds.valid, cfg, progress=False, params=p0, on_epoch_end=_cb, ckpt_dir="/tmp/dp/r5/unused_ckpt", resume=False)
swa_p = {k: (v / SWA_N).astype(np.float32) for k, v in swa.items()}
ev_swa = evaluate(spec, swa_p, ds.test.x, ds.test.y, base["loss"], ds.metric)
ev_swa_val = evaluate(spec, swa_p, ds.valid.x, ds.valid.y, base["loss"], ds.metric)
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, base["loss"], ds.metric)
rec = {"name": name, "bias_init": bias_init, "trace_decay": _L.TRACE_DECAY, "spec": sk, "cfg": base, "test_acc": ev["metric"], "test_sparsity": ev["activity_sparsity"], "wall": time.time() - t0,
       "final_val": r.history[-1]["val_metric"], "swa": SWA_N, "swa_test": ev_swa["metric"], "swa_sparsity": ev_swa["activity_sparsity"], "swa_val": ev_swa_val["metric"]}
print(json.dumps(rec), flush=True)
with open("/tmp/dp/r5/probes.jsonl", "a") as f: f.write(json.dumps(rec) + "\n")
