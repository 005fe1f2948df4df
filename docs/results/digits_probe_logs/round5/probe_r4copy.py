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
spec_keys = {"units", "dampening", "support", "reset", "kind"}
sk = {k: kv.pop(k) for k in list(kv) if k in spec_keys}
base = dict(epochs=40, batch_size=64, lr=0.01, activity_reg=0.01, thr_mean=0.3, loss="last", seed=0, lr_schedule="cosine", grad_clip=1.0)
base.update(kv)
ds = load_dataset("digits")
spec = NetSpec(kind=sk.get("kind", "egru"), n_in=ds.n_in, units=(lambda u: u if isinstance(u, list) else [u])(sk.get("units", 64)), n_out=ds.n_classes,
               **{k: v for k, v in sk.items() if k not in ("units", "kind")})
cfg = TrainConfig(metric=ds.metric, **base)
t0 = time.time()
r = train(spec, ds.train, ds.valid, cfg, progress=False)
for h in r.history:
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k in ("epoch","train_loss","val_metric","activity_sparsity")}), flush=True)
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, base["loss"], ds.metric)
rec = {"name": name, "spec": sk, "cfg": base, "test_acc": ev["metric"], "test_sparsity": ev["activity_sparsity"], "wall": time.time() - t0,
       "final_val": r.history[-1]["val_metric"]}
print(json.dumps(rec), flush=True)
with open("/tmp/dp/r5/probes.jsonl", "a") as f: f.write(json.dumps(rec) + "\n")
