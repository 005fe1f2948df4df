import sys, numpy as np
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, train, evaluate
ds = load_dataset("digits")
name=sys.argv[1]; kind=sys.argv[2]; thr=float(sys.argv[3]); trthr=sys.argv[4]=="1"; ep=int(sys.argv[5]); lam=float(sys.argv[6]); damp=float(sys.argv[7]); sup=float(sys.argv[8])
spec = NetSpec(kind=kind, n_in=1, units=[64], n_out=10, dampening=damp, support=sup)
cfg = TrainConfig(epochs=ep, batch_size=64, lr=1e-2, thr_mean=thr, train_thr=trthr, activity_reg=lam)
r = train(spec, ds.train, ds.valid, cfg, progress=False, on_epoch_end=lambda e,h: print(name, e, round(h[-1]["train_loss"],3), round(h[-1]["val_metric"],3), h[-1]["activity_sparsity"], flush=True))
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, "last", "accuracy")
print(name, "test", ev["metric"], ev["activity_sparsity"], flush=True)
