"""The README's and docs/commands.md's commands and the README's Python example run as written.

Commands that need a trained study run against a tiny study written to
``results/digits`` first; the long ones (the default study itself, other
scenarios, sweeps) are covered by tests/test_study.py and tests/test_sweep.py.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = README.parent / "docs" / "commands.md"
LONG = ("eventsim study", "eventsim sweep")  # run elsewhere in the suite, on tiny settings


def blocks(lang, page=README):
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(), flags=re.S)


def commands():
    out = []
    for block in blocks("bash") + blocks("bash", COMMANDS):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("eventsim ") and not line.startswith(LONG):
                out.append(line)
    return out


def test_readme_has_the_two_command_quick_start():
    quick = blocks("bash")[0].strip().splitlines()
    assert quick == ["pip install -e '.[data]' && eventsim study",
                     "pip install -e '.[test,all,neurobench,nir,eventax]' && python -m pytest -q"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert quick[1] in ci


def test_readme_commands_run(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    study = [sys.executable, "-m", "eventsim", "study", "tiny", "--out", "results/digits", "--no-progress",
             "--no-report", "--set", "data.limit=48", "--set", "measure.test_samples=8"]
    subprocess.run(study, cwd=tmp_path, env=env, check=True, capture_output=True)
    cmds = commands()
    assert len(cmds) >= 20
    for cmd in cmds:
        args = shlex.split(cmd)
        r = subprocess.run([sys.executable, "-m", "eventsim", *args[1:]], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"


def test_readme_python_example(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (code,) = blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    assert "effective" in capsys.readouterr().out
