"""``eventsim cost``: model mode, results-folder mode, errors (exit code 2)."""
import json

import numpy as np
import pytest

import eventsim
from eventsim.cli import main
from eventsim.hardware.profiles import PROFILE_DIR


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cost")
    model = eventsim.random_model(4, [12, 8], n_out=3, seed=2)
    eventsim.save_model(model, d / "m.npz")
    x = np.random.default_rng(0).normal(size=(2, 15, 4)).astype(np.float32)
    np.save(d / "x.npy", x)
    user = d / "mychip.toml"
    user.write_text((PROFILE_DIR / "loihi.toml").read_text().replace('name = "loihi"', 'name = "mychip"'))
    return d, model, x, user


def test_cost_model_mode(files, capsys):
    d, model, x, user = files
    out = d / "cost.json"
    rc = main(["cost", "--model", str(d / "m.npz"), "--input", str(d / "x.npy"), "--hardware", "loihi",
               "--hardware", str(user), "--json", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "loihi" in text and "mychip" in text and "per step" in text
    doc = json.loads(out.read_text())
    assert doc["format"] == "eventsim-cost/1"
    got = {(e["profile"], e["workload"]) for e in doc["estimates"]}
    assert got == {(p, w) for p in ("loihi", "mychip") for w in ("egru", "gru", "lstm")}
    counts = eventsim.simulate(model, x).counts.to_dict()
    egru = [e for e in doc["estimates"] if e["profile"] == "loihi" and e["workload"] == "egru"][0]
    assert egru["total"]["macs"] == counts["total"]["macs"]["effective"]


def test_cost_model_timing(files, capsys):
    d, model, x, _ = files
    out = d / "timing.json"
    rc = main(["cost", "--model", str(d / "m.npz"), "--input", str(d / "x.npy"), "--hardware",
               "horowitz45nm", "--timing", "--cores", "4", "--placement", "balanced", "--json", str(out)])
    assert rc == 0
    assert "steps/s" in capsys.readouterr().out
    tim = json.loads(out.read_text())["timing"][0]
    counts = eventsim.simulate(model, x).counts.to_dict()
    assert tim["placement"] == "balanced" and tim["cores"] == 4
    assert tim["macs"] == counts["total"]["macs"]["effective"]
    assert tim["unit_updates"] == counts["total"]["unit_updates"]["event_driven"]
    assert len(tim["per_core"]["packets_sent"]) == 4


def test_cost_results_folder(files, tmp_path, capsys):
    d, model, x, _ = files
    root = tmp_path / "results"
    (root / "egru").mkdir(parents=True)
    (root / "gru").mkdir()
    res = eventsim.simulate(model, x, record=("y",))
    (root / "egru" / "counts.json").write_text(json.dumps(res.counts.to_dict()))
    eventsim.save_model(model, root / "egru" / "model.npz")
    with open(root / "egru" / "raster.npz", "wb") as f:
        np.savez(f, input=x[:1], **{f"layer{k}.y": y[:1] for k, y in enumerate(res.y)})
    gru = {"samples": 1, "steps": 10, "engine": "closed-form dense gru",
           "layers": [{"inputs": 3, "units": 4}], "readout": {"outputs": 2, "macs": {"dense": 80}}}
    (root / "gru" / "counts.json").write_text(json.dumps(gru))
    (root / "summary.json").write_text(json.dumps({"models": {"egru": {"kind": "egru"}, "gru": {"kind": "gru"}}}))
    rc = main(["cost", str(root), "--hardware", "loihi", "--timing"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "== egru (egru)" in text and "== gru (gru)" in text
    assert "timing is simulated for EGRU models only" in text
    e = json.loads((root / "egru" / "cost.json").read_text())
    assert [x["workload"] for x in e["estimates"]] == ["egru", "gru", "lstm"]
    assert e["timing"][0]["steps"] == 15  # one raster sample x 15 steps
    g = json.loads((root / "gru" / "cost.json").read_text())
    assert [x["workload"] for x in g["estimates"]] == ["gru"] and "timing" not in g
    # the dense GRU: 3n(m+n) = 84 MACs per step x 10 steps + 80 readout MACs
    assert g["estimates"][0]["total"]["macs"] == 84 * 10 + 80
    table = json.loads((root / "cost.json").read_text())
    assert table["format"] == "eventsim-cost-table/1" and len(table["rows"]) == 4
    assert (root / "cost.md").read_text().startswith("| model | workload | profile")
    # the same through the library call a report can use
    from eventsim.hardware.results import cost_results
    out = cost_results(root, ["loihi", "gpu-dense"])
    assert len(out["table"]["rows"]) == 2 * 4 and out["notes"] == []
    assert {r["profile"] for r in out["table"]["rows"]} == {"loihi", "gpu-dense"}


@pytest.mark.parametrize("argv,match", [
    (["cost"], "give either a results folder"),
    (["cost", "somewhere", "--model", "m.npz"], "give either a results folder"),
    (["cost", "--model", "M"], "--model needs --input"),
    (["cost", "/nonexistent/results"], "does not exist"),
])
def test_cost_errors(argv, match, capsys, files):
    d = files[0]
    argv = [a if a != "M" else str(d / "m.npz") for a in argv]
    assert main(argv) == 2
    assert match in capsys.readouterr().err


def test_cost_bad_hardware(files, capsys, tmp_path):
    d = files[0]
    assert main(["cost", "--model", str(d / "m.npz"), "--input", str(d / "x.npy"), "--hardware", "tpu9"]) == 2
    assert "hardware profile 'tpu9' is unknown" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text((PROFILE_DIR / "loihi.toml").read_text().replace("mac = 23.6", "mac = -1"))
    assert main(["cost", "--model", str(d / "m.npz"), "--input", str(d / "x.npy"), "--hardware", str(bad)]) == 2
    assert "energy.mac = -1.0 must be a finite number >= 0" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["cost", str(empty)]) == 2
    assert "holds no <model>/counts.json" in capsys.readouterr().err
