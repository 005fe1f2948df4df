"""EGRU vs DeltaGRU vs GRU at matched accuracy, from study results folders (issue 20 item 6).

    python analysis/delta_vs_egru.py RESULTS_DIR [RESULTS_DIR ...] --out docs/findings_delta.md
        [--profiles horowitz45nm loihi] [--thetas 0.01,0.02,...] [--tolerance 0.01]

Each RESULTS_DIR is a one-seed study folder (``eventsim study``) with an ``egru`` and a ``gru``
model: ``egru/counts.json``, ``egru/history.json``, ``gru/counts.json`` and the trained GRU's
weights ``gru/model.npz`` (``docs/results/*`` do not commit ``model.npz``: run the study, or
give the folder it wrote). Per folder:

- EGRU and GRU: the study's test metric and counts, as they are;
- DeltaGRU: the trained GRU converted (exact at Θ = 0), its Θ grid (Θx = Θh) run on the
  validation split, and two Θ picked there: "@GRU", the largest Θ whose validation metric is
  within ``--tolerance`` of the GRU's (classification: 0.01 = 1 accuracy point; a language
  model: that fraction of the GRU's bpc), and "@EGRU", the largest Θ whose validation metric
  is at least as good as the EGRU's final validation metric (matched accuracy); each measured
  on the study's test samples with exact counts (:func:`eventsim.train.delta_sweep.sweep_thetas`);
- per model: effective MACs, events (EGRU: events; DeltaGRU: input + state deltas sent) and
  weight reads (one per MAC executed) per sample and step, and the energy per step on each
  profile (:func:`eventsim.hardware.energy.estimate_energy`, as ``eventsim cost`` prices a
  study; a GRU as the dense GRU, an EGRU / DeltaGRU as executed on the profile).

Writes a Markdown page (the table per task and the sweep behind each pick) and prints it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from eventsim.errors import EventsimError

DEFAULT_THETAS = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5)


def _load(path):
    with open(path) as f:
        return json.load(f)


def _energy(counts: dict, profiles: list, workload: str) -> dict:
    from eventsim.hardware.energy import estimate_energy
    out = {}
    for prof in profiles:
        e = estimate_energy(counts, prof, workload)
        t = e["total"]
        out[prof.name] = {"energy_per_step_pj": t["energy_per_step_pj"], "executed_as": e["executed_as"],
                          "weight_reads": t["macs"],
                          "state_accesses": t.get("state_reads", 0) + t.get("state_writes", 0)}
    return out


def _row(name: str, kind: str, metric: float, counts: dict, profiles: list, theta=None, note: str = "") -> dict:
    st = counts["samples"] * counts["steps"]
    tot = counts["total"]
    events = None
    if kind == "egru":
        events = tot["events"]
    elif kind == "deltagru":
        events = tot["events"] + tot["input_events"]
    energy = _energy(counts, profiles, kind)
    return {"model": name, "kind": kind, "theta": theta, "metric": metric, "note": note,
            "effective_macs_per_step": tot["macs"]["effective"] / st,
            "events_per_step": None if events is None else events / st,
            "activity_sparsity": tot.get("activity_sparsity"),
            "weight_reads_per_step": {p: e["weight_reads"] / st for p, e in energy.items()},
            "state_accesses_per_step": {p: e["state_accesses"] / st for p, e in energy.items()},
            "energy_per_step_pj": {p: e["energy_per_step_pj"] for p, e in energy.items()},
            "executed_as": {p: e["executed_as"] for p, e in energy.items()}}


def _val_metric(history: list):
    vals = [h.get("val_metric") for h in history if isinstance(h, dict)]
    return vals[-1] if vals and vals[-1] is not None else None


def compare(folder: str, profiles: list, thetas, tolerance: float, progress: bool = True) -> dict:
    """The comparison of one results folder (see the module docstring)."""
    from eventsim.scenario import load_scenario
    from eventsim.study import load_data
    from eventsim.train import load_weights
    from eventsim.train.delta_sweep import pick_theta, sweep_thetas
    from eventsim.train.losses import higher_is_better

    for need in ("summary.json", "egru/counts.json", "egru/history.json", "gru/counts.json", "gru/model.npz",
                 "scenario.toml"):
        if not os.path.isfile(os.path.join(folder, need)):
            raise EventsimError(f"{folder!r} has no {need}: give a one-seed study folder with a trained egru and "
                                f"gru (model.npz is not committed in docs/results; run the study)")
    summary = _load(os.path.join(folder, "summary.json"))
    metric = summary["metric"]
    up = higher_is_better(metric)
    sc = load_scenario(os.path.join(folder, "scenario.toml"))
    ds = load_data(sc)
    _, gru_params, _ = load_weights(os.path.join(folder, "gru", "model.npz"))
    gru_model = sc.model("gru")
    loss = gru_model.get("loss") or sc.train["loss"]
    valid = sweep_thetas(gru_params, ds.valid.x, np.asarray(ds.valid.y), thetas=list(thetas), loss=loss,
                         metric=metric, progress=progress, desc=f"{summary['scenario']}: Θ on validation")
    gru_val = valid[0]["metric"]
    egru_val = _val_metric(_load(os.path.join(folder, "egru", "history.json")))
    tol_gru = tolerance if metric == "accuracy" else tolerance * gru_val
    picks = {"@GRU": pick_theta(valid, tolerance=tol_gru, metric=metric)}
    if egru_val is not None:
        tol_egru = max(0.0, (gru_val - egru_val) if up else (egru_val - gru_val))
        picks["@EGRU"] = pick_theta(valid, tolerance=tol_egru, metric=metric)
    n = int(summary["test_samples"])
    tx, ty = ds.test.x[:n], np.asarray(ds.test.y[:n])
    rows = [_row("EGRU", "egru", summary["models"]["egru"]["metric"],
                 _load(os.path.join(folder, "egru", "counts.json")), profiles),
            _row("GRU", "gru", summary["models"]["gru"]["metric"],
                 _load(os.path.join(folder, "gru", "counts.json")), profiles)]
    measured = {}
    for label, p in picks.items():
        th = p["theta_x"]
        if th not in measured:
            res = sweep_thetas(gru_params, tx, ty, thetas=[th], loss=loss, metric=metric)
            measured[th] = res[-1]
            gru_test_via_delta = res[0]["metric"]
        r = measured[th]
        rows.append(_row(f"DeltaGRU {label}", "deltagru", r["metric"], r["counts"], profiles, theta=th,
                         note=f"validation {metric} {p['metric']:.4g}"))
    return {"folder": folder, "scenario": summary["scenario"], "metric": metric, "test_samples": n,
            "steps": int(ds.test.x.shape[1]), "gru_validation": gru_val, "egru_validation": egru_val,
            "tolerance": tol_gru, "gru_test_through_deltagru_engine": gru_test_via_delta,
            "validation_steps": int(ds.valid.x.shape[0]) * int(ds.valid.x.shape[1]),
            "validation_sweep": [{k: v for k, v in r.items() if k != "counts"} for r in valid],
            "rows": rows}


def _m(v, metric):
    return f"{100 * v:.2f}%" if metric == "accuracy" else f"{v:.4f}"


def _e(pj):
    from eventsim.hardware.energy import format_energy
    return format_energy(pj)


def verdict(res: dict, names: list) -> str:
    """Which method wins where on one task, in figures of the table (generated, so that it
    follows the table when the script runs again)."""
    metric = res["metric"]
    rows = {r["model"]: r for r in res["rows"]}
    e, g = rows["EGRU"], rows["GRU"]
    d = rows.get("DeltaGRU @EGRU") or rows["DeltaGRU @GRU"]
    dg = rows["DeltaGRU @GRU"]
    gap = ((lambda a, b: f"{100 * (a - b):+.1f} points") if metric == "accuracy"
           else (lambda a, b: f"{a - b:+.3f} {metric}"))
    better = (d["metric"] > e["metric"]) if metric == "accuracy" else (d["metric"] < e["metric"])
    macs = d["effective_macs_per_step"] / e["effective_macs_per_step"]
    ratios = [f"{d['energy_per_step_pj'][n] / e['energy_per_step_pj'][n]:.2f}x on {n}" for n in names]
    energy = ratios[0] + (f" ({', '.join(ratios[1:])})" if ratios[1:] else "")
    winner = "the EGRU" if macs > 1 else "the DeltaGRU"
    return (f"**{res['scenario']}**: at the EGRU's validation {metric} the DeltaGRU (Θ = {d['theta']:g}) "
            f"is {gap(d['metric'], e['metric'])} against the EGRU on test"
            f"{' (more accurate: the Θ grid has no point closer to the EGRU)' if better else ''}; it needs "
            f"{macs:.2f}x the EGRU's effective MACs and {energy} the EGRU's energy per step: on compute and "
            f"energy {winner} wins. Near the GRU's {metric} only the DeltaGRU is there: Θ = {dg['theta']:g} keeps "
            f"{gap(dg['metric'], g['metric'])} against the GRU at "
            f"{g['effective_macs_per_step'] / dg['effective_macs_per_step']:.2f}x fewer MACs, without retraining, "
            f"where the EGRU is {gap(e['metric'], g['metric'])} at "
            f"{g['effective_macs_per_step'] / e['effective_macs_per_step']:.2f}x. Events per step: EGRU "
            f"{e['events_per_step']:.1f}, DeltaGRU {d['events_per_step']:.1f} (input and state deltas), plus "
            f"{d['state_accesses_per_step'][names[0]]:,.0f} reads and writes of its delta memories.")


def markdown(results: list, profiles: list, note: str = "") -> str:
    names = [p.name for p in profiles]
    out = ["# EGRU vs DeltaGRU vs GRU at matched accuracy", "",
           "Written by `analysis/delta_vs_egru.py` (command at the end). Per sample and step on the test "
           "split: effective MACs (SPEC §2; the readout included), events (EGRU: events sent; DeltaGRU: "
           "input and state deltas sent), weight reads (one per MAC executed on the event-driven profile "
           f"{names[0]}; a dense or clocked profile reads every weight), the DeltaGRU's reads and writes of its "
           "delta memories (x̂, ĥ, Mx, Mh; SPEC §5, docs/hardware.md) and the estimated energy on each hardware profile "
           "(`eventsim cost`'s model, docs/hardware.md). DeltaGRU rows: the study's trained GRU converted "
           "(exact at Θ = 0), Θx = Θh picked on the **validation** split: @GRU is the largest Θ within the "
           "tolerance of the GRU's validation metric, @EGRU the largest Θ at least as good as the EGRU's "
           "final validation metric (matched accuracy)."] + (["", note] if note else []) + [""]
    for res in results:
        metric = res["metric"]
        gru = next(r for r in res["rows"] if r["kind"] == "gru")
        out += [f"## {res['scenario']} ({metric}; {res['test_samples']} test samples x {res['steps']} steps)", "",
                f"Validation {metric}: GRU {_m(res['gru_validation'], metric)}, EGRU "
                f"{_m(res['egru_validation'], metric) if res['egru_validation'] is not None else '-'}; "
                f"tolerance of @GRU {res['tolerance']:.4g}.", ""]
        head = ["model", "Θ", f"test {metric}", "effective MACs/step", "vs GRU", "events/step",
                "weight reads/step", "delta-memory accesses/step"]
        head += [f"energy/step ({n})" for n in names]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in res["rows"]:
            cells = [r["model"], "-" if r["theta"] is None else f"{r['theta']:g}", _m(r["metric"], metric),
                     f"{r['effective_macs_per_step']:,.0f}",
                     f"{gru['effective_macs_per_step'] / r['effective_macs_per_step']:.2f}x",
                     "-" if r["events_per_step"] is None else f"{r['events_per_step']:,.1f}"]
            cells += [f"{r['weight_reads_per_step'][names[0]]:,.0f}",
                      f"{r['state_accesses_per_step'][names[0]]:,.0f}" if r["kind"] == "deltagru" else "-"]
            cells += [f"{_e(r['energy_per_step_pj'][n])} ({r['executed_as'][n]})" for n in names]
            out.append("| " + " | ".join(cells) + " |")
        out += ["", verdict(res, names), ""]
        out += [f"Θ sweep on the validation split ({res['scenario']}):", "",
                "| Θ | validation " + metric + " | effective MACs/step | state deltas sent |", "|---|---|---|---|"]
        for s in res["validation_sweep"]:
            out.append(f"| {s['theta_x']:g} | {_m(s['metric'], metric)} | "
                       f"{s['effective_macs'] / res['validation_steps']:,.0f} | {1 - s['activity_sparsity']:.1%} |")
        out.append("")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", help="study results folders (with egru/ and gru/model.npz)")
    ap.add_argument("--from-json", help="write the page from a --json file of an earlier run (no sweep)")
    ap.add_argument("--out", help="Markdown file to write (default: print only)")
    ap.add_argument("--json", help="also write the figures as JSON here")
    ap.add_argument("--note", default="", help="a paragraph put under the title (e.g. where the models came from)")
    ap.add_argument("--profiles", nargs="+", default=["horowitz45nm", "loihi"], help="hardware profiles")
    ap.add_argument("--thetas", default=",".join(map(str, DEFAULT_THETAS)), help="Θ grid, comma-separated")
    ap.add_argument("--tolerance", type=float, default=0.01,
                    help="@GRU: accuracy points as a fraction (0.01 = 1 point), or a fraction of the GRU's bpc")
    args = ap.parse_args(argv)
    from eventsim.hardware.profiles import load_profile
    try:
        profiles = [load_profile(p) for p in args.profiles]
        thetas = [float(t) for t in args.thetas.split(",") if t.strip()]
        if args.from_json:
            results = _load(args.from_json)
            args.folders = [r["folder"] for r in results]
        elif not args.folders:
            raise EventsimError("give study results folders, or --from-json an earlier run's figures")
        else:
            results = [compare(folder, profiles, thetas, args.tolerance) for folder in args.folders]
    except EventsimError as e:
        print(f"delta_vs_egru: error: {e}", file=sys.stderr)
        return 2
    thetas = sorted({t["theta_x"] for r in results for t in r["validation_sweep"]} - {0.0})   # as swept
    text = markdown(results, profiles, args.note)
    cmd = "python analysis/delta_vs_egru.py " + " ".join(
        [os.path.relpath(f) if not os.path.isabs(f) else os.path.basename(os.path.normpath(f))
         for f in args.folders]) + f" --profiles {' '.join(args.profiles)} --tolerance {args.tolerance:g}"
    text += f"\nCommand: `{cmd}` (Θ grid {', '.join(f'{t:g}' for t in thetas)}).\n"
    print(text)
    if args.out:
        from eventsim.outputs import write_text
        write_text(args.out, text)
    if args.json:
        from eventsim.outputs import write_json
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
