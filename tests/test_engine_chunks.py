"""Runs in ranges of steps (so Ctrl-C is honoured in a long sample), input tables in proportion
to events, and memory estimated before large allocations: EGRU, DeltaGRU and LIF.

Every chunked run is compared bit for bit with the unchunked run, and the EGRU and DeltaGRU
runs with their dense references (the oracle) too.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import eventsim
from eventsim import EventStream, simulate
from eventsim.deltagru import random_deltagru, simulate_deltagru
from eventsim.deltagru.engine import CompiledDeltaGRU
from eventsim.egru.engine import CompiledEGRU
from eventsim.engine.runner import step_chunks
from eventsim.errors import EventsimError
from eventsim.inputs import prepare_input
from eventsim.lif import random_lif_model, simulate_lif
from eventsim.lif.engine import CompiledLIF
from eventsim.lif.inputs import input_table

REC = ("y", "c", "readout", "steps")
CHUNKS = (1, 7, None)  # None: one range covering the whole run


def sparse_input(rng, shape, density):
    return rng.normal(size=shape) * (rng.random(shape) < density)


def assert_equal_runs(a, b):
    """Two outputs of ``run`` (dicts) identical, bit for bit."""
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if x is None or key == "queues":
            continue
        if isinstance(x, dict):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k])
        elif isinstance(x, list):
            for u, v in zip(x, y):
                for p, q in (zip(u, v) if isinstance(u, tuple) else zip(u.values(), v.values())
                             if isinstance(u, dict) else [(u, v)]):
                    np.testing.assert_array_equal(p, q)
        else:
            np.testing.assert_array_equal(x, y)


def test_step_chunks_cover_the_run():
    for T, steps in ((1, None), (50, 1), (50, 7), (1000, None), (5, 100)):
        ranges = list(step_chunks(T, steps))
        assert ranges[0][0] == 0 and ranges[-1][1] == T
        assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(ranges, ranges[1:]))
        if steps is not None:
            assert all(t1 - t0 == steps for t0, t1 in ranges[:-1])
    with pytest.raises(ValueError):
        list(step_chunks(5, 0))


@pytest.mark.parametrize("rec_", [REC, ("y", "readout", "steps")], ids=["all-units", "sleeping"])
@pytest.mark.parametrize("delays", [((0, 0), (0, 0)), ((0, 2), (3, 1))])
@pytest.mark.parametrize("density", [1.0, 0.4])
def test_egru_chunks_identical_and_equal_reference(delays, density, rec_):
    rng = np.random.default_rng(3)
    m = eventsim.random_model(5, [9, 7], n_out=3, seed=4, dtype="float64", thr_mean=0.1,
                              weight_density=density).with_delays(*delays)
    x = sparse_input(rng, (3, 40, 5), 0.4)
    cm = CompiledEGRU(m)
    table = prepare_input(m, x)
    runs = [cm.run(table, rec_, step_chunk=k) for k in CHUNKS]
    for r in runs[1:]:
        assert_equal_runs(runs[0], r)
    queues = [cm.final_queues(table, step_chunk=k) for k in CHUNKS]
    for qs in queues[1:]:
        for q, q0 in zip(qs, queues[0]):
            for a, b in zip(q, q0):
                np.testing.assert_array_equal(a, b)
            q._check(40)
    # and the whole run against the dense reference
    from test_engine import assert_same
    assert_same(simulate(m, x, record=rec_), simulate(m, x, record=REC, engine="dense"))
    ref = simulate(m, x, record=REC, engine="dense")
    for k in range(2):
        np.testing.assert_allclose(runs[1]["y"][k], ref.y[k], atol=1e-10, rtol=0)
        np.testing.assert_array_equal(runs[1]["y"][k] != 0, ref.y[k] != 0)
    np.testing.assert_array_equal(runs[1]["raw"], runs[2]["raw"])


@pytest.mark.parametrize("rec_", [REC, ("y", "readout", "steps")], ids=["all-units", "sleeping"])
def test_egru_chunks_event_stream_and_tokens(rec_):
    rng = np.random.default_rng(5)
    m = eventsim.random_model(6, [8], n_out=2, seed=1, dtype="float64", thr_mean=0.1)
    ev = EventStream.from_arrays([0, 0, 0, 1, 1], [2, 2, 30, 0, 55], [1, 4, 0, 5, 2],
                                 [0.7, -0.3, 1.2, 0.9, -1.1], n_steps=60)
    cm = CompiledEGRU(m)
    table = prepare_input(m, ev)
    runs = [cm.run(table, rec_, step_chunk=k) for k in CHUNKS]
    for r in runs[1:]:
        assert_equal_runs(runs[0], r)
    dense = simulate(m, ev.to_dense(np.float64), record=REC)
    for k in range(1):
        np.testing.assert_array_equal(runs[1]["y"][k], dense.y[k])
    tok = eventsim.random_model(4, [6], n_out=3, seed=2, dtype="float64", vocab=11, thr_mean=0.1)
    ids = rng.integers(0, 11, size=(2, 25))
    ct = CompiledEGRU(tok)
    tt = prepare_input(tok, ids)
    runs = [ct.run(tt, rec_, step_chunk=k) for k in CHUNKS]
    for r in runs[1:]:
        assert_equal_runs(runs[0], r)
    ref = simulate(tok, ids, record=REC, engine="dense")
    np.testing.assert_allclose(runs[1]["readout"], ref.readout, atol=1e-10, rtol=0)


def test_deltagru_chunks_identical_and_equal_reference():
    rng = np.random.default_rng(6)
    m = random_deltagru(4, [8, 6], n_out=3, seed=6, dtype="float64", theta_x=0.1, theta_h=0.05)
    x = sparse_input(rng, (3, 30, 4), 0.5)
    cm = CompiledDeltaGRU(m)
    table = prepare_input(m, x)
    rec = ("y", "deltas", "readout", "steps")
    runs = [cm.run(table, rec, step_chunk=k) for k in CHUNKS]
    for r in runs[1:]:
        assert_equal_runs(runs[0], r)
    ref = simulate_deltagru(m, x, record=rec, engine="dense")
    for k in range(2):
        np.testing.assert_allclose(runs[1]["y"][k], ref.y[k], atol=1e-10, rtol=0)
        np.testing.assert_array_equal(runs[1]["dh"][k] != 0, ref.dh[k] != 0)
    np.testing.assert_allclose(runs[1]["readout"], ref.readout, atol=1e-10, rtol=0)


def test_lif_chunks_identical():
    m = random_lif_model(6, 20, fanout_in=5, fanout_rec=4, w_in=(0.6, 0.2), w_rec=(0.2, 0.3),
                         delay_rec=(1, 4), seed=2)
    rng = np.random.default_rng(2)
    x = (rng.random((2, 80, 6)) < 0.2).astype(float)
    table = input_table(x, 6)
    cl = CompiledLIF(m)
    runs = [cl.run(table, record_v=True, chunk=k) for k in CHUNKS]
    for r in runs[1:]:
        for a, b in zip(r["spikes"], runs[0]["spikes"]):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(r["v"], runs[0]["v"])
        np.testing.assert_array_equal(r["raw"], runs[0]["raw"])
    ref = simulate_lif(m, x, engine="reference")
    assert len(ref.t) == runs[0]["spikes"][1].size
    np.testing.assert_array_equal(ref.t, runs[0]["spikes"][1])


# ------------------------------------------------------------------ memory


def test_event_stream_table_grows_with_events_not_steps():
    ev = EventStream.from_arrays([0, 0, 0], [0, 5, 10**9], [0, 1, 2], [1.0, 1.0, 1.0])
    m = eventsim.random_model(4, [8], n_out=2, seed=0)
    table = prepare_input(m, ev)
    assert table.n_steps == 10**9 + 1
    assert table.steps.tolist() == [0, 5, 10**9] and table.sptr.tolist() == [0, 3]
    assert sum(a.nbytes for a in (table.indptr, table.idx, table.val, table.sptr, table.steps,
                                  table.rows)) < 1000
    assert input_table(ev, 4).rows.size == 3  # the LIF's table too


def test_long_sparse_stream_runs_under_a_small_budget(monkeypatch):
    # a dense (B, T) table of this stream would take 24 MB; the budget is 8 MB
    monkeypatch.setenv("EVENTSIM_MEMORY_LIMIT", str(8 << 20))
    T = 10**6
    ev = EventStream.from_arrays([0, 0, 0], [0, 5, T - 1], [0, 1, 2], [1.0, 1.0, 1.0])
    m = eventsim.random_model(4, [8], n_out=2, seed=0, dtype="float64")
    r = simulate(m, ev)
    assert r.counts.to_dict()["steps"] == T
    assert r.counts.raw[0, 3] == 3  # the three input events reached layer 0
    with pytest.raises(EventsimError, match=r"dense form of an input .* needs about .*; use the event"):
        simulate(m, ev, engine="dense")
    dm = random_deltagru(4, [8], n_out=2, seed=0, dtype="float64")
    assert simulate_deltagru(dm, ev).counts.to_dict()["steps"] == T
    lm = random_lif_model(4, 10, fanout_in=3, seed=0)
    assert simulate_lif(lm, ev).counts.steps == T


def test_huge_sample_index_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("EVENTSIM_MEMORY_LIMIT", str(64 << 20))
    ev = EventStream.from_arrays([0, 10**9], [0, 5], [0, 1], [1.0, 1.0])
    m = eventsim.random_model(4, [8], n_out=2, seed=0)
    for run in (lambda: simulate(m, ev), lambda: simulate_deltagru(random_deltagru(4, [8], seed=0), ev),
                lambda: simulate_lif(random_lif_model(4, 10, seed=0), ev)):
        with pytest.raises(EventsimError, match=r"1,000,000,001 samples .* needs about \d.* GiB of "
                                                r"memory but only 64 MiB are available; use fewer samples"):
            run()


def test_huge_delay_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("EVENTSIM_MEMORY_LIMIT", str(256 << 20))
    m = eventsim.random_model(4, [8, 8], n_out=2, seed=0).with_delays([0, 0], [10**8, 0])
    x = np.ones((1, 5, 4), np.float32)
    with pytest.raises(EventsimError, match=r"needs about \d.* GiB of memory .*; use .*smaller delays"):
        simulate(m, x)
    with pytest.raises(EventsimError, match=r"needs about \d.* GiB of memory .*; use smaller delays"):
        simulate_lif(random_lif_model(4, 10, fanout_rec=3, delay_rec=(1, 10**8), seed=0), np.ones((5, 4)))


def test_records_are_estimated_first(monkeypatch):
    monkeypatch.setenv("EVENTSIM_MEMORY_LIMIT", str(1 << 20))
    m = eventsim.random_model(4, [64], n_out=2, seed=0)
    ev = EventStream.from_arrays([0], [0], [0], [1.0], n_steps=10**5)
    simulate(m, ev)  # nothing recorded: a few KiB
    with pytest.raises(EventsimError, match="record less"):
        simulate(m, ev, record=("y",))


def test_budget_must_be_a_number(monkeypatch):
    monkeypatch.setenv("EVENTSIM_MEMORY_LIMIT", "lots")
    with pytest.raises(EventsimError, match="EVENTSIM_MEMORY_LIMIT='lots' must be a number of bytes"):
        simulate(eventsim.random_model(2, [3], seed=0), np.ones((2, 2)))


def test_cli_huge_stream_one_line(tmp_path):
    m = tmp_path / "m.npz"
    eventsim.save_model(eventsim.random_model(4, [8], n_out=2, seed=0), m)
    s = tmp_path / "s.npz"
    EventStream.from_arrays([0, 10**9], [0, 5], [0, 1], [1.0, 1.0]).save(s)
    env = dict(os.environ, EVENTSIM_MEMORY_LIMIT=str(256 << 20))
    p = subprocess.run([sys.executable, "-m", "eventsim.cli", "count", "--model", str(m), "--input", str(s)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("eventsim: error: a run on an event stream")
    assert "Traceback" not in p.stderr


# ------------------------------------------------------------------ Ctrl-C


def test_ctrl_c_stops_a_long_single_sample_count(tmp_path):
    """A single sample of 2,000,000 steps (tens of seconds): SIGINT after the run started stops
    it within a few seconds (one kernel range is ~0.25 s), one line, status 130."""
    m = tmp_path / "m.npz"
    eventsim.save_model(eventsim.random_model(8, [256], n_out=2, seed=0), m)
    s = tmp_path / "s.npz"
    EventStream.from_arrays([0, 0], [0, 2_000_000 - 1], [0, 1], [1.0, 1.0]).save(s)
    out = tmp_path / "c.json"
    p = subprocess.Popen([sys.executable, "-m", "eventsim.cli", "count", "--model", str(m), "--input", str(s),
                          "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: p.stderr.read1(4096), b"")),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while b"step" not in b"".join(chunks) and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.2)
    assert b"step" in b"".join(chunks), b"".join(chunks)  # the progress bar counts steps
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    waited = time.monotonic() - t0
    reader.join(timeout=10)
    err = b"".join(chunks).decode()
    assert p.returncode == 130
    assert err.rstrip().endswith("eventsim: interrupted") and "Traceback" not in err
    assert not out.exists()
    assert waited < 5, waited


def test_counts_that_would_overflow_are_refused():
    ev = EventStream.from_arrays([0], [0], [0], [1.0], n_steps=2**60)
    with pytest.raises(EventsimError, match="64-bit integers its exact counts are kept in hold; use fewer"):
        simulate(eventsim.random_model(4, [8], seed=0), ev)
    with pytest.raises(EventsimError, match="64-bit integers"):
        simulate_deltagru(random_deltagru(4, [8], seed=0), ev)
    with pytest.raises(EventsimError, match="64-bit integers"):
        simulate_lif(random_lif_model(4, 10, seed=0), ev)


def _cli(*args, limit=256 << 20):
    env = dict(os.environ, EVENTSIM_MEMORY_LIMIT=str(limit))
    return subprocess.run([sys.executable, "-m", "eventsim.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_cli_huge_delay_one_line(tmp_path):
    """A delay of 10^8 steps: one line naming the size and the fix, for the EGRU's --delays and a
    LIF network's synapse delays, with a dense and an event-stream input."""
    m = tmp_path / "m.npz"
    eventsim.save_model(eventsim.random_model(4, [8], n_out=2, seed=0), m)
    x = tmp_path / "x.npy"
    np.save(x, np.ones((5, 4), np.float32))
    s = tmp_path / "s.npz"
    EventStream.from_arrays([0], [3], [1], [1.0], n_steps=5).save(s)
    lif = tmp_path / "lif.npz"
    assert _cli("lif", "random-model", "--inputs", 4, "--units", 10, "--fanout-in", 3, "--fanout-rec", 3, "--delay-rec", 1,
                10**8, lif).returncode == 0
    for args in (("count", "--model", m, "--input", x, "--delays", "0:100000000", "--quiet"),
                 ("count", "--model", m, "--input", s, "--delays", "0:100000000", "--quiet"),
                 ("lif", "run", "--model", lif, "--input", x),
                 ("lif", "run", "--model", lif, "--input", s)):
        p = _cli(*args)
        assert p.returncode == 2, p.stderr
        assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
        assert "needs about" in p.stderr and "GiB of memory" in p.stderr and "smaller delays" in p.stderr


@pytest.mark.parametrize("kind", ["egru", "deltagru"])
def test_cli_layer_of_ten_million_units_one_line(tmp_path, kind):
    p = _cli("random-model", "--inputs", 4, "--layers", 10**7, "--kind", kind, "--out", tmp_path / "m.npz")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert "a model of 300,000,120,000,000 weights needs about" in p.stderr and "are available" in p.stderr
    assert not (tmp_path / "m.npz").exists()
