"""NIR graphs in and out (eventsim.lif.nir), NIR activity data (eventsim.nirdata).

Expected values are worked by hand from the node equations (docs/lif.md, "NIR") or come
from the round trip; the cross-check against snnTorch and an independent interpreter is
tests/test_nir_crosscheck.py."""
import sys

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from eventsim.cli import main  # noqa: E402
from eventsim.errors import EventsimError  # noqa: E402
from eventsim.lif import load_lif, make_lif, random_lif_model, simulate_lif  # noqa: E402
from eventsim.lif.nir import from_nir, to_nir  # noqa: E402

DT = 1e-3


def graph(nodes, edges, check=True):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=check)


def inp(n):
    return nir.Input(np.array([n]))


def out(n):
    return nir.Output(np.array([n]))


def test_each_node_by_hand():
    # one channel into five one-unit nodes; Euler at dt = 1 ms
    g = graph({"in": inp(1),
               "w": nir.Linear(np.array([[1.0]])),
               "sc": nir.Scale(np.array([2.0])),
               # LIF: tau 4 ms -> v <- 0.75 v + 0.25*v_leak + (r dt/tau) I, r = 2 -> scale 0.5
               "lif": nir.LIF(tau=np.array([4e-3]), r=np.array([2.0]), v_leak=np.array([0.4]),
                              v_threshold=np.array([1.0]), v_reset=np.array([-0.5])),
               # IF: v <- v + r dt I = v + 0.5 I (r = 500)
               "if": nir.IF(r=np.array([500.0]), v_threshold=np.array([1.2]), v_reset=np.array([0.0])),
               # CubaLIF: I <- 0.5 I + (w_in dt/tau_syn) S = 0.5 I + S; v <- 0.75 v + (r dt/tau_mem) I = 0.75 v + I
               "cuba": nir.CubaLIF(tau_syn=np.array([2e-3]), tau_mem=np.array([4e-3]), r=np.array([4.0]),
                                   v_leak=np.array([0.0]), v_threshold=np.array([2.5]), v_reset=np.array([0.0]),
                                   w_in=np.array([2.0])),
               "thr": nir.Threshold(np.array([0.5])),
               "o": out(1)},
              [("in", "w"), ("w", "lif"), ("w", "if"), ("w", "cuba"), ("w", "sc"), ("sc", "thr"), ("thr", "o")])
    m = from_nir(g, DT)
    names = [k for k, *_ in m.meta["nir"]["nodes"]]
    x = np.array([[1.0], [1.0], [0.0], [1.0], [0.0]])
    r = simulate_lif(m, x, record_v=True)
    v = {k: r.v[0, :, names.index(k)] for k in names}
    R = r.raster()[0]
    s = {k: R[:, names.index(k)] for k in names}
    # LIF: bias 0.1 each step, input 0.5 per spike
    # t0: 0.6; t1: 0.45+0.1+0.5 = 1.05 > 1 -> spike, reset -0.5; t2: -0.375+0.1 = -0.275;
    # t3: -0.20625+0.1+0.5 = 0.39375; t4: 0.2953125+0.1 = 0.3953125
    np.testing.assert_allclose(v["lif"], [0.6, -0.5, -0.275, 0.39375, 0.3953125], atol=1e-14)
    assert s["lif"].tolist() == [0, 1, 0, 0, 0]
    # IF: 0.5, 1.0, 1.0, 1.5 > 1.2 -> spike -> 0, 0
    np.testing.assert_allclose(v["if"], [0.5, 1.0, 1.0, 0.0, 0.0], atol=1e-14)
    assert s["if"].tolist() == [0, 0, 0, 1, 0]
    # CubaLIF: I = 1, 1.5, 0.75, 1.375, 0.6875; v = 1, 2.25, 2.4375, 3.203125 > 2.5 -> 0, 0.6875
    np.testing.assert_allclose(v["cuba"], [1.0, 2.25, 2.4375, 0.0, 0.6875], atol=1e-14)
    assert s["cuba"].tolist() == [0, 0, 0, 1, 0]
    # Threshold: v = 2 x (Scale 2), event when > 0.5, no memory
    assert s["thr"].tolist() == [1, 1, 0, 1, 0]


