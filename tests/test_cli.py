"""The command line: every command runs, bad input gives one line and a non-zero exit code."""
import json
import subprocess
import sys

import numpy as np
import pytest

import eventsim
from eventsim.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "eventsim", *args], capture_output=True, text=True)


def test_random_model_count_json_and_outputs(tmp_path, capsys):
    mp, xp, jp, op = (str(tmp_path / n) for n in ("m.npz", "x.npy", "c.json", "o.npz"))
    assert main(["random-model", "--inputs", "5", "--layers", "40,40", "--outputs", "3", "--thr-mean",
                 "0.1", "--out", mp]) == 0
    assert main(["random-input", "--model", mp, "--samples", "3", "--steps", "80", "--out", xp]) == 0
    assert main(["count", "--model", mp, "--input", xp, "--json", jp, "--save-outputs", op]) == 0
    out = capsys.readouterr().out
    assert "effective" in out and "savings" in out and "total" in out
    counts = json.load(open(jp))
    model, x = eventsim.load_model(mp), np.load(xp)
    ref = eventsim.simulate(model, x, engine="dense", record=("y", "c", "readout"))
    ref_counts = ref.counts.to_dict()
    counts.pop("engine"), ref_counts.pop("engine")
    assert counts == json.loads(json.dumps(ref_counts))
    saved = np.load(op)
    assert set(saved.files) == {"layer0.y", "layer0.c", "layer1.y", "layer1.c", "readout"}
    np.testing.assert_allclose(saved["layer1.c"], ref.c[1], atol=2e-5)
    assert saved["readout"].shape == (3, 80, 3)


def test_event_stream_input_and_delays(tmp_path, capsys):
    mp, sp, jp = (str(tmp_path / n) for n in ("m.npz", "s.npz", "c.json"))
    main(["random-model", "--inputs", "4", "--layers", "8,8", "--dtype", "float64", "--thr-mean", "0.1", "--out", mp])
    main(["random-input", "--model", mp, "--samples", "2", "--steps", "30", "--out", sp])
    for engine in ("event", "dense"):
        assert main(["count", "--model", mp, "--input", sp, "--engine", engine, "--delays", "1:0,0:2",
                     "--json", jp + engine, "--quiet"]) == 0
    a, b = json.load(open(jp + "event")), json.load(open(jp + "dense"))
    a.pop("engine"), b.pop("engine")
    assert a == b and a["layers"][0]["delays"] == {"feedforward": 1, "recurrent": 0}


@pytest.mark.parametrize("args, match", [
    (["count", "--model", "missing.npz", "--input", "x.npy"], "model file 'missing.npz' does not exist"),
    (["count", "--model", "{m}", "--input", "x.txt"], "does not exist"),
    (["count", "--model", "{m}", "--input", "{bad}"], "inputs have 2 channels but the model's layer0 has 4 inputs"),
    (["count", "--model", "{m}", "--input", "{x}", "--delays", "1"], "write FF:REC per layer"),
    (["count", "--model", "{m}", "--input", "{x}", "--delays", "1:1,1:1,1:1"], "gives 3 pairs but the model has 2 layers"),
    (["random-model", "--inputs", "3", "--layers", "a,b", "--out", "{tmp}/z.npz"], "--layers must be comma-separated integers"),
    (["random-model", "--inputs", "3", "--layers", "4", "--density", "2", "--out", "{tmp}/z.npz"], "weight_density = 2.0"),
])
def test_cli_errors_one_line_exit_2(tmp_path, args, match):
    m, x, bad = tmp_path / "m.npz", tmp_path / "x.npy", tmp_path / "bad.npy"
    eventsim.save_model(eventsim.random_model(4, [5, 5], seed=0), m)
    np.save(x, np.ones((3, 4), np.float32))
    np.save(bad, np.ones((3, 2), np.float32))
    args = [a.format(m=m, x=x, bad=bad, tmp=tmp_path) for a in args]
    r = run(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eventsim: error: ") and match in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_help_lists_commands():
    r = run("--help")
    assert r.returncode == 0
    for cmd in ("count", "random-model", "random-input"):
        assert cmd in r.stdout
