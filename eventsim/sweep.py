"""Parameter sweeps: the cartesian product of scenario overrides as independent studies.

Each combination of ``--param key=v1,v2`` values is one *task*: a study
(:func:`eventsim.study.run_study`) with those ``key=value`` overrides, written to
its own folder inside the sweep folder. Tasks run on Dask distributed (a
``LocalCluster`` by default, an existing cluster given its scheduler address),
or, without Dask, on local processes (``concurrent.futures``), or inline.

Sweep folder::

    <out>/sweep.json           scenario, parameters, the task list
    <out>/<task id>/           the task's study results (summary.json, <model>/...)
    <out>/<task id>/task.json  status "ok" | "failed", error and traceback, seconds, overrides
    <out>/table.csv, table.json  one row per task and model (failed tasks: one row with the error)
    <out>/tradeoff.png         task metric vs effective MACs per step (eventsim.plots.savings)

A task's ``task.json`` is written as soon as it finishes, so a rerun skips the
tasks that succeeded and runs again those that failed or never finished. A task
that raises is recorded with its error; the others go on. A task whose worker
dies (killed, out of memory) is rescheduled by Dask on another worker, up to
``allowed_failures`` worker deaths per task (Dask's
``distributed.scheduler.allowed-failures``, set on the LocalCluster this module
starts; an external scheduler keeps its own setting).
"""
from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import logging
import os
import re
import socket
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from .errors import EventsimError
from .outputs import write_text

log = logging.getLogger(__name__)

BACKENDS = ("auto", "dask", "processes", "inline")
CONNECT_TIMEOUT = "20s"  # how long to try reaching a given Dask scheduler
TASK_FILE = "task.json"


# ----------------------------------------------------------------------------- parameters

def split_values(text: str) -> list:
    """Split ``v1,v2,...`` on commas outside brackets and quotes (``[16],[32,32]`` -> 2 values)."""
    out, cur, depth, quote = [], [], 0, None
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch in "[{":
            depth += 1
            cur.append(ch)
        elif ch in "]}":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_params(specs: Sequence[str]) -> dict:
    """``["train.seed=0,1", "models.egru.units=[16],[32]"]`` -> ``{key: [value texts]}``.

    Values stay text: each becomes the override ``key=value`` of a task, parsed
    as TOML by the scenario (a bare word is a string).
    """
    params = {}
    for spec in specs:
        if not isinstance(spec, str) or "=" not in spec:
            raise EventsimError(f"--param {spec!r} must look like key=v1,v2,..., e.g. train.seed=0,1,2")
        key, values = spec.split("=", 1)
        key = key.strip()
        if not key:
            raise EventsimError(f"--param {spec!r} has an empty key")
        if key in params:
            raise EventsimError(f"--param {key} is given twice; list all its values in one --param")
        vals = split_values(values)
        if any(v == "" for v in vals):
            raise EventsimError(f"--param {spec!r} has an empty value; separate values with single commas")
        if len(set(vals)) != len(vals):
            raise EventsimError(f"--param {spec!r} repeats a value")
        params[key] = vals
    if not params:
        raise EventsimError("a sweep needs at least one --param key=v1,v2,...")
    return params


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=+-]+", "_", text).strip("_")


def task_id(overrides: Sequence[str]) -> str:
    """A stable folder name for a task: readable slug plus a hash of the exact overrides."""
    h = hashlib.sha1("\n".join(overrides).encode()).hexdigest()[:8]
    short = [o.split("=", 1)[0].split(".")[-1] + "=" + o.split("=", 1)[1] for o in overrides]
    slug = "__".join(_slug(o) for o in short)[:80]
    return f"{slug}-{h}"


def expand(params: dict) -> list:
    """Every combination, in the order the values were given: list of task dicts."""
    keys = list(params)
    tasks = []
    for combo in itertools.product(*(params[k] for k in keys)):
        overrides = [f"{k}={v}" for k, v in zip(keys, combo)]
        tasks.append({"id": task_id(overrides), "params": dict(zip(keys, combo)), "overrides": overrides})
    return tasks


# ----------------------------------------------------------------------------- one task

def run_task(task_fn: Callable, scenario, out_dir: str, overrides: list) -> dict:
    """Run one task, never raising: returns a record with status, summary or error.

    Runs on the worker. ``task_fn`` has :func:`eventsim.study.run_study`'s signature.
    """
    t0 = time.perf_counter()
    rec = {"host": socket.gethostname(), "pid": os.getpid()}
    try:
        summary = task_fn(scenario, out_dir=out_dir, overrides=list(overrides), progress=False, resume=True)
        rec.update(status="ok", summary=summary)
    except Exception as e:  # reported per task; the sweep goes on
        rec.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=traceback.format_exc())
    rec["seconds"] = time.perf_counter() - t0
    return rec