def test_bias_into_a_cuba_node_enters_its_current_by_hand():
    # CubaLIF at dt = 1 ms: I <- 0.5 I + (w_in dt/tau_syn)(S + b) = 0.5 I + S + 0.25 (b = 0.25),
    # v <- 0.75 v + I (r dt/tau_mem = 1); no input spikes: I = 0.25, 0.375, 0.4375; v = 0.25, 0.5625, 0.859375
    cuba = nir.CubaLIF(tau_syn=np.array([2e-3]), tau_mem=np.array([4e-3]), r=np.array([4.0]),
                       v_leak=np.array([0.0]), v_threshold=np.array([10.0]), w_in=np.array([2.0]))
    g = graph({"in": inp(1), "w": nir.Affine(np.array([[1.0]]), np.array([0.25])), "c": cuba, "o": out(1)},
              [("in", "w"), ("w", "c"), ("c", "o")])
    m = from_nir(g, DT)
    assert m.syn_bias.tolist() == [0.25] and m.bias.tolist() == [0.0]
    for engine in ("event", "reference"):
        r = simulate_lif(m, np.zeros((3, 1)), engine=engine, record_v=True)
        np.testing.assert_allclose(r.v[0, :, 0], [0.25, 0.5625, 0.859375], atol=1e-15)


def test_delay_nodes_and_back_edges_by_hand():
    # in -> A (LIF, delay 2 steps on the way) -> B (LIF) -> back to A through a Linear
    big = lambda: nir.LIF(tau=np.array([1e9]), r=np.array([1e9 / DT]), v_leak=np.array([0.0]),
                          v_threshold=np.array([0.5]), v_reset=np.array([0.0]))
    g = graph({"in": inp(1), "d": nir.Delay(np.array([2 * DT])), "wa": nir.Linear(np.array([[1.0]])),
               "a": big(), "wb": nir.Linear(np.array([[1.0]])), "b": big(), "back": nir.Linear(np.array([[1.0]])), "o": out(1)},
              [("in", "d"), ("d", "wa"), ("wa", "a"), ("a", "wb"), ("wb", "b"), ("b", "back"), ("back", "a"),
               ("b", "o")])
    m = from_nir(g, DT)
    assert [k for k, *_ in m.meta["nir"]["nodes"]] == ["a", "b"]
    assert m.inp.delay.tolist() == [2]
    # a -> b in the same step (delay 0), b -> a closes the cycle (delay 1)
    assert sorted(zip(m.rec.indices.tolist(), m.rec.delay.tolist())) == [(0, 1), (1, 0)]
    R = simulate_lif(m, np.array([[1.0]] + [[0.0]] * 5)).raster()[0]
    # input at 0 reaches a at 2; b fires at 2 too; b's event is back at a at 3, and so on
    assert R[:, 0].tolist() == [0, 0, 1, 1, 1, 1] and R[:, 1].tolist() == [0, 0, 1, 1, 1, 1]


def test_flatten_and_subgraphs_pass_channels_through():
    rng = np.random.default_rng(5)
    W = rng.normal(0.5, 0.5, (6, 12))
    lif = lambda: nir.LIF(tau=np.full(6, 2e-3), r=np.full(6, 2.0), v_leak=np.zeros(6), v_threshold=np.ones(6))
    flat = graph({"in": nir.Input(np.array([3, 4])), "fl": nir.Flatten({"input": np.array([3, 4])}, 0, 1),
                  "w": nir.Linear(W), "l": lif(), "o": out(6)},
                 [("in", "fl"), ("fl", "w"), ("w", "l"), ("l", "o")])
    sub = graph({"i": inp(12), "w": nir.Linear(W), "l": lif(), "o": out(6)}, [("i", "w"), ("w", "l"), ("l", "o")])
    nested = graph({"in": inp(12), "net": sub, "o": out(6)}, [("in", "net"), ("net", "o")])
    a, b = from_nir(flat, DT), from_nir(nested, DT)
    assert a.n_in == 12 and [k for k, *_ in b.meta["nir"]["nodes"]] == ["net.l"]
    # channel c of the flattened input is entry (c // 4, c % 4); weights W * r dt / tau = W
    np.testing.assert_allclose(a.inp.to_dense(6), W.T, rtol=1e-15)
    np.testing.assert_array_equal(b.inp.to_dense(6), a.inp.to_dense(6))


@pytest.mark.parametrize("node, kind", [
    (lambda: nir.Conv1d(None, np.ones((2, 1, 3)), 1, 0, 1, 1, np.zeros(2)), "Conv1d"),
    (lambda: nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])), "SumPool2d"),
    (lambda: nir.I(np.ones(3)), "I"),
])
def test_unrepresentable_nodes_are_named(node, kind):
    g = graph({"in": inp(3), "bad": node(), "o": out(3)}, [("in", "bad"), ("bad", "o")], check=False)
    with pytest.raises(EventsimError, match=rf"^node 'bad' of type {kind} cannot be represented"):
        from_nir(g, DT)


