"""Energy of a DeltaGRU run on the hardware profiles (issue 20, docs/hardware.md).

The hand-worked case below takes every figure from the profile files' constants and the
formulas of docs/hardware.md, worked out in the comments, independently of the code.
"""
import json

import numpy as np
import pytest

import eventsim
from eventsim.deltagru import DeltaGRULayer, DeltaGRUModel, random_deltagru, simulate_deltagru
from eventsim.errors import EventsimError
from eventsim.hardware import estimate_energy, load_profile
from eventsim.hardware.profiles import (available_profiles, optional_figures, profile_from_dict,
                                        PROFILE_DIR)
from eventsim.hardware.results import cost_results, estimates
from eventsim.hardware.timing import simulate_timing

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def tiny():
    """One layer, m = n = 1, a readout of 1 output, T = 3, B = 1.

    kernel = recurrent_kernel = [[0, 0, 1]] (only the candidate g column nonzero), all biases 0,
    theta_x = 0.5, theta_h = 0; inputs x = 1.0, 1.2, 0.0.
    Input deltas: t1 |1 - 0| = 1 > 0.5 sent (x̂ = 1); t2 |1.2 - 1| = 0.2 not sent; t3 |0 - 1| = 1
    sent: input_events = 2. State deltas: t1 carries h_0 = 0 = ĥ: not sent; t2 carries
    h_1 = 0.5·tanh(1) ≠ 0: sent; t3 carries h_2 ≠ h_1: sent: events = 2.
    """
    layer = DeltaGRULayer(np.array([[0.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 1.0]]), np.zeros(3), np.zeros(3),
                          np.array([0.5]), np.array([0.0]))
    model = DeltaGRUModel([layer], readout_weight=np.array([[1.0]]), readout_bias=np.zeros(1))
    x = np.array([[[1.0], [1.2], [0.0]]])
    return model, x


@pytest.fixture(scope="module")
def tiny_counts():
    model, x = tiny()
    return simulate_deltagru(model, x).counts.to_dict()


def test_tiny_counts_by_hand(tiny_counts):
    c = tiny_counts
    layer = c["layers"][0]
    assert c["kind"] == "deltagru"
    assert (layer["input_events"], layer["events"]) == (2, 2)
    # effective: 2 input deltas x nnz(kernel[0]) = 1, 2 state deltas x nnz(recurrent_kernel[0]) = 1
    assert layer["macs"]["effective"] == 4
    assert layer["macs"]["dense"] == (1 + 1) * 3 * 1 * 3            # (m + n)·3n·T = 18
    assert layer["unit_updates"] == {"clocked": 3, "event_driven": 3}
    assert layer["elementwise"]["event_driven"] == layer["nonlinearities"]["event_driven"] == 9
    assert layer["delta_checks"] == (1 + 1) * 3                       # (m + n)·T = 6
    assert c["readout"]["macs"]["effective"] == c["readout"]["macs"]["dense"] == 3


def test_hand_worked_energy_horowitz45nm(tiny_counts):
    """horowitz45nm (event): mac 4.6, elementwise 3.7, nonlinearity 36.8, unit_update 5.4,
    packet 20, delta_check 1.8 pJ; weights read from large_sram 50 pJ, state values from
    small_sram 5 pJ; static power 0.

    layer0 (S = 3 sample-steps, m = n = 1):
      compute = 4 MACs·4.6 + 9·3.7 + 9·36.8 + 3 updates·5.4 + 6 checks·1.8
              = 18.4 + 33.3 + 331.2 + 16.2 + 10.8 = 409.9
      state reads  = (m + n + 6n)·S = 8·3 = 24 (x̂, ĥ for the checks; Mx, Mh for the gates)
      state writes = input_events + events + 6n·S = 2 + 2 + 18 = 22
      memory = 4·50 + (24 + 22)·5 = 200 + 230 = 430
      values sent = 2 state deltas (to itself) + 3 h_t to the readout (it reads h_t densely) = 5
      communication = 5 packets·20 = 100 (no hops without a mapping)
    readout: 3 MACs: compute 3·4.6 = 13.8, memory 3·50 = 150
    total = 409.9 + 430 + 100 + 13.8 + 150 = 1103.7 pJ; per step 1103.7 / 3 = 367.9 pJ
    """
    est = estimate_energy(tiny_counts, load_profile("horowitz45nm"), "deltagru")
    assert est["executed_as"] == "event" and est["event_op"] == "mac"
    row = est["layers"][0]
    assert (row["delta_checks"], row["state_reads"], row["state_writes"]) == (6, 24, 22)
    assert (row["values_sent"], row["packets"]) == (5, 5)
    assert row["compute_pj"] == pytest.approx(409.9)
    assert row["memory_pj"] == pytest.approx(430.0)
    assert row["communication_pj"] == pytest.approx(100.0)
    assert est["readout"]["compute_pj"] == pytest.approx(13.8)
    assert est["readout"]["memory_pj"] == pytest.approx(150.0)
    assert est["total"]["static_pj"] == 0.0
    assert est["total"]["energy_pj"] == pytest.approx(1103.7)
    assert est["total"]["energy_per_step_pj"] == pytest.approx(367.9)


