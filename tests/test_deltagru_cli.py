"""The DeltaGRU through the CLI: random-model --kind deltagru, count, cost (issue 20)."""
import json

import numpy as np
import pytest

import eventsim
from eventsim.cli import main
from eventsim.deltagru import load_deltagru, random_deltagru, simulate_deltagru


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("dgcli")
    mp, xp = str(d / "d.npz"), str(d / "x.npy")
    assert main(["random-model", "--kind", "deltagru", "--theta-x", "0.2", "--theta-h", "0.05",
                 "--inputs", "4", "--layers", "8,6", "--outputs", "3", "--seed", "3", "--out", mp]) == 0
    assert main(["random-input", "--model", mp, "--samples", "2", "--steps", "12", "--out", xp]) == 0
    return d, mp, xp


def test_random_model_deltagru(files):
    _, mp, _ = files
    m = load_deltagru(mp)
    assert m.sizes == [8, 6] and m.n_out == 3
    assert all(np.all(l.theta_x == np.float32(0.2)) and np.all(l.theta_h == np.float32(0.05))
               for l in m.layers)
    ref = random_deltagru(4, [8, 6], n_out=3, theta_x=0.2, theta_h=0.05, seed=3)
    assert np.array_equal(m.layers[1].kernel, ref.layers[1].kernel)
    assert isinstance(eventsim.load_any_model(mp), type(ref))


@pytest.mark.parametrize("argv, match", [
    (["--kind", "deltagru", "--thr-mean", "0.3"], "--thr-mean applies to an EGRU only"),
    (["--kind", "deltagru", "--reset", "output"], "--reset applies to an EGRU only"),
    (["--theta-x", "0.1"], "--theta-x applies to a DeltaGRU (--kind deltagru) only"),
    (["--kind", "egru", "--theta-x", "0.1", "--theta-h", "0.1"], "--theta-x and --theta-h apply"),
    (["--kind", "deltagru", "--theta-h", "-1"], "--theta-h -1.0 must be a finite number >= 0"),
    (["--kind", "deltagru", "--theta-x", "nan"], "--theta-x nan must be a finite number >= 0"),
])
def test_random_model_kind_options_refused(argv, match, tmp_path, capsys):
    out = tmp_path / "m.npz"
    rc = main(["random-model", "--inputs", "3", "--layers", "4", "--out", str(out)] + argv)
    assert rc == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_count_deltagru_both_engines(files, capsys):
    d, mp, xp = files
    outs = {}
    for engine in ("event", "dense"):
        jp, op = str(d / f"c_{engine}.json"), str(d / f"o_{engine}.npz")
        assert main(["count", "--model", mp, "--input", xp, "--engine", engine, "--json", jp,
                     "--save-outputs", op]) == 0
        text = capsys.readouterr().out
        assert "DeltaGRU" in text and "delta checks" in text and "effective" in text
        outs[engine] = (json.loads(open(jp).read()), dict(np.load(op)))
    (ce, oe), (cd, od) = outs["event"], outs["dense"]
    assert ce["kind"] == "deltagru" and "input_events" in ce["total"] and "delta_checks" in ce["total"]
    ce.pop("engine"), cd.pop("engine")
    assert ce == cd
    model = load_deltagru(mp)
    x = np.load(xp)
    res = simulate_deltagru(model, x, record=("y",))
    assert {k: v for k, v in res.counts.to_dict().items() if k != "engine"} == ce
    assert set(oe) == {"layer0.y", "layer1.y", "readout"}  # h_t per layer (SPEC §5), no layer{k}.c
    for k, n in enumerate(model.sizes):
        assert oe[f"layer{k}.y"].shape == (2, 12, n)
        np.testing.assert_allclose(oe[f"layer{k}.y"], res.y[k], rtol=0, atol=0)
        np.testing.assert_allclose(oe[f"layer{k}.y"], od[f"layer{k}.y"], rtol=1e-4, atol=1e-5)


def test_count_deltagru_refuses_delays(files, capsys):
    d, mp, xp = files
    rc = main(["count", "--model", mp, "--input", xp, "--delays", "0:1", "--json", str(d / "no.json")])
    assert rc == 2
    assert "--delays applies to an EGRU only" in capsys.readouterr().err
    assert not (d / "no.json").exists()


