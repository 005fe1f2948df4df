"""A study's training workers exit within seconds when its main process is killed (issue 17).

A small study trains on 2 worker processes (eventsim.study.parallel.train_in_parallel) in a
subprocess; once the workers have written a checkpoint, the subprocess gets ``kill -9``.
Every process it started (the 2 workers, the progress queue's manager) must be gone within
10 s, instead of training on and writing checkpoints no one reads.
"""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest

psutil = pytest.importorskip("psutil")

STUDY = """
import sys
from eventsim.study.parallel import train_in_parallel
from eventsim.study.settings import load_study_scenario
sc = load_study_scenario("tiny", ["data.limit=48", "train.epochs=100000"])
train_in_parallel(sc, sys.argv[1], ["egru", "gru"], 2, False)
"""


def _gone(proc) -> bool:
    """Exited (a zombie waiting for a parent that does not reap it counts as exited)."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait(cond, timeout: float, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def test_workers_exit_when_the_study_is_killed(tmp_path):
    out = tmp_path / "study"
    study = subprocess.Popen([sys.executable, "-c", STUDY, str(out)], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main = psutil.Process(study.pid)
    procs = []
    try:
        def training():  # both workers and the manager started, a checkpoint written
            if study.poll() is not None:
                return True
            procs[:] = main.children(recursive=True)
            return len(procs) >= 3 and glob.glob(str(out / "*" / "checkpoint" / "*"))
        assert _wait(training, 90), "the study's workers did not start training within 90 s"
        assert study.poll() is None, study.stderr.read().decode()[-2000:]
        procs = main.children(recursive=True)
        assert len(procs) >= 3, procs
        study.send_signal(signal.SIGKILL)
        study.wait(10)
        t0 = time.monotonic()
        assert _wait(lambda: all(_gone(p) for p in procs), 10), \
            f"still running 10 s after the study was killed: {[p.pid for p in procs if not _gone(p)]}"
        assert time.monotonic() - t0 < 10
        # and nothing writes in the results folder any more
        files = sorted(glob.glob(str(out / "**"), recursive=True))
        time.sleep(1.5)
        assert sorted(glob.glob(str(out / "**"), recursive=True)) == files
    finally:  # never leave a process behind, whatever failed above
        for p in procs + [main]:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        study.wait(10)
        if study.stderr:
            study.stderr.close()


def test_watch_parent_notices_a_dead_parent():
    """The check itself: a re-parented process (os.getppid() changed) counts as orphaned."""
    from eventsim.study.parallel import _parent_gone
    assert not _parent_gone(None, os.getppid())
    assert _parent_gone(None, os.getppid() + 1)


ORPHAN = """
import multiprocessing as mp
import sys
import time


def child(path, flag):
    from eventsim.outputs import atomic_write
    from eventsim.study.parallel import watch_parent
    watch_parent(poll=0.2)
    with atomic_write(path, "w") as f:  # half a file in its temporary file when the parent dies
        f.write("half a new file")
        open(flag, "w").close()
        while True:
            time.sleep(0.05)


if __name__ == "__main__":
    p = mp.get_context("spawn").Process(target=child, args=(sys.argv[1], sys.argv[2]))
    p.start()
    print(p.pid, flush=True)
    p.join()
"""


def test_an_orphaned_worker_leaves_no_half_written_file(tmp_path):
    """A worker in the middle of an atomic write when its parent is killed unwinds: the old
    file stays whole and the temporary file is removed."""
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    folder = tmp_path / "out"
    folder.mkdir()
    target, flag = folder / "table.csv", tmp_path / "writing"
    target.write_text("old table")
    parent = subprocess.Popen([sys.executable, str(script), str(target), str(flag)], stdout=subprocess.PIPE,
                              start_new_session=True, text=True)
    child = None
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        assert _wait(flag.exists, 60), "the child did not start writing"
        assert len(list(folder.iterdir())) == 2  # the target and the temporary file
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _wait(lambda: _gone(child), 10), "the orphaned child still runs"
        assert target.read_text() == "old table"
        assert [p.name for p in folder.iterdir()] == ["table.csv"]
    finally:
        if child is not None:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        if parent.poll() is None:
            parent.kill()
        parent.wait(10)
        parent.stdout.close()
