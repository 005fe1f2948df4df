"""Parameter sweeps (eventsim.sweep): product of values, results per task, reruns,
failures, local processes and a 2-worker Dask LocalCluster with a killed worker.

The tasks are a stand-in with run_study's signature whose results are closed
forms of their parameters, so every table value is known in advance.
"""
import json
import os
import signal

import pytest

from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.sweep import expand, parse_params, run_sweep, split_values


def stand_in_task(scenario, out_dir=None, overrides=(), progress=False, resume=True):
    """A study stand-in: metric = 1 / (1 + units·thr), effective MACs = 10·units + seed.

    Overrides steer it: fail=<path> raises while <path> does not exist (and then creates
    it, so a rerun succeeds); kill=<path> kills its own worker process the first time.
    """
    p = dict(o.split("=", 1) for o in overrides)
    if "fail" in p and not os.path.exists(p["fail"]):
        open(p["fail"], "w").close()
        raise EventsimError("planned failure")
    if "kill" in p and not os.path.exists(p["kill"]):
        with open(p["kill"], "w") as f:
            f.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    units, thr, seed = int(p.get("units", 4)), float(p.get("thr", 0.5)), int(p.get("seed", 0))
    summary = {"scenario": scenario, "task": "classify", "metric": "accuracy", "dataset": "stand-in",
               "models": {"egru": {"kind": "egru", "units": [units], "metric": 1.0 / (1.0 + units * thr),
                                   "activity_sparsity": thr, "effective_macs_per_step": 10.0 * units + seed,
                                   "dense_macs_per_step": 100.0 * units, "savings_vs_gru": 2.0,
                                   "savings_vs_lstm": 2.5}}}
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f)
    return summary


def expected_metric(units, thr):
    return 1.0 / (1.0 + int(units) * float(thr))


def test_parse_params_and_product():
    assert split_values("[16],[32, 32],'a,b',x") == ["[16]", "[32, 32]", "'a,b'", "x"]
    params = parse_params(["units=4,8", "models.egru.units=[16],[32,32]"])
    assert params == {"units": ["4", "8"], "models.egru.units": ["[16]", "[32,32]"]}
    tasks = expand(params)
    assert [t["overrides"] for t in tasks] == [
        ["units=4", "models.egru.units=[16]"], ["units=4", "models.egru.units=[32,32]"],
        ["units=8", "models.egru.units=[16]"], ["units=8", "models.egru.units=[32,32]"]]
    ids = [t["id"] for t in tasks]
    assert len(set(ids)) == 4 and ids == [t["id"] for t in expand(params)]  # stable
    assert expand(parse_params(["train.lr=0.01"]))[0]["id"].startswith("lr=0.01-")
    for bad, msg in ((["seed"], "must look like key=v1,v2"), (["a=1,,2"], "empty value"),
                     (["a=1", "a=2"], "given twice"), (["a=1,1"], "repeats a value"), ([], "at least one")):
        with pytest.raises(EventsimError, match=msg):
            parse_params(bad)


