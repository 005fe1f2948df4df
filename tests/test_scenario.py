"""Scenario files: every built-in parses and validates, overrides, round trip, every error."""
import os

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from eventsim.errors import EventsimError
from eventsim.scenario import (SCENARIO_DIR, builtin_scenarios, dumps_toml, load_scenario,
                               scenario_from_dict)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIRED = {"digits", "smnist5k", "psmnist5k", "mnist1d", "nmnist5k", "char-lm", "tiny"}

MINIMAL = """
[data]
name = "digits"

[[models]]
name = "e"
kind = "egru"
units = [8]
"""


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_builtins_present_and_top_level_folder_is_the_same_files():
    assert REQUIRED <= set(builtin_scenarios())
    top = os.path.join(REPO, "scenarios")
    if os.path.exists(top):        # a source checkout: scenarios/ links to the package copy
        assert os.path.realpath(top) == os.path.realpath(SCENARIO_DIR)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_builtin_validates_and_round_trips(name):
    s = load_scenario(name)
    assert s.name == name and s.description and s.path.endswith(f"{name}.toml")
    with open(s.path, encoding="utf-8") as f:
        head = f.read(2000)
    assert "Run time here" in head or "runs in seconds" in head   # each says how long it runs
    kinds = {m["kind"] for m in s.models}    # the EGRU and its baselines; digits adds a DeltaGRU row
    assert {"egru", "gru", "lstm"} <= kinds <= {"egru", "gru", "lstm", "deltagru"}
    again = scenario_from_dict(tomllib.loads(s.to_toml()), path=s.path)
    assert again == s


def test_defaults_filled(tmp_path):
    s = load_scenario(_write(tmp_path, MINIMAL))
    assert s.name == "s" and s.task == "classify"
    assert s.train == {"epochs": 10, "batch_size": 32, "lr": 3e-3, "lr_schedule": "cosine",
                       "weight_decay": 0.0, "grad_clip": 1.0, "dropout": 0.0, "activity_reg": 0.0,
                       "floor_reg": 0.0, "floor_rate": 0.02, "seed": 0, "loss": "last", "max_batches_per_epoch": None}
    assert s.models == [{"name": "e", "kind": "egru", "units": [8], "thr_mean": 0.3,
                         "train_thr": True, "dampening": 0.7, "support": 1.0, "reset": "threshold",
                         "weight_density": 1.0, "update_bias": 0.0, "activity_reg": None,
                         "floor_reg": None, "floor_rate": None, "thr_jitter": 0.0, "floor_unjittered": False,
                         "epochs": None,
                         "loss": None, "lr": None, "embedding_dim": None, "checkpoint": None}]
    assert s.measure == {"test_samples": None, "raster_samples": 4}
    assert s.data == {"name": "digits"}
    lm = load_scenario(_write(tmp_path, MINIMAL.replace('"digits"', '"text-char"'), "lm.toml"))
    assert lm.train["loss"] == "lm" and lm.task == "lm"


def test_overrides():
    s = load_scenario("digits", ["train.epochs=3", "data.limit=100", "models.egru.units=[32,32]",
                                 "train.lr_schedule=step", "models.gru.weight_density=0.5",
                                 "measure.test_samples=10", "name=mine", "train.lr=1e-2"])
    assert s.train["epochs"] == 3 and s.data["limit"] == 100 and s.name == "mine"
    assert s.model("egru")["units"] == [32, 32] and s.model("gru")["weight_density"] == 0.5
    assert s.train["lr_schedule"] == "step" and s.train["lr"] == 0.01
    assert s.measure["test_samples"] == 10
    assert load_scenario("digits").train["epochs"] != 3          # the file is untouched


def test_toml_writer_escapes_and_types():
    d = {"name": 'a "q" \\ b\n', "x": 1.0, "n": 3, "t": True, "l": [1, 2], "f": 1e-5,
         "sec": {"k": "v"}, "arr": [{"a": 1}, {"a": 2}]}
    assert tomllib.loads(dumps_toml(d)) == d


