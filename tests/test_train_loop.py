"""The training loop: loss falls, resume is bit-identical, pruning, thresholds,
backward counts against a naive count, configuration errors."""
import json

import numpy as np
import pytest

from eventsim.errors import EventsimError
from eventsim.train import NetSpec, TrainConfig, evaluate, to_model, train
from eventsim.train.backward_counts import BackwardCounter
from eventsim.train.checkpoint import latest_checkpoint
from eventsim.train.network import init_params, loss_and_grads
from eventsim.train.pruning import density_at


class Split:
    def __init__(self, x, y):
        self.x, self.y = x, y


def toy_task(n=96, T=6, m=3, seed=0):
    """Class = sign pattern of the sum of the first input over time (learnable quickly)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, m)).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0.0
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64) + 2 * (x[:, :, 1].sum(1) > 0).astype(np.int64)
    return Split(x[:64], y[:64]), Split(x[64:], y[64:])


SPEC = NetSpec(kind="egru", n_in=3, units=[12], n_out=4)


def strip(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_loss_falls_and_sparsity_is_reported():
    tr, va = toy_task()
    cfg = TrainConfig(epochs=8, batch_size=16, lr=0.03, activity_reg=0.05, seed=1)
    r = train(SPEC, tr, va, cfg, progress=False)
    h = r.history
    assert [e["epoch"] for e in h] == list(range(1, 9))
    assert h[-1]["train_loss"] < 0.85 * h[0]["train_loss"]
    for e in h:
        assert 0.0 <= e["activity_sparsity"] <= 1.0
        b = e["backward"]["total"]
        assert b["unit_steps"] == 12 * 6 * 64          # n · T · samples of the epoch
        assert 0.0 <= b["backward_sparsity"] <= 1.0
        assert b["macs"]["recurrent"]["sparse"] <= b["macs"]["recurrent"]["dense"]
    ev = evaluate(SPEC, r.params, va.x, va.y, "last", "accuracy")
    assert 0.0 <= ev["metric"] <= 1.0


@pytest.mark.parametrize("kind", ["egru", "lstm"])
def test_interrupted_run_resumes_bit_identical(tmp_path, kind):
    tr, va = toy_task()
    spec = NetSpec(kind=kind, n_in=3, units=[8, 6], n_out=4)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, dropout=0.2, activity_reg=0.1, seed=3,
                      weight_density=0.6, prune_start=0.0, prune_end=1.0, thr_jitter=0.1)
    full = train(spec, tr, va, cfg, ckpt_dir=tmp_path / "a", progress=False)

    class Stop(Exception):
        pass

    def interrupt(epoch, history):
        if epoch == 1:
            raise Stop

    with pytest.raises(Stop):
        train(spec, tr, va, cfg, ckpt_dir=tmp_path / "b", progress=False, on_epoch_end=interrupt)
    assert latest_checkpoint(tmp_path / "b").endswith("epoch0001.npz")
    resumed = train(spec, tr, va, cfg, ckpt_dir=tmp_path / "b", progress=False)
    assert resumed.resumed_from == 1
    assert set(full.params) == set(resumed.params)
    for k in full.params:
        np.testing.assert_array_equal(full.params[k], resumed.params[k], err_msg=k)
    assert strip(full.history) == strip(resumed.history)


def test_resume_with_other_settings_is_refused(tmp_path):
    tr, va = toy_task()
    cfg = TrainConfig(epochs=1, batch_size=32, seed=0)
    train(SPEC, tr, va, cfg, ckpt_dir=tmp_path, progress=False)
    cfg2 = TrainConfig(epochs=1, batch_size=32, seed=0, lr=0.1)
    with pytest.raises(EventsimError, match="other model or training settings.*--fresh"):
        train(SPEC, tr, va, cfg2, ckpt_dir=tmp_path, progress=False)


def test_pruned_weights_stay_zero():
    tr, va = toy_task()
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.02, seed=0, weight_density=0.25,
                      prune_start=0.25, prune_end=0.75, weight_decay=0.01)
    r = train(SPEC, tr, va, cfg, progress=False)
    K = r.params["layer0.kernel"]
    R = r.params["layer0.recurrent_kernel"]
    assert np.count_nonzero(K) == round(0.25 * K.size)
    assert np.count_nonzero(R) == round(0.25 * R.size)
    assert np.all(K[r.masks["layer0.kernel"] == 0] == 0)
    assert [h["weight_density"] for h in r.history][-1] == pytest.approx(0.25, abs=0.01)
    model = to_model(SPEC, r.params)   # the engine's counts see the pruned synapses
    assert np.count_nonzero(model.layers[0].recurrent_kernel) == np.count_nonzero(R)


def test_pruning_schedule_closed_form():
    # 8 epochs, start 0.25 -> e0 = 2, end 0.75 -> e1 = 5: cubic from 1 to the target
    assert density_at(0, 8, 0.1) == 1.0 and density_at(1, 8, 0.1) == 1.0
    assert density_at(2, 8, 0.1) == pytest.approx(0.1 + 0.9 * (1 - 1 / 4) ** 3)
    assert density_at(5, 8, 0.1) == pytest.approx(0.1)
    assert density_at(7, 8, 0.1) == pytest.approx(0.1)


def test_thresholds_clamped_or_frozen():
    tr, va = toy_task()
    p0 = init_params(SPEC, 0)
    p0["layer0.thr"][:] = 0.999
    cfg = TrainConfig(epochs=2, batch_size=16, lr=0.2, activity_reg=5.0, seed=0)
    r = train(SPEC, tr, va, cfg, progress=False, params=p0)
    thr = r.params["layer0.thr"]
    assert thr.min() >= 0.0 and thr.max() <= 1.0 and np.any(thr == 1.0)
    cfg = TrainConfig(epochs=1, batch_size=16, lr=0.05, seed=0, train_thr=False)
    r = train(SPEC, tr, va, cfg, progress=False, params=p0)
    np.testing.assert_array_equal(r.params["layer0.thr"], p0["layer0.thr"])


@pytest.mark.parametrize("jitter", [0.0, 0.3])
def test_backward_counts_match_naive_loops(jitter):
    """B_t (SPEC §2) from naive loops; with threshold jitter, at the thresholds the units
    fired against: ϑ plus the offsets drawn per (sample, unit), layer by layer."""
    rng = np.random.default_rng(4)
    spec = NetSpec(kind="egru", n_in=3, units=[5, 4], n_out=2, support=2.0)
    p = init_params(spec, 2)
    p["layer1.kernel"][rng.random(p["layer1.kernel"].shape) < 0.5] = 0.0
    p["layer0.recurrent_kernel"][rng.random((5, 15)) < 0.4] = 0.0
    x = rng.normal(size=(3, 7, 3)).astype(np.float32)
    x[rng.random(x.shape) < 0.5] = 0.0
    y = rng.integers(0, 2, 3)
    _, grads, ps, _ = loss_and_grads(spec, p, x, y, "last", rng=np.random.default_rng(9), thr_jitter=jitter)
    draw = np.random.default_rng(9)
    offsets = [(jitter * draw.standard_normal((3, n))).astype(np.float32) if jitter else np.zeros((3, n))
               for n in (5, 4)]
    bc = BackwardCounter(spec)
    bc.add_batch(p, ps, grads)
    d = bc.to_dict()
    Bsets = []
    for k in range(2):
        C, O = ps.caches[k]["C"], ps.caches[k]["O"]
        thr = p[f"layer{k}.thr"]
        Bk = np.zeros(C.shape, bool)
        for b, t, j in np.ndindex(C.shape):
            Bk[b, t, j] = O[b, t, j] == 1 or 1 - 2.0 * abs(C[b, t, j] - (thr[j] + offsets[k][b, j])) > 0
        Bsets.append(Bk)
    for k, (m, n) in enumerate(((3, 5), (5, 4))):
        K, R = p[f"layer{k}.kernel"], p[f"layer{k}.recurrent_kernel"]
        X, Y = ps.inputs[k], ps.caches[k]["Y"]
        rec = inp = wg = 0
        for b in range(3):
            for t in range(7):
                if t > 0:
                    rec += sum(np.count_nonzero(R[j]) for j in range(n) if Bsets[k][b, t - 1, j])
                    wg += sum(np.count_nonzero(R[j]) for j in range(n) if Y[b, t - 1, j] != 0)
                if k > 0:
                    inp += sum(np.count_nonzero(K[i]) for i in range(m) if Bsets[k - 1][b, t, i])
                wg += sum(np.count_nonzero(K[i]) for i in range(m) if X[b, t, i] != 0)
        L = d["layers"][k]
        assert L["active_units"] == Bsets[k].sum()
        assert L["macs"]["recurrent"] == {"dense": n * 3 * n * 21, "sparse": rec}
        assert L["macs"]["input"] == {"dense": (m * 3 * n * 21) if k else 0, "sparse": inp}
        assert L["macs"]["weight_gradient"] == {"dense": (m + n) * 3 * n * 21, "sparse": wg}
        zero = sum(np.all(grads[f"layer{k}.kernel"][i] == 0) for i in range(m)) + \
            sum(np.all(grads[f"layer{k}.recurrent_kernel"][j] == 0) for j in range(n))
        assert L["update_rows"] == {"total": m + n, "zero": zero}
    assert d["total"]["active_units"] == sum(B.sum() for B in Bsets)
    json.dumps(d)  # integers and floats only


def test_threshold_jitter_trains_the_egru_only():
    """thr_jitter changes an EGRU's training and leaves a GRU's untouched (it draws nothing)."""
    tr, va = toy_task()
    for kind, differs in (("egru", True), ("gru", False)):
        spec = NetSpec(kind=kind, n_in=3, units=[8], n_out=4)
        a, b = (train(spec, tr, va, TrainConfig(epochs=1, batch_size=32, seed=0, thr_jitter=j), progress=False)
                for j in (0.0, 0.3))
        same = all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
        assert same != differs, kind


def test_update_sparsity_sees_silent_inputs():
    """An input channel that is always 0 gives an exactly zero kernel-row gradient."""
    spec = NetSpec(kind="egru", n_in=4, units=[6], n_out=2)
    p = init_params(spec, 0)
    x = np.random.default_rng(0).normal(size=(4, 5, 4)).astype(np.float32)
    x[:, :, 2] = 0.0
    _, grads, ps, _ = loss_and_grads(spec, p, x, np.array([0, 1, 0, 1]), "last")
    bc = BackwardCounter(spec)
    bc.add_batch(p, ps, grads)
    assert bc.to_dict()["layers"][0]["update_rows"]["zero"] >= 1


@pytest.mark.parametrize("kw, match", [
    ({"lr": 0.0}, "lr = 0.0 must be a positive"),
    ({"epochs": 0}, "epochs = 0 must be a positive integer"),
    ({"lr_schedule": "linear"}, "lr_schedule = 'linear' is unknown"),
    ({"loss": "lm"}, "loss 'lm' does not fit metric 'accuracy'"),
    ({"dropout": 1.0}, r"dropout = 1.0 must be in \[0, 1\)"),
    ({"weight_density": 0.0}, r"weight_density = 0.0 must be in \(0, 1\]"),
    ({"thr_jitter": -0.1}, "thr_jitter = -0.1 must be >= 0"),
])
def test_config_errors(kw, match):
    with pytest.raises(EventsimError, match=match):
        TrainConfig(**kw).validate()


def test_unknown_setting_and_divergence():
    with pytest.raises(EventsimError, match=r"unknown training setting\(s\) \['epoch'\]"):
        TrainConfig.from_dict({"epoch": 3})
    tr, va = toy_task()
    tr.x = tr.x.copy()
    tr.x[0, 0, 0] = np.nan
    with pytest.raises(EventsimError, match="diverged"):
        train(SPEC, tr, va, TrainConfig(epochs=1, batch_size=64), progress=False)


@pytest.mark.parametrize("kind", ["egru", "gru"])
def test_update_bias_sets_the_initial_update_gate(kind):
    spec = NetSpec(kind=kind, n_in=3, units=[5, 4], n_out=2)
    base = init_params(spec, seed=3, thr_mean=0.4)
    p = init_params(spec, seed=3, thr_mean=0.4, update_bias=1.5)
    for k, (m, n) in enumerate(zip(spec.layer_inputs, spec.units)):
        assert np.all(p[f"layer{k}.bias"][:n] == np.float32(1.5))
        assert np.all(p[f"layer{k}.bias"][n:] == 0.0)
    assert all(np.array_equal(p[k], base[k]) for k in p if not k.endswith(".bias"))
    # closed form: zero input and zero state -> z_0 = sigma(1.5) in every unit
    from eventsim.train.cells import gru_type_forward
    from eventsim.train.network import egru_options, layer_params
    _, cache = gru_type_forward(layer_params(p, 0), np.zeros((2, 3, 3), np.float32), kind, egru_options(spec))
    np.testing.assert_allclose(cache["Z"][:, 0], 1.0 / (1.0 + np.exp(-1.5)), rtol=1e-6)


def test_update_bias_errors():
    with pytest.raises(EventsimError, match="update_bias applies to GRU-type layers"):
        init_params(NetSpec(kind="lstm", n_in=3, units=[4], n_out=2), update_bias=1.0)
    with pytest.raises(EventsimError, match="update_bias = inf must be a finite number"):
        TrainConfig(update_bias=float("inf")).validate()


def test_scenario_update_bias_reaches_the_training_config():
    from eventsim.scenario import scenario_from_dict
    from eventsim.study import model_settings
    sc = scenario_from_dict({"data": {"name": "digits"}, "models": [
        {"name": "e", "kind": "egru", "units": [4], "update_bias": 1.0, "thr_jitter": 0.2},
        {"name": "g", "kind": "gru", "units": [4]},
        {"name": "l", "kind": "lstm", "units": [4]}]})
    ds = Split(None, None)
    ds.input_kind, ds.n_in, ds.n_classes, ds.task, ds.metric = "features", 1, 10, "classify", "accuracy"
    got = {m["name"]: model_settings(sc, m, ds)[1] for m in sc.models}
    assert {k: c.update_bias for k, c in got.items()} == {"e": 1.0, "g": 0.0, "l": 0.0}
    assert {k: c.thr_jitter for k, c in got.items()} == {"e": 0.2, "g": 0.0, "l": 0.0}


def test_evaluate_counts_each_units_events_hand_worked():
    # Units 0 and 1 have threshold 1.0: c is a convex combination of a tanh and the previous
    # state, so |c| <= 1 and c > 1 never holds (H(0) = 0): they never fire. Units 2 and 3
    # have threshold 0, keep gate z ~ 0 (bias -20) and candidate g = tanh(20) ~ 1: c ~ 1 > 0
    # at every step, so they fire at every step of every sample: B*T events each.
    spec = NetSpec(kind="egru", n_in=3, units=[4], n_out=2)
    p = init_params(spec, seed=0)
    p["layer0.kernel"][:] = 0.0
    p["layer0.recurrent_kernel"][:] = 0.0
    p["layer0.bias"][:] = 0.0
    p["layer0.bias"][0:4] = -20.0   # z block
    p["layer0.bias"][8:12] = 20.0   # g block
    p["layer0.thr"][:] = [1.0, 1.0, 0.0, 0.0]
    B, T = 5, 7
    x = np.random.default_rng(0).normal(size=(B, T, 3)).astype(np.float32)
    y = np.zeros(B, np.int64)
    ev = evaluate(spec, {k: np.asarray(v, np.float32) for k, v in p.items()}, x, y, "last", "accuracy",
                  batch_size=2)    # 3 batches: the per-unit counts add up across batches
    assert [u.tolist() for u in ev["unit_events"]] == [[0, 0, B * T, B * T]]
    assert ev["events"] == 2 * B * T and ev["unit_steps"] == 4 * B * T
    gru = NetSpec(kind="gru", n_in=3, units=[4], n_out=2)
    assert evaluate(gru, init_params(gru, seed=0), x, y, "last", "accuracy")["unit_events"] is None


def test_rate_floor_value_and_per_unit_factors_hand_worked():
    from eventsim.train.regulariser import rate_floor_penalty
    # one layer, 2 samples x 5 steps = 10 entries per unit: unit 0 fires 0 times (rate 0),
    # unit 1 once (0.1), unit 2 every step (1.0). r_min 0.2, λ_f 3, U = 3 units:
    # value = 3/3 · ((0.2 − 0) + (0.2 − 0.1)) = 0.3; factors −λ_f/(B·T·U) = −0.1 below the floor
    O = np.zeros((2, 5, 3))
    O[1, 2, 1] = 1.0
    O[:, :, 2] = 1.0
    value, coefs = rate_floor_penalty([{"O": O}], 3.0, 0.2)
    assert value == pytest.approx(0.3)
    np.testing.assert_allclose(coefs[0], [-0.1, -0.1, 0.0])
    assert rate_floor_penalty([{"O": O}], 0.0, 0.2) == (0.0, [0.0])


@pytest.mark.parametrize("removed", [("update_bias", "floor_reg", "floor_rate"),   # before update_bias
                                     ("floor_reg", "floor_rate")])                 # before the floor
def test_checkpoint_of_an_earlier_version_resumes_and_a_changed_floor_is_refused(tmp_path, removed):
    from eventsim.train.checkpoint import load_checkpoint, save_checkpoint
    from eventsim.train.optim import Adam
    tr, va = toy_task()
    cfg = TrainConfig(epochs=2, batch_size=32, seed=0)

    class Stop(Exception):
        pass

    def interrupt(epoch, history):
        raise Stop

    with pytest.raises(Stop):
        train(SPEC, tr, va, cfg, ckpt_dir=tmp_path, progress=False, on_epoch_end=interrupt)
    # rewrite the checkpoint as an earlier version wrote it: without the later fields
    path = latest_checkpoint(tmp_path)
    ck = load_checkpoint(path)
    st = ck["state"]
    fp = st["fingerprint"]
    fp["config"]["update_bias"] = 0.0        # as written from then until the floor
    for key in removed:
        fp["config"].pop(key, None)
    save_checkpoint(tmp_path, st["epoch"], ck["params"], Adam(m=ck["adam_m"], v=ck["adam_v"], step=st["adam_step"]),
                    ck["masks"], st["rng"], st["history"], fp)
    r = train(SPEC, tr, va, TrainConfig(epochs=2, batch_size=32, seed=0), ckpt_dir=tmp_path, progress=False)
    assert r.resumed_from == 1 and len(r.history) == 2
    with pytest.raises(EventsimError, match="other model or training settings"):
        train(SPEC, tr, va, TrainConfig(epochs=2, batch_size=32, seed=0, floor_reg=0.5), ckpt_dir=tmp_path,
              progress=False)
    with pytest.raises(EventsimError, match="floor_rate = 1.5 must be in \\(0, 1\\)"):
        TrainConfig(floor_reg=1.0, floor_rate=1.5).validate()
