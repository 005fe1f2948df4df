"""analysis/results_index.py: the index of docs/results says which folder matches the
scenario as shipped, and the committed index is the generator's current output."""
import runpy
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INDEX = runpy.run_path(str(ROOT / "analysis" / "results_index.py"))


def test_index_marks_the_shipped_settings_and_lists_what_differs(tmp_path):
    src = ROOT / "docs" / "results" / "digits"
    for name in ("same", "changed"):
        (tmp_path / name).mkdir()
        for f in ("summary.json", "scenario.toml"):
            shutil.copy(src / f, tmp_path / name / f)
    toml = (tmp_path / "changed" / "scenario.toml").read_text()
    # the EGRU's own activity_reg (the shipped 0.2) and a train-section key
    assert "activity_reg = 0.2\n" in toml and "batch_size = 32\n" in toml
    toml = toml.replace("activity_reg = 0.2\n", "activity_reg = 0.3\n").replace("batch_size = 32\n",
                                                                               "batch_size = 16\n")
    (tmp_path / "changed" / "scenario.toml").write_text(toml)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "README.md").write_text("probes\n")
    rows = {r[0]: r for r in INDEX["rows"](str(tmp_path))}
    assert rows["same"][2] == "as shipped"
    assert rows["changed"][2] == "models.egru.activity_reg 0.3 → 0.2; train.batch_size 16 → 32"
    assert rows["logs"][2] == "probe logs (logs/README.md)"
    assert rows["same"][3].startswith("accuracy: egru ")


def test_committed_index_is_current():
    """docs/results/README.md equals what the generator writes now: a changed scenario or a
    new results folder shows up here until the index is regenerated."""
    want = INDEX["markdown"](str(ROOT / "docs" / "results"))
    assert (ROOT / "docs" / "results" / "README.md").read_text() == want, \
        "run: python analysis/results_index.py"
