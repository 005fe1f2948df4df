"""Straight-through training of a DeltaGRU (SPEC §5) in the numpy trainer, and the cheap
route (train a GRU, convert, sweep Θ).

- the trainer's forward pass equals ``simulate_deltagru(engine="dense")`` on the same
  weights and Θ (outputs, readout, sent deltas);
- Θ = 0: the straight-through gradient is the GRU's exact gradient (the trainer's GRU kind,
  and torch autograd on ``nn.GRU`` in float64 when torch is installed), to 1e-10;
- Θ > 0: against a few-line torch autograd statement of the straight-through rule, the
  sent delta written ``d = full + (sent − full).detach()`` with ``full`` the full change
  (value of the sent delta, gradient of the full change), to 1e-10;
- the change penalty's gradient against central finite differences (away from kinks);
- GRU weights load into a DeltaGRU and back; training runs; the Θ sweep and its pick.
"""
import numpy as np
import pytest

from eventsim.deltagru import simulate_deltagru
from eventsim.errors import EventsimError
from eventsim.train import NetSpec, TrainConfig, evaluate, load_weights, save_weights, to_deltagru, train
from eventsim.train.delta_sweep import pick_theta, sweep_thetas
from eventsim.train.network import forward, init_params, loss_and_grads, loss_value, readout_logits
from eventsim.train.regulariser import change_penalty


def _params(spec, seed=1):
    p = init_params(spec, seed, dtype=np.float64)
    for k in p:  # nonzero biases: every bias path is exercised
        if "bias" in k:
            p[k] += np.random.default_rng(3).normal(0, 0.3, p[k].shape)
    return p


def _spec(theta_x=0.0, theta_h=0.0, tokens=False, units=(5, 4), kind="deltagru"):
    return NetSpec(kind=kind, n_in=6 if tokens else 3, units=list(units), n_out=3, tokens=tokens,
                   embed_dim=4 if tokens else 0, theta_x=theta_x, theta_h=theta_h)


def _data(tokens=False, B=3, T=7, seed=0, lm=False):
    rng = np.random.default_rng(seed)
    if tokens:
        X = rng.integers(0, 6, (B, T))
        X[:, 3] = X[:, 2]                 # a repeated token sends no input delta
    else:
        X = rng.normal(size=(B, T, 3))
        X[rng.random(X.shape) < 0.3] = 0.0
    y = rng.integers(0, 3, (B, T)) if lm else rng.integers(0, 3, B)
    return X, y


