"""EvNN / PyTorch checkpoint import and export (eventsim.interop).

Expected values come from the checkpoint layouts themselves (EvNN's egru.py,
PyTorch's nn.GRU documentation) and from two naive forward passes written
here from their published equations, never from the code under test.
"""
import sys
import warnings

import numpy as np
import pytest

import eventsim
from eventsim.cli import main
from eventsim.errors import EventsimError
from eventsim.interop import (export_checkpoint, export_state_dict, import_checkpoint,
                              import_state_dict)

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def naive_egru(model, x):
    """SPEC §1, threshold reset, written out per step: returns the last layer's y (T, n)."""
    inp = x
    for L in model.layers:
        n = L.n_units
        s = np.zeros(n)
        y = np.zeros(n)
        out = []
        for t in range(inp.shape[0]):
            vx = inp[t] @ L.kernel + L.bias
            vh = y @ L.recurrent_kernel + L.recurrent_bias
            z = sig(vx[:n] + vh[:n])
            r = sig(vx[n:2 * n] + vh[n:2 * n])
            g = np.tanh(vx[2 * n:] + r * vh[2 * n:])
            c = z * s + (1 - z) * g
            o = (c > L.thr).astype(float)
            y = o * c
            s = c - o * L.thr
            out.append(y)
        inp = np.array(out)
    return inp


def naive_torch_gru(W_ih, W_hh, b_ih, b_hh, x):
    """PyTorch's nn.GRU equations (its documentation), row blocks [r | z | n]."""
    n = W_hh.shape[1]
    h = np.zeros(n)
    out = []
    for t in range(x.shape[0]):
        gi = W_ih @ x[t] + b_ih
        gh = W_hh @ h + b_hh
        r = sig(gi[:n] + gh[:n])
        z = sig(gi[n:2 * n] + gh[n:2 * n])
        nn_ = np.tanh(gi[2 * n:] + r * gh[2 * n:])
        h = (1 - z) * nn_ + z * h
        out.append(h)
    return np.array(out)


def positive_gru(m=4, n=5, seed=0):
    """GRU weights whose hidden state stays > 0 on inputs in [0, 1] (large candidate bias)."""
    rng = np.random.default_rng(seed)
    W_ih = rng.normal(0, 0.3, (3 * n, m))
    W_hh = rng.normal(0, 0.3, (3 * n, n))
    b_ih = rng.normal(0, 0.5, 3 * n)
    b_hh = rng.normal(0, 0.5, 3 * n)
    b_ih[2 * n:] = 3.0
    return W_ih, W_hh, b_ih, b_hh


def evnn_state_dict(model, prefix="rnns.", dampening=0.7, support=1.0):
    """A state dict laid out as EvNN's EGRU module writes it (egru.py: parameters of EGRU)."""
    sd = {}
    for k, L in enumerate(model.layers):
        for key in ("kernel", "recurrent_kernel", "bias", "recurrent_bias", "thr"):
            sd[f"{prefix}{k}.{key}"] = getattr(L, key)
        sd[f"{prefix}{k}.dampening_factor"] = np.array([dampening], np.float32)
        sd[f"{prefix}{k}.pseudo_derivative_support"] = np.array([support], np.float32)
        sd[f"{prefix}{k}._max_norm"] = np.array([-1.0], np.float32)
    return sd