def test_fractional_delay_is_refused():
    lif = nir.LIF(tau=np.ones(1), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1))
    g = graph({"in": inp(1), "d": nir.Delay(np.array([1.5 * DT])), "w": nir.Linear(np.ones((1, 1))), "l": lif},
              [("in", "d"), ("d", "w"), ("w", "l")])
    with pytest.raises(EventsimError, match=r"Delay node 'd': delay\[0\] = 0.0015 s is not a whole number"):
        from_nir(g, DT)


def test_linear_read_out_is_refused():
    lif = nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))
    g = graph({"in": inp(2), "w": nir.Linear(np.eye(2)), "l": lif, "ro": nir.Affine(np.ones((1, 2)), np.zeros(1)),
               "o": out(1)}, [("in", "w"), ("w", "l"), ("l", "ro"), ("ro", "o")])
    with pytest.raises(EventsimError, match=r"^Output 'o' is fed by 'ro' \(Affine\), not by a neuron node"):
        from_nir(g, DT)


def test_missing_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(EventsimError, match=r"pip install 'eventsim\[nir\]'"):
        from_nir("whatever.nir", DT)


def _roundtrip(m, tmp_path):
    nir.write(str(tmp_path / "g.nir"), to_nir(m))
    assert isinstance(nir.read(str(tmp_path / "g.nir")), nir.NIRGraph)
    return from_nir(str(tmp_path / "g.nir"), m.dt)


def test_round_trip_gives_identical_spikes_and_counts(tmp_path):
    # recurrent, per-synapse delays (several per source), bias, heterogeneous tau/thr, IF and LI units
    m = random_lif_model(20, 150, fanout_in=15, fanout_rec=10, w_in=(0.4, 0.3), w_rec=(0.0, 0.4),
                         delay_in=(0, 3), delay_rec=(1, 4), tau=2e-3, dt=1e-4, bias=0.01, seed=3)
    m.leak = "euler"
    m.tau = np.random.default_rng(0).uniform(5e-4, 5e-3, m.n)
    m.tau[:10] = np.inf
    m.thr[140:] = np.inf
    m.thr[20:40] = 0.8
    r = _roundtrip(m, tmp_path)
    x = (np.random.default_rng(1).random((2, 150, 20)) < 0.2).astype(float)
    a, b = simulate_lif(m, x), simulate_lif(r, x)
    assert a.counts.events > 100
    np.testing.assert_array_equal(a.raster(), b.raster())
    assert a.counts.to_dict() == b.counts.to_dict()
    np.testing.assert_array_equal(r.alpha, m.alpha)


def test_round_trip_of_an_imported_layered_graph(tmp_path):
    rng = np.random.default_rng(4)
    lif = lambda k: nir.CubaLIF(tau_syn=np.full(k, 5e-4), tau_mem=np.full(k, 2e-3), r=np.full(k, 2e-3 / 1e-4),
                                v_leak=np.zeros(k), v_threshold=np.ones(k), w_in=np.full(k, 5.0))
    g = graph({"in": inp(10), "f1": nir.Affine(rng.normal(0.3, 0.3, (60, 10)), rng.normal(0, 0.05, 60)), "l1": lif(60),
               "f2": nir.Linear(rng.normal(0.2, 0.3, (40, 60))), "l2": lif(40),
               "rec": nir.Linear(rng.normal(0.0, 0.2, (60, 40))), "d": nir.Delay(np.full(40, 3e-4)), "o": out(40)},
              [("in", "f1"), ("f1", "l1"), ("l1", "f2"), ("f2", "l2"), ("l2", "d"), ("d", "rec"), ("rec", "l1"),
               ("l2", "o")])
    m = from_nir(g, 1e-4)
    assert m.has_syn and int(m.rec.delay.max()) == 4  # back edge 1 + Delay 3
    assert np.count_nonzero(m.syn_bias) == 60
    r = _roundtrip(m, tmp_path)
    x = (rng.random((100, 10)) < 0.3).astype(float)
    a, b = simulate_lif(m, x), simulate_lif(r, x)
    assert a.counts.events > 50
    np.testing.assert_array_equal(a.raster(), b.raster())
    assert a.counts.to_dict() == b.counts.to_dict()