# ------------------------------------------------------------------------ forward pass
@pytest.mark.parametrize("tokens", [False, True])
def test_forward_equals_the_dense_reference(tokens):
    spec = _spec(theta_x=[0.3, 0.05], theta_h=[0.02, 0.1], tokens=tokens)
    p = _params(spec)
    X, _ = _data(tokens, B=4, T=9)
    ps = forward(spec, p, X)
    model = to_deltagru(spec, p, dtype=np.float64)
    res = simulate_deltagru(model, X, engine="dense", record=("y", "deltas", "readout"))
    sent_x = sent_h = 0
    for k, ca in enumerate(ps.caches):
        np.testing.assert_allclose(ca["Y"], res.y[k], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(ca["sent_h"], res.dh[k] != 0)   # the same deltas sent
        np.testing.assert_array_equal(ca["sent_x"], res.dx[k] != 0)
        sent_x += int(ca["sent_x"].sum())
        sent_h += int(ca["sent_h"].sum())
    np.testing.assert_allclose(readout_logits(p, ps.top, "lm"), res.readout, rtol=0, atol=1e-12)
    tot = res.counts.to_dict()["total"]
    assert (tot["events"], tot["input_events"]) == (sent_h, sent_x)
    assert 0 < sent_h < ps.caches[0]["sent_h"].size + ps.caches[1]["sent_h"].size   # Θ matters


def test_forward_float32_equals_the_event_engine():
    spec = _spec(theta_x=0.1, theta_h=0.05)
    p = init_params(spec, 2)                       # float32, as training runs
    X = np.random.default_rng(1).normal(size=(5, 20, 3)).astype(np.float32)
    ps = forward(spec, p, X)
    res = simulate_deltagru(to_deltagru(spec, p), X, engine="event", record=("y",))
    for k, ca in enumerate(ps.caches):
        np.testing.assert_allclose(ca["Y"], res.y[k], rtol=0, atol=2e-5)
    ev = evaluate(spec, p, X, np.zeros(5, np.int64), "last", "accuracy")
    assert ev["events"] == res.counts.to_dict()["total"]["events"]   # (no mask flip at this seed)
    assert ev["activity_sparsity"] == pytest.approx(res.counts.to_dict()["total"]["activity_sparsity"])


# ------------------------------------------------------------- Θ = 0: the GRU's gradient
@pytest.mark.parametrize("loss,tokens", [("last", False), ("all", False), ("trace", False), ("lm", True)])
def test_theta_zero_gradient_is_the_grus(loss, tokens):
    spec, gspec = _spec(tokens=tokens), _spec(tokens=tokens, kind="gru")
    p = _params(spec)
    X, y = _data(tokens, lm=loss == "lm")
    vd, gd, _, _ = loss_and_grads(spec, p, X, y, loss)
    vg, gg, _, _ = loss_and_grads(gspec, p, X, y, loss)
    assert vd == pytest.approx(vg, rel=1e-12)
    assert set(gd) == set(gg) == set(p)
    for k in p:
        np.testing.assert_allclose(gd[k], gg[k], rtol=0, atol=1e-10 * max(1.0, np.abs(gg[k]).max()), err_msg=k)


def _swap(a, n):
    """[z | r | g] ↔ [r | z | n] (PyTorch's gate order) on the last axis."""
    return np.concatenate([a[..., n:2 * n], a[..., :n], a[..., 2 * n:]], axis=-1)


def _to_torch_grus(p, spec, torch):
    """One single-layer nn.GRU (batch_first) per layer (sizes differ) + nn.Linear, holding the
    trainer's parameters (float64)."""
    grus = []
    with torch.no_grad():
        for k, (m, n) in enumerate(zip(spec.layer_inputs, spec.units)):
            gru = torch.nn.GRU(m, n, batch_first=True).double()
            gru.weight_ih_l0.copy_(torch.from_numpy(_swap(p[f"layer{k}.kernel"], n).T.copy()))
            gru.weight_hh_l0.copy_(torch.from_numpy(_swap(p[f"layer{k}.recurrent_kernel"], n).T.copy()))
            gru.bias_ih_l0.copy_(torch.from_numpy(_swap(p[f"layer{k}.bias"], n)))
            gru.bias_hh_l0.copy_(torch.from_numpy(_swap(p[f"layer{k}.recurrent_bias"], n)))
            grus.append(gru)
        lin = torch.nn.Linear(spec.units[-1], spec.n_out).double()
        lin.weight.copy_(torch.from_numpy(p["readout.weight"]))
        lin.bias.copy_(torch.from_numpy(p["readout.bias"]))
    return grus, lin


def test_theta_zero_gradient_equals_torch_nn_gru():
    torch = pytest.importorskip("torch")
    spec = _spec()
    p = _params(spec)
    X, y = _data()
    _, g, _, _ = loss_and_grads(spec, p, X, y, "last")
    grus, lin = _to_torch_grus(p, spec, torch)
    h = torch.from_numpy(X)
    for gru in grus:
        h, _ = gru(h)
    loss = torch.nn.functional.cross_entropy(lin(h[:, -1]), torch.from_numpy(y))
    loss.backward()
    for k, (gru, n) in enumerate(zip(grus, spec.units)):
        for ours, theirs in (("kernel", "weight_ih"), ("recurrent_kernel", "weight_hh"),
                             ("bias", "bias_ih"), ("recurrent_bias", "bias_hh")):
            t = getattr(gru, f"{theirs}_l0").grad.numpy()
            np.testing.assert_allclose(g[f"layer{k}.{ours}"], _swap(t.T if t.ndim == 2 else t, n),
                                       rtol=0, atol=1e-10, err_msg=f"layer{k}.{ours}")
    np.testing.assert_allclose(g["readout.weight"], lin.weight.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(g["readout.bias"], lin.bias.grad.numpy(), rtol=0, atol=1e-10)


# ---------------------------------------------------- Θ > 0: the straight-through rule
def _torch_st_loss(torch, p, spec, X, y, loss, lam):
    """SPEC §5 forward in torch, each sent delta written d = full + (sent − full).detach():
    its value is the delta sent (or 0), its gradient that of the full change since the
    previous step (as if every delta were sent). Returns (loss, leaf tensors)."""
    P = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    h_in = P["embedding.weight"][torch.from_numpy(X)] if spec.tokens else torch.from_numpy(X)
    B, T = X.shape[:2]
    pen = 0.0
    for k, n in enumerate(spec.units):
        tx, th = spec.thetas(k)
        K, R = P[f"layer{k}.kernel"], P[f"layer{k}.recurrent_kernel"]
        mx = P[f"layer{k}.bias"].expand(B, -1)
        mh = P[f"layer{k}.recurrent_bias"].expand(B, -1)
        x_hat = torch.zeros(B, h_in.shape[2], dtype=torch.float64)
        h_hat = torch.zeros(B, n, dtype=torch.float64)
        x_prev = torch.zeros_like(x_hat)
        h = h_prev = torch.zeros(B, n, dtype=torch.float64)
        hs = []
        for t in range(T):
            x = h_in[:, t]
            full = x - x_prev
            dv = (x - x_hat).detach()
            sent = torch.where(dv.abs() > tx, dv, torch.zeros_like(dv))
            x_hat = torch.where(dv.abs() > tx, x.detach(), x_hat)
            mx = mx + (full + (sent - full).detach()) @ K
            full = h - h_prev
            dv = (h - h_hat).detach()
            sent = torch.where(dv.abs() > th, dv, torch.zeros_like(dv))
            h_hat = torch.where(dv.abs() > th, h.detach(), h_hat)
            mh = mh + (full + (sent - full).detach()) @ R
            z = torch.sigmoid(mx[:, :n] + mh[:, :n])
            r = torch.sigmoid(mx[:, n:2 * n] + mh[:, n:2 * n])
            g = torch.tanh(mx[:, 2 * n:] + r * mh[:, 2 * n:])
            x_prev, h_prev = x, h
            h = z * h + (1 - z) * g
            pen = pen + lam * (h - h_prev).abs().sum() / B
            hs.append(h)
        h_in = torch.stack(hs, 1)
    W, b = P["readout.weight"], P["readout.bias"]
    if loss == "lm":
        logits = h_in @ W.T + b
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
    else:
        ce = torch.nn.functional.cross_entropy(h_in[:, -1] @ W.T + b, torch.from_numpy(y))
    return ce + pen, P


@pytest.mark.parametrize("tokens,loss,lam", [(False, "last", 0.0), (False, "last", 0.03), (True, "lm", 0.01)])
def test_straight_through_gradient_equals_torch_autograd(tokens, loss, lam):
    torch = pytest.importorskip("torch")
    spec = _spec(theta_x=[0.4, 0.1], theta_h=[0.05, 0.15], tokens=tokens)
    p = _params(spec)
    X, y = _data(tokens, B=3, T=8, lm=loss == "lm")
    v, g, ps, st = loss_and_grads(spec, p, X, y, loss, delta_penalty=lam)
    sent = sum(int(c["sent_h"].sum()) + int(c["sent_x"].sum()) for c in ps.caches)
    total = sum(c["sent_h"].size + c["sent_x"].size for c in ps.caches)
    assert 0.2 * total < sent < 0.95 * total   # Θ leaves out a good share of the deltas
    tl, P = _torch_st_loss(torch, p, spec, X, y, loss, lam)
    tl.backward()
    assert v == pytest.approx(float(tl.detach()), rel=1e-12, abs=1e-12)
    for k in p:
        np.testing.assert_allclose(g[k], P[k].grad.numpy(), rtol=0, atol=1e-10, err_msg=k)
    # the straight-through gradient is not the GRU's at these Θ
    _, gg, _, _ = loss_and_grads(_spec(tokens=tokens, kind="gru"), p, X, y, loss)
    assert np.abs(g["layer0.kernel"] - gg["layer0.kernel"]).max() > 1e-4


# ------------------------------------------------------------------- the change penalty
def test_change_penalty_value_and_subgradient_hand_worked():
    H = np.array([[[1.0], [1.0], [-2.0]]])        # B = 1, T = 3, n = 1; h_0 = 0
    value, (grad,) = change_penalty([{"Y": H}], 0.5)
    assert value == pytest.approx(0.5 * (1 + 0 + 3))
    # dP/dh_t = sign(h_t − h_{t−1}) − sign(h_{t+1} − h_t), sign(0) = 0
    np.testing.assert_array_equal(grad[0, :, 0], 0.5 * np.array([1 - 0, 0 - (-1), -1]))
    assert change_penalty([{"Y": H}], 0.0) == (0.0, [None])


@pytest.mark.parametrize("tokens,loss", [(False, "all"), (True, "lm")])
def test_change_penalty_gradient_against_finite_differences(tokens, loss):
    spec = _spec(tokens=tokens)        # Θ = 0: the straight-through gradient is the true one
    p = _params(spec)
    X, y = _data(tokens, lm=loss == "lm")
    for c in forward(spec, p, X).caches:   # away from the kinks of |·|
        assert np.abs(np.diff(c["Y"], axis=1, prepend=0)).min() > 1e-5   # ≫ the 1e-6 steps
    lam = 0.05
    _, g, _, _ = loss_and_grads(spec, p, X, y, loss, delta_penalty=lam)
    _, g0, _, _ = loss_and_grads(spec, p, X, y, loss)
    eps = 1e-6
    pick = np.random.default_rng(5)
    for k, v in p.items():
        flat = list(np.ndindex(v.shape))
        for j in pick.permutation(len(flat))[:6]:
            i = flat[j]
            old = v[i]
            v[i] = old + eps
            a = loss_value(spec, p, X, y, loss, delta_penalty=lam)
            v[i] = old - eps
            b = loss_value(spec, p, X, y, loss, delta_penalty=lam)
            v[i] = old
            num = (a - b) / (2 * eps)
            assert g[k][i] == pytest.approx(num, abs=2e-7 + 1e-5 * abs(num)), (k, i)
        assert np.abs(g[k] - g0[k]).max() > 0 or k.startswith("readout"), k   # the penalty reaches it


def test_change_penalty_acts_before_dropout_and_only_for_deltagru():
    spec = _spec(theta_h=0.05)
    p = init_params(spec, 0, dtype=np.float64)
    X, y = _data()
    v0 = loss_and_grads(spec, p, X, y, "last")[0]
    v1, _, ps, st = loss_and_grads(spec, p, X, y, "last", delta_penalty=0.1)
    pen = sum(np.abs(np.diff(c["Y"], axis=1, prepend=0)).sum() for c in ps.caches) / X.shape[0]
    assert v1 == pytest.approx(v0 + 0.1 * pen, rel=1e-12)
    assert st["unit_steps"] == X.shape[0] * X.shape[1] * sum(spec.units)
    assert 0 < st["events"] < st["unit_steps"]


# -------------------------------------------------------------- parameters and training
def test_gru_weights_load_into_a_deltagru_and_back(tmp_path):
    gspec, dspec = _spec(kind="gru"), _spec(theta_x=0.2, theta_h=0.1)
    gp, dp = init_params(gspec, 4), init_params(dspec, 4)
    assert set(gp) == set(dp)
    for k in gp:
        np.testing.assert_array_equal(gp[k], dp[k])
    save_weights(dspec, dp, tmp_path / "d.npz")
    spec2, p2, meta = load_weights(tmp_path / "d.npz")
    assert meta["kind"] == "deltagru" and spec2 == dspec and (spec2.theta_x, spec2.theta_h) == (0.2, 0.1)
    assert "theta_x" not in gspec.to_dict()     # the other kinds' spec dicts are unchanged
    X, _ = _data(B=2, T=5)
    X = X.astype(np.float32)
    m = to_deltagru(dspec, p2)
    assert float(m.layers[1].theta_h[0]) == pytest.approx(0.1)
    np.testing.assert_allclose(simulate_deltagru(m, X, record="y").y[-1], forward(dspec, p2, X).top, atol=2e-5)
    m0 = to_deltagru(gspec, gp)                  # a GRU: Θ = 0, the GRU itself
    np.testing.assert_allclose(simulate_deltagru(m0, X, record="y").y[-1], forward(gspec, gp, X).top, atol=2e-5)
    with pytest.raises(EventsimError, match="only a GRU or DeltaGRU"):
        to_deltagru(_spec(kind="lstm"), init_params(_spec(kind="lstm"), 0))


@pytest.mark.parametrize("kw,match", [(dict(kind="gru", theta_h=0.1), "DeltaGRU setting"),
                                      (dict(theta_x=-0.1), "theta_x"), (dict(theta_h=[0.1]), "theta_h"),
                                      (dict(theta_x="a"), "theta_x")])
def test_spec_errors(kw, match):
    args = dict(kind="deltagru", n_in=3, units=[4, 4], n_out=2)
    args.update(kw)
    with pytest.raises(EventsimError, match=match):
        NetSpec(**args)
    with pytest.raises(EventsimError, match="delta_penalty"):
        TrainConfig(delta_penalty=-1.0).validate()


class Split:
    def __init__(self, x, y):
        self.x, self.y = x, y


def toy_task(n=160, T=8, m=3, seed=0):
    """Class = sign pattern of the sums of the first two inputs (tests/test_train_loop.py)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, T, m)).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0.0
    y = (x[:, :, 0].sum(1) > 0).astype(np.int64) + 2 * (x[:, :, 1].sum(1) > 0).astype(np.int64)
    return Split(x[:112], y[:112]), Split(x[112:], y[112:])


def test_deltagru_trains_resumes_and_the_penalty_cuts_deltas(tmp_path):
    tr, va = toy_task()
    spec = NetSpec(kind="deltagru", n_in=3, units=[12], n_out=4, theta_x=0.05, theta_h=0.05)
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.02, seed=1)
    r = train(spec, tr, va, cfg, ckpt_dir=tmp_path / "a", progress=False)
    h = r.history
    assert h[-1]["train_loss"] < 0.9 * h[0]["train_loss"]
    assert all(0.0 <= e["activity_sparsity"] <= 1.0 and e["backward"] is None for e in h)
    again = train(spec, tr, va, cfg, ckpt_dir=tmp_path / "a", progress=False)   # resumed: nothing to do
    assert again.resumed_from == 4
    pen = train(spec, tr, va, TrainConfig(epochs=4, batch_size=16, lr=0.02, seed=1, delta_penalty=0.05),
                progress=False)
    e0 = evaluate(spec, r.params, va.x, va.y, "last", "accuracy")
    e1 = evaluate(spec, pen.params, va.x, va.y, "last", "accuracy")
    assert e1["events"] < e0["events"]
    assert e0["unit_events"][0].sum() == e0["events"]


# ------------------------------------------------------------------------ the cheap route
def test_theta_sweep_of_a_trained_gru(tmp_path):
    tr, va = toy_task()
    gspec = NetSpec(kind="gru", n_in=3, units=[12], n_out=4)
    r = train(gspec, tr, va, TrainConfig(epochs=4, batch_size=16, lr=0.02, seed=1), progress=False)
    base = evaluate(gspec, r.params, va.x, va.y, "last", "accuracy")
    res = sweep_thetas(r.params, va.x, va.y, thetas=[0.02, 0.1, 0.5, 2.0])
    assert [(e["theta_x"], e["theta_h"]) for e in res] == [(0, 0), (0.02, 0.02), (0.1, 0.1), (0.5, 0.5), (2, 2)]
    assert res[0]["metric"] == pytest.approx(base["metric"])          # Θ = 0 is the GRU
    macs = [e["effective_macs"] for e in res]
    assert macs == sorted(macs, reverse=True) and macs[-1] < macs[0]
    assert res[-1]["events"] == 0                                      # |Δ| never above 2 (tanh-bounded h)
    # the dense reference agrees with the event engine
    dense = sweep_thetas(r.params, va.x, va.y, thetas=[0.1], engine="dense")
    assert [e["effective_macs"] for e in dense] == macs[:1] + macs[2:3]
    assert dense[1]["metric"] == pytest.approx(res[2]["metric"])
    # the pick: the largest Θ within the tolerance of Θ = 0
    pick = pick_theta(res, tolerance=0.01)
    within = [e for e in res if e["metric"] >= res[0]["metric"] - 0.01]
    assert pick is max(within, key=lambda e: e["theta_x"])
    assert pick_theta(res, tolerance=1.0)["theta_x"] == 2.0
    assert pick_theta(res, tolerance=1.0, by="macs") is res[-1]
    # a weights file, separate lists (a grid)
    save_weights(gspec, r.params, tmp_path / "g.npz")
    grid = sweep_thetas(tmp_path / "g.npz", va.x, va.y, theta_x=[0.0, 0.1], theta_h=[0.05, 0.1])
    assert [(e["theta_x"], e["theta_h"]) for e in grid] == [(0, 0), (0, 0.05), (0, 0.1), (0.1, 0.05), (0.1, 0.1)]
    fake = [{"theta_x": 0.0, "theta_h": 0.0, "metric": 0.5, "effective_macs": 9},
            {"theta_x": 0.1, "theta_h": 0.1, "metric": 0.49, "effective_macs": 5},
            {"theta_x": 0.2, "theta_h": 0.2, "metric": 0.48, "effective_macs": 3}]
    assert pick_theta(fake, tolerance=0.01) is fake[1]          # exactly 1 point down: within
    assert pick_theta(fake, tolerance=0.0) is fake[0]
    with pytest.raises(EventsimError, match="either thetas"):
        sweep_thetas(r.params, va.x, va.y, thetas=[0.1], theta_x=[0.1])
    with pytest.raises(EventsimError, match=">= 0"):
        sweep_thetas(r.params, va.x, va.y, thetas=[-0.1])


def test_theta_sweep_language_model_lower_is_better():
    rng = np.random.default_rng(0)
    tok = rng.integers(0, 6, (40, 10))
    tr, va = Split(tok[:32], np.roll(tok[:32], -1, 1)), Split(tok[32:], np.roll(tok[32:], -1, 1))
    gspec = NetSpec(kind="gru", n_in=6, units=[8], n_out=6, tokens=True, embed_dim=4)
    r = train(gspec, tr, va, TrainConfig(epochs=2, batch_size=8, lr=0.02, loss="lm", metric="bpc"),
              progress=False)
    res = sweep_thetas(r.params, va.x, va.y, thetas=[0.05, 5.0], loss="lm", metric="bpc")
    assert res[0]["metric"] == pytest.approx(evaluate(gspec, r.params, va.x, va.y, "lm", "bpc")["metric"])
    pick = pick_theta(res, tolerance=0.0, metric="bpc")
    assert pick["metric"] <= res[0]["metric"]
    assert pick_theta(res, tolerance=100.0, metric="bpc")["theta_x"] == 5.0


# ------------------------------------------------------------------------ studies
def test_scenario_deltagru_model_studied_and_reloaded(tmp_path):
    from eventsim.deltagru import load_any_model
    from eventsim.study import run_study
    sets = ["models.gru.kind=deltagru", "models.gru.theta_x=0.05", "models.gru.theta_h=0.1",
            "models.gru.delta_penalty=0.001", "measure.raster_samples=1"]
    s = run_study("tiny", out_dir=tmp_path / "a", overrides=sets, progress=False)
    e = s["models"]["gru"]
    assert e["kind"] == "deltagru" and e["engine_check"]["ok"]
    assert e["effective_macs_per_step"] < e["dense_macs_per_step"]
    m = load_any_model(tmp_path / "a" / "gru" / "model.npz")          # an engine model file
    assert type(m).__name__ == "DeltaGRUModel" and float(m.layers[0].theta_h[0]) == pytest.approx(0.1)
    # the model file (and a GRU's weights) load back as a scenario checkpoint, at the scenario's Θ
    from eventsim.deltagru.model import deltagru_arrays
    params = {k: v for k, v in deltagru_arrays(m).items() if not k.endswith(("theta_x", "theta_h"))}
    gspec = NetSpec(kind="gru", n_in=m.n_in, units=m.sizes, n_out=m.n_out)
    save_weights(gspec, params, tmp_path / "gru.npz")                  # a GRU's weights file
    for ck in (tmp_path / "a" / "gru" / "model.npz", tmp_path / "gru.npz"):
        s2 = run_study("tiny", out_dir=tmp_path / "b",
                       overrides=sets + [f'models.gru.checkpoint="{ck}"'], progress=False)
        assert s2["models"]["gru"]["metric"] == e["metric"]
        assert s2["models"]["gru"]["effective_macs_per_step"] == e["effective_macs_per_step"]


def test_scenario_deltagru_keys_refused_elsewhere():
    from eventsim.scenario import load_scenario
    with pytest.raises(EventsimError, match="applies only to DeltaGRU"):
        load_scenario("tiny", ["models.gru.theta_h=0.1"])
    with pytest.raises(EventsimError, match="theta_x"):
        load_scenario("tiny", ["models.gru.kind=deltagru", "models.gru.theta_x=-1.0"])
    sc = load_scenario("tiny", ["models.gru.kind=deltagru"])
    assert "theta_x" not in sc.to_dict()["models"][1]       # unset keys stay out of scenario.toml
