"""Energy and timing of a LIF run (eventsim.hardware.lif_cost, ``eventsim cost`` on a LIF
model): a network small enough to work every count and figure by hand from the profile's
constants."""
import json

import numpy as np
import pytest

from eventsim.cli import main
from eventsim.hardware.lif_cost import lif_estimate, population_counts, simulate_lif_timing
from eventsim.hardware.profiles import load_profile
from eventsim.lif import make_lif, save_lif, simulate_lif


def tiny():
    # input 0 -> units 0 (w 2) and 1 (w 0.5); unit 0 -> unit 1 (w 2, delay 1); IF units, thr 1
    return make_lif(2, 2, ([0, 0], [0, 1], [2.0, 0.5]), ([0], [1], [2.0], [1]), tau=np.inf, thr=1.0,
                    dt=1e-3, leak="euler")


X = np.array([[1.0, 0.0], [0.0, 0.0], [0.5, 0.0]])
# by hand: t0 input spike: 2 ACs, v = (2, 0.5): unit 0 fires.  t1: its event reaches unit 1:
# 1 AC, v1 = 2.5: unit 1 fires.  t2: input value 0.5: 2 MACs, v = (1.0, 0.25): no event.
# events 2, input events 2, ACs 3, MACs 2, event-driven updates 2 + 1 + 2 = 5, clocked 6,
# dense synops T (m + n) n = 3 * 4 * 2 = 24.


def test_counts_by_hand():
    d = simulate_lif(tiny(), X).counts.to_dict()
    assert (d["events"], d["input_events"], d["effective_acs"], d["effective_macs"]) == (2, 2, 3, 2)
    assert d["unit_updates"] == {"clocked": 6, "event_driven": 5} and d["synops"]["dense"] == 24


@pytest.mark.parametrize("name", ["loihi", "gpu-dense"])
def test_energy_by_hand(name):
    p = load_profile(name)
    e, chip = p.energy, p.chip
    read = p.read_pj(p.weight_level)
    est = lif_estimate(simulate_lif(tiny(), X).counts.to_dict(), p)
    if p.kind == "event":
        ops, upd = 5, 5
        compute = 3 * e["ac"] + 2 * e["mac"] + 5 * e["unit_update"]
        packets = 2 + 2
    else:
        ops, upd = 24, 6
        compute = 24 * e["mac"] + 6 * e["unit_update"]
        packets = (2 + 2) * 3
    t = est["total"]
    assert t["compute_pj"] == pytest.approx(compute, rel=1e-12)
    assert t["memory_pj"] == pytest.approx(ops * read, rel=1e-12)
    assert t["communication_pj"] == pytest.approx(packets * e["packet"], rel=1e-12)
    mac_ns = 1e9 / (chip["clock_hz"] * chip["macs_per_cycle"])
    time_s = (ops * mac_ns + upd * chip["unit_update_ns"]) * 1e-9 / chip["cores"]
    assert t["static_pj"] == pytest.approx(chip["static_power_w"] * time_s * 1e12, rel=1e-12)
    assert t["energy_pj"] == pytest.approx(compute + ops * read + packets * e["packet"] + t["static_pj"], rel=1e-12)
    assert est["workload"] == "lif" and t["packets"] == packets
    # rows: the input channels' packets (2 input events, or 2 channels x 3 steps), then the units
    assert [r["population"] for r in est["layers"]] == ["input", "lif"]
    assert est["layers"][0]["packets"] == (2 if p.kind == "event" else 6) and est["layers"][0]["macs"] == 0


def test_counts_per_population_by_hand():
    m = tiny()
    m.meta["nir"] = {"nodes": [["a", "IF", 0, 1], ["b", "IF", 1, 2]]}
    pops = population_counts(m, simulate_lif(m, X), X)
    # unit 0: AC at t0, MAC at t2 (input), updated at t0 and t2, one event;
    # unit 1: ACs at t0 (input) and t1 (unit 0's event), MAC at t2, updated at t0, t1, t2, one event
    assert pops == [{"name": "a", "units": 1, "acs": 1, "macs": 1, "event_driven": 2, "events": 1},
                    {"name": "b", "units": 1, "acs": 2, "macs": 1, "event_driven": 3, "events": 1}]
    p = load_profile("loihi")
    whole = lif_estimate(simulate_lif(m, X).counts.to_dict(), p)
    split = lif_estimate(simulate_lif(m, X).counts.to_dict(), p, populations=pops)
    assert [r["population"] for r in split["layers"]] == ["input", "a", "b"]
    for key in ("compute_pj", "memory_pj", "communication_pj", "energy_pj"):
        assert split["total"][key] == pytest.approx(whole["total"][key], rel=1e-12)


def test_timing_on_one_core_by_hand():
    p = load_profile("loihi")
    c = p.chip
    mac = 1e9 / (c["clock_hz"] * c["macs_per_cycle"])
    pk, upd, bar = c["packet_ns"], c["unit_update_ns"], c["barrier_ns"]
    m = tiny()
    d = simulate_lif_timing(m, simulate_lif(m, X), X, p, n_cores=1)
    # t0: input packet (2 ops), update 2 units, unit 0's packet back to the core (1 op)
    # t1: update unit 1 (woken by the delayed event); t2: input packet (2 ops), update 2 units
    lat = [pk + 2 * mac + 2 * upd + pk + mac + bar, upd + bar, pk + 2 * mac + 2 * upd + bar]
    assert d["total_time_s"] == pytest.approx(sum(lat) * 1e-9, rel=1e-12)
    assert (d["packets"], d["host_packets"], d["synaptic_ops"], d["unit_updates"]) == (3, 2, 5, 5)


def test_cost_command_takes_a_lif_model(tmp_path, capsys):
    save_lif(tiny(), tmp_path / "m.npz")
    np.save(tmp_path / "x.npy", X)
    J = str(tmp_path / "c.json")
    assert main(["cost", "--model", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.npy"),
                 "--hardware", "loihi", "--timing", "--cores", "1", "--json", J]) == 0
    doc = json.load(open(J))
    assert doc["kind"] == "lif" and doc["estimates"][0]["total"]["acs"] == 3
    assert doc["timing"][0]["unit_updates"] == 5
    assert "loihi" in capsys.readouterr().out
    assert main(["cost", "--model", str(tmp_path / "m.npz"), "--input", str(tmp_path / "x.npy"),
                 "--event-op", "ac"]) == 2
    assert "--event-op ac does not apply to a LIF run" in capsys.readouterr().err
