"""Print round 9's probes from probes14.jsonl and the per-epoch logs: name, layers, test accuracy,
test activity sparsity, silent units, last-epoch training accuracy, the best-validation epoch and
the test accuracy there, the mean/min/max test accuracy over the last 20 epochs, wall s."""
import json, os, statistics, sys
for l in open(sys.argv[1] if len(sys.argv) > 1 else "probes14.jsonl"):
    r = json.loads(l)
    ep = [json.loads(x) for x in open(r["name"] + ".log") if x.startswith('{"epoch')] \
        if os.path.exists(r["name"] + ".log") else []
    t = [e["test"] * 100 for e in ep[-20:]]
    last20 = f"{statistics.mean(t):5.1f} {min(t):5.1f} {max(t):5.1f}" if t else "    -     -     -"
    sp = "    -" if r["test_sparsity"] is None else f"{r['test_sparsity'] * 100:5.1f}"
    si = "  -" if r["silent"] is None else f"{r['silent']:3d}"
    print(f"{r['name']:16s} {r['spec']['kind']:4s} {'x'.join(map(str, r['spec']['units'])):7s} "
          f"{r['test_acc'] * 100:5.1f} {sp} {si} {r['final_train_metric'] * 100:5.1f} {r['best_val_epoch']:4d} "
          f"{r['test_at_best_val'] * 100:5.1f} {last20} {int(r['wall']):4d}")