def test_hand_worked_energy_loihi(tiny_counts):
    """loihi (event): mac 23.6, elementwise = nonlinearity = 0 (folded into unit_update 81),
    packet 1.7, delta_check 0.2 pJ; small_sram 0 (weights and state: the synaptic op and the
    neuron update include their memory); static 0.03 W, 128 cores, 285.7e6 ops/s, update 8.4 ns.

    layer0: compute = 4·23.6 + 3·81 + 6·0.2 = 94.4 + 243 + 1.2 = 338.6; memory 0;
            communication = 5·1.7 = 8.5
    readout: compute = 3·23.6 = 70.8
    dynamic = 338.6 + 8.5 + 70.8 = 417.9
    ideal time = (7 MACs / 285.7e6 s⁻¹ + 3·8.4e-9 s) / 128 cores
               = (24.5012e-9 + 25.2e-9) / 128 = 3.88291e-10 s; static = 0.03 W · that = 11.6487 pJ
    """
    est = estimate_energy(tiny_counts, load_profile("loihi"), "deltagru")
    assert est["layers"][0]["compute_pj"] == pytest.approx(338.6)
    assert est["layers"][0]["memory_pj"] == 0.0
    assert est["layers"][0]["communication_pj"] == pytest.approx(8.5)
    assert est["total"]["dynamic_pj"] == pytest.approx(417.9)
    assert est["total"]["static_pj"] == pytest.approx(0.03 * (7 / 285.7e6 + 3 * 8.4e-9) / 128 * 1e12)
    assert est["total"]["static_pj"] == pytest.approx(11.6487, rel=1e-4)


def test_hand_worked_energy_gpu_dense(tiny_counts):
    """gpu-dense (clocked): every synapse and unit every step, plus the delta encoding.
    mac 34.9, elementwise 17.4, nonlinearity 70, unit_update 17.4, packet 32, delta_check 34.9;
    weights from large_sram 32, state from small_sram 5; 60 W static, 108 SMs, 1.41 GHz x 64.

    layer0: dense MACs 18, 3 updates, 9 products, 9 nonlinearities, 6 checks:
      compute = 18·34.9 + 9·17.4 + 9·70 + 3·17.4 + 6·34.9 = 628.2 + 156.6 + 630 + 52.2 + 209.4 = 1676.4
      memory = 18·32 + (24 + 22)·5 = 576 + 230 = 806
      every unit sends every step to itself and the readout: 3·2 = 6 packets·32 = 192
    readout: 3 MACs: 104.7 + 96
    dynamic = 1676.4 + 806 + 192 + 104.7 + 96 = 2875.1
    ideal time = (21 / (1.41e9·64) + 3·0.7e-9) / 108 = (0.23271 + 2.1) ns / 108 = 2.15992e-11 s
    static = 60 W · 2.15992e-11 s = 1.29595e-9 J = 1295.95 pJ
    """
    est = estimate_energy(tiny_counts, load_profile("gpu-dense"), "deltagru")
    assert est["executed_as"] == "clocked"
    row = est["layers"][0]
    assert (row["macs"], row["packets"]) == (18, 6)
    assert row["compute_pj"] == pytest.approx(1676.4)
    assert row["memory_pj"] == pytest.approx(806.0)
    assert row["communication_pj"] == pytest.approx(192.0)
    assert est["total"]["dynamic_pj"] == pytest.approx(2875.1)
    assert est["total"]["static_pj"] == pytest.approx(1295.95, rel=1e-5)


def test_same_schema_as_egru_plus_delta_fields():
    model = random_deltagru(4, [6, 5], n_out=3, theta_x=0.1, theta_h=0.05, seed=2)
    x = np.random.default_rng(1).normal(size=(2, 7, 4)).astype(np.float32)
    dc = simulate_deltagru(model, x).counts.to_dict()
    egru = eventsim.random_model(4, [6, 5], n_out=3, seed=2)
    ec = eventsim.simulate(egru, x).counts.to_dict()
    extra = {"delta_checks", "state_reads", "state_writes"}
    for name in available_profiles():
        p = load_profile(name)
        d, e = estimate_energy(dc, p, "deltagru"), estimate_energy(ec, p, "egru")
        assert set(d) == set(e)
        assert set(d["layers"][0]) == set(e["layers"][0]) | extra
        assert set(d["total"]) == set(e["total"]) | extra
        if p.kind == "event":  # layer 0 passes up the deltas layer 1 sent on its inputs
            l0, l1 = dc["layers"]
            assert d["layers"][0]["values_sent"] == l0["events"] + l1["input_events"]
            assert d["layers"][1]["values_sent"] == l1["events"] + 5 * 2 * 7
            assert d["total"]["macs"] == dc["total"]["macs"]["effective"]
    ws = [e["workload"] for e in estimates(dc, [load_profile("loihi")], "deltagru")]
    assert ws == ["deltagru", "gru", "lstm"]


