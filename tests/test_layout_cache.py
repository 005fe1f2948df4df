"""simulate(model, ...) reuses the model's event-engine layout across calls and never a stale one.

Every test edits a parameter between two calls and checks the second call against the dense
reference of the edited model (outputs close, events identical, counts equal).
"""
import gc
import importlib

import numpy as np
import pytest

import eventsim
from eventsim import simulate
from eventsim.errors import EventsimError

from test_engine import REC, assert_same, sparse_input

sim_mod = importlib.import_module("eventsim.egru.simulate")  # the module, not the function


def layout_of(model):
    entry = sim_mod._LAYOUTS.get(id(model))
    return None if entry is None or entry[0]() is not model else entry[1]


def make(density=1.0, n_out=3, reset="threshold", vocab=None, seed=1):
    return eventsim.random_model(5, [12, 9], n_out=n_out, seed=seed, dtype="float64", thr_mean=0.1,
                                 weight_density=density, reset=reset, vocab=vocab)


def check(model, x):
    assert_same(simulate(model, x, record=REC), simulate(model, x, engine="dense", record=REC))


def test_repeated_calls_reuse_the_layout():
    m = make()
    x = sparse_input(np.random.default_rng(0), (2, 20, 5), 0.5)
    first = simulate(m, x, record=REC)
    cm = layout_of(m)
    assert cm is not None
    second = simulate(m, x, record=REC)
    assert layout_of(m) is cm  # the same layout object: not laid out again
    assert_same(second, first)


EDITS = {
    "kernel": lambda m: m.layers[0].kernel.__imul__(1.5),
    "kernel_one_weight": lambda m: m.layers[1].kernel.__setitem__((3, 7), 0.9),
    "kernel_zero_a_weight": lambda m: m.layers[0].kernel.__setitem__((0, slice(None)), 0.0),
    "recurrent_kernel": lambda m: m.layers[0].recurrent_kernel.__imul__(-1.5),
    "bias": lambda m: m.layers[0].bias.__setitem__(slice(0, 12), 0.7),
    "bias_g": lambda m: m.layers[1].bias.__setitem__(slice(18, 27), 0.4),
    "recurrent_bias": lambda m: m.layers[1].recurrent_bias.__setitem__(slice(None), 0.3),
    "thr": lambda m: m.layers[0].thr.__setitem__(slice(None), 0.02),
    "thr_one_unit": lambda m: m.layers[1].thr.__setitem__(4, 0.0),
    "readout_weight": lambda m: m.readout_weight.__setitem__((1, 2), 3.0),
    "readout_bias": lambda m: m.readout_bias.__setitem__(0, -2.0),
    "replaced_kernel": lambda m: setattr(m.layers[0], "kernel", m.layers[0].kernel * 0.5),
    "ff_delays": lambda m: setattr(m, "ff_delays", (1, 2)),
    "rec_delays": lambda m: setattr(m, "rec_delays", (0, 3)),
    "reset": lambda m: setattr(m, "reset", "output"),
}


@pytest.mark.parametrize("density", [1.0, 0.4])
@pytest.mark.parametrize("edit", sorted(EDITS))
def test_in_place_edits_are_noticed(edit, density):
    m = make(density)
    x = sparse_input(np.random.default_rng(2), (2, 25, 5), 0.6)
    before = simulate(m, x, record=REC)
    check(m, x)
    EDITS[edit](m)
    after = simulate(m, x, record=REC)
    assert_same(after, simulate(m, x, engine="dense", record=REC))
    d0, d1 = before.counts.to_dict(), after.counts.to_dict()
    changed = d0 != d1 or any(not np.array_equal(a, b) for a, b in zip(before.c, after.c)) \
        or not np.array_equal(before.readout, after.readout)
    assert changed, f"editing {edit} should change this run"
    again = layout_of(m)
    assert simulate(m, x).counts.to_dict() == d1 and layout_of(m) is again  # reused after the rebuild


def test_edits_on_a_sparse_matrix_that_becomes_dense_and_back():
    m = make(0.5)
    x = sparse_input(np.random.default_rng(3), (2, 20, 5), 0.6)
    check(m, x)
    k = m.layers[0].kernel
    k[k == 0] = 0.05  # every weight nonzero: the projection is now laid out dense
    check(m, x)
    k[:, ::2] = 0.0  # sparse again
    check(m, x)


