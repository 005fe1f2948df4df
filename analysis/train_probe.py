"""Train one model on a data set and append its figures to a JSON-lines file.

Used to choose the training settings of the shipped scenarios (the raw lines are
committed in docs/results/train_probes.jsonl). Example:

    python analysis/train_probe.py --data digits --kind egru --units 64 --epochs 60 \
        --batch-size 64 --lr 0.01 --activity-reg 0.1 --out docs/results/train_probes.jsonl
"""
import argparse
import json
import time

from eventsim.data import load_dataset
from eventsim.train import NetSpec, TrainConfig, evaluate, train


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="digits")
    ap.add_argument("--kind", default="egru", choices=("egru", "gru", "lstm"))
    ap.add_argument("--units", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--activity-reg", type=float, default=0.0)
    ap.add_argument("--thr-mean", type=float, default=0.3)
    ap.add_argument("--weight-density", type=float, default=1.0)
    ap.add_argument("--support", type=float, default=1.0)
    ap.add_argument("--loss", default="last")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="train_probes.jsonl")
    a = ap.parse_args(argv)
    ds = load_dataset(a.data)
    spec = NetSpec(kind=a.kind, n_in=ds.n_in, units=[a.units], n_out=ds.n_classes, support=a.support)
    cfg = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, activity_reg=a.activity_reg,
                      thr_mean=a.thr_mean, weight_density=a.weight_density, loss=a.loss, seed=a.seed,
                      metric=ds.metric)
    t0 = time.time()
    r = train(spec, ds.train, ds.valid, cfg, progress=False)
    ev = evaluate(spec, r.params, ds.test.x, ds.test.y, a.loss, ds.metric)
    rec = {"args": vars(a), "test_metric": ev["metric"], "test_activity_sparsity": ev["activity_sparsity"],
           "final_val": r.history[-1]["val_metric"], "wall_seconds": time.time() - t0,
           "history": [{k: h[k] for k in ("epoch", "train_loss", "val_metric", "activity_sparsity")}
                       for h in r.history]}
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print(json.dumps({k: v for k, v in rec.items() if k != "history"}))
    return 0


if __name__ == "__main__":
    main()