def test_profiles_cite_delta_check():
    for name in available_profiles():
        p = load_profile(name)
        for key in optional_figures():
            sec, k = key.split(".")
            assert k in getattr(p, sec), (name, key)
            assert p.sources.get(key), (name, key)


def test_profile_without_delta_check(tiny_counts):
    with open(PROFILE_DIR / "horowitz45nm.toml", "rb") as f:
        data = tomllib.load(f)
    del data["energy"]["delta_check"]
    p = profile_from_dict(data, "mine.toml")
    egru = eventsim.random_model(1, [1], n_out=1)
    estimate_energy(eventsim.simulate(egru, np.ones((3, 1))).counts.to_dict(), p, "egru")  # fine
    with pytest.raises(EventsimError, match="energy.delta_check"):
        estimate_energy(tiny_counts, p, "deltagru")
    with pytest.raises(EventsimError, match="needs the counts of a DeltaGRU"):
        estimate_energy({k: v for k, v in tiny_counts.items() if k != "kind"}, load_profile("loihi"),
                        "deltagru")


def test_results_folder_prices_deltagru_as_deltagru(tmp_path, tiny_counts):
    """_kind_of reads counts["kind"]: a DeltaGRU is never priced as an EGRU, whatever the summary says."""
    root = tmp_path / "res"
    (root / "dg").mkdir(parents=True)
    (root / "dg" / "counts.json").write_text(json.dumps(tiny_counts))
    (root / "summary.json").write_text(json.dumps({"models": {"dg": {"kind": "egru"}}}))
    out = cost_results(root, ["horowitz45nm"], timing=True)
    doc = out["models"]["dg"]
    assert doc["kind"] == "deltagru"
    assert [e["workload"] for e in doc["estimates"]] == ["deltagru", "gru", "lstm"]
    assert doc["estimates"][0]["total"]["energy_pj"] == pytest.approx(1103.7)
    assert "timing" not in doc and any("no raster.npz" in n for n in out["notes"])


def test_results_folder_summary_deltagru_without_counts_kind(tmp_path, tiny_counts):
    """Counts that lost their kind but belong to a DeltaGRU are refused, never priced as an EGRU."""
    root = tmp_path / "res"
    (root / "dg").mkdir(parents=True)
    (root / "dg" / "counts.json").write_text(json.dumps({k: v for k, v in tiny_counts.items() if k != "kind"}))
    (root / "summary.json").write_text(json.dumps({"models": {"dg": {"kind": "deltagru"}}}))
    with pytest.raises(EventsimError, match="needs the counts of a DeltaGRU run"):
        cost_results(root, ["loihi"])
    assert not (root / "cost.json").exists()


@pytest.mark.parametrize("profile", ["loihi", "horowitz45nm", "gpu-dense"])
@pytest.mark.parametrize("placement", ["contiguous", "balanced"])
def test_timing_replay_of_a_deltagru(profile, placement):
    """The replay of a DeltaGRU run does exactly its MACs (effective on event hardware, dense
    when clocked) and unit updates (every unit every step); its compute and memory energy equal
    the counts-only estimate's (same delta encoding); the Numba kernel equals the Python loop."""
    model = random_deltagru(4, [12, 8], n_out=3, theta_x=0.2, theta_h=0.05, seed=2)
    x = np.random.default_rng(0).normal(size=(2, 15, 4)).astype(np.float32)
    res = simulate_deltagru(model, x, record=("deltas",))
    c = res.counts.to_dict()
    p = load_profile(profile)
    fast = simulate_timing(model, x, (res.dx, res.dh), p, placement, n_cores=4)
    slow = simulate_timing(model, x, (res.dx, res.dh), p, placement, n_cores=4, fast=False, check=True)
    fast._check()
    assert fast.to_dict()["per_core"] == slow.to_dict()["per_core"]
    assert np.array_equal(fast.step_latency_s, slow.step_latency_s)
    d = fast.to_dict()
    est = estimate_energy(c, p, "deltagru")["total"]
    assert d["macs"] == est["macs"] == c["total"]["macs"]["effective" if p.kind == "event" else "dense"]
    assert d["unit_updates"] == c["total"]["unit_updates"]["clocked"]
    if p.kind == "event":
        assert d["events"] == c["total"]["events"]
        assert d["input_events"] == c["layers"][0]["input_events"]
    assert d["energy"]["compute_pj"] == pytest.approx(est["compute_pj"], rel=1e-12)
    assert d["energy"]["memory_pj"] == pytest.approx(est["memory_pj"], rel=1e-12)


def test_timing_of_a_deltagru_needs_its_deltas():
    model = random_deltagru(3, [4], seed=1)
    x = np.ones((1, 5, 3), np.float32)
    for bad in (None, [np.ones((1, 5, 4))]):
        with pytest.raises(EventsimError, match="needs its sent deltas"):
            simulate_timing(model, x, bad, load_profile("loihi"))
