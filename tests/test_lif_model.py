"""LIF model file format, validation messages and Poisson inputs."""
import json

import numpy as np
import pytest

from eventsim.errors import EventsimError
from eventsim.inputs import EventStream
from eventsim.lif import load_lif, make_lif, poisson_stream, random_lif_model, save_lif
from eventsim.lif.model import lif_from_arrays


def small(**kw):
    args = dict(tau=0.01, thr=1.0, dt=1e-3)
    args.update(kw)
    return make_lif(3, 4, ([0, 0, 2], [1, 3, 0], [0.5, -0.25, 1.0], [0, 2, 1]),
                    ([1, 3], [2, 2], [0.75, 0.5]), **args)


def arrays(m, tmp_path):
    save_lif(m, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as z:
        return {k: z[k] for k in z.files}


def test_round_trip_keeps_every_field(tmp_path):
    m = small(reset="subtract", refractory=3, events="graded", bias=0.125, v_reset=-0.5)
    save_lif(m, tmp_path / "m.npz")
    r = load_lif(tmp_path / "m.npz")
    for a, b in ((m.inp, r.inp), (m.rec, r.rec)):
        for key in ("indptr", "indices", "weight", "delay"):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    for key in ("tau", "thr", "bias", "v_reset"):
        np.testing.assert_array_equal(getattr(m, key), getattr(r, key))
    assert (r.dt, r.reset, r.refractory, r.events) == (1e-3, "subtract", 3, "graded")


def test_csr_rows_group_synapses_by_source():
    m = small()
    # channel 0 has two synapses (targets 1 and 3), channel 1 none, channel 2 one (target 0)
    assert m.inp.indptr.tolist() == [0, 2, 2, 3]
    assert m.inp.indices.tolist() == [1, 3, 0]
    assert m.inp.delay.tolist() == [0, 2, 1]
    # recurrent default delay is 1 step
    assert m.rec.delay.tolist() == [1, 1]
    W = m.inp.to_dense(4)
    assert W[0, 1] == 0.5 and W[0, 3] == -0.25 and W[2, 0] == 1.0 and W.sum() == 1.25


def test_alpha_is_exp_minus_dt_over_tau():
    m = small()
    assert m.alpha[0] == np.exp(-1e-3 / 0.01)


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d.pop("tau"), "key 'tau' is missing"),
    (lambda d: d.pop("thr"), "key 'thr' is missing"),
    (lambda d: d.pop("input.indptr"), "key 'input.indptr' is missing"),
    (lambda d: d.pop("recurrent.weight"), "'recurrent.weight' is missing"),
    (lambda d: d.update(extra=np.zeros(2)), r"unknown key\(s\) \['extra'\]"),
    (lambda d: d.update(thr=np.ones(5)), r"thr has shape \(5,\) but \(4,\) was expected"),
    (lambda d: d.update(tau=np.array([0.01, 0.0, 0.01, 0.01])), r"tau\[1\] = 0.0; time constants must be > 0"),
    (lambda d: d.update(bias=np.array([0, np.nan, 0, 0.0])), r"bias\[1\] is NaN or infinite"),
    (lambda d: d.update({"input.indptr": np.array([0, 2, 2, 4])}),
     r"input.indices has 3 entries but input.indptr\[-1\] = 4 synapses"),
    (lambda d: d.update({"input.indptr": np.array([1, 2, 2, 3])}), r"input.indptr\[0\] = 1; CSR rows must start at 0"),
    (lambda d: d.update({"recurrent.indptr": np.array([0, 1, 2])}), r"recurrent.indptr has length 3 but 5"),
    (lambda d: d.update({"input.indptr": np.array([0, 2, 1, 3])}), "input.indptr decreases at row 1"),
    (lambda d: d.update({"input.indices": np.array([1, 4, 0])}), r"input.indices\[1\] = 4 is not a unit index"),
    (lambda d: d.update({"input.weight": np.array([0.5, 1.0])}), "input.weight has 2 entries but"),
    (lambda d: d.update({"input.weight": np.array([0.5, np.inf, 1.0])}), r"input.weight\[1\] is NaN"),
    (lambda d: d.update({"input.delay": np.array([0, -1, 0])}), r"input.delay\[1\] = -1 but delays must be >= 0"),
    (lambda d: d.update({"recurrent.delay": np.array([1, 0])}), r"recurrent.delay\[1\] = 0 from unit 3 to unit 2: a zero-delay synapse must go from a lower"),
    (lambda d: d.update({"recurrent.indices": np.array([0.0, 1.0])}), "recurrent.indices has dtype float64"),
    (lambda d: d.update(meta=np.array("[1, 2]")), "'meta' is not a JSON object"),
    (lambda d: d.update(meta=np.array(json.dumps({"kind": "lif", "reset": "zero"}))), "reset mode 'zero' is unknown"),
    (lambda d: d.update(meta=np.array(json.dumps({"events": "spiky"}))), "events 'spiky' is unknown"),
    (lambda d: d.update(meta=np.array(json.dumps({"refractory": -2}))), "refractory = -2 must be an integer"),
    (lambda d: d.update(meta=np.array(json.dumps({"dt": 0}))), "dt = 0 must be a positive number"),
    (lambda d: d.update(meta=np.array(json.dumps({"kind": "egru"}))), "meta kind is 'egru'"),
    (lambda d: d.update({"layer0.kernel": np.zeros((2, 3))}), "is an EGRU model file"),
    (lambda d: d.update(sample=np.zeros(1), channel=np.zeros(1)), "is an event-stream"),
])
def test_bad_files_name_the_culprit(tmp_path, mutate, match):
    d = arrays(small(), tmp_path)
    mutate(d)
    with pytest.raises(EventsimError, match=match):
        lif_from_arrays(d, source="m.npz")


