"""Many-core mapping and the discrete-event timing simulation: hand-worked cases.

The test chip: 1 ns per MAC, 10 ns per unit update, packets 2 ns + 1 ns per hop,
barriers 5 ns, cores in one row of the mesh (hops = |core a - core b|), host at core 0.
"""
import numpy as np
import pytest

import eventsim
from eventsim.errors import EventsimError
from eventsim.hardware.mapping import Placement, balanced, check_memory, contiguous
from eventsim.hardware.profiles import profile_from_dict
from eventsim.hardware.timing import ChipState, simulate_timing
from eventsim.egru.model import EGRULayer, Model


def chip(cores=1, sram_kib=64.0, spill_ns=0.0, static_w=0.5, kind="event"):
    return profile_from_dict({
        "name": "test", "kind": kind,
        "energy": {"mac": 1.0, "ac": 0.5, "elementwise": 2.0, "nonlinearity": 4.0, "unit_update": 8.0,
                   "packet": 16.0, "hop": 32.0},
        "memory": {"weight_bits": 32, "small_sram": 1.0, "large_sram": 10.0, "dram": 100.0,
                   "weight_level": "small_sram", "spill_level": "dram", "spill_ns_per_weight": spill_ns},
        "chip": {"cores": cores, "sram_per_core_kib": sram_kib, "static_power_w": static_w, "clock_hz": 1e9,
                 "macs_per_cycle": 1, "unit_update_ns": 10.0, "cores_per_tile": 1, "mesh_columns": cores,
                 "packet_ns": 2.0, "hop_ns": 1.0, "barrier_ns": 5.0}})


def layer(kernel, n):
    kernel = np.asarray(kernel, np.float32)
    z = np.zeros(3 * n, np.float32)
    return EGRULayer(kernel=kernel, recurrent_kernel=np.zeros((n, 3 * n), np.float32), bias=z,
                     recurrent_bias=z.copy(), thr=np.full(n, 0.5, np.float32))


def diag_kernel(m):
    """Input i drives only unit i (its z, r and g columns)."""
    k = np.zeros((m, 3 * m), np.float32)
    for i in range(m):
        k[i, [i, m + i, 2 * m + i]] = 1.0
    return k


def test_one_event_to_one_core():
    model = Model(layers=[layer([[1.0, 1.0, 1.0]], 1)])
    x = np.ones((1, 1, 1), np.float32)
    ys = [np.zeros((1, 1, 1), np.float32)]
    r = simulate_timing(model, x, ys, chip(), check=True)
    r._check()
    # packet 2 ns, 3 MACs 3 ns, one unit update 10 ns, final barrier 5 ns
    assert r.step_latency_s[0, 0] == pytest.approx(20e-9)
    assert r.core_busy_s[0] == pytest.approx(13e-9)
    assert r.host_packets == 1 and r.packets_received.tolist() == [1] and r.hops == 0
    assert r.core_macs.tolist() == [3] and r.core_updates.tolist() == [1]
    e = r.energy
    assert e["compute_pj"] == pytest.approx(3 * 1.0 + 1 * (8.0 + 3 * 2.0 + 3 * 4.0))
    assert e["memory_pj"] == pytest.approx(3 * 1.0)
    assert e["communication_pj"] == pytest.approx(16.0)
    assert e["static_pj"] == pytest.approx(0.5 * 20e-9 * 1e12)
    assert r.throughput_steps_per_s == pytest.approx(1 / 20e-9)


