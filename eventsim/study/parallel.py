"""Training a study's models side by side in worker processes (``eventsim study --jobs N``).

Each worker trains one model at a time into ``OUT/<name>/checkpoint/`` with exactly the
settings of the one-after-the-other study and reports each finished epoch on a progress
queue that it receives with its task (a manager's queue, which a task can carry); the
study then resumes from the finished checkpoints, so the results are identical.

Every worker and the queue's manager watch the study's main process and exit within about
a second when it dies (a ``kill -9`` leaves no worker training on and writing checkpoints).
"""
from __future__ import annotations

import os
import queue as queue_mod

from threadpoolctl import threadpool_limits

from .settings import load_data, model_epochs, model_settings


#: How often (seconds) a worker looks whether the study's main process is still there.
PARENT_POLL = 0.5
#: Exit status of a worker whose study's main process died.
ORPHAN_EXIT = 3
#: Seconds an orphaned worker is given to unwind (temporary files of atomic writes removed)
#: before it is ended with ``os._exit``.
ORPHAN_GRACE = 2.0


class Orphaned(SystemExit):
    """Raised in an orphaned worker's main thread: unwinds it (``finally`` blocks run, an
    atomic write in progress removes its temporary file) and ends the process."""

    def __init__(self, *args):
        super().__init__(ORPHAN_EXIT)


def _end_orphan(grace: float) -> None:
    """End this process: :class:`Orphaned` in the main thread, then ``os._exit`` after
    ``grace`` seconds if it is still there (blocked in a call that never returns)."""
    import ctypes
    import threading
    import time

    main = threading.main_thread()
    if main is not threading.current_thread() and main.ident is not None:
        try:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(main.ident), ctypes.py_object(Orphaned))
        except (AttributeError, TypeError, ValueError):  # pragma: no cover - not CPython
            pass
        time.sleep(grace)
    os._exit(ORPHAN_EXIT)


def _parent_gone(parent, ppid: int) -> bool:
    """Whether the process that started this one has died: its sentinel is ready (the pipe
    it holds closed) or this process was re-parented (``os.getppid()`` changed)."""
    if os.getppid() != ppid:
        return True
    if parent is not None:
        from multiprocessing.connection import wait
        try:
            return bool(wait([parent.sentinel], timeout=0))
        except (OSError, ValueError):
            return True
    return False


def watch_parent(poll: float = PARENT_POLL, grace: float = ORPHAN_GRACE) -> None:
    """End this process within about ``poll`` seconds of its parent's death, e.g. a ``kill -9``
    of the study's main process: a daemon thread waits on the parent's sentinel and also
    checks ``os.getppid()``; then :func:`_end_orphan` unwinds the main thread (no file is
    left half written: an atomic write removes its temporary file) and, at the latest after
    ``grace`` seconds, calls ``os._exit``.

    Without it a training worker whose study died would go on training and writing
    checkpoints that no one reads (issue 17)."""
    import multiprocessing as mp
    import threading
    import time

    parent, ppid = mp.parent_process(), os.getppid()

    def watch():
        while True:
            if parent is not None:
                from multiprocessing.connection import wait
                try:
                    wait([parent.sentinel], timeout=poll)
                except (OSError, ValueError):
                    time.sleep(poll)
            else:
                time.sleep(poll)
            if _parent_gone(parent, ppid):
                _end_orphan(grace)

    threading.Thread(target=watch, name="eventsim-watch-parent", daemon=True).start()


def _ignore_sigint() -> None:
    """Leave Ctrl-C to the main process (it stops the pool and the manager; the finished
    epochs stay checkpointed)."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _manager_init() -> None:
    """Initializer of the progress queue's manager process: no Ctrl-C, and gone with the study."""
    _ignore_sigint()
    watch_parent()


def _worker_init() -> None:
    """Initializer of a training worker: no Ctrl-C; exit when the study's main process dies
    (:func:`watch_parent`); a thread lock for tqdm (its default multiprocessing lock is a
    named semaphore that a terminated worker could not release: "leaked semaphore" warnings)."""
    import logging
    import threading

    from tqdm import tqdm
    _ignore_sigint()
    watch_parent()
    tqdm.set_lock(threading.RLock())
    # warnings (e.g. a damaged checkpoint passed over) in the study's one-line form
    logging.basicConfig(level=logging.WARNING, format="eventsim: %(levelname)s: %(message)s")


def train_one(task) -> str:
    """Train one model of a study into its checkpoint folder (run in a worker process).

    task: (scenario, model name, results folder, progress queue); each finished epoch is
    reported on the queue as (model name, epochs done)."""
    sc, name, out, progress = task
    from ..train import train
    ds = load_data(sc)
    spec, cfg = model_settings(sc, sc.model(name), ds)
    with threadpool_limits(limits=1, user_api="blas"):
        train(spec, ds.train, ds.valid, cfg, ckpt_dir=os.path.join(out, name, "checkpoint"), resume=True,
              progress=False, desc=name,
              on_epoch_end=lambda epoch, history: progress.put((name, len(history))))
    return name


def train_in_parallel(sc, out: str, names: list, jobs: int, progress: bool, done: dict = None) -> None:
    """Train the models ``names`` side by side in ``jobs`` processes, longest first,
    each into ``OUT/<name>/checkpoint/`` with exactly the settings the sequential
    study uses; the study then resumes from the finished checkpoints (identical
    results: every training run is seeded and single-threaded).

    done: ``{name: epochs already checkpointed}`` (a resumed study): the progress bar
    starts there, with the true total; models already finished get no worker."""
    import multiprocessing as mp
    from multiprocessing.managers import SyncManager

    from tqdm import tqdm
    epochs = {n: model_epochs(sc, sc.model(n)) for n in names}
    done = {n: min(int((done or {}).get(n, 0)), epochs[n]) for n in names}
    order = sorted(names, key=lambda n: -epochs[n] * sum(sc.model(n)["units"]))
    todo = [n for n in order if done[n] < epochs[n]]
    if not todo:
        return
    jobs = min(jobs, len(todo))
    ctx = mp.get_context("spawn")
    manager = SyncManager(ctx=ctx)
    manager.start(_manager_init)
    bar = tqdm(total=sum(epochs.values()), initial=sum(done.values()),
               desc=f"training {len(todo)} models on {jobs} processes",
               unit="epoch", disable=not progress, dynamic_ncols=True)
    bar.set_postfix_str(_postfix(done, epochs, order))
    pool = None
    try:
        q = manager.Queue()
        pool = ctx.Pool(jobs, initializer=_worker_init)
        pending = pool.map_async(train_one, [(sc, n, out, q) for n in todo], chunksize=1)
        _follow(q, pending, bar, epochs, order, done)
        pending.get()  # re-raises a worker's error
        pool.close()
    finally:  # also on Ctrl-C or a worker's error: stop the workers and the queue's manager
        if pool is not None:
            pool.terminate()
            pool.join()
        manager.shutdown()
    bar.close()


def _postfix(done: dict, epochs: dict, order: list) -> str:
    return " ".join(f"{n} {done[n]}/{epochs[n]}" for n in order)


def _follow(q, pending, bar, epochs: dict, order: list, done: dict = None) -> None:
    """Move the progress bar with the workers' finished epochs until every task is done
    (``done``: the epochs each model had before, where the bar started)."""
    done = dict(done) if done else {n: 0 for n in epochs}
    while True:
        try:
            name, finished = q.get(timeout=0.2)
            bar.update(finished - done[name])
            done[name] = finished
            bar.set_postfix_str(_postfix(done, epochs, order))
        except queue_mod.Empty:
            if pending.ready():
                break