def test_cost_deltagru_model_mode(files, capsys):
    d, mp, xp = files
    out = d / "cost.json"
    assert main(["cost", "--model", mp, "--input", xp, "--hardware", "loihi", "--hardware", "gpu-dense",
                 "--json", str(out)]) == 0
    assert "deltagru" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert doc["kind"] == "deltagru" and doc["format"] == "eventsim-cost/1"
    got = [(e["profile"], e["workload"], e["executed_as"]) for e in doc["estimates"]]
    assert got == [("loihi", "deltagru", "event"), ("loihi", "gru", "dense"), ("loihi", "lstm", "dense"),
                   ("gpu-dense", "deltagru", "clocked"), ("gpu-dense", "gru", "dense"),
                   ("gpu-dense", "lstm", "dense")]
    counts = simulate_deltagru(load_deltagru(mp), np.load(xp)).counts.to_dict()
    ev = doc["estimates"][0]["total"]
    assert ev["macs"] == counts["total"]["macs"]["effective"]
    assert ev["delta_checks"] == counts["total"]["delta_checks"]
    assert ev["unit_updates"] == counts["total"]["unit_updates"]["clocked"]


@pytest.mark.parametrize("extra, match", [
    (["--event-op", "ac"], "--event-op ac prices binary events"),
])
def test_cost_deltagru_refused_options(files, extra, match, capsys):
    d, mp, xp = files
    rc = main(["cost", "--model", mp, "--input", xp, "--hardware", "loihi", "--json", str(d / "no.json")]
              + extra)
    assert rc == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1
    assert not (d / "no.json").exists()


def test_cost_deltagru_profile_without_delta_check(files, tmp_path, capsys):
    from eventsim.hardware.profiles import PROFILE_DIR
    d, mp, xp = files
    text = (PROFILE_DIR / "loihi.toml").read_text()
    text = "\n".join(l for l in text.splitlines() if not l.startswith(("delta_check", '"energy.delta_check"')))
    user = tmp_path / "old.toml"
    user.write_text(text.replace('name = "loihi"', 'name = "old"'))
    rc = main(["cost", "--model", mp, "--input", xp, "--hardware", str(user)])
    assert rc == 2
    assert "lack energy.delta_check" in capsys.readouterr().err


def test_deltagru_with_embedding_and_event_stream(tmp_path, capsys):
    """random-input reads a DeltaGRU too: token ids for an embedding model, an event stream."""
    mp, tp = str(tmp_path / "e.npz"), str(tmp_path / "t.npy")
    assert main(["random-model", "--kind", "deltagru", "--inputs", "4", "--layers", "5", "--vocab", "7",
                 "--outputs", "2", "--out", mp]) == 0
    assert main(["random-input", "--model", mp, "--samples", "2", "--steps", "6", "--out", tp]) == 0
    jp = str(tmp_path / "c.json")
    assert main(["count", "--model", mp, "--input", tp, "--json", jp, "--quiet"]) == 0
    c = json.loads(open(jp).read())
    assert c["kind"] == "deltagru" and c["samples"] == 2 and c["steps"] == 6
    mp2, sp = str(tmp_path / "s.npz"), str(tmp_path / "stream.npz")
    assert main(["random-model", "--kind", "deltagru", "--inputs", "3", "--layers", "4", "--out", mp2]) == 0
    assert main(["random-input", "--model", mp2, "--steps", "9", "--out", sp]) == 0
    assert main(["count", "--model", mp2, "--input", sp, "--steps", "12", "--json", jp, "--quiet"]) == 0
    assert json.loads(open(jp).read())["steps"] == 12


def test_cost_deltagru_timing(files, capsys):
    d, mp, xp = files
    out = d / "timing.json"
    assert main(["cost", "--model", mp, "--input", xp, "--hardware", "horowitz45nm", "--timing", "--cores", "4",
                 "--json", str(out)]) == 0
    assert "steps/s" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    counts = simulate_deltagru(load_deltagru(mp), np.load(xp)).counts.to_dict()
    tim = doc["timing"][0]
    assert tim["macs"] == counts["total"]["macs"]["effective"] == doc["estimates"][0]["total"]["macs"]
    assert tim["unit_updates"] == counts["total"]["unit_updates"]["clocked"]
    assert tim["events"] == counts["total"]["events"]
