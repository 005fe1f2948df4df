"""``eventsim lif``: every command runs (as in docs/lif.md), mistakes give exit status 2."""
import json

import numpy as np

from eventsim.cli import main
from eventsim.inputs import EventStream
from eventsim.lif import load_lif, simulate_lif


def test_random_model_poisson_run_json_spikes(tmp_path, capsys):
    L, S, J, O = (str(tmp_path / n) for n in ("L.npz", "S.npz", "c.json", "out.npz"))
    assert main(["lif", "random-model", L, "--inputs", "20", "--units", "60", "--fanout-in", "10",
                 "--fanout-rec", "8", "--w-in", "0.4", "0.2", "--w-rec", "0", "0.3", "--delay-rec", "1", "5",
                 "--refractory", "2", "--seed", "3"]) == 0
    assert main(["lif", "poisson", S, "--channels", "20", "--steps", "200", "--rate", "300"]) == 0
    assert main(["lif", "run", "--model", L, "--input", S, "--json", J, "--spikes", O]) == 0
    out = capsys.readouterr().out
    assert "effective ACs" in out and "event-driven" in out
    counts = json.load(open(J))
    # the same run through the naive reference gives the same counts
    ref = simulate_lif(load_lif(L), EventStream.load(S), engine="reference").counts.to_dict()
    assert counts["events"] > 0 and {**counts, "engine": ""} == json.loads(json.dumps({**ref, "engine": ""}))
    sp = EventStream.load(O)
    assert len(sp) == counts["events"] and sp.n_channels == 60 and sp.n_steps == 200


def test_run_dense_npy_input_and_reference_engine(tmp_path, capsys):
    L, X = str(tmp_path / "L.npz"), str(tmp_path / "x.npy")
    assert main(["lif", "random-model", L, "--inputs", "4", "--units", "10", "--fanout-in", "5"]) == 0
    x = np.zeros((50, 4))
    x[::3, 1] = 1.0
    np.save(X, x)
    assert main(["lif", "run", "--model", L, "--input", X, "--engine", "reference"]) == 0
    assert "reference engine" in capsys.readouterr().out


def test_mistakes_exit_2_with_one_line(tmp_path, capsys):
    L, S = str(tmp_path / "L.npz"), str(tmp_path / "S.npz")
    assert main(["lif", "random-model", L, "--inputs", "4", "--units", "10", "--fanout-in", "11"]) == 2
    assert "fanout_in = 11 must be between 0 and the number of units n = 10" in capsys.readouterr().err
    assert main(["lif", "random-model", L, "--inputs", "4", "--units", "10", "--fanout-in", "2"]) == 0
    assert main(["lif", "poisson", S, "--channels", "6", "--steps", "10"]) == 0
    capsys.readouterr()
    assert main(["lif", "run", "--model", L, "--input", S]) == 2
    assert "the event stream has channels up to 5 but" in capsys.readouterr().err
    assert main(["lif", "run", "--model", S, "--input", S]) == 2
    assert "is an event-stream (input) file, not a LIF model" in capsys.readouterr().err
    assert main(["lif", "poisson", S, "--channels", "2", "--steps", "10", "--rate", "20000"]) == 2
    assert "spike probability rate*dt = 2.0" in capsys.readouterr().err
    assert main(["lif"]) == 2


def test_the_documented_commands_run_as_written(tmp_path, monkeypatch, capsys):
    import pathlib
    import shlex
    doc = (pathlib.Path(__file__).parent.parent / "docs" / "lif.md").read_text()
    block = doc.split("## Commands", 1)[1].split("```", 2)[1]
    lines = [l for l in block.splitlines() if l.startswith("eventsim lif ")]
    assert len(lines) == 3
    monkeypatch.chdir(tmp_path)
    for line in lines:
        assert main(shlex.split(line)[1:]) == 0, line
    counts = json.load(open(tmp_path / "counts.json"))
    assert counts["units"] == 1000 and counts["inputs"] == 100 and counts["steps"] == 2000
    assert counts["synapses"] == {"input": 10000, "recurrent": 50000}
    assert counts["events"] > 0 and counts["effective_acs"] == counts["synops"]["effective"]
