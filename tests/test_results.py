"""docs/results holds one folder per shipped scenario, run as shipped, and nothing that
names the machine it ran on.

A changed setting in ``eventsim/scenarios/<name>.toml`` fails here until
``docs/results/<name>`` is produced again (``eventsim study <name> --out
docs/results/<name>``, then commit what the other folders commit and drop
``summary.json``'s ``results_dir``)."""
import json
import re
import shutil
from pathlib import Path

import pytest

from eventsim.scenario import builtin_scenarios, load_scenario
from eventsim.study import MODEL_TRAIN_KEYS, model_train_settings

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
SHIPPED = sorted(builtin_scenarios())

# the roots of home, scratch and checkout folders ("/usr/bin/time" is no such path)
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:root|tmp|home|work|Users|mnt|scratch|private|var/folders)/"
                          r"|\b[A-Za-z]:\\")


def effective(sc) -> dict:
    """The settings a study of ``sc`` trains and measures with, flattened to ``key: value``.
    The train keys a model may set for itself are compared per model as the study resolves
    them (:func:`eventsim.study.model_train_settings`), so a value moved between the train
    section and a model is no difference; the description is no setting."""
    out = {"task": sc.task}
    out.update({f"data.{k}": v for k, v in sc.data.items()})
    # train.seeds says how often the study ran (a folder may hold a study over seeds of a
    # one-seed scenario, each seed<k>/ run with train.seed = k), not how it trains
    out.update({f"train.{k}": v for k, v in sc.train.items() if k not in MODEL_TRAIN_KEYS + ("seeds",)})
    out.update({f"measure.{k}": v for k, v in sc.measure.items()})
    for m in sc.models:
        out.update({f"models.{m['name']}.{k}": v for k, v in m.items()
                    if k != "name" and k not in MODEL_TRAIN_KEYS})
        train = model_train_settings(sc, m)
        own = MODEL_TRAIN_KEYS if m["kind"] == "egru" else MODEL_TRAIN_KEYS[:3]
        out.update({f"models.{m['name']}.{k}": train[k] for k in own})
    return out


def differences(run_toml, name) -> list:
    """The settings in which the scenario.toml of a run differs from the shipped ``name``."""
    here, now = effective(load_scenario(str(run_toml))), effective(load_scenario(name))
    return [f"{k}: {here.get(k)!r} here, {now.get(k)!r} shipped"
            for k in sorted(set(here) | set(now)) if here.get(k) != now.get(k)]


def test_one_folder_per_shipped_scenario_and_nothing_else():
    folders = sorted(p.name for p in RESULTS.iterdir() if p.is_dir())
    assert folders == SHIPPED
    loose = sorted(p.name for p in RESULTS.iterdir() if not p.is_dir())
    assert loose == ["README.md"]
    index = (RESULTS / "README.md").read_text(encoding="utf-8")
    for name in SHIPPED:
        assert f"]({name}/summary.md)" in index, f"docs/results/README.md has no line for {name}"


@pytest.mark.parametrize("name", SHIPPED)
def test_folder_was_run_as_shipped(name):
    d = RESULTS / name
    for f in ("COMMAND.txt", "scenario.toml", "summary.json", "summary.md", "summary.csv"):
        assert (d / f).is_file(), f"docs/results/{name}/{f} missing"
    summary = json.loads((d / "summary.json").read_text())
    assert summary["scenario"] == name
    for base in [d / s for s in (summary.get("seed_dirs") or {}).values()] or [d]:   # a study over seeds
        for model in summary["models"]:
            for f in ("counts.json", "history.json"):
                assert (base / model / f).is_file(), f"{base}/{model}/{f} missing"
    diff = differences(d / "scenario.toml", name)
    assert not diff, f"docs/results/{name} was not run with the shipped scenario: " + "; ".join(diff)


def test_no_machine_specific_paths_or_large_files():
    bad = []
    for path in sorted(RESULTS.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(RESULTS)
        if path.suffix == ".npz" or "checkpoint" in rel.parts:
            bad.append(f"{rel}: checkpoints and arrays are not committed")
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        hit = MACHINE_PATH.search(text)
        if hit:
            bad.append(f"{rel}: {text[max(0, hit.start() - 20):hit.end() + 30]!r}")
        if path.name == "summary.json" and "results_dir" in json.loads(text):
            bad.append(f"{rel}: results_dir (the folder on the machine it ran on)")
    assert not bad, "\n".join(bad)


def test_machine_path_pattern():
    for s in ("--out /tmp/dp/x", '"results_dir": "/root/r"', "cd /home/me/", "/work/main/x",
              "C:\\Users\\me"):
        assert MACHINE_PATH.search(s), s
    for s in ("/usr/bin/time -v eventsim study", "docs/results/digits", "bits/char", "MACs/step",
              "../smnist5k", "dy/dx"):
        assert not MACHINE_PATH.search(s), s


def test_a_changed_setting_is_a_difference(tmp_path):
    """The comparison sees a model's own setting and a train-section setting, and it does not
    see a train key moved into a model with the same value (how the study resolves it)."""
    src = RESULTS / "digits" / "scenario.toml"
    toml = src.read_text()
    assert "activity_reg = 0.11\n" in toml and "batch_size = 32\n" in toml
    changed = tmp_path / "changed.toml"
    changed.write_text(toml.replace("activity_reg = 0.11\n", "activity_reg = 0.3\n")
                       .replace("batch_size = 32\n", "batch_size = 16\n"))
    assert differences(changed, "digits") == [
        "models.egru.activity_reg: 0.3 here, 0.11 shipped", "train.batch_size: 16 here, 32 shipped"]
    shutil.copy(src, tmp_path / "same.toml")
    assert differences(tmp_path / "same.toml", "digits") == []
    moved = tmp_path / "moved.toml"       # the GRU's epochs, inherited, set on the model itself
    assert 'name = "gru"\nkind = "gru"\n' in toml and "epochs = 40\n" in toml
    moved.write_text(toml.replace('name = "gru"\nkind = "gru"\n', 'name = "gru"\nkind = "gru"\nepochs = 40\n'))
    assert differences(moved, "digits") == []
