"""eventsim's LIF engine beside Brian2 on Brian2's own kind of workload (issue 7).

10 000 Poisson sources at 10 Hz, each with 1 000 distinct random targets among
10 000 leaky integrate-and-fire neurons (tau 10 ms, threshold 1, reset 0, w 0.01),
dt = 0.1 ms, every synapse delayed 1 ms (10 steps), 2 s simulated (20 000 steps):
about 2·10^8 synaptic events. The connectivity is drawn once and given to every
simulator; each simulator draws its own Poisson spikes (Brian2 with its
``PoissonGroup``, eventsim with :func:`eventsim.lif.poisson_stream`), and the
synaptic events each one actually delivered are reported beside its time.

One thread everywhere: eventsim's LIF kernel is serial (no ``prange``) and runs with
NUMBA_NUM_THREADS=1; Brian2 standalone is built without OpenMP; Brian2 runtime is
single-threaded. Each mode runs in its own fresh process, one after the other.

Quoted figure: the **CPU time of the simulation loop**, because that is what Brian2
standalone itself reports: without OpenMP its ``Network::run`` times the loop with
``std::clock()``, i.e. process CPU time (``device._last_run_time``, read from
``results/last_run_info.txt``), and because on a shared machine CPU time is far less
sensitive to the load than wall time. So, per mode, ``cpu_s``:

- eventsim: process CPU time of Poisson generation + the engine run (the Numba kernel
  was compiled or loaded from cache by a warm-up run first, ``compile_s``; building the
  engine's arrays from the model file is ``build_s``);
- Brian2 cpp_standalone: ``device._last_run_time`` (CPU time of the loop, which includes
  its ``PoissonGroup``); code generation + C++ compile are ``build_s``. Check: the
  binary's CPU time minus that of the same binary built for 1 step (its start-up,
  loading 10^7 synapses) is ``loop_cpu_s_estimate``;
- Brian2 runtime: process CPU time of ``Network.run`` after a zero-length run that
  generated and compiled the code (``build_s``).

Wall times are recorded beside them (``wall_s``; for standalone the binary's wall time
minus the 1-step binary's, ``loop_wall_s_estimate``) with the load averages.

Usage (Brian2 2.9 needs numpy < 2.4; pass a Python that has it):
    python benchmarks/bench_brian2.py --brian2-python /path/to/python [--repeats 3]
Writes benchmarks/results/brian2_bench.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

N_SRC, N, FANOUT, RATE, DT, DELAY_STEPS, STEPS = 10_000, 10_000, 1_000, 10.0, 1e-4, 10, 20_000
TAU, THR, W = 0.01, 1.0, 0.01
STEPS = int(os.environ.get("BENCH_BRIAN2_STEPS", STEPS))  # smoke tests only; the benchmark is 20 000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_model(path, seed=0):
    from eventsim.lif import random_lif_model, save_lif
    m = random_lif_model(N_SRC, N, fanout_in=FANOUT, fanout_rec=0, w_in=(W, 0.0),
                         delay_in=(DELAY_STEPS, DELAY_STEPS), tau=TAU, thr=THR, v_reset=0.0, dt=DT, seed=seed)
    save_lif(m, path)


def mode_eventsim(model_path, repeats):
    from eventsim.lif import load_lif, poisson_stream
    from eventsim.lif.engine import CompiledLIF
    from eventsim.lif.inputs import input_table
    out = {}
    t0 = time.perf_counter()
    model = load_lif(model_path)
    c = CompiledLIF(model)
    out["build_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    c.run(input_table(poisson_stream(N_SRC, 20, RATE, DT, seed=99), N_SRC))  # compile / load cache
    out["compile_s"] = time.perf_counter() - t0
    runs = []
    for r in range(repeats):
        t0 = time.perf_counter()
        c0 = time.process_time()
        x = poisson_stream(N_SRC, STEPS, RATE, DT, seed=r)
        table = input_table(x, N_SRC)
        t1 = time.perf_counter()
        res = c.run(table)
        t2 = time.perf_counter()
        raw = res["raw"]
        from eventsim.lif.engine import C_IN_ACS, C_EVENTS, C_INPUT_EVENTS
        runs.append({"cpu_s": time.process_time() - c0, "wall_s": t2 - t0, "input_wall_s": t1 - t0,
                     "engine_wall_s": t2 - t1,
                     "input_spikes": int(raw[C_INPUT_EVENTS]), "synaptic_events": int(raw[C_IN_ACS]),
                     "output_spikes": int(raw[C_EVENTS])})
    out["runs"] = runs
    return out


def _brian_model(model_path):
    from eventsim.lif import load_lif
    return load_lif(model_path)


def _brian_counts(model, mons):
    import numpy as np
    t = np.round(np.asarray(mons["inputs_t"].t_) / DT).astype(np.int64)
    delivered = int(np.sum(t + DELAY_STEPS < STEPS)) * FANOUT
    return {"input_spikes": int(t.size), "synaptic_events": delivered,
            "output_spikes": int(mons["spikes"].num_spikes)}


def _build(model):
    import brian2 as b2
    from eventsim.lif.brian import build_network
    net, mons = build_network(model, STEPS, poisson_rate_hz=RATE)
    mons["inputs_t"] = b2.SpikeMonitor(net["inputs"], name="input_spikes")
    net.add(mons["inputs_t"])
    return net, mons


def mode_standalone(model_path, repeats, workdir):
    import brian2 as b2
    model = _brian_model(model_path)
    b2.set_device("cpp_standalone", directory=workdir, build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    b2.prefs.core.default_float_dtype = __import__("numpy").float64
    net, mons = _build(model)
    t0 = time.perf_counter()
    net.run(STEPS * DT * b2.second)
    b2.device.build(directory=workdir, compile=True, run=False)
    build_s = time.perf_counter() - t0
    runs = []
    for r in range(repeats):
        t0 = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b2.device.run(directory=workdir, with_output=False, run_args=[])
        wall = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append({"cpu_s": float(b2.device._last_run_time), "binary_wall_s": wall,
                     "binary_cpu_s": (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)}
                    | _brian_counts(model, mons))
    return {"build_s": build_s, "runs": runs}


def mode_runtime(model_path, repeats, target):
    import brian2 as b2
    model = _brian_model(model_path)
    b2.prefs.codegen.target = target
    b2.prefs.core.default_float_dtype = __import__("numpy").float64
    runs = []
    build = []
    for r in range(repeats):
        b2.start_scope()
        t0 = time.perf_counter()
        net, mons = _build(model)
        net.run(0 * b2.second)  # code generation (and compilation for cython)
        build.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        c0 = time.process_time()
        net.run(STEPS * DT * b2.second)
        runs.append({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
                    | _brian_counts(model, mons))
    return {"build_s": build[0], "build_s_all": build, "target": target, "runs": runs}


def _conditions(python):
    info = {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg(), "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    code = ("import numpy, numba, sys; v={'python': sys.version.split()[0], 'numpy': numpy.__version__, "
            "'numba': numba.__version__}\ntry:\n import brian2; v['brian2']=brian2.__version__\n"
            "except Exception as e:\n v['brian2']='unavailable'\nprint(__import__('json').dumps(v))")
    for name, py in (("eventsim_python", sys.executable), ("brian2_python", python)):
        r = subprocess.run([py, "-c", code], capture_output=True, text=True)
        info[name] = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else r.stderr[-300:]
    r = subprocess.run(["g++", "--version"], capture_output=True, text=True)
    info["gxx"] = r.stdout.splitlines()[0] if r.returncode == 0 else None
    return info


def _child(python, mode, model_path, repeats, extra=(), env_extra=None):
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env_extra or {}))
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        res_path = f.name
    cmd = [python, os.path.abspath(__file__), "--child", mode, "--model", model_path,
           "--repeats", str(repeats), "--child-out", res_path, *extra]
    print(f"[{time.strftime('%H:%M:%S')}] {mode}: {' '.join(cmd)}", flush=True)
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env)
    total = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": f"exit status {r.returncode}", "process_wall_s": total}
    with open(res_path) as f:
        out = json.load(f)
    os.unlink(res_path)
    out["process_wall_s"] = total
    out["loadavg_before"], out["loadavg_after"] = load0, os.getloadavg()
    runs = out["runs"]
    med = lambda k: statistics.median(x[k] for x in runs)
    out["median_cpu_s"] = med("cpu_s")
    if "wall_s" in runs[0]:
        out["median_wall_s"] = med("wall_s")
    out["median_synaptic_events"] = med("synaptic_events")
    if out["median_synaptic_events"] == 0:  # the 1-step start-up measurement
        print(f"    start-up measurement: binary CPU {med('binary_cpu_s'):.2f} s", flush=True)
        return out
    out["synaptic_events_per_cpu_s"] = out["median_synaptic_events"] / out["median_cpu_s"]
    print(f"    median loop CPU {out['median_cpu_s']:.2f} s, "
          f"{out['synaptic_events_per_cpu_s'] / 1e6:.1f} M synaptic events per CPU second",
          flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brian2-python", default=sys.executable, help="a Python with Brian2 and numpy < 2.4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runtime-repeats", type=int, default=1)
    ap.add_argument("--runtime-target", default="cython", choices=("cython", "numpy"))
    ap.add_argument("--modes", default="eventsim,standalone,runtime")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "brian2_bench.json"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--model", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        if a.child == "eventsim":
            res = mode_eventsim(a.model, a.repeats)
        elif a.child == "standalone":
            res = mode_standalone(a.model, a.repeats, a.workdir)
        else:
            res = mode_runtime(a.model, a.repeats, a.child.split(":")[1])
        with open(a.child_out, "w") as f:
            json.dump(res, f)
        return 0
    tmp = tempfile.mkdtemp(prefix="bench_brian2_")
    model_path = os.path.join(tmp, "workload.npz")
    t0 = time.perf_counter()
    make_model(model_path)
    print(f"workload built in {time.perf_counter() - t0:.1f} s: {model_path}", flush=True)
    result = {"workload": {"sources": N_SRC, "neurons": N, "fanout": FANOUT, "rate_hz": RATE, "dt_s": DT,
                           "delay_steps": DELAY_STEPS, "steps": STEPS, "tau_s": TAU, "thr": THR, "w": W,
                           "expected_synaptic_events": N_SRC * RATE * STEPS * DT * FANOUT},
              "quoted": "median cpu_s: CPU time of the simulation loop (Brian2 standalone reports its loop "
                        "time with std::clock, i.e. CPU time); see the script docstring",
              "conditions": _conditions(a.brian2_python), "modes": {}}
    for mode in a.modes.split(","):
        if mode == "eventsim":
            result["modes"]["eventsim"] = _child(sys.executable, "eventsim", model_path, a.repeats)
        elif mode == "standalone":
            res = _child(a.brian2_python, "standalone", model_path, a.repeats,
                         ("--workdir", os.path.join(tmp, "standalone")))
            # the same binary for 1 step: its CPU time is the start-up (loading 10^7 synapses),
            # so loop CPU ~ binary CPU (2 s) - binary CPU (1 step), comparable with eventsim's cpu_s
            start = _child(a.brian2_python, "standalone", model_path, a.repeats,
                           ("--workdir", os.path.join(tmp, "standalone1")), {"BENCH_BRIAN2_STEPS": "1"})
            if "runs" in res and "runs" in start:
                med = lambda r, k: statistics.median(x[k] for x in r["runs"])
                res["startup_binary_cpu_s"] = med(start, "binary_cpu_s")
                res["startup_binary_wall_s"] = med(start, "binary_wall_s")
                res["loop_cpu_s_estimate"] = med(res, "binary_cpu_s") - res["startup_binary_cpu_s"]
                res["loop_wall_s_estimate"] = med(res, "binary_wall_s") - res["startup_binary_wall_s"]
            result["modes"]["brian2_cpp_standalone"] = res
        elif mode == "runtime":
            result["modes"][f"brian2_runtime_{a.runtime_target}"] = _child(
                a.brian2_python, f"runtime:{a.runtime_target}", model_path, a.runtime_repeats)
    result["conditions"]["loadavg_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