def test_optional_keys_take_documented_defaults(tmp_path):
    d = arrays(small(), tmp_path)
    for k in ("bias", "v_reset", "meta", "input.delay", "recurrent.indptr", "recurrent.indices",
              "recurrent.weight", "recurrent.delay"):
        d.pop(k)
    m = lif_from_arrays(d)
    assert m.rec.nnz == 0 and m.inp.delay.tolist() == [0, 0, 0]
    assert m.bias.tolist() == [0.0] * 4 and m.v_reset.tolist() == [0.0] * 4
    assert (m.dt, m.reset, m.refractory, m.events) == (1e-4, "value", 0, "binary")


def test_unreadable_and_missing_files(tmp_path):
    with pytest.raises(EventsimError, match="does not exist"):
        load_lif(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(EventsimError, match=r"not a \.npz archive \(a zip of arrays\)"):
        load_lif(tmp_path / "bad.npz")


def test_random_model_fanout_and_delay_ranges():
    m = random_lif_model(30, 50, fanout_in=7, fanout_rec=5, delay_in=(0, 3), delay_rec=(2, 4), seed=4)
    assert np.all(m.inp.row_lengths() == 7) and np.all(m.rec.row_lengths() == 5)
    for p in (m.inp, m.rec):  # targets distinct within a row
        for j in range(p.n_src):
            row = p.indices[p.indptr[j]:p.indptr[j + 1]]
            assert len(set(row.tolist())) == len(row)
    assert m.inp.delay.min() >= 0 and m.inp.delay.max() <= 3 and set(m.rec.delay.tolist()) <= {2, 3, 4}
    with pytest.raises(EventsimError, match="fanout_in = 51 must be between 0 and the number of units"):
        random_lif_model(3, 50, fanout_in=51)
    with pytest.raises(EventsimError, match=r"recurrent delay range \(0, 1\) is invalid"):
        random_lif_model(3, 5, fanout_in=1, fanout_rec=1, delay_rec=(0, 1))


def test_poisson_rate_and_edge_probabilities():
    m, T, rate, dt = 200, 2000, 50.0, 1e-3
    s = poisson_stream(m, T, rate, dt, seed=0)
    expected = m * T * rate * dt  # 20 000, binomial std ~ 134
    assert abs(len(s) - expected) < 6 * np.sqrt(expected * (1 - rate * dt))
    assert np.all(s.value == 1) and s.t.max() < T and s.channel.max() < m
    key = s.t * m + s.channel
    assert np.all(np.diff(key) > 0)  # sorted by step, one event per (step, channel)
    full = poisson_stream(3, 10, [0.0, 1000.0, 0.0], 1e-3, n_samples=2)
    assert full.channel.tolist() == [1] * 20 and full.t.tolist() == list(range(10)) * 2
    with pytest.raises(EventsimError, match=r"spike probability rate\*dt = 2.0"):
        poisson_stream(2, 10, 2000.0, 1e-3)


def test_poisson_interspike_intervals_are_geometric():
    p = 0.05
    s = poisson_stream(50, 4000, p / 1e-3, 1e-3, seed=2)
    isi = np.concatenate([np.diff(s.t[s.channel == c]) for c in range(50)])
    # geometric(p): mean 1/p = 20, P(isi = 1) = p
    assert abs(isi.mean() - 1 / p) < 0.05 / p
    assert abs(np.mean(isi == 1) - p) < 0.01
    assert isinstance(s, EventStream)
