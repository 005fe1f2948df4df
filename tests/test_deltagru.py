"""The DeltaGRU (SPEC §5): event engine against the dense reference, a hand-worked case,
Θ = 0 against the GRU (eventsim's and PyTorch's), files, validation and closed-form counts.

Float64 models are used where sent deltas must be identical: in float32 a change within
rounding of its threshold could legitimately fall either way.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import eventsim
from eventsim import EventStream, EventsimError
from eventsim.deltagru import (DeltaGRULayer, DeltaGRUModel, compile_deltagru, from_gru, load_any_model,
                               load_deltagru, random_deltagru, save_deltagru, simulate_deltagru)
from eventsim.egru.counts import gru_baseline_per_step, lstm_baseline_per_step
from eventsim.inputs import prepare_input

REC = ("y", "deltas", "readout", "steps")


def sparse_input(rng, shape, density):
    return rng.normal(size=shape) * (rng.random(shape) < density)


def assert_same(a, b, atol=1e-10):
    """Sent deltas identical, outputs and memories allclose, counts equal as integers."""
    for k in range(len(b.y)):
        np.testing.assert_allclose(a.y[k], b.y[k], atol=atol, rtol=0)
        for da, db in ((a.dx[k], b.dx[k]), (a.dh[k], b.dh[k])):
            np.testing.assert_array_equal(da != 0, db != 0)   # the same deltas were sent
            np.testing.assert_allclose(da, db, atol=atol, rtol=0)
    if b.readout is not None:
        np.testing.assert_allclose(a.readout, b.readout, atol=atol, rtol=0)
        np.testing.assert_allclose(a.last_readout, b.last_readout, atol=atol, rtol=0)
    for sa, sb in zip(a.state, b.state):
        for key in sa._fields:
            np.testing.assert_allclose(getattr(sa, key), getattr(sb, key), atol=atol, rtol=0)
    da, db = a.counts.to_dict(), b.counts.to_dict()
    assert (da.pop("engine"), db.pop("engine")) == ("event", "dense")
    assert da == db
    if a.counts.per_step is not None:
        assert set(a.counts.per_step) == set(b.counts.per_step)
        for key in a.counts.per_step:
            np.testing.assert_array_equal(a.counts.per_step[key], b.counts.per_step[key])
    a.counts._check()
    b.counts._check()


def both(m, x, **kw):
    return (simulate_deltagru(m, x, record=REC, **kw),
            simulate_deltagru(m, x, engine="dense", record=REC, **kw))


# ------------------------------------------------------------------ engine against reference

@pytest.mark.parametrize("density", [1.0, 0.3])
@pytest.mark.parametrize("thetas", [(0.0, 0.0), (0.1, 0.05), (0.5, 0.2)])
def test_multilayer_matches_reference(density, thetas):
    rng = np.random.default_rng(3)
    m = random_deltagru(7, [12, 9, 5], n_out=4, seed=11, dtype="float64", weight_density=density,
                        theta_x=thetas[0], theta_h=thetas[1])
    for layer in m.layers:  # nonzero biases: the memories start away from zero
        layer.bias[:] = rng.normal(scale=0.5, size=layer.bias.shape)
        layer.recurrent_bias[:] = rng.normal(scale=0.3, size=layer.recurrent_bias.shape)
    x = sparse_input(rng, (3, 40, 7), 0.6)
    a, b = both(m, x)
    assert_same(a, b)
    tot = a.counts.to_dict()["total"]
    assert 0 < tot["events"] and 0 < tot["input_events"]  # the case exercises both kinds of delta


def test_weight_sparse_counts_fewer_macs():
    rng = np.random.default_rng(0)
    m = random_deltagru(6, [16, 16], seed=2, dtype="float64", weight_density=0.2, theta_x=0.05,
                        theta_h=0.02)
    x = sparse_input(rng, (2, 30, 6), 0.8)
    a, b = both(m, x)
    assert_same(a, b)
    d = a.counts.to_dict()["layers"][0]["macs"]
    assert d["effective"] < d["activity_sparse"] < d["dense"]


def test_per_layer_thetas_and_batch_independence():
    """Per-unit thresholds; each sample of a batch is run as if alone."""
    rng = np.random.default_rng(4)
    m = random_deltagru(4, [10, 6], n_out=2, seed=5, dtype="float64",
                        theta_x=[rng.uniform(0, 0.4, 4), 0.05], theta_h=[0.1, rng.uniform(0, 0.2, 6)])
    x = sparse_input(rng, (4, 25, 4), 0.7)
    a, b = both(m, x)
    assert_same(a, b)
    alone = simulate_deltagru(m, x[2], record=REC)
    assert alone.single and alone.y[0].shape == (1, 25, 10)
    np.testing.assert_allclose(alone.y[1][0], a.y[1][2], atol=1e-12)
    np.testing.assert_array_equal(alone.dh[0][0] != 0, a.dh[0][2] != 0)


def test_event_stream_equals_dense_input():
    rng = np.random.default_rng(8)
    m = random_deltagru(5, [9], n_out=3, seed=3, dtype="float64", theta_x=0.2, theta_h=0.05)
    x = sparse_input(rng, (3, 20, 5), 0.3)
    stream = EventStream.from_dense(x)
    a = simulate_deltagru(m, stream, record=REC)
    assert_same(a, simulate_deltagru(m, x, engine="dense", record=REC))
    # a stream shorter than n_steps: the input is 0 afterwards, so x̂ is sent back to 0
    late = simulate_deltagru(m, stream, record=REC, n_steps=26)
    assert_same(late, simulate_deltagru(m, stream, engine="dense", record=REC, n_steps=26))
    assert late.y[0].shape == (3, 26, 9)


def test_embedding_tokens():
    m = random_deltagru(6, [8, 8], n_out=11, vocab=11, seed=2, dtype="float64", theta_x=0.3, theta_h=0.1)
    m.embedding[3, :4] = 0.0
    tok = np.random.default_rng(1).integers(0, 11, size=(2, 30))
    a, b = both(m, tok)
    assert_same(a, b)
    # a repeated token sends no input delta at all (its row equals x̂ exactly)
    rep = simulate_deltagru(m, np.full((1, 10), 4), record="steps")
    assert rep.counts.per_step["input_events"][1:, 0].sum() == 0


def test_float32_close_to_reference():
    rng = np.random.default_rng(9)
    m = random_deltagru(8, [32, 32], n_out=5, seed=9, theta_x=0.0, theta_h=0.0)
    x = sparse_input(rng, (4, 50, 8), 0.5).astype(np.float32)
    a = simulate_deltagru(m, x, record=("y", "readout"))
    b = simulate_deltagru(m, x, engine="dense", record=("y", "readout"))
    assert a.y[0].dtype == np.float32
    for k in range(2):
        np.testing.assert_allclose(a.y[k], b.y[k], atol=2e-5)
    np.testing.assert_allclose(a.readout, b.readout, atol=2e-5)


def test_huge_thresholds_send_nothing():
    """With Θ above every change nothing is sent: no synaptic MAC, the memories stay at the
    biases and every unit still updates every step (its state moves under constant gates)."""
    m = random_deltagru(3, [5, 4], n_out=2, seed=1, dtype="float64", theta_x=1e6, theta_h=1e6)
    m.layers[0].bias[10:] = 0.7  # g = tanh(0.7): h moves towards it
    x = np.random.default_rng(0).normal(size=(2, 12, 3))
    a, b = both(m, x)
    assert_same(a, b)
    d = a.counts.to_dict()
    assert d["total"]["events"] == d["total"]["input_events"] == d["total"]["macs"]["effective"] - \
        d["readout"]["macs"]["effective"] == 0
    assert d["total"]["unit_updates"]["event_driven"] == 9 * 2 * 12
    h = a.y[0][0, :, 0]
    assert np.all(np.diff(h) > 0)  # h still moves: h_t = z h_{t-1} + (1 - z) tanh(0.7)
    np.testing.assert_array_equal(a.state[0].mx, np.tile(m.layers[0].bias, (2, 1)))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_hypothesis_engine_equals_reference(data):
    L = data.draw(st.integers(1, 3), label="layers")
    sizes = data.draw(st.lists(st.integers(1, 9), min_size=L, max_size=L), label="sizes")
    m_in = data.draw(st.integers(1, 6), label="inputs")
    n_out = data.draw(st.one_of(st.none(), st.integers(1, 4)), label="outputs")
    density = data.draw(st.sampled_from([1.0, 0.7, 0.3]), label="weight density")
    tx = data.draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]), label="theta_x")
    th = data.draw(st.sampled_from([0.0, 0.02, 0.1, 0.5]), label="theta_h")
    seed = data.draw(st.integers(0, 10_000), label="seed")
    B, T = data.draw(st.integers(1, 3), label="B"), data.draw(st.integers(1, 15), label="T")
    x_density = data.draw(st.sampled_from([0.0, 0.2, 0.6, 1.0]), label="input density")
    m = random_deltagru(m_in, sizes, n_out=n_out, seed=seed, dtype="float64", weight_density=density,
                        theta_x=tx, theta_h=th)
    rng = np.random.default_rng(seed)
    for layer in m.layers:  # nonzero biases and per-unit thresholds
        layer.bias[:] = rng.normal(scale=0.5, size=layer.bias.shape)
        layer.recurrent_bias[:] = rng.normal(scale=0.5, size=layer.recurrent_bias.shape)
        layer.theta_h *= rng.uniform(0.5, 1.5, size=layer.theta_h.shape)
    x = sparse_input(rng, (B, T, m_in), x_density)
    inp = EventStream.from_dense(x) if data.draw(st.booleans(), label="as stream") else x
    a = simulate_deltagru(m, inp, record=REC, n_steps=T if isinstance(inp, EventStream) else None)
    assert_same(a, simulate_deltagru(m, x, engine="dense", record=REC))


# ------------------------------------------------------------------ a case worked by hand

def test_hand_worked_single_unit():
    """1 input, 1 unit, 3 steps, Θx = 0.5, Θh = 0.1, inputs x = 1.0, 1.3, 0.2.

    Weights ([z | r | g] blocks): kernel [0, 0.5, 1], recurrent_kernel [0, 1, 0], all biases 0,
    readout W = [[2]], b = [0.5]. The z column is 0 on both sides, so Mx_z = Mh_z = 0 and
    z = σ(0) = 1/2 always; the g column of recurrent_kernel and recurrent_bias_g are 0, so
    Mh_g = 0 and g = tanh(Mx_g) whatever r is. Hence h_t = h_{t-1}/2 + tanh(Mx_g)/2.
    nnz(kernel[0]) = 2 (r and g), nnz(recurrent_kernel[0]) = 1 (r).

    t=1: |1.0 - 0| = 1.0 > 0.5: Δx = 1.0 sent, x̂ = 1.0, Mx_g = 1. h_0 = ĥ = 0: no Δh.
         h_1 = tanh(1)/2 = 0.38079707797788243.              (2 MACs, 1 input delta, 0 events)
    t=2: |1.3 - 1.0| = 0.3 <= 0.5: nothing sent, Mx_g stays 1.
         |h_1 - 0| = 0.3808 > 0.1: Δh = h_1 sent, ĥ = h_1 (it moves Mh_r only).
         h_2 = h_1/2 + tanh(1)/2 = 1.5 h_1 = 0.5711956169668236.  (1 MAC, 0 input deltas, 1 event)
    t=3: |0.2 - 1.0| = 0.8 > 0.5: Δx = -0.8 sent, x̂ = 0.2, Mx_g = 0.2.
         |h_2 - h_1| = 0.5 h_1 = 0.19039853898894116 > 0.1: Δh sent, ĥ = h_2.
         h_3 = h_2/2 + tanh(0.2)/2 = 0.2855978084834118 + 0.098687660112452
             = 0.3842854685958638.                              (3 MACs, 1 input delta, 1 event)
    Totals: input_events 2, events 2, effective 6 (ff 4, rec 2); dense (1+1)·3·3 = 18;
    weight_sparse (2+1)·3 = 9; activity_sparse (2+2)·3 = 12; unit updates 3 (both); elementwise
    and nonlinearities 9; delta_checks (1+1)·3 = 6; activity_sparsity 1 - 2/3; readout 1·1·3 = 3.
    """
    f = lambda *v: np.array(v, dtype=np.float64)
    layer = DeltaGRULayer(kernel=f([0.0, 0.5, 1.0]), recurrent_kernel=f([0.0, 1.0, 0.0]),
                          bias=f(0, 0, 0), recurrent_bias=f(0, 0, 0), theta_x=f(0.5), theta_h=f(0.1))
    m = DeltaGRUModel([layer], readout_weight=f([2.0]), readout_bias=f(0.5))
    x = f([1.0], [1.3], [0.2])
    h1 = np.tanh(1.0) / 2
    h = [h1, 1.5 * h1, 0.75 * h1 + np.tanh(0.2) / 2]
    np.testing.assert_allclose(h, [0.38079707797788243, 0.5711956169668236, 0.3842854685958638],
                               rtol=1e-15)
    for engine in ("event", "dense"):
        r = simulate_deltagru(m, x, engine=engine, record=REC)
        np.testing.assert_allclose(r.y[0][0, :, 0], h, rtol=1e-14)
        np.testing.assert_allclose(r.dx[0][0, :, 0], [1.0, 0.0, -0.8], rtol=1e-14)
        np.testing.assert_allclose(r.dh[0][0, :, 0], [0.0, h1, 0.5 * h1], rtol=1e-14)
        np.testing.assert_allclose(r.readout[0, :, 0], 2 * np.array(h) + 0.5, rtol=1e-14)
        s = r.state[0]
        np.testing.assert_allclose([s.x_hat[0, 0], s.h_hat[0, 0], s.h[0, 0]], [0.2, h[1], h[2]], rtol=1e-14)
        np.testing.assert_allclose(s.mx[0], [0.0, 0.5 * 0.2, 0.2], atol=1e-15)
        np.testing.assert_allclose(s.mh[0], [0.0, h[1], 0.0], rtol=1e-14)
        d = r.counts.to_dict()
        l0 = d["layers"][0]
        assert d["kind"] == "deltagru" and d["samples"] == 1 and d["steps"] == 3
        assert (l0["input_events"], l0["events"]) == (2, 2)
        assert l0["macs"] == {"dense": 18, "weight_sparse": 9, "activity_sparse": 12, "effective": 6}
        assert l0["macs_effective_split"] == {"feedforward": 4, "recurrent": 2}
        assert l0["unit_updates"] == {"clocked": 3, "event_driven": 3}
        assert l0["elementwise"] == l0["nonlinearities"] == {"clocked": 9, "event_driven": 9}
        assert l0["delta_checks"] == 6
        assert l0["activity_sparsity"] == pytest.approx(1 / 3)
        assert d["readout"]["macs"]["dense"] == d["readout"]["macs"]["effective"] == 3
        assert d["total"]["macs"]["effective"] == 6 + 3
        ps = r.counts.per_step
        np.testing.assert_array_equal(ps["input_events"][:, 0], [1, 0, 1])
        np.testing.assert_array_equal(ps["events"][:, 0], [0, 1, 1])
        np.testing.assert_array_equal(ps["effective_macs"], [[2, 1], [1, 1], [3, 1]])


# ------------------------------------------------------------------ Θ = 0 is the GRU

def test_theta_zero_equals_torch_gru():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(5, 7, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(7, 3)

    net = Net().double()
    with torch.no_grad():  # nonzero biases everywhere (PyTorch's b_hn sits inside r ⊙ (...))
        for name, p in net.named_parameters():
            if "bias" in name:
                p.uniform_(-0.5, 0.5)
    x = np.random.default_rng(0).normal(size=(3, 25, 5))
    with torch.no_grad():
        out, h_n = net.gru(torch.from_numpy(x))
        logits = net.head(out)
    m = from_gru(net, theta_x=0.0, theta_h=0.0)
    assert m.dtype == np.float64 and m.sizes == [7, 7] and m.n_out == 3
    assert m.meta["imported"]["converted_from"] == "torch.nn.GRU"
    for engine in ("event", "dense"):
        r = simulate_deltagru(m, x, engine=engine, record=("y", "readout"))
        np.testing.assert_allclose(r.y[1], out.numpy(), atol=1e-12, rtol=0)
        for k in range(2):
            np.testing.assert_allclose(r.state[k].h, h_n[k].numpy(), atol=1e-12, rtol=0)
        np.testing.assert_allclose(r.readout, logits.numpy(), atol=1e-12, rtol=0)
    # the same from the bare state dict, one layer picked by prefix and nn.GRUCell too
    sd = {k: v for k, v in net.state_dict().items() if k.startswith("gru.")}
    m2 = from_gru(sd, prefix="gru.")
    assert m2.n_out is None
    np.testing.assert_array_equal(m2.layers[1].recurrent_kernel, m.layers[1].recurrent_kernel)
    cell = torch.nn.GRUCell(5, 4).double()
    with torch.no_grad():
        hc = cell(torch.from_numpy(x[:, 0]))
    rc = simulate_deltagru(from_gru(cell), x[:, :1], record="y")
    np.testing.assert_allclose(rc.y[0][:, 0], hc.numpy(), atol=1e-12)


def test_theta_positive_converted_gru_sends_fewer_deltas():
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    gru = torch.nn.GRU(4, 16, batch_first=True).double()
    x = np.cumsum(np.random.default_rng(1).normal(scale=0.1, size=(2, 40, 4)), axis=1)  # slow input
    dense = simulate_deltagru(from_gru(gru), x, record="y")
    sparse = simulate_deltagru(from_gru(gru, theta_x=0.05, theta_h=0.05), x, record="y")
    cd, cs = dense.counts.to_dict()["total"], sparse.counts.to_dict()["total"]
    assert cs["macs"]["effective"] < cd["macs"]["effective"]
    assert cs["events"] < cd["events"] and cs["input_events"] < cd["input_events"]
    assert np.abs(sparse.y[0] - dense.y[0]).max() < 0.5  # an approximation, not another network


def test_theta_zero_equals_eventsim_gru(tmp_path):
    from eventsim.train.cells import gru_type_forward
    from eventsim.train.network import NetSpec, init_params, layer_params, save_weights
    spec = NetSpec("gru", 4, [6, 5], 3)
    params = init_params(spec, seed=3, dtype=np.float64, update_bias=0.5)
    save_weights(spec, params, tmp_path / "gru.npz")
    x = np.random.default_rng(2).normal(size=(2, 20, 4))
    y = x
    for k in range(2):
        y, _ = gru_type_forward(layer_params(params, k), y, "gru")
    for source in (tmp_path / "gru.npz", params):
        m = from_gru(source)
        assert m.meta["imported"]["converted_from"] == "eventsim GRU weights"
        r = simulate_deltagru(m, x, record=("y", "readout"))
        np.testing.assert_allclose(r.y[1], y, atol=1e-12)
        np.testing.assert_allclose(r.readout, y @ params["readout.weight"].T + params["readout.bias"],
                                   atol=1e-12)


def test_from_gru_refuses_egru_weights():
    egru = eventsim.random_model(3, [4], seed=0)
    from eventsim.egru.model import model_arrays
    with pytest.raises(EventsimError, match="EGRU"):
        from_gru(model_arrays(egru))
    from eventsim.interop import export_state_dict
    tensors, _ = export_state_dict(egru)
    with pytest.raises(EventsimError, match="EGRU"):
        from_gru(tensors)
    with pytest.raises(EventsimError, match="from_gru needs"):
        from_gru(42)


# ------------------------------------------------------------------ files and the model

def test_file_round_trip(tmp_path):
    m = random_deltagru(4, [6, 3], n_out=2, vocab=9, seed=7, theta_x=[0.1, 0.2], theta_h=0.05)
    m.meta["note"] = "hello"
    p = tmp_path / "d.npz"
    save_deltagru(m, p)
    with np.load(p) as z:
        keys = set(z.files)
        meta = json.loads(str(z["meta"]))
    assert meta == {"kind": "deltagru", "note": "hello"}
    assert "layer1.theta_x" in keys and "layer0.theta_h" in keys and not any(".thr" in k for k in keys)
    for back in (load_deltagru(p), load_any_model(p)):
        assert isinstance(back, DeltaGRUModel) and back.meta == {"note": "hello"}
        for a, b in zip(back.layers, m.layers):
            for key, arr in a.arrays().items():
                np.testing.assert_array_equal(arr, getattr(b, key))
        np.testing.assert_array_equal(back.embedding, m.embedding)
        np.testing.assert_array_equal(back.readout_weight, m.readout_weight)
    assert load_deltagru(p, dtype="float64").dtype == np.float64
    # an EGRU file is still an EGRU for load_any_model, and refused by load_deltagru
    eventsim.save_model(eventsim.random_model(4, [3], seed=0), tmp_path / "e.npz")
    assert isinstance(load_any_model(tmp_path / "e.npz"), eventsim.Model)
    with pytest.raises(EventsimError, match="EGRU"):
        load_deltagru(tmp_path / "e.npz")


def test_random_deltagru_has_the_egru_weights():
    d = random_deltagru(5, [7, 4], n_out=3, seed=12, weight_density=0.5, theta_x=0.2, theta_h=0.3)
    e = eventsim.random_model(5, [7, 4], n_out=3, seed=12, weight_density=0.5)
    for a, b in zip(d.layers, e.layers):
        np.testing.assert_array_equal(a.kernel, b.kernel)
        np.testing.assert_array_equal(a.recurrent_kernel, b.recurrent_kernel)
    np.testing.assert_array_equal(d.layers[1].theta_x, np.full(7, 0.2, np.float32))
    assert d.layers[0].theta_h.dtype == np.float32
    assert d.with_thetas(theta_h=0.0).layers[1].theta_h.sum() == 0 and d.layers[1].theta_h[0] > 0


def _save_arrays(path, arrays, meta):
    arrays = dict(arrays)
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


@pytest.mark.parametrize("edit, meta, match", [
    (lambda a: a.update({"layer0.theta_x": -a["layer0.theta_x"] - 1}), {"kind": "deltagru"},
     r"theta_x\[0\] = .* is negative"),
    (lambda a: a.update({"layer0.theta_h": np.zeros(5, np.float32)}), {"kind": "deltagru"},
     r"layer0.theta_h has shape \(5,\) but \(4,\)"),
    (lambda a: a.update({"layer0.thr": np.zeros(4, np.float32)}), {"kind": "deltagru"},
     "EGRU threshold"),
    (lambda a: a.pop("layer0.theta_x"), {"kind": "deltagru"}, "'layer0.theta_x' is missing"),
    (lambda a: a.update({"extra": np.zeros(1)}), {"kind": "deltagru"}, "unknown key"),
    (lambda a: a.update({"layer0.theta_h": np.zeros(4)}), {"kind": "deltagru"}, "dtype float64"),
    (lambda a: a.update({"layer0.theta_x": np.array([np.nan, 0, 0], np.float32)}), {"kind": "deltagru"},
     "NaN"),
    (lambda a: None, {"kind": "deltagru", "rec_delays": [1]}, "no delays"),
    (lambda a: None, None, "an EGRU"),
    (lambda a: None, {"kind": "gru"}, "from_gru"),
])
def test_validation_errors(tmp_path, edit, meta, match):
    from eventsim.deltagru.model import deltagru_arrays
    arrays = deltagru_arrays(random_deltagru(3, [4], seed=0))
    edit(arrays)
    _save_arrays(tmp_path / "bad.npz", arrays, meta)
    with pytest.raises(EventsimError, match=match):
        load_deltagru(tmp_path / "bad.npz")


def test_api_errors():
    m = random_deltagru(3, [4], n_out=2, seed=0)
    with pytest.raises(EventsimError, match="theta_h has 3 entries but the model has 1 layers"):
        random_deltagru(3, [4], theta_h=[0.1, 0.1, 0.1])
    with pytest.raises(EventsimError, match="finite and >= 0"):
        random_deltagru(3, [4], theta_x=-0.1)
    with pytest.raises(EventsimError, match=r"needs one number or \(3,\)"):
        m.with_thetas(theta_x=np.zeros(4))
    with pytest.raises(EventsimError, match="cannot record"):
        simulate_deltagru(m, np.zeros((4, 3), np.float32), record="c")
    with pytest.raises(EventsimError, match="engine 'fast' is unknown"):
        simulate_deltagru(m, np.zeros((4, 3), np.float32), engine="fast")
    with pytest.raises(EventsimError, match="3 inputs"):
        simulate_deltagru(m, np.zeros((4, 5), np.float32))
    bad = DeltaGRUModel(m.layers, readout_weight=m.readout_weight)
    with pytest.raises(EventsimError, match="given together"):
        simulate_deltagru(bad, np.zeros((4, 3), np.float32))
    with pytest.raises(EventsimError, match="not a DeltaGRULayer"):
        simulate_deltagru(DeltaGRUModel(eventsim.random_model(3, [4]).layers), np.zeros((4, 3)))


# ------------------------------------------------------------------ counts

def test_closed_form_counts():
    """Figures that follow from the shapes alone (SPEC §2/§5), for B samples of T steps."""
    B, T, m_in, sizes, n_out = 3, 11, 5, [8, 6], 4
    m = random_deltagru(m_in, sizes, n_out=n_out, seed=3, weight_density=0.6, theta_x=0.1, theta_h=0.1)
    x = np.random.default_rng(0).normal(size=(B, T, m_in)).astype(np.float32)
    d = simulate_deltagru(m, x).counts.to_dict()
    assert d["kind"] == "deltagru" and (d["samples"], d["steps"]) == (B, T)
    ins = [m_in] + sizes[:-1]
    for k, (mi, n) in enumerate(zip(ins, sizes)):
        l, layer = d["layers"][k], m.layers[k]
        assert l["macs"]["dense"] == (mi + n) * 3 * n * B * T
        assert l["macs"]["weight_sparse"] == (np.count_nonzero(layer.kernel)
                                              + np.count_nonzero(layer.recurrent_kernel)) * B * T
        assert l["macs"]["activity_sparse"] == (l["input_events"] + l["events"]) * 3 * n
        assert l["unit_updates"] == {"clocked": n * B * T, "event_driven": n * B * T}
        assert l["elementwise"]["clocked"] == l["nonlinearities"]["event_driven"] == 3 * n * B * T
        assert l["delta_checks"] == (mi + n) * B * T
        assert l["activity_sparsity"] == pytest.approx(1 - l["events"] / (n * B * T))
    ro = d["readout"]["macs"]
    assert ro["dense"] == ro["effective"] == ro["activity_sparse"] == T * B * sizes[-1] * n_out
    assert ro["weight_sparse"] == np.count_nonzero(m.readout_weight) * B * T
    assert d["total"]["delta_checks"] == sum((mi + n) * B * T for mi, n in zip(ins, sizes))
    assert d["total"]["input_events"] == sum(l["input_events"] for l in d["layers"])
    for name, fn in (("gru", gru_baseline_per_step), ("lstm", lstm_baseline_per_step)):
        macs = sum(fn(mi, n)[0] for mi, n in zip(ins, sizes)) * B * T + sizes[-1] * n_out * B * T
        assert d["baselines"][name]["macs"] == macs
    # the same schema as the EGRU's counts, plus kind, input_events and delta_checks
    e = eventsim.simulate(eventsim.random_model(m_in, sizes, n_out=n_out, seed=3), x).counts.to_dict()
    assert set(d) == set(e) | {"kind"}
    assert set(d["layers"][0]) == set(e["layers"][0]) | {"input_events", "delta_checks"}
    assert set(d["total"]) == set(e["total"]) | {"input_events", "delta_checks"}
    assert d["baselines"] == e["baselines"]
    json.dumps(d)


# ------------------------------------------------------------------ engine mechanics

def test_queue_is_empty_after_a_run():
    m = random_deltagru(4, [6, 5], seed=2, dtype="float64", theta_x=0.05, theta_h=0.01)
    x = sparse_input(np.random.default_rng(1), (3, 9, 4), 0.7)
    cm = compile_deltagru(m)
    for q in cm.final_queues(prepare_input(m, x)):
        q._check(9)
        assert not q.cnt.any()  # deltas of the last step would be due after the run: none is sent


def test_threads_compiled_copy_and_chunks_give_identical_results():
    rng = np.random.default_rng(6)
    m = random_deltagru(4, [8, 6], n_out=3, seed=6, dtype="float64", theta_x=0.1, theta_h=0.05)
    x = sparse_input(rng, (7, 12, 4), 0.5)
    base = simulate_deltagru(m, x, record=REC, threads=1)
    cm = compile_deltagru(m)
    m.layers[0].theta_x[:] = 1e6  # edits after compiling do not reach the compiled copy
    for r in (simulate_deltagru(cm, x, record=REC, threads=2),
              simulate_deltagru(cm, x, record=REC, progress=True)):
        for k in range(2):
            np.testing.assert_array_equal(r.y[k], base.y[k])
            np.testing.assert_array_equal(r.dh[k], base.dh[k])
        np.testing.assert_array_equal(r.readout, base.readout)
        assert r.counts.to_dict() == base.counts.to_dict()
    whole = cm.run(prepare_input(cm.model, x), REC)
    parts = cm.run(prepare_input(cm.model, x), REC, progress=True, chunk=3)
    np.testing.assert_array_equal(whole["raw"], parts["raw"])
    for key in whole["per_step"]:
        np.testing.assert_array_equal(whole["per_step"][key], parts["per_step"][key])
    for k in range(2):
        np.testing.assert_array_equal(whole["state"][k]["mh"], parts["state"][k]["mh"])


def test_unrecorded_outputs_are_none():
    m = random_deltagru(3, [4], n_out=2, seed=0)
    for engine in ("event", "dense"):
        res = simulate_deltagru(m, np.ones((7, 3), np.float32), engine=engine)
        assert res.y is None and res.dx is None and res.dh is None and res.c is None
        assert res.readout is None and res.counts.per_step is None
        assert res.single and res.last_readout.shape == (1, 2)
        assert res.state[0].h.shape == (1, 4) and res.state[0].mx.shape == (1, 12)
        assert isinstance(res, eventsim.SimResult)


def test_docs_example_runs(tmp_path, monkeypatch):
    """The Python example of docs/deltagru.md runs as written."""
    import re
    from pathlib import Path
    page = Path(__file__).resolve().parents[1] / "docs" / "deltagru.md"
    code = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "docs/deltagru.md", "exec"), {})


def test_load_any_model_refuses_training_weights(tmp_path):
    from eventsim.train.network import NetSpec, init_params, save_weights
    spec = NetSpec("gru", 3, [4], 2)
    save_weights(spec, init_params(spec), tmp_path / "w.npz")
    with pytest.raises(EventsimError, match="from_gru"):
        load_any_model(tmp_path / "w.npz")
    _save_arrays(tmp_path / "x.npz", {"layer0.kernel": np.zeros((1, 3))}, {"kind": "spiking"})
    with pytest.raises(EventsimError, match="kind 'spiking' is unknown"):
        load_any_model(tmp_path / "x.npz")


def test_from_gru_checkpoint_file_maps_the_gates(tmp_path):
    """A PyTorch-layout GRU checkpoint (.safetensors, no torch needed) maps back onto the
    [z | r | g] weights it was written from, with the Θ given per layer."""
    pytest.importorskip("safetensors")
    from eventsim.interop import egru_to_torch_gru, write_checkpoint
    e = eventsim.random_model(3, [5], seed=4, dtype="float64")
    e.layers[0].bias[:] = np.arange(15) / 10
    e.layers[0].recurrent_bias[:] = -np.arange(15) / 20
    write_checkpoint(egru_to_torch_gru(e.layers[0]), tmp_path / "gru.safetensors")
    d = from_gru(tmp_path / "gru.safetensors", theta_x=[np.array([0.1, 0.2, 0.3])], theta_h=0.05)
    for key in ("kernel", "recurrent_kernel", "bias", "recurrent_bias"):
        np.testing.assert_array_equal(getattr(d.layers[0], key), getattr(e.layers[0], key))
    np.testing.assert_array_equal(d.layers[0].theta_x, [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(d.layers[0].theta_h, np.full(5, 0.05))
    assert d.meta["imported"]["theta_h"] == 0.05 and d.meta["imported"]["theta_x"] == "per layer/unit"
    save_deltagru(d, tmp_path / "d.npz")  # the conversion record is JSON
    assert load_deltagru(tmp_path / "d.npz").meta == d.meta