@pytest.mark.parametrize("kw, match", [
    (dict(events="graded"), "graded events cannot be exported"),
    (dict(refractory=2), "refractory = 2 steps cannot be exported"),
    (dict(reset="subtract"), "reset 'subtract' cannot be exported"),
])
def test_what_nir_cannot_express_is_refused(kw, match):
    m = make_lif(2, 3, ([0, 1], [0, 2], [1.0, 0.5]), tau=0.01, thr=1.0, dt=1e-3, **kw)
    with pytest.raises(EventsimError, match=match):
        to_nir(m)
    m = make_lif(2, 3, ([0, 1], [0, 2], [1.0, 0.0]), tau=0.01, thr=1.0, dt=1e-3)
    with pytest.raises(EventsimError, match=r"input.weight\[1\] = 0: a stored zero-weight synapse"):
        to_nir(m)


def test_cli_import_run_export_and_activity(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = lambda *a: main(list(a))
    rng = np.random.default_rng(0)
    tau = np.full(50, 2e-3)
    g = graph({"input": inp(20), "fc": nir.Linear(rng.normal(0.3, 0.3, (50, 20))),
               "lif": nir.LIF(tau=tau, r=tau / 1e-4, v_leak=np.zeros(50), v_threshold=np.ones(50)),
               "out": out(50)}, [("input", "fc"), ("fc", "lif"), ("lif", "out")])
    nir.write(str(tmp_path / "g.nir"), g)
    assert run("lif", "import", "g.nir", "--dt", "1e-4", "--out", "m.npz") == 0
    x = (rng.random((2, 80, 20)) < 0.2).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    assert run("lif", "run", "--model", "m.npz", "--input", "x.npy", "--save-activity", "act.nir") == 0
    d = nir.read_data(str(tmp_path / "act.nir"))
    ev = d.nodes["lif"].observables["spikes"]
    res = simulate_lif(load_lif(tmp_path / "m.npz"), x)
    assert ev.n_neurons == 50 and ev.t_max == pytest.approx(80 * 1e-4)
    for b in range(2):
        ok = ev.idx[b] >= 0
        got = sorted(zip(np.rint(ev.time[b][ok] / 1e-4).astype(int).tolist(), ev.idx[b][ok].tolist()))
        want = sorted(zip(res.t[res.sample == b].tolist(), res.unit[res.sample == b].tolist()))
        assert got == want and len(want) > 20
    assert run("lif", "export", "m.npz", "--to", "back.nir") == 0
    assert isinstance(nir.read(str(tmp_path / "back.nir")), nir.NIRGraph)
    capsys.readouterr()
    assert run("lif", "import", "missing.nir", "--dt", "1e-4", "--out", "n.npz") == 2
    assert "eventsim: error: NIR graph file 'missing.nir' does not exist" in capsys.readouterr().err


def test_egru_events_as_valued_event_data(tmp_path, capsys):
    import eventsim
    m, x, a = (str(tmp_path / k) for k in ("m.npz", "x.npy", "act.nir"))
    eventsim.save_model(eventsim.random_model(4, [6, 5], seed=0, thr_mean=0.05), m)
    X = np.random.default_rng(0).normal(size=(2, 30, 4))
    np.save(x, X)
    assert main(["count", "--model", m, "--input", x, "--save-activity", a, "--quiet"]) == 0
    d = nir.read_data(a)
    res = eventsim.simulate(eventsim.load_model(m), X, record=("y",))
    for k in range(2):
        ev = d.nodes[f"layer{k}"].observables["events"]
        assert isinstance(ev, nir.ValuedEventData) and ev.n_neurons == res.y[k].shape[2]
        for b in range(2):
            ok = ev.idx[b] >= 0
            got = sorted(zip(ev.time[b][ok].astype(int).tolist(), ev.idx[b][ok].tolist(), ev.value[b][ok].tolist()))
            t, i = np.nonzero(res.y[k][b])
            want = sorted(zip(t.tolist(), i.tolist(), res.y[k][b][t, i].astype(float).tolist()))
            assert got == want and len(want) > 10


def test_activity_file_must_be_named_as_nir_data(tmp_path, capsys):
    """NIR data is HDF5: a name like out.npz is refused before the run, and the file the
    name points at is left as it was."""
    import eventsim
    m, x = str(tmp_path / "m.npz"), str(tmp_path / "x.npy")
    eventsim.save_model(eventsim.random_model(3, [4], seed=0), m)
    np.save(x, np.zeros((1, 5, 3)))
    keep = tmp_path / "keep.npz"
    keep.write_bytes(b"precious")
    capsys.readouterr()
    for argv in (["count", "--model", m, "--input", x], ["lif", "run", "--model", m, "--input", x]):
        assert main([*argv, "--save-activity", str(keep)]) == 2
        assert "name it .nir" in capsys.readouterr().err
    assert keep.read_bytes() == b"precious"
