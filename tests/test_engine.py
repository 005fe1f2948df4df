"""The event engine against the dense reference (the oracle).

Float64 models are used where events must be identical: in float32 a state
within rounding of its threshold could legitimately fall either way.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eventsim
from eventsim import EventStream, simulate


def sparse_input(rng, shape, density):
    return rng.normal(size=shape) * (rng.random(shape) < density)


def assert_same(a, b, atol=1e-10):
    """Outputs allclose, events identical, counts equal as integers."""
    for k in range(len(b.y)):
        np.testing.assert_allclose(a.y[k], b.y[k], atol=atol, rtol=0)
        np.testing.assert_array_equal(a.y[k] != 0, b.y[k] != 0)
        if a.c is not None and b.c is not None:
            np.testing.assert_allclose(a.c[k], b.c[k], atol=atol, rtol=0)
    if b.readout is not None:
        np.testing.assert_allclose(a.readout, b.readout, atol=atol, rtol=0)
    for (sa, ya), (sb, yb) in zip(a.state, b.state):
        np.testing.assert_allclose(sa, sb, atol=atol, rtol=0)
        np.testing.assert_allclose(ya, yb, atol=atol, rtol=0)
    da, db = a.counts.to_dict(), b.counts.to_dict()
    da.pop("engine"), db.pop("engine")
    assert da == db
    if a.counts.per_step is not None:
        for key in a.counts.per_step:
            np.testing.assert_array_equal(a.counts.per_step[key], b.counts.per_step[key])
    a.counts._check()
    b.counts._check()


REC = ("y", "c", "readout", "steps")
# without "c" the engine lets units sleep (event-driven updates); with it every unit is updated
# at every step: the engine is held to the reference both ways
SLEEP = ("y", "readout", "steps")
RECS = pytest.mark.parametrize("rec_", [REC, SLEEP], ids=["all-units", "sleeping"])


@RECS
@pytest.mark.parametrize("reset", ["threshold", "output"])
@pytest.mark.parametrize("density", [1.0, 0.3])
def test_multilayer_matches_reference(reset, density, rec_):
    rng = np.random.default_rng(3)
    m = eventsim.random_model(7, [12, 9, 5], n_out=4, seed=11, dtype="float64", reset=reset,
                              weight_density=density, thr_mean=0.15)
    x = sparse_input(rng, (3, 40, 7), 0.4)
    a = simulate(m, x, record=rec_)
    b = simulate(m, x, engine="dense", record=REC)
    assert_same(a, b)
    assert 0 < a.counts.to_dict()["total"]["events"]  # the case exercises events


@RECS
def test_weight_sparse_counts_fewer_macs(rec_):
    rng = np.random.default_rng(0)
    m = eventsim.random_model(6, [16, 16], seed=2, dtype="float64", weight_density=0.2, thr_mean=0.1)
    x = sparse_input(rng, (2, 30, 6), 0.8)
    a = simulate(m, x, record=rec_)
    assert_same(a, simulate(m, x, engine="dense", record=REC))
    d = a.counts.to_dict()["layers"][0]["macs"]
    assert d["effective"] < d["activity_sparse"]


@RECS
@pytest.mark.parametrize("ff,rec", [((0, 0), (1, 0)), ((2, 1), (0, 3)), ((1, 0), (2, 2))])
def test_delays_match_reference(ff, rec, rec_):
    rng = np.random.default_rng(5)
    m = eventsim.random_model(4, [10, 8], n_out=2, seed=4, dtype="float64", thr_mean=0.1,
                              ff_delays=ff, rec_delays=rec)
    x = sparse_input(rng, (2, 25, 4), 0.6)
    assert_same(simulate(m, x, record=rec_), simulate(m, x, engine="dense", record=REC))


def test_delays_shift_events():
    """A feed-forward delay d on layer 0 delays every event of a 1-layer network by d steps
    when the recurrent path is cut (no recurrent weights)."""
    m = eventsim.random_model(3, [6], seed=1, dtype="float64", thr_mean=0.05)
    m.layers[0].recurrent_kernel[:] = 0
    x = np.zeros((1, 12, 3))
    x[0, 2] = [1.0, -2.0, 0.5]
    base = simulate(m, x, record="y").y[0][0]
    late = simulate(m.with_delays(ff_delays=(3,)), x, record="y").y[0][0]
    np.testing.assert_array_equal(late[3:], base[:-3])
    assert not late[:5].any() and base[2].any()


@RECS
def test_event_stream_equals_dense_input(rec_):
    rng = np.random.default_rng(8)
    m = eventsim.random_model(5, [9], n_out=3, seed=3, dtype="float64", thr_mean=0.1)
    x = sparse_input(rng, (3, 20, 5), 0.3)
    stream = EventStream.from_dense(x)
    a = simulate(m, stream, record=rec_)
    assert_same(a, simulate(m, x, engine="dense", record=REC))
    assert_same(a, simulate(m, x, record=REC))


def test_event_stream_duplicates_add_up():
    m = eventsim.random_model(2, [4], seed=0, dtype="float64", thr_mean=0.1)
    s = EventStream.from_arrays([0, 0, 0, 0], [1, 1, 1, 3], [0, 0, 1, 1], [0.5, 0.25, 1.0, -1.0],
                                n_steps=5)
    x = np.zeros((1, 5, 2))
    x[0, 1, 0], x[0, 1, 1], x[0, 3, 1] = 0.75, 1.0, -1.0
    assert_same(simulate(m, s, record=REC), simulate(m, x, engine="dense", record=REC))


@RECS
def test_embedding_tokens(rec_):
    m = eventsim.random_model(6, [8, 8], n_out=11, vocab=11, seed=2, dtype="float64", thr_mean=0.1)
    m.embedding[3, :4] = 0.0  # a partly zero row: fewer input events
    tok = np.random.default_rng(1).integers(0, 11, size=(2, 30))
    a = simulate(m, tok, record=rec_)
    assert_same(a, simulate(m, tok, engine="dense", record=REC))
    n_active = sum(np.count_nonzero(m.embedding[t]) for t in tok.ravel())
    assert a.counts.to_dict()["layers"][0]["active_sources"]["inputs"] == n_active


def test_float32_close_to_reference():
    rng = np.random.default_rng(9)
    m = eventsim.random_model(8, [32, 32], n_out=5, seed=9, thr_mean=0.15)
    x = sparse_input(rng, (4, 50, 8), 0.5).astype(np.float32)
    a = simulate(m, x, record=("y", "c"))
    b = simulate(m, x, engine="dense", record=("y", "c"))
    for k in range(2):
        np.testing.assert_allclose(a.c[k], b.c[k], atol=2e-5)
        differ = (a.y[k] != 0) != (b.y[k] != 0)
        # an event may differ only where the state is within rounding of the threshold
        assert np.all(np.abs(b.c[k][differ] - np.broadcast_to(m.layers[k].thr, b.c[k].shape)[differ]) < 1e-5)


def test_threads_give_identical_results():
    rng = np.random.default_rng(2)
    m = eventsim.random_model(5, [20], n_out=3, seed=2, thr_mean=0.1)
    x = sparse_input(rng, (6, 30, 5), 0.5).astype(np.float32)
    a = simulate(m, x, record=REC, threads=1)
    b = simulate(m, x, record=REC, threads=2)
    for k in range(1):
        np.testing.assert_array_equal(a.y[k], b.y[k])
    assert a.counts.to_dict() == b.counts.to_dict()


def test_unrecorded_outputs_are_none_and_single_sample():
    m = eventsim.random_model(3, [4], n_out=2, seed=0)
    res = simulate(m, np.ones((7, 3), np.float32))
    assert res.y is None and res.c is None and res.readout is None and res.counts.per_step is None
    assert res.single and res.last_readout.shape == (1, 2)
    assert res.state[0][0].shape == (1, 4)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_hypothesis_engine_equals_reference(data):
    L = data.draw(st.integers(1, 3), label="layers")
    sizes = data.draw(st.lists(st.integers(1, 9), min_size=L, max_size=L), label="sizes")
    m_in = data.draw(st.integers(1, 6), label="inputs")
    n_out = data.draw(st.one_of(st.none(), st.integers(1, 4)), label="outputs")
    density = data.draw(st.sampled_from([1.0, 0.7, 0.3]), label="weight density")
    ff = tuple(data.draw(st.lists(st.integers(0, 2), min_size=L, max_size=L), label="ff delays"))
    rec = tuple(data.draw(st.lists(st.integers(0, 2), min_size=L, max_size=L), label="rec delays"))
    reset = data.draw(st.sampled_from(["threshold", "output"]), label="reset")
    seed = data.draw(st.integers(0, 10_000), label="seed")
    B, T = data.draw(st.integers(1, 3), label="B"), data.draw(st.integers(1, 15), label="T")
    x_density = data.draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]), label="input density")
    thr_mean = data.draw(st.sampled_from([0.05, 0.3, 0.7]), label="thr mean")
    m = eventsim.random_model(m_in, sizes, n_out=n_out, seed=seed, dtype="float64",
                              weight_density=density, thr_mean=thr_mean, reset=reset,
                              ff_delays=ff, rec_delays=rec)
    rng = np.random.default_rng(seed)
    for layer in m.layers:  # nonzero biases: bias-driven dynamics too
        layer.bias[:] = rng.normal(scale=0.5, size=layer.bias.shape)
    x = sparse_input(rng, (B, T, m_in), x_density)
    inp = EventStream.from_dense(x) if data.draw(st.booleans(), label="as stream") else x
    rec_ = data.draw(st.sampled_from([REC, SLEEP]), label="record (c: no unit sleeps)")
    a = simulate(m, inp, record=rec_, n_steps=T if isinstance(inp, EventStream) else None)
    assert_same(a, simulate(m, x, engine="dense", record=REC))


def test_compiled_model_is_a_frozen_copy():
    rng = np.random.default_rng(4)
    m = eventsim.random_model(4, [8], n_out=2, seed=4, dtype="float64", thr_mean=0.1)
    x = sparse_input(rng, (2, 15, 4), 0.5)
    cm = eventsim.compile_model(m)
    before = simulate(m, x, record=REC)
    m.layers[0].thr[:] = 5.0  # edits after compiling do not reach the compiled copy
    assert_same(simulate(cm, x, record=REC), before)
    assert simulate(m, x).counts.to_dict()["total"]["events"] == 0


def test_chunked_progress_run_equals_single_run():
    rng = np.random.default_rng(6)
    m = eventsim.random_model(4, [8, 6], n_out=3, seed=6, dtype="float64", thr_mean=0.1)
    x = sparse_input(rng, (7, 12, 4), 0.5)
    from eventsim.egru.engine import CompiledEGRU
    from eventsim.inputs import prepare_input
    cm = CompiledEGRU(m)
    table = prepare_input(m, x)
    whole = cm.run(table, REC)
    parts = cm.run(table, REC, progress=True, chunk=3)
    for key in ("y", "c"):
        for a, b in zip(whole[key], parts[key]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole["raw"], parts["raw"])
    np.testing.assert_array_equal(whole["readout"], parts["readout"])
    for key in whole["per_step"]:
        np.testing.assert_array_equal(whole["per_step"][key], parts["per_step"][key])
    assert whole["readout_macs"] == parts["readout_macs"]
