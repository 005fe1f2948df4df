"""Dead units of saved probe parameters: python dead_units.py NAME... (units that never fire on the 360 test images)."""
import sys
import numpy as np
from eventsim.data import load_dataset
from eventsim.train import NetSpec
from eventsim.train.network import forward
ds = load_dataset("digits")
for name in sys.argv[1:]:
    p = dict(np.load(f"{name}.npz"))
    spec = NetSpec(kind="egru", n_in=1, units=[p["layer0.thr"].shape[0]], n_out=10, dampening=0.3)
    Y = forward(spec, p, ds.test.x).caches[0]["Y"]
    rate = (Y != 0).mean(axis=(0, 1))
    live = rate > 0
    print(f"{name}: dead {int((~live).sum())}/{len(rate)}, live units' mean rate {rate[live].mean():.3f}, "
          f"thr quartiles {np.round(np.quantile(p['layer0.thr'], [.25, .5, .75]), 2).tolist()}")