def test_inline_sweep_reports_failure_then_rerun_finishes_it(tmp_path):
    marker = tmp_path / "failed-once"
    out = tmp_path / "sw"
    # both tasks share the marker: the first to run fails (creating it), the second succeeds
    params = {"units": ["4", "8"], "thr": ["0.5"], "fail": [str(marker)]}
    res1 = run_sweep("stand-in", params, out_dir=out, backend="inline", task_fn=stand_in_task,
                     progress=False)
    assert {t["params"]["units"]: t["status"] for t in res1.tasks} == {"4": "failed", "8": "ok"}
    failed = res1.failed[0]
    assert failed["error"] == "EventsimError: planned failure"
    saved = json.loads((out / failed["id"] / "task.json").read_text())
    assert saved["status"] == "failed" and "planned failure" in saved["traceback"]
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["failed", "ok"]
    assert rows[0]["error"] == "EventsimError: planned failure"
    assert rows[1]["metric"] == pytest.approx(expected_metric(8, 0.5))
    assert rows[1]["effective_macs_per_step"] == 80.0
    assert (out / "tradeoff.png").read_bytes()[:4] == b"\x89PNG"
    # rerun: the finished task is skipped, the failed one runs again and now succeeds
    res2 = run_sweep("stand-in", params, out_dir=out, backend="inline", task_fn=stand_in_task,
                     progress=False, plot=False)
    assert [t["status"] for t in res2.tasks] == ["ok", "ok"]
    assert [bool(t.get("skipped")) for t in res2.tasks] == [False, True]
    csv_lines = (out / "table.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and "param:units" in csv_lines[0]
    assert json.loads((out / "sweep.json").read_text())["params"] == params


def test_local_processes_backend(tmp_path):
    res = run_sweep("stand-in", {"units": ["2", "3"], "seed": ["1"]}, out_dir=tmp_path / "p",
                    backend="processes", workers=2, task_fn=stand_in_task, progress=False, plot=False)
    assert res.backend == "processes"
    got = sorted((r["param:units"], r["effective_macs_per_step"]) for r in res.rows)
    assert got == [("2", 21.0), ("3", 31.0)]
    pids = {t["pid"] for t in res.tasks}
    assert os.getpid() not in pids  # ran in other processes


def test_dask_local_cluster_survives_a_killed_worker(tmp_path):
    pytest.importorskip("distributed")
    kill = tmp_path / "killed-once"
    params = {"units": ["4", "8"], "thr": ["0.5", "0.25"]}
    tasks = expand(params)
    # the task units=8, thr=0.5 kills its worker the first time it runs
    target = [t for t in tasks if t["params"] == {"units": "8", "thr": "0.5"}][0]

    def task(scenario, out_dir=None, overrides=(), progress=False, resume=True):
        extra = [f"kill={kill}"] if list(overrides) == target["overrides"] else []
        return stand_in_task(scenario, out_dir, list(overrides) + extra, progress, resume)

    res = run_sweep("stand-in", params, out_dir=tmp_path / "d", workers=2, backend="dask",
                    task_fn=task, progress=False)
    assert res.backend == "dask"
    assert kill.exists()  # a worker really was killed mid-sweep
    assert [t["status"] for t in res.tasks] == ["ok"] * 4
    t = [t for t in res.tasks if t["id"] == target["id"]][0]
    assert t["pid"] != int(kill.read_text())  # finished in another worker process
    for t in res.tasks:
        rec = json.loads((tmp_path / "d" / t["id"] / "task.json").read_text())
        units, thr = t["params"]["units"], t["params"]["thr"]
        assert rec["summary"]["models"]["egru"]["metric"] == pytest.approx(expected_metric(units, thr))
    assert len(res.rows) == 4 and (tmp_path / "d" / "table.csv").exists()


def test_errors(tmp_path):
    with pytest.raises(EventsimError, match="backend 'gpu' is unknown"):
        run_sweep("stand-in", {"a": ["1"]}, out_dir=tmp_path, backend="gpu", task_fn=stand_in_task)
    with pytest.raises(EventsimError, match="--scheduler needs the dask backend"):
        run_sweep("stand-in", {"a": ["1"]}, out_dir=tmp_path, backend="processes",
                  scheduler="tcp://127.0.0.1:1", task_fn=stand_in_task)
    with pytest.raises(EventsimError, match="--workers 0 must be at least 1"):
        run_sweep("stand-in", {"a": ["1"]}, out_dir=tmp_path, workers=0, task_fn=stand_in_task)
    # real scenarios are validated before any task starts
    with pytest.raises(EventsimError, match=r"sweep task nosuch.key=1: .*unknown section 'nosuch'"):
        run_sweep("tiny", {"nosuch.key": ["1"]}, out_dir=tmp_path)


def test_unreachable_scheduler(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import eventsim.sweep as sweep
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(EventsimError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'.*"
                                            r"dask worker tcp://127.0.0.1:9"):
        run_sweep("stand-in", {"a": ["1"]}, out_dir=tmp_path, scheduler="tcp://127.0.0.1:9",
                  task_fn=stand_in_task, progress=False)


def test_cli_sweep_runs_real_studies_inline(tmp_path, capsys):
    out = tmp_path / "sw"
    args = ["sweep", "tiny", "--param", "train.epochs=1", "--param", "measure.test_samples=8",
            "--param", "train.max_batches_per_epoch=1", "--backend", "inline", "--out", str(out),
            "--no-progress", "--no-plot"]
    code = main(args)
    assert code == 0
    text = capsys.readouterr().out
    assert "1 task(s) on inline: 1 ok" in text
    rows = json.loads((out / "table.json").read_text())["rows"]
    assert {r["model"] for r in rows} == {"egru", "gru", "lstm"}
    (task_dir,) = [p for p in out.iterdir() if p.is_dir()]
    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["models"]["egru"]["effective_macs_per_step"] == \
        [r for r in rows if r["model"] == "egru"][0]["effective_macs_per_step"]
    # a rerun skips it
    assert main(args) == 0
    assert "(1 skipped as already done)" in capsys.readouterr().out


def test_sweep_table_survives_a_failed_write(tmp_path, monkeypatch):
    """A failure while table.csv is written (issue 17) leaves the previous table whole and
    no temporary file."""
    import eventsim.outputs as outputs
    from eventsim.sweep import write_table
    rows = [{"task": "a", "status": "ok", "model": "egru", "metric": 0.5, "units": [4]}]
    (tmp_path / "table.csv").write_text("old table")
    real = outputs.os.fsync

    def fsync(fd):
        if ".table.csv." in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(28, "No space left on device")
        real(fd)
    monkeypatch.setattr(outputs.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        write_table(rows, str(tmp_path))
    assert (tmp_path / "table.csv").read_text() == "old table"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
    monkeypatch.undo()
    paths = write_table(rows, str(tmp_path))
    assert open(paths["csv"]).read().splitlines() == ["task,status,model,metric,units", "a,ok,egru,0.5,[4]"]
    assert json.loads(open(paths["json"]).read()) == {"rows": rows}
