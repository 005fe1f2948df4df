"""Model file format, validation and input errors: every documented message is triggered."""
import json

import numpy as np
import pytest

import eventsim
from eventsim import EventStream, EventsimError, load_model, random_model, save_model, simulate
from eventsim.egru.model import model_from_arrays


def arrays(model):
    d = {}
    for k, l in enumerate(model.layers):
        for key, a in l.arrays().items():
            d[f"layer{k}.{key}"] = a.copy()
    if model.readout_weight is not None:
        d["readout.weight"], d["readout.bias"] = model.readout_weight.copy(), model.readout_bias.copy()
    return d


@pytest.fixture
def good():
    return arrays(random_model(4, [6, 3], n_out=2, seed=0))


def test_round_trip(tmp_path):
    m = random_model(4, [6, 3], n_out=2, vocab=9, seed=1, reset="output", ff_delays=(1, 0),
                     rec_delays=(0, 2), weight_density=0.5)
    m.meta["note"] = "hello"
    save_model(m, tmp_path / "m.npz")
    back = load_model(tmp_path / "m.npz")
    assert back.reset == "output" and back.ff_delays == (1, 0) and back.rec_delays == (0, 2)
    assert back.meta == {"note": "hello"} and back.vocab == 9
    for a, b in zip(m.layers, back.layers):
        for key in a.arrays():
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert load_model(tmp_path / "m.npz", dtype="float64").dtype == np.float64


def test_random_model_density_and_thresholds():
    m = random_model(50, [200], seed=0, weight_density=0.25, thr_mean=0.3)
    dens = np.count_nonzero(m.layers[0].kernel) / m.layers[0].kernel.size
    assert abs(dens - 0.25) < 0.02
    assert abs(float(m.layers[0].thr.mean()) - 0.3) < 0.03  # Beta with mean 0.3
    assert m.dtype == np.float32


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.update({"layer0.kernel": np.zeros((4, 17), np.float32)}), "do not divide into three gate blocks"),
    (lambda d: d.update({"layer0.recurrent_kernel": np.zeros((6, 12), np.float32)}),
     r"layer0.recurrent_kernel has shape \(6, 12\) but \(6, 18\) was expected"),
    (lambda d: d.update({"layer0.bias": np.zeros(17, np.float32)}), r"layer0.bias has shape"),
    (lambda d: d["layer1.kernel"].__setitem__((0, 0), np.nan), r"layer1.kernel holds a NaN or infinite value at index \(0, 0\)"),
    (lambda d: d["layer0.thr"].__setitem__(2, -0.1), r"layer0.thr\[2\] = -0.1\d* is negative"),
    (lambda d: d.update({"layer9.foo": np.zeros(1)}), r"unknown key\(s\) \['layer9.foo'\]"),
    (lambda d: d.update({"layer1.kernel": np.zeros((5, 9), np.float32)}),
     "has 5 input rows but layer0 has 6 units; layer sizes must chain"),
    (lambda d: d.pop("layer1.thr"), r"key 'layer1.thr' is missing"),
    (lambda d: d.update({"readout.weight": np.zeros((2, 4), np.float32)}), r"readout.weight has shape \(2, 4\)"),
    (lambda d: d.pop("readout.bias"), "readout.weight and readout.bias must be given together"),
    (lambda d: d.update({"layer0.thr": d["layer0.thr"].astype(np.float64)}), "must share one dtype"),
    (lambda d: d.update({"meta": np.array("[1, 2]")}), "'meta' is not a JSON object"),
    (lambda d: d.update({"meta": np.array(json.dumps({"reset": "sideways"}))}), "reset mode 'sideways' is unknown"),
    (lambda d: d.update({"meta": np.array(json.dumps({"ff_delays": [0, -1]}))}), "holds a negative delay"),
    (lambda d: d.update({"meta": np.array(json.dumps({"rec_delays": [0]}))}), "rec_delays has 1 entries but the model has 2 layers"),
    (lambda d: d.update({"layer0.kernel": d["layer0.kernel"].astype(np.int32)}), "weights must be float32 or float64"),
])
def test_validation_names_the_culprit(good, mutate, match):
    mutate(good)
    with pytest.raises(EventsimError, match=match):
        model_from_arrays(good)


