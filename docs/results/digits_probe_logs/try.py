import sys, time, numpy as np
from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, train, evaluate
ds = load_dataset("digits")
print(ds.train.x.shape, ds.valid.x.shape, ds.test.x.shape, ds.train.x.dtype, ds.train.x.max())
kind = sys.argv[1]; units=int(sys.argv[2]); ep=int(sys.argv[3]); ar=float(sys.argv[4]); wd=float(sys.argv[5]); lr=float(sys.argv[6]); thr=float(sys.argv[7]); loss=sys.argv[8]; bs=int(sys.argv[9])
spec = NetSpec(kind=kind, n_in=1, units=[units], n_out=10)
cfg = TrainConfig(epochs=ep, batch_size=bs, lr=lr, activity_reg=ar, weight_density=wd, thr_mean=thr, loss=loss)
t=time.time()
r = train(spec, ds.train, ds.valid, cfg, progress=False)
for h in r.history: print(h["epoch"], round(h["train_loss"],3), round(h["val_metric"],3), h["activity_sparsity"], flush=True) if False else print(h["epoch"], round(h["train_loss"],3), round(h["val_metric"],3), h["activity_sparsity"], h["backward"] and round(h["backward"]["total"]["backward_sparsity"],3), round(h["seconds"],1))
ev = evaluate(spec, r.params, ds.test.x, ds.test.y, loss, "accuracy")
print("test", ev["metric"], ev["activity_sparsity"], time.time()-t)