def test_two_events_on_one_core_serialise():
    """Two layer-0 units on cores 0 and 1 both send to layer 1's unit on core 2 at 19 ns."""
    model = Model(layers=[layer(diag_kernel(2), 2), layer(np.ones((2, 3)), 1)])
    place = Placement(["layer0", "layer1"], [np.array([0, 1]), np.array([2])], 3, "manual")
    x = np.ones((1, 1, 2), np.float32)
    ys = [np.full((1, 1, 2), 0.7, np.float32), np.zeros((1, 1, 1), np.float32)]
    r = simulate_timing(model, x, ys, chip(cores=3), place, check=True)
    r._check()
    # core 0: host packet at 2, served 2-5, update 5-15, packet to core 2 (2 hops) at 15+2+2 = 19
    # core 1: host packet at 3 (1 hop), 3-6, update 6-16, packet to core 2 (1 hop) at 16+2+1 = 19
    # core 2: 19-22 and then 22-25 (serialised), update 25-35; step ends 35 + 5 barrier
    assert r.step_latency_s[0, 0] == pytest.approx(40e-9)
    assert r.core_busy_s.tolist() == pytest.approx([13e-9, 13e-9, 16e-9])
    assert r.packets_sent.tolist() == [1, 1, 0]
    assert r.packets_received.tolist() == [1, 1, 2]
    assert r.hops == 1 + 2 + 1  # host->core1, core0->core2, core1->core2
    assert r.energy["communication_pj"] == pytest.approx(4 * 16.0 + 4 * 32.0)


def test_balanced_beats_contiguous_on_skewed_activity():
    """Inputs 0 and 1 are active: contiguous puts both their units on core 0."""
    model = Model(layers=[layer(diag_kernel(4), 4)])
    x = np.array([[[1.0, 1.0, 0.0, 0.0]]], np.float32)
    ys = [np.zeros((1, 1, 4), np.float32)]
    prof = chip(cores=2)
    c = simulate_timing(model, x, ys, prof, "contiguous", check=True)
    b = simulate_timing(model, x, ys, prof, "balanced", check=True)
    c._check()
    b._check()
    # contiguous: core 0 gets 6 MACs at 2 (2-8), updates units 0 and 1 (8-28), + 5
    assert c.step_latency_s[0, 0] == pytest.approx(33e-9)
    assert c.core_busy_s.tolist() == pytest.approx([26e-9, 0.0])
    assert c.load_imbalance == pytest.approx(2.0)
    # balanced: unit 0 on core 0 (2-5, update 5-15), unit 1 on core 1 (3-6, 6-16), + 5
    assert b.step_latency_s[0, 0] == pytest.approx(21e-9)
    assert b.core_busy_s.tolist() == pytest.approx([13e-9, 13e-9])
    assert b.load_imbalance == pytest.approx(1.0)


def test_layer_too_large_for_one_core():
    """20 units x (90 fp32 weights + 60 B state) = 420 B each; SRAM 1 KiB per core."""
    model = eventsim.random_model(10, [20], seed=1)
    prof = chip(cores=10, sram_kib=1.0)
    four = contiguous(model, prof, n_cores=4)  # 5 units per core: 2100 B
    with pytest.raises(EventsimError, match=r"core 0 needs 2\.1 KiB for layer0 \(5 units\) but profile "
                                            r"'test' has 1 KiB of SRAM per core \(4 core\(s\) overflow\)"):
        check_memory(four, model, prof)
    rep = check_memory(four, model, prof, spill=True)
    assert rep.spill_fraction.tolist() == pytest.approx([(2100 - 1024) / 1800] * 4)
    ten = contiguous(model, prof)  # 2 units per core: 840 B
    assert check_memory(ten, model, prof).spill_fraction.tolist() == [0.0] * 10
    x = np.ones((1, 2, 10), np.float32)
    res = eventsim.simulate(model, x, record=("y",))
    with pytest.raises(EventsimError, match="use more cores"):
        simulate_timing(model, x, res.y, prof, "contiguous", n_cores=4)
    with pytest.raises(EventsimError, match=r"--cores 11 is out of range: profile 'test' has 10 cores"):
        contiguous(model, prof, n_cores=11)


