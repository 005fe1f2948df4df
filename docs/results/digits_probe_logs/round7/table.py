"""Print round 7's table (markdown) from probes11.jsonl: python table.py"""
import json

BASE = dict(epochs=120, batch_size=32, lr=0.01, lr_schedule="cosine", grad_clip=1.0, seed=0, activity_reg=0.2,
            floor_reg=1.0, floor_rate=0.02, thr_mean=0.5, loss="trace", update_bias=1.0)
SPEC = dict(units=[128], dampening=0.3, kind="egru")
NAMES = dict(floor_rate="r_min", activity_reg="activity_reg", floor_reg="λ_f", epochs="epochs", batch_size="batch",
             lr="lr", dropout="dropout", seed="seed", dampening="dampening", reset="reset", units="units",
             thr_mean="thr_mean", train_thr="train_thr", support="support", weight_decay="weight_decay")
print("| run | change from the common settings | test accuracy | test activity sparsity | silent units | "
      "last-epoch training accuracy | wall s |")
print("|---|---|---|---|---|---|---|")
GRU_BASE = dict(BASE, activity_reg=0.0, floor_reg=0.0, loss="last", update_bias=0.0, epochs=40)
for line in open("probes11.jsonl"):
    r = json.loads(line)
    base = BASE if r["spec"].get("kind", "egru") == "egru" else GRU_BASE
    ch = [f"{NAMES.get(k, k)} {v}" for k, v in r["cfg"].items() if base.get(k) != v and k in NAMES]
    ch += [f"{NAMES.get(k, k)} {v}" for k, v in r["spec"].items() if SPEC.get(k) != v and k != "kind"]
    if base is GRU_BASE:
        ch.insert(0, f"{r['spec']['kind'].upper()} (its scenario settings: last-step readout, 40 epochs, no regulariser)")
    if r.get("igain", 1.0) != 1.0:
        ch.append(f"input kernel ×{r['igain']:g} at init")
    if r.get("ceil"):
        ch.append(f"activity regulariser as a hinge above rate {r['ceil']:g}")
    kind = r["spec"].get("kind", "egru")
    sp = "-" if kind != "egru" else f"{100 * r['test_sparsity']:.1f}%"
    sil = "-" if r["silent"] is None else str(r["silent"])
    print(f"| {r['name']} | {', '.join(ch) or 'none (the scenario EGRU)'} | {100 * r['test_acc']:.1f}% | {sp} | {sil} | "
          f"{100 * r['final_train_metric']:.1f}% | {r['wall']:.0f} |")