def _default_task_fn(scenario, out_dir=None, overrides=(), progress=False, resume=True):
    from .study import run_study
    return run_study(scenario, out_dir=out_dir, overrides=overrides, progress=progress, resume=resume)


# ----------------------------------------------------------------------------- the sweep

@dataclass
class SweepResult:
    """What :func:`run_sweep` returns.

    out_dir: the sweep folder. tasks: one record per task (id, params, overrides,
    status "ok" | "failed", error, seconds, skipped). rows: the table rows (also
    in table.csv / table.json). plot: path of tradeoff.png or None, with
    plot_note saying why not. backend: what ran the tasks.
    """

    out_dir: str
    tasks: list
    rows: list
    backend: str
    plot: Optional[str] = None
    plot_note: str = ""
    files: dict = field(default_factory=dict)

    @property
    def failed(self) -> list:
        return [t for t in self.tasks if t["status"] != "ok"]

    @property
    def skipped(self) -> list:
        return [t for t in self.tasks if t.get("skipped")]


def _read_done(task_dir: str) -> Optional[dict]:
    path = os.path.join(task_dir, TASK_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            rec = json.load(f)
    except (OSError, ValueError):
        return None
    return rec if rec.get("status") == "ok" and isinstance(rec.get("summary"), dict) else None


def _write_json(path: str, obj) -> None:
    """JSON written atomically (:mod:`eventsim.outputs`): a reader never sees half a file,
    a failure leaves the previous file and no temporary file."""
    write_text(path, json.dumps(obj, indent=1, default=str) + "\n")


def _validate(scenario, tasks) -> None:
    from .scenario import load_scenario
    for t in tasks:
        try:
            load_scenario(scenario, t["overrides"])
        except EventsimError as e:
            raise EventsimError(f"sweep task {' '.join(t['overrides'])}: {e}") from None


def _choose_backend(backend: str, scheduler: Optional[str]) -> str:
    if backend not in BACKENDS:
        raise EventsimError(f"backend {backend!r} is unknown; use one of {', '.join(BACKENDS)}")
    try:
        import distributed  # noqa: F401
        have_dask = True
    except ImportError:
        have_dask = False
    if scheduler and backend not in ("auto", "dask"):
        raise EventsimError(f"--scheduler needs the dask backend, not {backend!r}")
    if backend == "dask" or scheduler:
        if not have_dask:
            raise EventsimError("Dask distributed is not installed: pip install 'eventsim[dask]', or "
                                "drop --scheduler to run on local processes")
        return "dask"
    if backend == "auto":
        return "dask" if have_dask else "processes"
    return backend


def run_sweep(scenario, params: dict, out_dir=None, scheduler: Optional[str] = None,
              workers: Optional[int] = None, backend: str = "auto", progress: bool = True,
              allowed_failures: int = 3, task_fn: Optional[Callable] = None,
              plot: bool = True) -> SweepResult:
    """Run every combination of ``params`` as a study and collect the results.

    scenario: built-in name or TOML path (see :mod:`eventsim.scenario`).
    params: ``{override key: [value texts]}`` (see :func:`parse_params`).
    out_dir: sweep folder (default ``results/sweep-<scenario name>``).
    scheduler: address of a running Dask scheduler (``tcp://host:8786``); else
        a LocalCluster of ``workers`` processes (default 2) is started.
    workers: number of local worker processes (LocalCluster or process pool).
    backend: "auto" (Dask if installed, else processes), "dask", "processes", "inline".
    allowed_failures: worker deaths tolerated per task on the LocalCluster.
    task_fn: replaces :func:`eventsim.study.run_study` (same signature); for tests.
    """
    if workers is not None and int(workers) < 1:
        raise EventsimError(f"--workers {workers} must be at least 1")
    if allowed_failures < 0:
        raise EventsimError(f"allowed_failures = {allowed_failures} must be >= 0")
    tasks = expand(params)
    if task_fn is None:
        task_fn = _default_task_fn
        _validate(scenario, tasks)
        from .scenario import load_scenario
        name = load_scenario(scenario).name
        if isinstance(scenario, (str, os.PathLike)) and os.path.isfile(os.fspath(scenario)):
            scenario = os.path.abspath(os.fspath(scenario))  # workers may run elsewhere
    else:
        name = os.path.splitext(os.path.basename(os.fspath(scenario)))[0] if scenario else "sweep"
    out = os.path.abspath(os.fspath(out_dir) if out_dir else os.path.join("results", f"sweep-{name}"))
    os.makedirs(out, exist_ok=True)
    backend = _choose_backend(backend, scheduler)

    sweep_file = os.path.join(out, "sweep.json")
    _write_json(sweep_file, {"scenario": os.fspath(scenario) if scenario is not None else None,
                             "params": params, "tasks": tasks})
    todo = []
    for t in tasks:
        t["dir"] = os.path.join(out, t["id"])
        done = _read_done(t["dir"])
        if done is not None:
            t.update(status="ok", summary=done["summary"], seconds=done.get("seconds"), skipped=True)
        else:
            todo.append(t)
    log.info("sweep %s: %d tasks, %d already done, backend %s", out, len(tasks), len(tasks) - len(todo), backend)

    def finish(t, rec):
        t.update({k: v for k, v in rec.items() if k != "summary"}, summary=rec.get("summary"), skipped=False)
        os.makedirs(t["dir"], exist_ok=True)
        _write_json(os.path.join(t["dir"], TASK_FILE),
                    {k: t.get(k) for k in ("id", "params", "overrides", "status", "error", "traceback",
                                           "seconds", "host", "pid", "summary")})

    bar = None
    if todo:
        from tqdm import tqdm
        bar = tqdm(total=len(todo), desc=f"sweep {name}", unit="task", file=sys.stderr,
                   disable=not progress, dynamic_ncols=True)
    try:
        if backend == "dask" and todo:
            _run_dask(todo, task_fn, scenario, scheduler, workers, allowed_failures, finish, bar)
        elif backend == "processes" and todo:
            _run_processes(todo, task_fn, scenario, workers, finish, bar)
        else:
            for t in todo:
                finish(t, run_task(task_fn, scenario, t["dir"], t["overrides"]))
                _tick(bar, t)
    finally:
        if bar is not None:
            bar.close()
    result = SweepResult(out_dir=out, tasks=tasks, rows=table_rows(tasks), backend=backend)
    result.files = write_table(result.rows, out)
    result.files["sweep"] = sweep_file
    if plot:
        result.plot, result.plot_note = write_plot(result.rows, out)
        if result.plot:
            result.files["plot"] = result.plot
    return result


def _tick(bar, t):
    if t["status"] != "ok":
        log.warning("sweep task %s failed: %s", t["id"], t["error"])
    if bar is not None:
        bar.update(1)


def _run_dask(todo, task_fn, scenario, scheduler, workers, allowed_failures, finish, bar):
    import dask
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            raise EventsimError(f"cannot reach the Dask scheduler at {scheduler!r} ({e}); start one with "
                                f"'dask scheduler' and workers with 'dask worker {scheduler}'") from None
    else:
        with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures)}):
            cluster = LocalCluster(n_workers=int(workers or 2), threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
        client = Client(cluster)
        log.info("Dask dashboard: %s", client.dashboard_link)
    try:
        futures = {}
        for t in todo:
            f = client.submit(run_task, task_fn, scenario, t["dir"], t["overrides"], pure=False,
                              key=f"eventsim-sweep-{t['id']}-{os.getpid()}-{time.time_ns()}")
            futures[f] = t
        for f in as_completed(list(futures)):
            t = futures[f]
            try:
                rec = f.result()
            except Exception as e:  # KilledWorker after allowed_failures deaths, cancelled ...
                name = type(e).__name__
                msg = (f"its worker died more than {allowed_failures} times ({name}: {e})"
                       if name == "KilledWorker" else f"{name}: {e}")
                rec = {"status": "failed", "error": msg, "traceback": None}
            finish(t, rec)
            _tick(bar, t)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run_processes(todo, task_fn, scenario, workers, finish, bar):
    import concurrent.futures as cf
    import multiprocessing

    n = int(workers or min(len(todo), os.cpu_count() or 1))
    with cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn")) as ex:
        futures = {ex.submit(run_task, task_fn, scenario, t["dir"], t["overrides"]): t for t in todo}
        for f in cf.as_completed(futures):
            t = futures[f]
            try:
                rec = f.result()
            except Exception as e:  # a worker process died: the pool is broken for pending tasks
                rec = {"status": "failed", "error": f"{type(e).__name__}: {e} (local process pool; "
                                                    f"rerun the sweep to retry, or use Dask)",
                       "traceback": None}
            finish(t, rec)
            _tick(bar, t)


# ----------------------------------------------------------------------------- table and plot

ROW_FIELDS = ("model", "kind", "units", "metric", "metric_name", "activity_sparsity",
              "effective_macs_per_step", "dense_macs_per_step", "savings_vs_gru", "savings_vs_lstm")


def table_rows(tasks) -> list:
    """One row per task and model; a failed task gives one row with its error."""
    rows = []
    for t in tasks:
        base = {"task": t["id"], **{f"param:{k}": v for k, v in t["params"].items()},
                "status": t["status"], "seconds": t.get("seconds")}
        if t["status"] != "ok":
            rows.append({**base, "error": t.get("error")})
            continue
        summary = t.get("summary") or {}
        models = summary.get("models") or {}
        if not models:
            rows.append({**base, "status": "failed", "error": "the task's summary has no models"})
            continue
        for name, m in models.items():
            r = dict(base)
            r.update({"model": name, "kind": m.get("kind"), "units": m.get("units"),
                      "metric": m.get("metric"), "metric_name": summary.get("metric"),
                      "activity_sparsity": m.get("activity_sparsity"),
                      "effective_macs_per_step": m.get("effective_macs_per_step"),
                      "dense_macs_per_step": m.get("dense_macs_per_step"),
                      "savings_vs_gru": m.get("savings_vs_gru"), "savings_vs_lstm": m.get("savings_vs_lstm"),
                      "task_name": summary.get("dataset") or summary.get("task"), "error": None})
            rows.append(r)
    return rows


def write_table(rows, out: str) -> dict:
    cols = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else ("" if v is None else v))
                    for k, v in r.items()})
    paths = {"csv": os.path.join(out, "table.csv"), "json": os.path.join(out, "table.json")}
    write_text(paths["csv"], buf.getvalue())
    _write_json(paths["json"], {"rows": rows})
    return paths