def test_spill_slows_and_costs():
    """One unit, 3 weights of 4 B + 60 B state in 64 B SRAM: 8 of 12 weight bytes spill."""
    model = Model(layers=[layer([[1.0, 1.0, 1.0]], 1)])
    x = np.ones((1, 1, 1), np.float32)
    ys = [np.zeros((1, 1, 1), np.float32)]
    prof = chip(sram_kib=64 / 1024, spill_ns=3.0)
    with pytest.raises(EventsimError, match="--spill"):
        simulate_timing(model, x, ys, prof)
    r = simulate_timing(model, x, ys, prof, spill=True)
    f = 8 / 12
    # each MAC: 1 ns + f x 3 ns; 3 MACs
    assert r.step_latency_s[0, 0] == pytest.approx((2 + 3 * (1 + 3 * f) + 10 + 5) * 1e-9)
    assert r.energy["memory_pj"] == pytest.approx(3 * ((1 - f) * 1.0 + f * 100.0))
    assert r.memory["spill_fraction_max"] == pytest.approx(f)


@pytest.mark.parametrize("strategy", ["contiguous", "balanced"])
def test_replay_matches_engine_counts(strategy):
    """The replay performs exactly the engine's effective MACs and event-driven updates."""
    model = eventsim.random_model(6, [24, 16], n_out=4, seed=3, weight_density=0.6)
    x = np.random.default_rng(1).normal(size=(2, 12, 6)).astype(np.float32)
    x[np.abs(x) < 0.5] = 0.0
    res = eventsim.simulate(model, x, record=("y",))
    c = res.counts.to_dict()
    r = simulate_timing(model, x, res.y, chip(cores=6), strategy, check=True, fast=False)
    r._check()
    assert int(r.core_macs.sum()) == c["total"]["macs"]["effective"]
    assert int(r.core_updates.sum()) == c["total"]["unit_updates"]["event_driven"]
    assert r.events == c["total"]["events"]
    assert r.step_latency_s.shape == (2, 12)
    dense = simulate_timing(model, x, None, chip(cores=6, kind="dense"), strategy, fast=False)
    assert int(dense.core_macs.sum()) == c["total"]["macs"]["dense"]
    assert int(dense.core_updates.sum()) == c["total"]["unit_updates"]["clocked"]


def test_placements_cover_every_unit():
    model = eventsim.random_model(6, [24, 16], n_out=4, seed=3)
    prof = chip(cores=5)
    for p in (contiguous(model, prof), balanced(model, prof)):
        p._check()
        assert [c.size for c in p.core_of] == [24, 16, 4]
        assert p.units_per_core().sum() == 44
    assert contiguous(model, prof).units_per_core().tolist() == [9, 9, 9, 9, 8]


def test_chip_state_invariants():
    st = ChipState(2, 1)
    st.push(5.0, 0, 0, 0)
    st.push(3.0, 0, 1, 0)
    st._check()
    st.now = 4.0  # an entry at 3.0 now lies in the past
    with pytest.raises(AssertionError, match="past"):
        st._check()
    assert st.serve(0, 1.0, 2.0) == 3.0 and st.serve(0, 2.0, 1.0) == 4.0  # FIFO: waits until 3.0


def test_timing_errors():
    model = eventsim.random_model(3, [4], seed=0)
    x = np.ones((1, 2, 3), np.float32)
    with pytest.raises(EventsimError, match="needs the events of every layer"):
        simulate_timing(model, x, None, chip())
    with pytest.raises(EventsimError, match=r"events of layer 0 have shape \(1, 3, 4\)"):
        simulate_timing(model, x, [np.zeros((1, 3, 4))], chip())
    with pytest.raises(EventsimError, match="placement 'random' is unknown"):
        simulate_timing(model, x, [np.zeros((1, 2, 4))], chip(), "random")
    place = Placement(["layer0"], [np.array([0, 1, 2, 3])], 4, "manual")
    with pytest.raises(EventsimError, match="the placement uses 4 cores but profile 'test' has 1"):
        simulate_timing(model, x, [np.zeros((1, 2, 4))], chip(), place)
    delayed = model.with_delays(rec_delays=(1,))
    with pytest.raises(EventsimError, match="zero delays only"):
        simulate_timing(delayed, x, [np.zeros((1, 2, 4))], chip())