def test_threshold_edit_in_an_embedding_model():
    m = make(vocab=7)
    tok = np.random.default_rng(4).integers(0, 7, size=(2, 30))
    check(m, tok)
    m.embedding[3] *= -2.0  # the embedding is read from the model itself at every call
    check(m, tok)
    m.layers[1].thr[:] = 0.05
    check(m, tok)


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("edit", ["scale_row", "zero_entry", "nonzero_entry", "replace", "swap_rows"])
def test_embedding_input_rows_are_kept_and_never_stale(edit, sparse):
    """The embedding's input rows are reused while it is unchanged (dense: compared as one
    array; sparse: row by row against the kept CSR) and rebuilt after any edit."""
    m = make(vocab=7)
    if sparse:
        m.embedding[2, 1] = 0.0
    tok = np.random.default_rng(5).integers(0, 7, size=(2, 30))
    tok[0, :3] = [2, 3, 4]
    check(m, tok)
    rows = layout_of(m)._embedding_rows
    check(m, tok)
    assert layout_of(m)._embedding_rows is rows  # unchanged embedding: the rows are reused
    if edit == "scale_row":
        m.embedding[3] *= -2.0
    elif edit == "zero_entry":
        m.embedding[4, 0] = 0.0
    elif edit == "nonzero_entry":
        m.embedding[2, 1] = 1e-300 if sparse else -m.embedding[2, 1]
    elif edit == "replace":
        m.embedding = m.embedding + 0.5
    else:
        m.embedding[[3, 4]] = m.embedding[[4, 3]]
    check(m, tok)
    assert layout_of(m)._embedding_rows is not rows


def test_invalid_edit_is_still_caught():
    m = make()
    x = np.ones((1, 5, 5))
    simulate(m, x)
    m.layers[0].thr[0] = -1.0
    with pytest.raises(EventsimError, match="negative"):
        simulate(m, x)
    m.layers[0].thr[0] = 0.1
    m.layers[0].kernel[0, 0] = np.nan
    with pytest.raises(EventsimError, match="NaN"):
        simulate(m, x)


def test_layout_is_dropped_with_the_model():
    m = make()
    simulate(m, np.ones((1, 3, 5)))
    key = id(m)
    assert key in sim_mod._LAYOUTS
    del m
    gc.collect()
    assert key not in sim_mod._LAYOUTS


def test_private_copy_is_read_only_and_shares_the_layout():
    m = eventsim.random_model(4, [16], n_out=2, seed=0, dtype="float32")
    cm = eventsim.compile_model(m)
    assert not cm.model.layers[0].kernel.flags.writeable
    with pytest.raises(ValueError):
        cm.model.layers[0].thr[0] = 1.0
    # a dense matrix is stored once: the private kernel is a view of the layout's weights
    assert np.shares_memory(cm.model.layers[0].recurrent_kernel, cm.proj.vals)
    assert cm.proj.cols.size == 0 and cm.proj.uidx.size == 0  # no column indices, no unit lists
    assert cm.matches(m)
    m.readout_weight[1, 3] += 1.0
    assert not cm.matches(m)


def test_quiet_units_equal_full_update():
    """Units nothing reaches take the biases' gates (no transcendental): same results, with
    nonzero biases so that the quiet state moves."""
    m = eventsim.random_model(6, [20, 15], n_out=3, seed=5, dtype="float64", weight_density=0.15,
                              thr_mean=0.2)
    rng = np.random.default_rng(5)
    for l in m.layers:
        l.bias[:] = rng.normal(size=l.bias.shape)
        l.recurrent_bias[:] = rng.normal(size=l.bias.shape)
    x = sparse_input(rng, (3, 40, 6), 0.1)
    a = simulate(m, x, record=REC)
    b = simulate(m, x, engine="dense", record=REC)
    assert_same(a, b)
    upd = a.counts.to_dict()["total"]["unit_updates"]
    assert 0 < upd["event_driven"] < upd["clocked"]  # the case has quiet units