BAD = [
    ("bogus = 1", "unknown section or key 'bogus'; allowed: name, description, data"),
    ("[train]\nepoch = 3", r"\[train\] has unknown key 'epoch'; allowed keys: epochs, batch_size"),
    ("[train]\nepochs = 0", r"train.epochs = 0 is out of range; it must be >= 1"),
    ("[train]\nepochs = 2.5", r"train.epochs = 2.5 must be an integer"),
    ("[train]\nlr = 0", r"train.lr = 0 is out of range; it must be > 0.0"),
    ("[train]\nlr = \"fast\"", r"train.lr = 'fast' must be a number"),
    ("[train]\ndropout = 1.0", r"train.dropout = 1.0 is out of range; it must be < 1.0"),
    ("[train]\nlr_schedule = \"linear\"", r"train.lr_schedule = 'linear' is not allowed; allowed "
                                          r"values: 'constant', 'cosine', 'step'"),
    ("[train]\nloss = \"lm\"", r"train.loss = 'lm' does not fit data set 'digits' \(task classify\); "
                               r"use 'last', 'all' or 'trace'"),
    ("[measure]\nraster = 2", r"\[measure\] has unknown key 'raster'; allowed keys: test_samples"),
    ("[[models]]\nname = \"e\"\nkind = \"gru\"\nunits = [4]",
     "model name 'e' appears twice; model names must be unique"),
    ("[[models]]\nname = \"g\"\nkind = \"rnn\"\nunits = [4]",
     r"models.g.kind = 'rnn' is not allowed; allowed values: 'egru', 'gru', 'lstm'"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = []",
     r"models.g.units = \[\] must be a non-empty list of positive integers"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4, 0]",
     r"models.g.units = \[4, 0\] must be a non-empty list"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nthr_mean = 0.2",
     "models.g.thr_mean applies only to EGRU models, but 'g' is a gru; remove it"),
    ("[[models]]\nname = \"l\"\nkind = \"lstm\"\nunits = [4]\nupdate_bias = 1.0",
     "models.l.update_bias applies only to GRU-type models \\(egru, gru\\), but 'l' is an lstm"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nfloor_reg = 0.5",
     "models.g.floor_reg applies only to EGRU models, but 'g' is a gru; remove it"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nthr_jitter = 0.1",
     "models.g.thr_jitter applies only to EGRU models, but 'g' is a gru; remove it"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nthr_jitter = -0.1",
     r"models.g.thr_jitter = -0.1 is out of range; it must be >= 0.0"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nfloor_rate = 1.0",
     r"models.g.floor_rate = 1.0 is out of range; it must be < 1.0"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nupdate_bias = \"high\"",
     r"models.g.update_bias = 'high' must be a number"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"", "models\\[1\\] lacks the required key 'units'"),
    ("[[models]]\nname = \"a/b\"\nkind = \"gru\"\nunits = [4]",
     r"models\[1\].name = 'a/b' must be a string of letters"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nweight_density = 0",
     r"models.g.weight_density = 0 is out of range; it must be > 0.0"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nthr_mean = 0",
     r"models.g.thr_mean = 0 is out of range; it must be > 0.0"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nthr_mean = 1.5",
     r"models.g.thr_mean = 1.5 is out of range; it must be < 1.0"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nembedding_dim = 8",
     "models.g.embedding_dim applies only to token input"),
    ("[[models]]\nname = \"g\"\nkind = \"egru\"\nunits = [4]\nreset = \"soft\"",
     r"models.g.reset = 'soft' is not allowed; allowed values: 'threshold', 'output'"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nloss = \"lm\"",
     r"models.g.loss = 'lm' does not fit data set 'digits' \(task classify\); use 'last', 'all' or 'trace'"),
    ("[[models]]\nname = \"g\"\nkind = \"gru\"\nunits = [4]\nepochs = 0",
     r"models.g.epochs = 0 is out of range; it must be >= 1"),
    ("[[models]]\nname = \"g\"\nkind = \"lstm\"\nunits = [4]\nlr = 0",
     r"models.g.lr = 0 is out of range; it must be > 0.0"),
]