def _same(a, b):
    """The kernel's result b equals the Python loop's a in every field, bit for bit."""
    assert np.array_equal(a.step_latency_s, b.step_latency_s)
    assert np.array_equal(a.core_busy_s, b.core_busy_s)
    assert a.to_dict()["per_core"] == b.to_dict()["per_core"]
    assert (a.hops, a.host_packets, a.events, a.input_events) == (b.hops, b.host_packets, b.events, b.input_events)
    assert a.energy == b.energy
    assert a.queue_entries == b.queue_entries > 0
    assert a.heap_entries == a.queue_entries  # the loop handles every entry of its queue
    assert 0 < b.heap_entries


def test_numba_kernel_equals_python_reference():
    """The Numba kernel replays exactly like the Python loop (bit-identical times)."""
    from eventsim.hardware import load_profile
    model = eventsim.random_model(6, [24, 16], n_out=4, seed=3, weight_density=0.6)
    x = np.random.default_rng(1).normal(size=(2, 12, 6)).astype(np.float32)
    x[np.abs(x) < 0.5] = 0.0
    res = eventsim.simulate(model, x, record=("y",))
    for prof, strategy in ((load_profile("loihi"), "balanced"), (chip(cores=5), "contiguous"),
                           (chip(cores=3, kind="dense"), "balanced")):
        a = simulate_timing(model, x, res.y, prof, strategy, n_cores=min(7, prof.chip["cores"]), fast=False)
        b = simulate_timing(model, x, res.y, prof, strategy, n_cores=min(7, prof.chip["cores"]), fast=True)
        b._check()
        _same(a, b)


def test_one_send_reaches_eight_cores_in_five_groups():
    """Layer 0's unit on core 3 of a row of 8 cores sends to layer 1's 8 units, one per core:
    8 batches at hops 3 2 1 0 1 2 3 4, i.e. 5 arrival times. The kernel's heap handles one
    entry per arrival time; every result equals the Python loop's and the hand-worked one."""
    model = Model(layers=[layer([[1.0, 1.0, 1.0]], 1), layer(np.ones((1, 24)), 8)])
    place = Placement(["layer0", "layer1"], [np.array([3]), np.arange(8)], 8, "manual")
    x = np.ones((1, 1, 1), np.float32)
    ys = [np.full((1, 1, 1), 0.7, np.float32), np.zeros((1, 1, 8), np.float32)]
    a = simulate_timing(model, x, ys, chip(cores=8), place, fast=False, check=True)
    b = simulate_timing(model, x, ys, chip(cores=8), place)
    _same(a, b)
    # host packet to core 3 at 2 + 3 = 5, served 5-8, update 8-18; packets leave at 20 and
    # reach core 3 at 20, cores 2, 4 at 21, 1, 5 at 22, 0, 6 at 23 and 7 at 24 (3 ns each);
    # layer 1's barrier passes at 18 + 5 = 23 (after the batches arriving at 23: created
    # earlier); updates 23-33 (core 3) ... 27-37 (core 7); the step ends 37 + 5
    assert b.step_latency_s[0, 0] == pytest.approx(42e-9)
    assert b.core_busy_s.tolist() == pytest.approx([13e-9] * 3 + [26e-9] + [13e-9] * 4)
    assert b.hops == 3 + (3 + 2 + 1 + 0 + 1 + 2 + 3 + 4)
    # reference queue: host batch, barrier 0, ready, 8 batches, barrier 1, 8 readies
    assert a.queue_entries == b.queue_entries == 20
    # kernel heap: the host's inject and its one group, barrier 0, ready, 5 groups, barrier 1, 8 readies
    assert b.heap_entries == 18