def test_no_layers():
    with pytest.raises(EventsimError, match="no layers found"):
        model_from_arrays({})


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(EventsimError, match="does not exist"):
        load_model(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(EventsimError, match=r"not a \.npz archive \(a zip of arrays\)$"):
        load_model(tmp_path / "bad.npz")
    (tmp_path / "h5.npz").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))  # an HDF5 signature
    with pytest.raises(EventsimError, match="HDF5 file, e.g. a NIR graph"):
        load_model(tmp_path / "h5.npz")


def test_random_model_bad_arguments():
    with pytest.raises(EventsimError, match="weight_density"):
        random_model(3, [4], weight_density=0.0)
    with pytest.raises(EventsimError, match="thr_mean"):
        random_model(3, [4], thr_mean=1.5)
    with pytest.raises(EventsimError, match="sizes must be positive"):
        random_model(3, [0])
    with pytest.raises(EventsimError, match="dtype 'float16' is not supported"):
        random_model(3, [4], dtype="float16")


def test_input_errors():
    m = random_model(3, [4], seed=0)
    with pytest.raises(EventsimError, match="inputs have 5 channels but the model's layer0 has 3 inputs"):
        simulate(m, np.zeros((2, 5, 5)))
    with pytest.raises(EventsimError, match=r"shape \(T, m\) or \(B, T, m\)"):
        simulate(m, np.zeros(5))
    with pytest.raises(EventsimError, match="NaN or infinite"):
        simulate(m, np.full((2, 3), np.nan))
    with pytest.raises(EventsimError, match="engine 'fast' is unknown"):
        simulate(m, np.zeros((2, 3)), engine="fast")
    with pytest.raises(EventsimError, match=r"cannot record \['z'\]"):
        simulate(m, np.zeros((2, 3)), record=("z",))
    with pytest.raises(EventsimError, match="channels up to 7"):
        simulate(m, EventStream.from_arrays([0], [0], [7], [1.0]))
    with pytest.raises(EventsimError, match="not sorted by"):
        EventStream.from_arrays([1, 0], [0, 0], [0, 0], [1.0, 1.0])
    with pytest.raises(EventsimError, match="differ in length"):
        EventStream.from_arrays([0, 0], [0], [0], [1.0])
    with pytest.raises(EventsimError, match="reaches 4 but the stream declares only 2"):
        EventStream.from_arrays([0], [4], [0], [1.0], n_steps=2)
    emb = random_model(3, [4], vocab=5, seed=0)
    with pytest.raises(EventsimError, match=r"token ids must lie in \[0, 4\]"):
        simulate(emb, np.array([[1, 5]]))
    with pytest.raises(EventsimError, match="must be integer token ids"):
        simulate(emb, np.zeros((2, 3)))


def test_with_delays_validates():
    m = random_model(3, [4, 4], seed=0)
    with pytest.raises(EventsimError, match="ff_delays has 1 entries"):
        m.with_delays(ff_delays=(1,))


@pytest.mark.parametrize("bad", [(0.5,), ("a",), (True,)])
def test_fractional_or_odd_delays_are_refused_not_truncated(bad):
    import dataclasses
    m = eventsim.random_model(3, [4], seed=0)
    with pytest.raises(EventsimError, match="whole numbers of steps"):
        dataclasses.replace(m, ff_delays=bad)
    assert dataclasses.replace(m, rec_delays=(2.0,)).rec_delays == (2,)


def test_meta_pseudo_derivative_of_wrong_type(tmp_path):
    import json
    from eventsim.egru.model import model_arrays, model_from_arrays
    a = model_arrays(eventsim.random_model(3, [4], seed=0))
    a["meta"] = np.array(json.dumps({"pseudo_derivative": 3}))
    with pytest.raises(EventsimError, match="pseudo_derivative"):
        model_from_arrays(a)


@pytest.mark.parametrize("fraction, events, text", [
    (0.9999, 1, "99.99%"), (1 - 1e-7, 1, ">99.9999%"), (1.0, 0, "100.0%"), (0.5, 10, "50.0%"),
    (0.0004, 5, "0.04%")])
def test_sparsity_never_reads_100_percent_with_events(fraction, events, text):
    from eventsim._fmt import format_sparsity
    assert format_sparsity(fraction, events) == text


def test_count_table_with_one_event_in_many_is_not_100_percent():
    from eventsim.egru.counts import Counts
    m = eventsim.random_model(2, [10], seed=0)
    raw = np.zeros((1, 6), np.int64)
    raw[0, 0] = 1  # one event over 10 units x 100000 steps: sparsity 1 - 1e-6 = 99.9999%
    table = Counts.for_model(m, 1, 100000, raw).table()
    assert "100.0%" not in table and "99.9999%" in table