def format_table(rows, keys: Sequence[str], width: Optional[int] = None) -> str:
    """The sweep table ``eventsim sweep`` prints: one line per task and model, at most
    ``width`` (default 100) columns, numbers as in the study table (metric as the study
    prints it, sparsity '81.7%', MACs '50,816'); a failed task reads FAILED and its error
    follows the table, wrapped. keys: the swept parameters (their columns come first)."""
    import textwrap

    from ._fmt import TABLE_WIDTH, format_fraction_sparsity, format_int, format_metric, format_ratio, text_table
    width = width or TABLE_WIDTH
    keys = list(keys)
    header = keys + ["model", "metric", "sparsity", "eff. MACs/step", "vs GRU", "status"]
    lines, errors = [], []
    for r in rows:
        ok = r.get("status") == "ok"
        if not ok:
            errors.append((r.get("task"), r.get("error")))
        lines.append([str(r.get(f"param:{k}", "")) for k in keys] +
                     [r.get("model") or "-", format_metric(r.get("metric"), r.get("metric_name")),
                      format_fraction_sparsity(r.get("activity_sparsity")),
                      format_int(r.get("effective_macs_per_step")), format_ratio(r.get("savings_vs_gru")),
                      "ok" if ok else f"FAILED ({len(errors)})"])
    n = len(keys)
    text = text_table(header, lines, right=range(n + 1, n + 5), key=n + 1 if n + 1 < len(header) else 1,
                      width=width)
    for i, (task, error) in enumerate(errors, 1):
        text += "\n" + textwrap.fill(f"({i}) task {task}: {error}", width=width, subsequent_indent="    ",
                                     break_long_words=True, break_on_hyphens=False)
    return text


def write_plot(rows, out: str) -> tuple:
    """tradeoff.png with :func:`eventsim.plots.savings.tradeoff_figure`; (path | None, note)."""
    pts = []
    for r in rows:
        if r.get("status") != "ok" or r.get("metric") is None or not r.get("effective_macs_per_step"):
            continue
        params = ",".join(str(v) for k, v in r.items() if k.startswith("param:"))
        pts.append({"name": f"{r['model']} {params}", "kind": r.get("kind"), "metric": r["metric"],
                    "effective_macs_per_step": r["effective_macs_per_step"],
                    "activity_sparsity": r.get("activity_sparsity"), "savings_vs_gru": r.get("savings_vs_gru"),
                    "metric_name": r.get("metric_name"), "task": r.get("task_name")})
    if not pts:
        return None, "no finished task with a metric and effective MACs: no trade-off plot"
    from .plots import style
    from .plots.savings import tradeoff_figure
    fig = tradeoff_figure(pts, title="Sweep: task metric vs effective MACs (one point per task and model)")
    return style.save(fig, os.path.join(out, "tradeoff.png")), ""