@pytest.mark.parametrize("hop_ns", [1e-300, 0.0])
def test_equal_arrival_times_are_served_by_core(hop_ns):
    """Layer 0's unit on core 2 of a row of 4 sends to layer 1's units on cores 0, 1 and 3 (hops
    2, 1, 1); hops take no time (0) or round away (1e-300): the three batches arrive at once and
    are served in core order 0, 1, 3 (their creation order), not in hop order 1, 3, 0. Their
    cores get ready at one time, in that order, and their sends reach core 2 at one time too, so
    core 2 serves 7, 2 and 5 MACs (of 1/2.9 ns) in that order: another order changes the last
    bits of its busy time and of the step's latency (a kernel serving by hops fails here)."""
    k2 = np.zeros((3, 9), np.float32)
    k2[0, :7] = 1.0
    k2[1, :2] = 1.0
    k2[2, :5] = 1.0
    model = Model(layers=[layer([[1.0, 1.0, 1.0]], 1), layer(np.ones((1, 9)), 3), layer(k2, 3)])
    place = Placement(["layer0", "layer1", "layer2"], [np.array([2]), np.array([0, 1, 3]), np.array([2, 2, 2])], 4,
                      "manual")
    x = np.ones((1, 1, 1), np.float32)
    ys = [np.ones((1, 1, 1), np.float32), np.ones((1, 1, 3), np.float32), np.zeros((1, 1, 3), np.float32)]
    d = _chip_dict(4)
    prof = profile_from_dict({**d, "chip": {**d["chip"], "clock_hz": 2.9e9, "packet_ns": 10.0, "hop_ns": hop_ns,
                                            "unit_update_ns": 14.1}})
    a = simulate_timing(model, x, ys, prof, place, fast=False, check=True)
    b = simulate_timing(model, x, ys, prof, place)
    _same(a, b)
    # reference queue: host batch, barrier 0, ready, 3 batches, barrier 1, 3 readies, 3 batches,
    # barrier 2, ready; kernel heap: the inject and its group, barrier 0, ready, 1 group,
    # barrier 1, 3 readies, 3 groups (one batch each), barrier 2, ready
    assert (a.queue_entries, b.heap_entries) == (15, 14)


def _mesh_chip(cores, kind="event", cores_per_tile=2, mesh_columns=2, hop_ns=1.0, packet_ns=2.0, **chip_kw):
    """The test chip on a 2-D mesh: several destinations share each hop distance."""
    d = _chip_dict(cores)
    return profile_from_dict({**d, "kind": kind, "chip": {**d["chip"], "cores_per_tile": cores_per_tile,
                                                          "mesh_columns": mesh_columns, "hop_ns": hop_ns,
                                                          "packet_ns": packet_ns, **chip_kw}})


_GROUPING_CASES = {
    # integer times: ties of equal arrival times everywhere
    "mesh-ties": dict(cores=12),
    "mesh-ties-dense": dict(cores=12, kind="dense"),
    # no packet latency: a send's same-tile batches arrive when the update ends
    "no-packet-ns": dict(cores=12, packet_ns=0.0),
    # hops take no time: all batches of a send arrive together, in core order
    "no-hop-ns": dict(cores=12, hop_ns=0.0),
    # hops far below the times' resolution: several hop distances round to one arrival time
    "hop-below-ulp": dict(cores=12, hop_ns=1e-14),
    # real-valued times
    "float-times": dict(cores=16, cores_per_tile=4, mesh_columns=2, hop_ns=0.37, packet_ns=1.3,
                        unit_update_ns=8.4, barrier_ns=11.3),
}


