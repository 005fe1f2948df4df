"""Studies over several seeds (issue 19 item 2) and the DeltaGRU row converted from the
study's GRU (issue 20 item 5): the spread figures by hand, the tables, and the tiny scenario
end to end (seed folders, means, per-seed paired tests, resume per seed, Θ picked on the
validation split)."""
import json
import math
import statistics

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.scenario import load_scenario, scenario_from_dict
from eventsim.study import run_study
from eventsim.study.seeds import aggregate, parse_seeds, spread
from eventsim.study.tables import summary_csv, summary_markdown, summary_table, uncertainty_lines


def test_spread_by_hand():
    s = spread([0.9, 0.95, 1.0])
    assert s["mean"] == pytest.approx(0.95) and s["sd"] == pytest.approx(0.05)   # sqrt(0.005 / 2)
    assert (s["min"], s["max"], s["n"]) == (0.9, 1.0, 3)
    # t(0.975, 2 df) = 4.302653: 0.95 ± 4.302653 · 0.05 / sqrt(3)
    assert s["ci95"] == pytest.approx([0.95 - 0.1242069, 0.95 + 0.1242069], abs=1e-6)
    one = spread([0.5])
    assert one["sd"] is None and one["ci95"] is None and one["mean"] == 0.5
    assert spread([0.5, None]) is None


def _summary(egru_acc, gru_acc, p, only):
    def model(kind, acc, vs):
        return {"kind": kind, "units": [16], "loss": "last", "epochs": 2, "metric": acc, "trainer_metric": acc,
                "activity_sparsity": 0.8 if kind == "egru" else None, "backward_sparsity": None,
                "silent_units": None, "effective_macs_per_step": 300.0 if kind == "egru" else 1312.0,
                "dense_macs_per_step": 1312.0, "savings_vs_gru": 1312.0 / (300.0 if kind == "egru" else 1312.0),
                "savings_vs_lstm": 1.0, "weight_density": 1.0, "engine_check": None, "metric_ci95": None,
                "train_seconds": 1.0, "source": {}, "vs_gru_model": vs}
    vs = {"gru": "gru", "metric_difference": egru_acc - gru_acc, "metric_ratio": egru_acc / gru_acc,
          "effective_macs_fraction": 300.0 / 1312.0,
          "paired": {"test": "mcnemar_exact", "only_first": only[0], "only_second": only[1], "p_value": p}}
    return {"scenario": "s", "description": "", "task": "classify", "metric": "accuracy", "dataset": "digits",
            "test_samples": 100, "steps": 8, "versions": {},
            "models": {"egru": model("egru", egru_acc, vs), "gru": model("gru", gru_acc, None)}}


def test_aggregate_and_tables_from_hand_made_seeds():
    a = aggregate([_summary(0.94, 0.97, 0.25, (1, 4)), _summary(0.96, 0.98, 0.5, (1, 3))], [3, 7], "out", 2.0)
    e = a["models"]["egru"]
    assert a["seeds"] == [3, 7] and a["seed_dirs"] == {"3": "seed3", "7": "seed7"}
    assert e["metric"] == pytest.approx(0.95)
    assert e["seeds"]["metric"]["sd"] == pytest.approx(math.sqrt(2) * 0.01)    # two values 0.02 apart
    assert e["vs_gru_model"]["metric_difference"] == pytest.approx(-0.025)    # (-0.03 - 0.02) / 2
    assert e["vs_gru_model"]["paired_per_seed"]["7"]["p_value"] == 0.5
    cells = summary_markdown(a)
    assert "| 95.00 ± 1.41% (94.00–96.00) |" in cells
    assert "| 97.50 ± 0.71% (97.00–98.00) |" in cells                          # gru: 0.97, 0.98
    assert "Over 2 seeds (3, 7" in cells
    lines = " ".join(uncertainty_lines(a))
    assert "seed 3 -3.0 points (1 vs 4, p = 0.25)" in lines and "seed 7 -2.0 points (1 vs 3, p = 0.5)" in lines
    assert "95.00 ± 1.41%" in summary_table(a)
    head, egru_row = summary_csv(a).splitlines()[:2]
    cols = dict(zip(head.split(","), egru_row.split(",")))
    assert float(cols["metric_sd"]) == pytest.approx(0.0141421, abs=1e-6) and cols["seeds"] == "3 7"
    assert (float(cols["metric_min"]), float(cols["metric_max"])) == (0.94, 0.96)


