"""Print round 6's runs as a markdown table: python table.py (reads probes.jsonl, probes10.jsonl here)."""
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
COMMON = dict(epochs=120, activity_reg=0.01, seed=0)
rows = []
for fn in ("probes.jsonl", "probes10.jsonl"):
    with open(os.path.join(here, fn)) as f:
        for line in f:
            r = json.loads(line)
            c, spec = r["cfg"], r["spec"]
            ch = []
            if spec.get("kind", "egru") != "egru":
                ch.append(f"{spec['kind'].upper()} {spec.get('units', 128)} units, its scenario settings")
            else:
                if r.get("aug"):
                    ch.append(f"{r['aug']} shifted copies")
                if r.get("online"):
                    ch.append(f"random shift p {r['online']}")
                if r.get("noise"):
                    ch.append(f"input noise σ {r['noise']}")
                if r.get("floor"):
                    ch.append(f"rate floor λ_f {r['floor']}, r_min {r.get('rmin', 0.02)}")
                for k in ("epochs", "activity_reg", "seed"):
                    if c.get(k) != COMMON[k]:
                        ch.append(f"{k} {c[k]}")
            sp = "-" if r["test_sparsity"] is None else f"{100 * r['test_sparsity']:.1f}%"
            rows.append(f"| {r['name']} | {', '.join(ch) or 'none'} | {100 * r['test_acc']:.1f}% | {sp} | "
                        f"{100 * r['final_train_metric']:.1f}% | {r['wall']:.0f} |")
print("| run | change from the common settings | test accuracy | test activity sparsity | "
      "last-epoch training accuracy | wall s |")
print("|---|---|---|---|---|---|")
print("\n".join(rows))