@pytest.mark.parametrize("case", sorted(_GROUPING_CASES))
@pytest.mark.parametrize("strategy", ["balanced", "contiguous"])
def test_grouped_batches_equal_python_reference(case, strategy):
    """The kernel serves a send's batches of one arrival time from one heap entry; on balanced
    placements (every core sends to every core) and meshes where many cores share a hop
    distance, with equal-time ties, on event and dense chips, it equals the Python loop."""
    model = eventsim.random_model(5, [20, 14, 9], n_out=3, seed=7, weight_density=0.7, thr_mean=0.2)
    x = np.random.default_rng(2).normal(size=(2, 9, 5)).astype(np.float32)
    x[np.abs(x) < 0.4] = 0.0
    res = eventsim.simulate(model, x, record=("y",))
    prof = _mesh_chip(**_GROUPING_CASES[case])
    a = simulate_timing(model, x, res.y, prof, strategy, fast=False)
    b = simulate_timing(model, x, res.y, prof, strategy)
    b._check()
    _same(a, b)
    if strategy == "balanced":  # sends to many cores, several of them at each arrival time
        assert b.heap_entries < a.queue_entries


@pytest.mark.parametrize("profile", ["loihi", "spinnaker2", "horowitz45nm", "gpu-dense"])
def test_grouped_batches_of_a_deltagru(profile):
    """A DeltaGRU's senders (input deltas, state deltas, a dense readout) on a balanced
    placement over 12 cores: the kernel equals the Python loop."""
    from eventsim.deltagru import random_deltagru, simulate_deltagru
    from eventsim.hardware import load_profile
    model = random_deltagru(4, [12, 8], n_out=3, theta_x=0.2, theta_h=0.05, seed=2)
    x = np.random.default_rng(0).normal(size=(2, 10, 4)).astype(np.float32)
    res = simulate_deltagru(model, x, record=("deltas",))
    p = load_profile(profile)
    a = simulate_timing(model, x, (res.dx, res.dh), p, "balanced", n_cores=12, fast=False)
    b = simulate_timing(model, x, (res.dx, res.dh), p, "balanced", n_cores=12)
    _same(a, b)


@pytest.mark.parametrize("seed", range(8))
def test_seeded_stress(seed):
    """Random shapes, sparsity, placements, meshes and hop/packet times (zero included), event
    and dense chips: invariants hold after every queue entry, the replay does the engine's
    counts, and the kernel equals the Python loop. Rerun one failing case with its seed."""
    rng = np.random.default_rng(seed)
    sizes = [int(v) for v in rng.integers(3, 20, size=rng.integers(1, 4))]
    n_out = int(rng.integers(1, 5)) if seed % 2 else None
    model = eventsim.random_model(int(rng.integers(2, 8)), sizes, n_out=n_out,
                                  seed=seed, weight_density=float(rng.uniform(0.3, 1.0)),
                                  thr_mean=float(rng.uniform(0.05, 0.5)))
    x = rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(2, 9)), model.n_in)).astype(np.float32)
    x[rng.random(x.shape) < 0.5] = 0.0
    res = eventsim.simulate(model, x, record=("y",))
    c = res.counts.to_dict()
    cores = int(rng.integers(1, 13))
    prof = _mesh_chip(cores, kind="dense" if seed % 4 == 3 else "event",
                      cores_per_tile=int(rng.integers(1, 4)), mesh_columns=int(rng.integers(1, 4)),
                      hop_ns=float(rng.choice([0.0, 1.0, 0.7])), packet_ns=float(rng.choice([0.0, 2.0, 1.9])))
    strategy = ("contiguous", "balanced")[seed % 2]
    a = simulate_timing(model, x, res.y, prof, strategy, check=True, fast=False)
    b = simulate_timing(model, x, res.y, prof, strategy)
    a._check()
    if prof.kind == "event":
        assert int(a.core_macs.sum()) == c["total"]["macs"]["effective"]
        assert int(a.core_updates.sum()) == c["total"]["unit_updates"]["event_driven"]
    else:
        assert int(a.core_macs.sum()) == c["total"]["macs"]["dense"]
        assert int(a.core_updates.sum()) == c["total"]["unit_updates"]["clocked"]
    _same(a, b)


def _chip_dict(cores):
    p = chip(cores=cores)
    return {"name": "stress", "kind": "event", "energy": dict(p.energy),
            "memory": {**p.memory, "weight_level": p.weight_level, "spill_level": p.spill_level},
            "chip": dict(p.chip)}