def test_one_seed_tables_are_unchanged():
    s = _summary(0.94, 0.97, 0.25, (1, 4))
    assert "| 94.00% |" in summary_markdown(s) and "±" not in summary_markdown(s)
    assert "metric_sd" not in summary_csv(s)


@pytest.mark.parametrize("text, msg", [("a,b", "comma-separated integers"), ("1,1", "names a seed twice"),
                                       ("-1", "integers >= 0"), ("", "comma-separated")])
def test_bad_seeds_option(text, msg):
    with pytest.raises(EventsimError, match=msg):
        parse_seeds(text)


def test_seeds_option_parses():
    assert parse_seeds("0, 1,2") == [0, 1, 2]


@pytest.mark.parametrize("value, msg", [("[]", "non-empty list"), ("[0, 0]", "names a seed twice"),
                                        ("[1.5]", "integers >= 0"), ("3", "non-empty list")])
def test_bad_scenario_seeds(value, msg):
    with pytest.raises(EventsimError, match=msg):
        load_scenario("tiny", [f"train.seeds={value}"])


def _with_delta(**extra):
    d = load_scenario("tiny").to_dict()
    d["models"] = [m for m in d["models"] if m["name"] != "lstm"]
    d["models"].append(dict({"name": "delta", "kind": "deltagru", "units": [16], "from": "gru"}, **extra))
    return d


@pytest.mark.parametrize("extra, msg", [
    ({"from": "egru"}, "must name a GRU model"), ({"theta_x": 0.1}, "does not apply to a DeltaGRU converted"),
    ({"epochs": 3}, "does not apply to a DeltaGRU converted"), ({"thetas": [-0.1]}, "numbers >= 0"),
    ({"units": [8]}, "must equal those of its GRU")])
def test_bad_delta_from(extra, msg):
    with pytest.raises(EventsimError, match=msg):
        scenario_from_dict(_with_delta(**extra))


def test_thetas_without_from_is_refused():
    d = _with_delta(thetas=[0.1])
    del d["models"][-1]["from"]
    with pytest.raises(EventsimError, match="add from or remove it"):
        scenario_from_dict(d)


FAST = {"limit": 48, "test_samples": 16}


@pytest.fixture(scope="module")
def seeds_study(tmp_path_factory):
    root = tmp_path_factory.mktemp("seeds")
    d = _with_delta(thetas=[0.05, 0.2, 1.0], tolerance=0.05)
    d["data"]["limit"] = FAST["limit"]
    d["measure"]["test_samples"] = FAST["test_samples"]
    sc = scenario_from_dict(d)
    path = root / "tiny-delta.toml"
    path.write_text(sc.to_toml())
    out = root / "out"
    rc = main(["study", str(path), "--seeds", "0,1", "--out", str(out), "--no-progress", "--jobs", "1"])
    return path, out, rc


def test_several_seeds_write_one_folder_per_seed_and_the_means(seeds_study):
    path, out, rc = seeds_study
    assert rc == 0
    top = json.loads((out / "summary.json").read_text())
    assert top["seeds"] == [0, 1]
    per = [json.loads((out / f"seed{k}" / "summary.json").read_text()) for k in (0, 1)]
    for k in (0, 1):
        assert load_scenario(str(out / f"seed{k}" / "scenario.toml")).train["seed"] == k
        assert (out / f"seed{k}" / "gru" / "model.npz").is_file() and (out / f"seed{k}" / "cost.md").is_file()
    # the seeds trained different networks
    h = [json.loads((out / f"seed{k}" / "gru" / "history.json").read_text()) for k in (0, 1)]
    assert h[0][0]["train_loss"] != h[1][0]["train_loss"]
    for name in ("egru", "gru", "delta"):
        vals = [p["models"][name]["metric"] for p in per]
        assert top["models"][name]["metric"] == pytest.approx(statistics.mean(vals))
        assert top["models"][name]["seeds"]["metric"]["sd"] == pytest.approx(statistics.stdev(vals))
        macs = [p["models"][name]["effective_macs_per_step"] for p in per]
        assert top["models"][name]["effective_macs_per_step"] == pytest.approx(statistics.mean(macs))
    paired = top["models"]["egru"]["vs_gru_model"]["paired_per_seed"]
    assert [paired[k]["p_value"] for k in ("0", "1")] == \
        [p["models"]["egru"]["vs_gru_model"]["paired"]["p_value"] for p in per]
    md = (out / "summary.md").read_text()
    assert "±" in md and "seed 0 " in md and "seed 1 " in md
    assert "Against the GRU" in (out / "report.md").read_text()
    assert "seed 0 Θ =" in md     # the DeltaGRU's Θ per seed


