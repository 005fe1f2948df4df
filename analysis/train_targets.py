"""Check the training targets on study results and copy the small result files.

    python analysis/train_targets.py docs/results/digits docs/results/char-lm
    python analysis/train_targets.py --collect results/digits --into docs/results/digits \
        --command "eventsim study digits ..."

Targets:
- classification (digits): EGRU accuracy within 2 points of the same-size GRU, activity
  sparsity >= 80%, effective MACs <= 25% of the dense GRU's;
- character LM: EGRU bits per character within 10% of the GRU's, activity sparsity >= 80%,
  backward sparsity reported.
Paper claims quoted beside them (Subramoney et al., ICLR 2023): sMNIST 72% activity
sparsity and ~5x fewer MACs than the GRU; PTB (character/word LM) 80-90% sparsity.
"""
import argparse
import json
import os
import shutil
import sys

PAPER = {"accuracy": "paper sMNIST: 72% activity sparsity, ~5x fewer MACs than GRU",
         "bpc": "paper PTB: 80-90% activity sparsity",
         "perplexity": "paper PTB: 80-90% activity sparsity"}


def collect(src, dst, command):
    os.makedirs(dst, exist_ok=True)
    for f in ("summary.json", "summary.md", "summary.csv", "scenario.toml"):
        shutil.copy2(os.path.join(src, f), os.path.join(dst, f))
    for name in sorted(os.listdir(src)):
        d = os.path.join(src, name)
        if os.path.isdir(d) and os.path.isfile(os.path.join(d, "counts.json")):
            os.makedirs(os.path.join(dst, name), exist_ok=True)
            for f in ("counts.json", "history.json"):
                shutil.copy2(os.path.join(d, f), os.path.join(dst, name, f))
    with open(os.path.join(dst, "COMMAND.txt"), "w") as f:
        f.write(command.strip() + "\n")


def check(folder):
    s = json.load(open(os.path.join(folder, "summary.json")))
    metric = s["metric"]
    rows = []
    for name, v in s["models"].items():
        if v["kind"] != "egru":
            continue
        cmp = v.get("vs_gru_model")
        row = {"scenario": s["scenario"], "model": name, "metric": metric, "value": v["metric"],
               "activity_sparsity": v["activity_sparsity"], "backward_sparsity": v["backward_sparsity"],
               "effective_over_dense_gru": None, "metric_vs_gru": None, "pass": None,
               "paper": PAPER.get(metric, "")}
        if cmp:
            row["effective_over_dense_gru"] = cmp["effective_macs_fraction"]
            if metric == "accuracy":
                row["metric_vs_gru"] = cmp["metric_difference"]
                row["pass"] = (cmp["metric_difference"] >= -0.02 and v["activity_sparsity"] >= 0.80
                               and cmp["effective_macs_fraction"] <= 0.25)
            else:
                row["metric_vs_gru"] = cmp["metric_ratio"] - 1.0
                row["pass"] = (cmp["metric_ratio"] <= 1.10 and v["activity_sparsity"] >= 0.80
                               and v["backward_sparsity"] is not None)
        rows.append(row)
    return s, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*", help="study results folders (with summary.json)")
    ap.add_argument("--collect", metavar="RESULTS", help="copy the small files of this results folder ...")
    ap.add_argument("--into", metavar="DIR", help="... into this folder (e.g. docs/results/digits)")
    ap.add_argument("--command", default="", help="the command that produced RESULTS (saved as COMMAND.txt)")
    a = ap.parse_args(argv)
    if a.collect:
        if not a.into:
            ap.error("--collect needs --into")
        collect(a.collect, a.into, a.command)
        a.folders = list(a.folders) + [a.into]
    for folder in a.folders:
        s, rows = check(folder)
        print(f"== {s['scenario']} ({s['test_samples']} test samples x {s['steps']} steps)")
        for name, v in s["models"].items():
            sp = "-" if v["activity_sparsity"] is None else f"{v['activity_sparsity']:.1%}"
            bw = "-" if v["backward_sparsity"] is None else f"{v['backward_sparsity']:.1%}"
            print(f"  {name:8s} {v['kind']:5s} {s['metric']} {v['metric']:.4f}  sparsity {sp}  backward {bw}  "
                  f"eff MACs/step {v['effective_macs_per_step']:,.0f}  vs GRU {v['savings_vs_gru']:.2f}x")
        for r in rows:
            print(f"  target [{r['model']}]: metric vs GRU {r['metric_vs_gru']}, sparsity "
                  f"{r['activity_sparsity']:.3f}, effective/dense GRU {r['effective_over_dense_gru']}, "
                  f"PASS={r['pass']}   ({r['paper']})")
        from eventsim.study import uncertainty_lines
        for line in uncertainty_lines(s):     # sampling error, when the study recorded it
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
