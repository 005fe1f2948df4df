"""``eventsim scenario list|show|check``."""
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from eventsim.cli import main
from eventsim.scenario import load_scenario


def test_list(capsys):
    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("digits", "smnist5k", "psmnist5k", "mnist1d", "nmnist5k", "char-lm", "tiny"):
        assert f"\n{name} " in "\n" + out


def test_show_prints_the_scenario_as_run(capsys, tmp_path):
    assert main(["scenario", "show", "tiny", "--set", "train.epochs=1"]) == 0
    text = capsys.readouterr().out
    d = tomllib.loads(text)
    assert d["train"]["epochs"] == 1 and d["train"]["lr_schedule"] == "constant"
    assert d["models"][0]["dampening"] == 0.7            # defaults are written out
    f = tmp_path / "again.toml"
    f.write_text(text)
    again = load_scenario(str(f))
    ref = load_scenario("tiny", ["train.epochs=1"])
    assert (again.data, again.train, again.models, again.measure) == \
        (ref.data, ref.train, ref.models, ref.measure)


def test_check(capsys, tmp_path):
    assert main(["scenario", "check", "digits"]) == 0
    assert "ok: scenario 'digits'" in capsys.readouterr().out
    assert main(["scenario", "check", "digits", "--set", "models.egru.units=[0]"]) == 2
    assert "models.egru.units = [0] must be a non-empty list" in capsys.readouterr().err
    assert main(["scenario", "check", str(tmp_path / "none.toml")]) == 2
    assert "is neither a file nor a built-in scenario" in capsys.readouterr().err