def test_delta_row_theta_is_picked_on_validation(seeds_study):
    from eventsim.study import load_data, model_settings
    from eventsim.train import evaluate, load_weights
    path, out, _ = seeds_study
    sc = load_scenario(str(out / "seed0" / "scenario.toml"))
    ds = load_data(sc)
    sweep = json.loads((out / "seed0" / "delta" / "delta_sweep.json").read_text())
    val = {r["theta_x"]: r["metric"] for r in sweep["validation"]}
    assert sorted(val) == [0.0, 0.05, 0.2, 1.0]
    # Θ = 0 is the GRU itself: its validation accuracy by the trainer's own evaluation
    spec, params, _ = load_weights(str(out / "seed0" / "gru" / "model.npz"))
    _, cfg = model_settings(sc, sc.model("gru"), ds)
    gru_val = evaluate(spec, params, ds.valid.x, np.asarray(ds.valid.y), cfg.loss, "accuracy")["metric"]
    assert val[0.0] == pytest.approx(gru_val)
    ok = [t for t, m in val.items() if m >= gru_val - 0.05 - 1e-12]
    assert sweep["theta_x"] == sweep["theta_h"] == max(ok)
    counts = json.loads((out / "seed0" / "delta" / "counts.json").read_text())
    assert counts["kind"] == "deltagru" and counts["samples"] == FAST["test_samples"]
    with np.load(out / "seed0" / "delta" / "model.npz") as z:
        assert float(z["layer0.theta_h"][0]) == pytest.approx(max(ok))


def test_several_seeds_resume_per_seed_and_one_seed_is_a_plain_study(seeds_study):
    path, out, _ = seeds_study
    before = json.loads((out / "summary.json").read_text())
    again = run_study(str(path), out_dir=out, progress=False, seeds=[0, 1])
    for k in ("0", "1"):
        assert again["models"]["gru"]["source"]["per_seed"][k]["resumed_from_epoch"] == 2
    assert again["models"]["egru"]["metric"] == before["models"]["egru"]["metric"]
    # one seed: the one-seed layout, here resuming the seed-1 folder
    one = run_study(str(path), out_dir=out / "seed1", progress=False, seeds=[1])
    assert "seeds" not in one and one["models"]["gru"]["source"]["resumed_from_epoch"] == 2
    assert one["models"]["gru"]["metric"] == before["models"]["gru"]["seeds"]["metric"]["values"][1]


def test_delta_vs_egru_script_agrees_with_the_studys_delta_row(seeds_study, tmp_path):
    """analysis/delta_vs_egru.py picks Θ and measures it by its own path (sweep_thetas on the
    test split); with the study's grid and tolerance it must find the study's DeltaGRU row."""
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location(
        "delta_vs_egru", Path(__file__).resolve().parents[1] / "analysis" / "delta_vs_egru.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _, out, _ = seeds_study
    page, figures = tmp_path / "page.md", tmp_path / "figures.json"
    rc = mod.main([str(out / "seed0"), "--thetas", "0.05,0.2,1.0", "--tolerance", "0.05", "--out", str(page),
                   "--json", str(figures)])
    assert rc == 0
    rows = {r["model"]: r for r in json.loads(figures.read_text())[0]["rows"]}
    study = json.loads((out / "seed0" / "summary.json").read_text())["models"]
    sweep = json.loads((out / "seed0" / "delta" / "delta_sweep.json").read_text())
    d = rows["DeltaGRU @GRU"]
    assert d["theta"] == sweep["theta_x"]
    assert d["metric"] == pytest.approx(study["delta"]["metric"])
    assert d["effective_macs_per_step"] == pytest.approx(study["delta"]["effective_macs_per_step"])
    assert rows["EGRU"]["effective_macs_per_step"] == pytest.approx(study["egru"]["effective_macs_per_step"])
    assert "**" in page.read_text() and "wins" in page.read_text()
    assert mod.main([str(tmp_path)]) == 2       # not a study folder: one clear error