def assert_same_model(a, b):
    assert a.sizes == b.sizes
    for la, lb in zip(a.layers, b.layers):
        for key, arr in la.arrays().items():
            assert arr.dtype == getattr(lb, key).dtype
            np.testing.assert_array_equal(arr, getattr(lb, key))
    for name in ("readout_weight", "readout_bias", "embedding"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert (a.reset, a.ff_delays, a.rec_delays, a.dampening, a.support) == \
        (b.reset, b.ff_delays, b.rec_delays, b.dampening, b.support)


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_safetensors_round_trip_is_exact(tmp_path, dtype):
    m = eventsim.random_model(6, [8, 5], n_out=3, vocab=11, seed=3, weight_density=0.5,
                              dtype=dtype)
    m.meta["note"] = "kept"
    m.dampening, m.support = 0.5, 2.0
    export_checkpoint(m, tmp_path / "m.safetensors")
    back = import_checkpoint(tmp_path / "m.safetensors")
    assert_same_model(m, back)
    assert back.meta["note"] == "kept"


def test_export_writes_evnn_keys(tmp_path):
    m = eventsim.random_model(3, [4, 2], n_out=2, vocab=5, seed=0)
    export_checkpoint(m, tmp_path / "m.safetensors")
    sd = safetensors_numpy.load_file(str(tmp_path / "m.safetensors"))
    layer = ["kernel", "recurrent_kernel", "bias", "recurrent_bias", "thr", "dampening_factor",
             "pseudo_derivative_support", "_max_norm"]
    expected = {f"rnns.{k}.{x}" for k in (0, 1) for x in layer}
    expected |= {"decoder.weight", "decoder.bias", "embeddings.weight"}
    assert set(sd) == expected
    assert sd["rnns.0.kernel"].shape == (3, 12)          # (m, 3n), EvNN's layout
    assert sd["rnns.1.recurrent_kernel"].shape == (2, 6)
    assert sd["decoder.weight"].shape == (2, 2)          # nn.Linear (out, in)
    np.testing.assert_array_equal(sd["rnns.0.thr"], m.layers[0].thr)


def test_round_trip_keeps_delays_and_reset_when_not_strict(tmp_path):
    m = eventsim.random_model(3, [4, 4], seed=1, reset="output", ff_delays=(0, 2), rec_delays=(1, 0))
    with pytest.raises(EventsimError, match="EvNN would not run this model"):
        export_checkpoint(m, tmp_path / "m.safetensors")
    with pytest.warns(UserWarning, match="reset mode 'output'"):
        export_checkpoint(m, tmp_path / "m.safetensors", strict=False)
    assert_same_model(m, import_checkpoint(tmp_path / "m.safetensors"))


def test_export_refuses_threshold_above_one(tmp_path):
    m = eventsim.random_model(3, [4], seed=1)
    m.layers[0].thr[2] = 1.5
    with pytest.raises(EventsimError, match=r"layer0.thr has values above 1"):
        export_checkpoint(m, tmp_path / "m.safetensors")


def test_torch_round_trip_and_strict_load(tmp_path):
    torch = pytest.importorskip("torch")
    m = eventsim.random_model(6, [8, 5], n_out=3, seed=4)
    m.meta["note"] = "kept"
    m.dampening = 0.25
    export_checkpoint(m, tmp_path / "m.pt")
    back = import_checkpoint(tmp_path / "m.pt")
    assert_same_model(m, back)
    assert back.meta["note"] == "kept"
    # the file is a plain state dict: each layer group loads strictly into a module
    # with EvNN EGRU's parameters
    sd = torch.load(tmp_path / "m.pt", weights_only=True)

    class EGRUParams(torch.nn.Module):  # the parameter set of evnn_pytorch.EGRU
        def __init__(self, m, n):
            super().__init__()
            P = torch.nn.Parameter
            self.kernel = P(torch.empty(m, 3 * n))
            self.recurrent_kernel = P(torch.empty(n, 3 * n))
            self.bias = P(torch.empty(3 * n))
            self.recurrent_bias = P(torch.empty(3 * n))
            self.dampening_factor = P(torch.empty(1))
            self.pseudo_derivative_support = P(torch.empty(1))
            self._max_norm = P(torch.empty(1))
            self.thr = P(torch.empty(n))

    net = torch.nn.Module()
    net.rnns = torch.nn.ModuleList([EGRUParams(6, 8), EGRUParams(8, 5)])
    net.decoder = torch.nn.Linear(5, 3)
    net.load_state_dict(sd, strict=True)
    np.testing.assert_array_equal(net.rnns[1].kernel.detach().numpy(), m.layers[1].kernel)


# ------------------------------------------------------------------ EvNN checkpoints

def test_evnn_language_model_layout(tmp_path):
    """EvNN's LM benchmark: embeddings, rnns.{k}, decoder.decoder (tied, with bias)."""
    ref = eventsim.random_model(6, [7, 6], n_out=9, vocab=9, seed=5)
    sd = {"model." + k: v for k, v in evnn_state_dict(ref, dampening=0.3, support=0.5).items()}
    sd["model.embeddings.weight"] = ref.embedding
    sd["model.decoder.decoder.weight"] = ref.readout_weight
    sd["model.decoder.decoder.bias"] = ref.readout_bias
    safetensors_numpy.save_file(sd, str(tmp_path / "lm.safetensors"))
    m = import_checkpoint(tmp_path / "lm.safetensors")
    assert m.sizes == [7, 6] and m.vocab == 9 and m.n_out == 9
    np.testing.assert_array_equal(m.layers[1].recurrent_kernel, ref.layers[1].recurrent_kernel)
    np.testing.assert_array_equal(m.embedding, ref.embedding)
    np.testing.assert_array_equal(m.readout_weight, ref.readout_weight)
    assert (m.dampening, m.support) == (0.3, 0.5)
    assert m.meta["imported"]["layers"][0].startswith("model.rnns.0.")


def test_layers_sorted_numerically_not_as_text():
    ref = eventsim.random_model(2, [3] * 11, seed=0)
    m = import_state_dict(evnn_state_dict(ref))
    for a, b in zip(m.layers, ref.layers):
        np.testing.assert_array_equal(a.kernel, b.kernel)


def test_thresholds_outside_unit_interval_are_clamped_as_evnn_does():
    ref = eventsim.random_model(2, [3], seed=0)
    sd = evnn_state_dict(ref)
    sd["rnns.0.thr"] = np.array([-0.2, 0.4, 1.7], np.float32)
    with pytest.warns(UserWarning, match="EvNN clamps thr"):
        m = import_state_dict(sd)
    np.testing.assert_array_equal(m.layers[0].thr, np.array([0.0, 0.4, 1.0], np.float32))


def test_partial_layer_is_refused_with_keys():
    sd = evnn_state_dict(eventsim.random_model(2, [3], seed=0))
    del sd["rnns.0.thr"]
    with pytest.raises(EventsimError, match=r"partial EvNN EGRU layer under 'rnns.0.'.*missing rnns.0.thr"):
        import_state_dict(sd)


def test_unknown_keys_are_refused():
    sd = evnn_state_dict(eventsim.random_model(2, [3], seed=0))
    sd["projection.weight"] = np.zeros((4, 7), np.float32)
    with pytest.raises(EventsimError, match=r"not understood: projection.weight"):
        import_state_dict(sd)


def test_two_readouts_are_ambiguous():
    sd = evnn_state_dict(eventsim.random_model(2, [3], seed=0))
    for name in ("head_a", "head_b"):
        sd[f"{name}.weight"] = np.zeros((2, 3), np.float32)
        sd[f"{name}.bias"] = np.zeros(2, np.float32)
    with pytest.raises(EventsimError, match="ambiguous readout"):
        import_state_dict(sd)


def test_two_networks_need_a_prefix():
    a = evnn_state_dict(eventsim.random_model(2, [3], seed=0), prefix="enc.")
    b = evnn_state_dict(eventsim.random_model(4, [5], seed=1), prefix="dec.")
    sd = {**a, **b}
    with pytest.raises(EventsimError, match=r"do not form one stack \(dec.0.\* \(EvNN EGRU\): 4 -> 5; "
                                            r"enc.0.\* \(EvNN EGRU\): 2 -> 3\).*pick one with --prefix"):
        import_state_dict(sd)
    assert import_state_dict(sd, prefix="dec.").sizes == [5]
    assert import_state_dict(sd, prefix="enc.").sizes == [3]
    with pytest.raises(EventsimError, match="no key starts with prefix 'nope.'"):
        import_state_dict(sd, prefix="nope.")


def test_single_egru_module_without_prefix():
    ref = eventsim.random_model(2, [3], seed=0)
    sd = {k[len("rnns.0."):]: v for k, v in evnn_state_dict(ref).items()}
    assert set(sd) >= {"kernel", "thr"}
    m = import_state_dict(sd)
    np.testing.assert_array_equal(m.layers[0].recurrent_kernel, ref.layers[0].recurrent_kernel)


def test_no_layers_lists_keys():
    with pytest.raises(EventsimError, match=r"no recurrent layer found; keys found: a, b"):
        import_state_dict({"a": np.zeros(2), "b": np.zeros(3)})


# ------------------------------------------------------------------ PyTorch GRU conversion

def test_gru_conversion_reproduces_gru_when_every_state_is_positive():
    """With ϑ = 0 and c > 0 at every step an EGRU unit always fires with y = c = s,
    which is exactly the GRU; so the mapping of weights and gate order is checked
    against PyTorch's own equations."""
    W_ih, W_hh, b_ih, b_hh = positive_gru()
    x = np.random.default_rng(1).random((12, 4))
    h = naive_torch_gru(W_ih, W_hh, b_ih, b_hh, x)
    assert (h > 0).all()  # the premise of the test
    sd = {"gru.weight_ih_l0": W_ih, "gru.weight_hh_l0": W_hh, "gru.bias_ih_l0": b_ih,
          "gru.bias_hh_l0": b_hh}
    m = import_state_dict(sd, gru_threshold=0.0)
    assert m.meta["imported"]["converted_from"] == "torch.nn.GRU"
    np.testing.assert_allclose(naive_egru(m, x), h, rtol=1e-12, atol=1e-12)
    # EvNN's from_native_weights keeps PyTorch's block order (its reorder is the
    # identity): that mapping gives another network, which this test would catch.
    wrong = import_state_dict(sd, gru_threshold=0.0)
    L = wrong.layers[0]
    L.kernel, L.recurrent_kernel = W_ih.T.copy(), W_hh.T.copy()
    L.bias, L.recurrent_bias = b_ih.copy(), b_hh.copy()
    assert np.abs(naive_egru(wrong, x) - h).max() > 1e-3


def test_gru_cell_and_two_layer_gru():
    W_ih, W_hh, b_ih, b_hh = positive_gru(4, 5)
    cell = import_state_dict({"weight_ih": W_ih, "weight_hh": W_hh, "bias_ih": b_ih,
                              "bias_hh": b_hh}, gru_threshold=[0.1, 0.2, 0.3, 0.4, 0.5])
    assert cell.meta["imported"]["converted_from"] == "torch.nn.GRUCell"
    np.testing.assert_allclose(cell.layers[0].thr, [0.1, 0.2, 0.3, 0.4, 0.5], rtol=1e-6)
    V_ih, V_hh, c_ih, c_hh = positive_gru(5, 3, seed=2)
    two = import_state_dict({"weight_ih_l0": W_ih, "weight_hh_l0": W_hh, "weight_ih_l1": V_ih,
                             "weight_hh_l1": V_hh}, gru_threshold=0.2)  # bias=False
    assert two.sizes == [5, 3]
    np.testing.assert_array_equal(two.layers[1].bias, np.zeros(9))
    # z block of the EGRU kernel is PyTorch's second row block, r its first
    np.testing.assert_array_equal(two.layers[1].kernel[:, :3], V_ih[3:6].T)
    np.testing.assert_array_equal(two.layers[1].kernel[:, 3:6], V_ih[0:3].T)


def test_gru_against_torch_module():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    gru = torch.nn.GRU(4, 5, num_layers=1, batch_first=True).double()
    with torch.no_grad():
        gru.bias_ih_l0[10:] = 3.0  # keep the candidate, hence h, positive
    x = np.random.default_rng(1).random((1, 10, 4))
    h = gru(torch.from_numpy(x))[0][0].detach().numpy()
    assert (h > 0).all()
    sd = {k: v.detach().numpy() for k, v in gru.state_dict().items()}
    m = import_state_dict(sd, gru_threshold=0.0)
    np.testing.assert_allclose(naive_egru(m, x[0]), h, rtol=1e-10, atol=1e-12)


def test_gru_errors():
    W_ih, W_hh, b_ih, b_hh = positive_gru()
    sd = {"weight_ih_l0": W_ih, "weight_hh_l0": W_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh}
    with pytest.raises(EventsimError, match="a GRU has no threshold"):
        import_state_dict(sd)
    with pytest.raises(EventsimError, match="layer 0 has 5 units"):
        import_state_dict(sd, gru_threshold=[0.1, 0.2])
    with pytest.raises(EventsimError, match="bidirectional"):
        import_state_dict({**sd, "weight_ih_l0_reverse": W_ih}, gru_threshold=0.1)
    with pytest.raises(EventsimError, match="LSTM weights"):
        import_state_dict({"weight_ih_l0": np.zeros((20, 4)), "weight_hh_l0": np.zeros((20, 5))})
    with pytest.raises(EventsimError, match="partial GRU layer"):
        import_state_dict({"weight_ih_l0": W_ih, "weight_hh_l0": W_hh, "bias_ih_l0": b_ih},
                          gru_threshold=0.1)
    egru = evnn_state_dict(eventsim.random_model(2, [3], seed=0))
    with pytest.raises(EventsimError, match="mixes EvNN EGRU layers and PyTorch GRU"):
        import_state_dict({**egru, **sd}, gru_threshold=0.1)
    with pytest.raises(EventsimError, match="gru_threshold is only for PyTorch GRU"):
        import_state_dict(egru, gru_threshold=0.1)


# ------------------------------------------------------------------ files and CLI

def test_file_errors(tmp_path, monkeypatch):
    with pytest.raises(EventsimError, match="does not exist"):
        import_checkpoint(tmp_path / "none.safetensors")
    (tmp_path / "x.h5").write_bytes(b"0")
    with pytest.raises(EventsimError, match="suffix '.h5'"):
        import_checkpoint(tmp_path / "x.h5")
    (tmp_path / "bad.safetensors").write_bytes(b"garbage")
    with pytest.raises(EventsimError, match="not a readable safetensors file"):
        import_checkpoint(tmp_path / "bad.safetensors")
    m = eventsim.random_model(2, [3], seed=0)
    with pytest.raises(EventsimError, match=r"output .*has suffix '.h5'; use .safetensors or .pt/.pth"):
        export_checkpoint(m, tmp_path / "out.h5")
    (tmp_path / "m.pt").write_bytes(b"0")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    with pytest.raises(EventsimError, match="needs PyTorch, which is not installed"):
        import_checkpoint(tmp_path / "m.pt")
    with pytest.raises(EventsimError, match="write .safetensors instead"):
        export_checkpoint(m, tmp_path / "out.pt")


def test_nested_torch_checkpoint_needs_prefix(tmp_path):
    torch = pytest.importorskip("torch")
    ref = eventsim.random_model(3, [4], n_out=2, seed=0)
    sd = {k: torch.from_numpy(v) for k, v in export_state_dict(ref)[0].items()}
    torch.save({"model": sd, "epoch": 3, "optimizer": {"state": {"0": {"exp_avg": torch.zeros(3)}}}},
               tmp_path / "ckpt.pt")
    with pytest.raises(EventsimError, match="not understood: optimizer.state.0.exp_avg"):
        import_checkpoint(tmp_path / "ckpt.pt")
    m = import_checkpoint(tmp_path / "ckpt.pt", prefix="model.")
    np.testing.assert_array_equal(m.readout_weight, ref.readout_weight)


def test_cli_import_export(tmp_path, capsys):
    m = eventsim.random_model(3, [4], n_out=2, seed=0)
    eventsim.save_model(m, tmp_path / "m.npz")
    assert main(["export", str(tmp_path / "m.npz"), "--to", str(tmp_path / "m.safetensors")]) == 0
    assert main(["import", str(tmp_path / "m.safetensors"), "--out", str(tmp_path / "b.npz")]) == 0
    assert_same_model(m, eventsim.load_model(tmp_path / "b.npz"))
    assert "1 EGRU layer(s) 3 -> 4, readout 2" in capsys.readouterr().out
    W_ih, W_hh, b_ih, b_hh = positive_gru()
    safetensors_numpy.save_file({"weight_ih_l0": W_ih, "weight_hh_l0": W_hh}, str(tmp_path / "g.safetensors"))
    assert main(["import", str(tmp_path / "g.safetensors"), "--out", str(tmp_path / "g.npz")]) == 2
    assert "a GRU has no threshold" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "g.safetensors"), "--out", str(tmp_path / "g.npz"),
                 "--gru-threshold", "0.1"]) == 0
    assert "not equivalent to the GRU" in capsys.readouterr().out
    np.testing.assert_allclose(eventsim.load_model(tmp_path / "g.npz").layers[0].thr, 0.1)