@pytest.mark.parametrize("extra,message", BAD)
def test_bad_keys_and_values(tmp_path, extra, message):
    text = MINIMAL + "\n" + extra + "\n"
    if extra.startswith("bogus"):
        text = extra + "\n" + MINIMAL
    with pytest.raises(EventsimError, match=message):
        load_scenario(_write(tmp_path, text))


def test_data_errors(tmp_path):
    with pytest.raises(EventsimError, match="data.name = 'cifar' is not a known data set; available: digits"):
        load_scenario(_write(tmp_path, MINIMAL.replace('"digits"', '"cifar"')))
    with pytest.raises(EventsimError, match="data set 'digits' has no option 'size'; allowed options"):
        load_scenario(_write(tmp_path, MINIMAL.replace('name = "digits"', 'name = "digits"\nsize = 3')))
    with pytest.raises(EventsimError, match=r"option limit=-1 is invalid: it must be >= 1"):
        load_scenario("tiny", ["data.limit=-1"])
    with pytest.raises(EventsimError, match=r"needs a \[data\] table with name = one of"):
        load_scenario(_write(tmp_path, "[[models]]\nname = \"e\"\nkind = \"egru\"\nunits = [8]\n"))
    with pytest.raises(EventsimError, match=r"needs at least one \[\[models\]\] table"):
        load_scenario(_write(tmp_path, "[data]\nname = \"digits\"\n"))


def test_file_and_override_errors(tmp_path):
    with pytest.raises(EventsimError, match="scenario 'nope' is neither a file nor a built-in scenario; "
                                            "built-in scenarios: char-lm, digits"):
        load_scenario("nope")
    with pytest.raises(EventsimError, match="is not valid TOML"):
        load_scenario(_write(tmp_path, "[data\nname="))
    with pytest.raises(EventsimError, match="override 'epochs' must look like key=value"):
        load_scenario("tiny", ["epochs"])
    with pytest.raises(EventsimError, match="override 'optim.lr=1': unknown section 'optim'"):
        load_scenario("tiny", ["optim.lr=1"])
    with pytest.raises(EventsimError, match="override 'models.big.units=\\[2\\]': no model named 'big'; "
                                            "models: egru, gru, lstm"):
        load_scenario("tiny", ["models.big.units=[2]"])
    with pytest.raises(EventsimError, match="address a model key as models.<model name>.<key>"):
        load_scenario("tiny", ["models.units=[2]"])
    with pytest.raises(EventsimError, match=r"override 'train.a.b=1': use train.<key>=value"):
        load_scenario("tiny", ["train.a.b=1"])
    with pytest.raises(EventsimError, match=r"has an empty key"):
        load_scenario("tiny", ["train.=1"])
    with pytest.raises(EventsimError, match="train.epochs = 'many' must be an integer"):
        load_scenario("tiny", ["train.epochs=many"])


def test_data_paths_relative_to_the_scenario_file(tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in ("train", "valid", "test"):
        (corpus / f"{n}.txt").write_text("to be or not to be\n" * 5)
    f = _write(tmp_path, MINIMAL.replace('name = "digits"', 'name = "text-char"\npath = "corpus"\nseq_len = 10'))
    monkeypatch.chdir(os.path.dirname(REPO))          # somewhere without a 'corpus' folder
    s = load_scenario(f)
    assert s.data["path"] == str(corpus)
    from eventsim.study import load_data
    ds = load_data(s)
    assert ds.task == "lm" and len(ds.train) > 0


def test_scenario_losses_are_the_trainers():
    """scenario.py keeps its own copy of the loss names (it must import without numpy's
    training stack); the copy must name exactly the trainer's losses."""
    from eventsim.scenario import LOSSES
    from eventsim.train import losses
    assert LOSSES == losses.LOSSES
