"""The EGRU's BPTT gradients against torch autograd (float64, 1e-10).

An independent torch statement of the forward pass of SPEC §1 (per step, both reset
modes, graded events, the readouts of every loss, the activity regulariser and the rate
floor of docs/training.md), whose only hand-written part is the event function: a
``torch.autograd.Function`` that is the Heaviside forward (H(0) = 0) and the
pseudo-derivative ``γ·max(0, 1 − s_w·|c − ϑ|)`` backward, applied to ``c − ϑ`` so
that ``∂o/∂ϑ = −∂o/∂c`` comes from autograd. Everything else (the reset's and the graded
event's paths through c and ϑ, the gates, the time recursion, the penalties) is autograd.
Unlike ``test_train_gradcheck.py`` (finite differences through a smooth stand-in) this
checks the gradient of the real event function, with which training runs.
Skipped without torch (the optional ``torch`` extra).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from eventsim.train.network import NetSpec, forward, init_params, loss_and_grads  # noqa: E402

TRACE_DECAY = 0.9   # α of the "trace" readout (docs/training.md; EvNN's value)


class Event(torch.autograd.Function):
    """o = H(x) forward (x = c − ϑ; H(0) = 0), γ·max(0, 1 − s_w·|x|) backward."""

    @staticmethod
    def forward(ctx, x, gamma, support):
        ctx.save_for_backward(x)
        ctx.gamma, ctx.support = gamma, support
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * ctx.gamma * torch.clamp(1.0 - ctx.support * x.abs(), min=0.0), None, None


def egru_layer(x, K, R, b, rb, thr, reset, gamma, support, offset):
    """SPEC §1 step by step; returns (Y, O, C, fire) each (B, T, n) (fire: the threshold
    c was compared with)."""
    B, T, _ = x.shape
    n = R.shape[0]
    s = x.new_zeros(B, n)
    y = x.new_zeros(B, n)
    ys, os_, cs = [], [], []
    fire = thr + offset
    for t in range(T):
        vx = x[:, t] @ K + b
        vh = y @ R + rb
        z = torch.sigmoid(vx[:, :n] + vh[:, :n])
        r = torch.sigmoid(vx[:, n:2 * n] + vh[:, n:2 * n])
        g = torch.tanh(vx[:, 2 * n:] + r * vh[:, 2 * n:])
        c = z * s + (1 - z) * g
        if reset == "output":
            c = c - y
        o = Event.apply(c - fire, gamma, support)
        y = o * c
        s = c - o * thr if reset == "threshold" else c
        ys.append(y); os_.append(o); cs.append(c)
    return torch.stack(ys, 1), torch.stack(os_, 1), torch.stack(cs, 1), fire


def torch_loss(p, X, target, loss, reset, gamma, support, units, act, floor, floor_rate, offsets,
               unjittered=False):
    """The training loss (task + λ·event rate + rate floor) of the stack in torch.

    ``unjittered``: the floor's rates count c > ϑ (no jitter) while its gradient flows
    through the jittered events, as documented: written as the jittered rate plus the
    (constant) difference to the unjittered one."""
    h = p["embedding.weight"][X] if "embedding.weight" in p else X
    Os, margins, plain = [], [], []
    for k in range(len(units)):
        h, O, C, fire = egru_layer(h, p[f"layer{k}.kernel"], p[f"layer{k}.recurrent_kernel"],
                                   p[f"layer{k}.bias"], p[f"layer{k}.recurrent_bias"], p[f"layer{k}.thr"],
                                   reset, gamma, support, offsets[k])
        Os.append(O)
        margins.append((C - fire.unsqueeze(1)).detach())
        plain.append((C > p[f"layer{k}.thr"]).double().mean((0, 1)).detach())
        if unjittered:
            margins.append((C - p[f"layer{k}.thr"]).detach())
    W, bo = p["readout.weight"], p["readout.bias"]
    if loss == "lm":
        logits = h @ W.T + bo
        task = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))
    else:
        if loss == "last":
            read = h[:, -1]
        elif loss == "all":
            read = h.mean(1)
        else:   # "trace": tr_t = α·tr_{t−1} + (1 − α)·y_t, tr_0 = 0, read at the last step
            tr = torch.zeros_like(h[:, 0])
            for t in range(h.shape[1]):
                tr = TRACE_DECAY * tr + (1 - TRACE_DECAY) * h[:, t]
            read = tr
        task = torch.nn.functional.cross_entropy(read @ W.T + bo, target)
    entries = sum(O.numel() for O in Os)
    rate_pen = act * sum(O.sum() for O in Os) / entries
    rates = torch.cat([O.mean((0, 1)) for O in Os])
    if unjittered:
        rates = rates - rates.detach() + torch.cat(plain)
    floor_pen = floor * torch.relu(floor_rate - rates).sum() / rates.numel()
    return task + rate_pen + floor_pen, Os, margins


def case(reset, loss="trace", units=(6, 5), act=0.3, floor=2.0, jitter=0.0, tokens=False,
         dampening=0.3, support=2.0, seed=2, torch_support=None, unjittered=False):
    """eventsim's loss and gradients and the torch reference's on one seeded problem
    (the reference with ``torch_support`` as s_w when given: a deliberately wrong one)."""
    spec = NetSpec(kind="egru", n_in=7 if tokens else 3, units=list(units), n_out=4, tokens=tokens,
                   embed_dim=3 if tokens else 0, reset=reset, dampening=dampening, support=support)
    p = init_params(spec, seed, thr_mean=0.3, dtype=np.float64)
    rng = np.random.default_rng(seed)
    for k in p:   # nonzero biases: every bias path carries a gradient
        if "bias" in k:
            p[k] += rng.normal(0, 0.5, p[k].shape)
    B, T = 5, 9
    X = rng.integers(0, 7, (B, T)) if tokens else 1.5 * rng.normal(size=(B, T, 3))
    y = rng.integers(0, 4, (B, T)) if loss == "lm" else rng.integers(0, 4, B)
    # r_min halfway across the widest gap between units' firing rates: some units below
    # the floor, some above, none at its kink
    rates = np.sort(np.concatenate([c["O"].mean(axis=(0, 1)) for c in forward(spec, p, X).caches]))
    j = int(np.argmax(np.diff(rates)))
    assert rates[j + 1] - rates[j] > 0.02
    floor_rate = 0.5 * (rates[j] + rates[j + 1])
    value, g, ps, _ = loss_and_grads(spec, p, X, y, loss, activity_reg=act, floor_reg=floor,
                                     floor_rate=floor_rate, rng=np.random.default_rng(11), thr_jitter=jitter,
                                     floor_unjittered=unjittered)
    # the jitter offsets as documented: one (B, n) standard normal draw per layer, in layer order
    draw = np.random.default_rng(11)
    offsets = [jitter * draw.standard_normal((B, n)) if jitter else np.zeros((B, n)) for n in units]
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p.items()}
    tv, Os, margins = torch_loss(tp, torch.tensor(X), torch.tensor(y), loss, reset, dampening,
                                 support if torch_support is None else torch_support, units, act, floor,
                                 floor_rate, [torch.tensor(o) for o in offsets], unjittered)
    tv.backward()
    return ps, value, g, tv, {k: v.grad.numpy() for k, v in tp.items()}, Os, margins


def assert_same(reset, **kw):
    ps, value, g, tv, ref, Os, margins = case(reset, **kw)
    # the forward passes agree: the same events, and no state within rounding of a threshold
    for k, O in enumerate(Os):
        np.testing.assert_array_equal(ps.caches[k]["O"], O.detach().numpy())
        assert 0.1 < O.mean().item() < 0.9, "a layer too quiet or too busy to exercise the event paths"
    assert min(m.abs().min().item() for m in margins) > 1e-8
    assert value == pytest.approx(tv.item(), rel=1e-12, abs=0)
    assert set(g) == set(ref)
    for k, r in ref.items():
        assert np.abs(r).max() > 1e-6, f"{k}: no gradient reaches it, so the check would be empty"
        np.testing.assert_allclose(g[k], r, rtol=0, atol=1e-10 * np.abs(r).max(), err_msg=k)


@pytest.mark.parametrize("reset", ["threshold", "output"])
@pytest.mark.parametrize("loss", ["last", "all", "trace"])
def test_two_layers_every_parameter_with_regulariser_and_floor(reset, loss):
    assert_same(reset, loss=loss)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_without_penalties(reset):
    assert_same(reset, act=0.0, floor=0.0)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_language_model_with_embedding(reset):
    assert_same(reset, loss="lm", units=(6,), tokens=True)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_threshold_jitter(reset):
    assert_same(reset, jitter=0.2)


@pytest.mark.parametrize("reset", ["threshold", "output"])
def test_rate_floor_on_unjittered_events(reset):
    assert_same(reset, jitter=0.3, unjittered=True, seed=4)


def test_unjittered_floor_differs_from_the_jittered_one():
    """On the problem above the two floors differ in value and in which units they
    push (else that test could not tell them apart)."""
    a = case("threshold", jitter=0.3, unjittered=True, seed=4)
    b = case("threshold", jitter=0.3, unjittered=False, seed=4)
    assert abs(a[1] - b[1]) > 1e-6
    assert max(np.abs(a[2][k] - b[2][k]).max() for k in a[2]) > 1e-6


def test_default_pseudo_derivative():
    """γ 0.7, s_w 1 (SPEC §1's defaults)."""
    assert_same("threshold", dampening=0.7, support=1.0)


def test_a_wrong_pseudo_derivative_is_caught():
    """The comparison can fail: a reference with s_w 1 instead of 2 differs from the trainer's
    gradient in the thresholds and the kernels (same forward pass, same events)."""
    ps, value, g, tv, ref, _, _ = case("threshold", torch_support=1.0)
    assert value == pytest.approx(tv.item(), rel=1e-12)
    for k in ("layer0.thr", "layer1.thr", "layer0.kernel"):
        assert np.abs(g[k] - ref[k]).max() > 1e-4 * np.abs(ref[k]).max(), k
