"""Hardware profiles and the energy estimate from counts (eventsim.hardware)."""
import copy
import tomllib

import numpy as np
import pytest

import eventsim
from eventsim.errors import EventsimError
from eventsim.hardware import WORKLOADS, available_profiles, estimate_energy, load_profile
from eventsim.hardware.profiles import PROFILE_DIR, profile_from_dict, required_figures

SHIPPED = ("horowitz45nm", "horowitz45nm-int8", "loihi", "spinnaker2", "gpu-dense")


def _raw(name):
    with open(PROFILE_DIR / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def run():
    model = eventsim.random_model(5, [40, 30], n_out=3, seed=0)
    x = np.random.default_rng(0).normal(size=(2, 50, 5)).astype(np.float32)
    res = eventsim.simulate(model, x)
    x2 = np.concatenate([x, x])  # the same workload twice
    res2 = eventsim.simulate(model, x2)
    return model, res.counts.to_dict(), res2.counts.to_dict()


# -- profiles -----------------------------------------------------------------

def test_shipped_profiles_load_and_cite_every_figure():
    assert set(SHIPPED) <= set(available_profiles())
    for name in SHIPPED:
        p = load_profile(name)
        assert p.name == name
        missing = [k for k in required_figures() if k not in p.sources]
        assert not missing, (name, missing)


def test_published_figures():
    """The cited figures equal the papers' (Horowitz ISSCC 2014; Davies et al. 2018)."""
    h = load_profile("horowitz45nm")
    assert h.energy["mac"] == pytest.approx(3.7 + 0.9)      # fp32 mult + add
    assert h.energy["ac"] == pytest.approx(0.9)
    assert h.memory["small_sram"] == pytest.approx(10 / 2)  # 8 KB, 10 pJ per 64-bit, fp32
    assert h.memory["large_sram"] == pytest.approx(100 / 2)  # 1 MB, 100 pJ per 64-bit
    assert 1300 / 2 <= h.memory["dram"] <= 2600 / 2
    i8 = load_profile("horowitz45nm-int8")
    assert i8.energy["mac"] == pytest.approx(0.2 + 0.03)
    lo = load_profile("loihi")
    assert lo.energy["ac"] == 23.6 and lo.energy["unit_update"] == 81.0
    assert lo.energy["packet"] == 1.7 and lo.energy["hop"] == pytest.approx((3.0 + 4.0) / 2)
    assert lo.chip["cores"] == 128
    sp = load_profile("spinnaker2")
    assert sp.chip["cores"] == 152 and sp.chip["sram_per_core_kib"] == 128
    assert load_profile("gpu-dense").kind == "dense"


def test_user_profile_from_path(tmp_path):
    src = (PROFILE_DIR / "loihi.toml").read_text().replace('name = "loihi"', 'name = "mine"')
    f = tmp_path / "mine.toml"
    f.write_text(src)
    assert load_profile(str(f)).name == "mine"


@pytest.mark.parametrize("section,key,value,match", [
    ("energy", "mac", None, r"energy\.mac is missing"),
    ("energy", "hop", "3 pJ", r"energy\.hop = '3 pJ' is not a number"),
    ("energy", "packet", -1.0, r"energy\.packet = -1.0 must be a finite number >= 0"),
    ("chip", "cores", 0, r"chip\.cores = 0.0 must be > 0"),
    ("chip", "cores", 2.5, r"chip\.cores = 2.5 must be an integer"),
    ("memory", "dram", True, r"memory\.dram = True is not a number"),
])
def test_bad_profile_names_the_key(section, key, value, match):
    data = copy.deepcopy(_raw("loihi"))
    if value is None:
        del data[section][key]
    else:
        data[section][key] = value
    with pytest.raises(EventsimError, match=match):
        profile_from_dict(data, "bad.toml")


def test_bad_profile_other_mistakes(tmp_path):
    data = copy.deepcopy(_raw("loihi"))
    data["kind"] = "analog"
    with pytest.raises(EventsimError, match="kind = 'analog'"):
        profile_from_dict(data)
    data = copy.deepcopy(_raw("loihi"))
    data["memory"]["weight_level"] = "hbm"
    with pytest.raises(EventsimError, match="memory.weight_level = 'hbm'"):
        profile_from_dict(data)
    data = copy.deepcopy(_raw("loihi"))
    data["energy"]["mac_pj"] = 1.0
    with pytest.raises(EventsimError, match=r"unknown key\(s\) \['mac_pj'\] in \[energy\]"):
        profile_from_dict(data)
    data = copy.deepcopy(_raw("loihi"))
    del data["chip"]
    with pytest.raises(EventsimError, match=r"section \[chip\] is missing"):
        profile_from_dict(data)
    with pytest.raises(EventsimError, match="'nosuchchip' is unknown"):
        load_profile("nosuchchip")
    with pytest.raises(EventsimError, match="does not exist"):
        load_profile(str(tmp_path / "none.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(EventsimError, match="not valid TOML"):
        load_profile(str(bad))


# -- energy -------------------------------------------------------------------

def test_energy_linear_in_counts(run):
    """Doubling the workload (the same inputs twice) doubles every dynamic part."""
    _, c1, c2 = run
    assert c2["total"]["macs"]["effective"] == 2 * c1["total"]["macs"]["effective"]
    for name in SHIPPED:
        p = load_profile(name)
        for w in WORKLOADS:
            e1, e2 = estimate_energy(c1, p, w)["total"], estimate_energy(c2, p, w)["total"]
            for key in ("compute_pj", "memory_pj", "communication_pj", "dynamic_pj", "static_pj"):
                assert e2[key] == pytest.approx(2 * e1[key], rel=1e-12), (name, w, key)


def test_dense_baselines_equal_closed_form(run):
    """GRU/LSTM energy = closed-form counts of the shapes x the profile's figures."""
    _, c, _ = run
    S = 2 * 50
    shapes = [(5, 40), (40, 30)]
    ro = 30 * 3
    for name in ("horowitz45nm", "loihi", "gpu-dense"):
        f = _raw(name)
        E, M = f["energy"], f["memory"]
        read = M[M["weight_level"]]
        for kind, G, NL in (("gru", 3, 3), ("lstm", 4, 5)):
            macs = sum(G * n * (m + n) for m, n in shapes) * S
            units = sum(n for _, n in shapes) * S
            compute = (macs + ro * S) * E["mac"] + 3 * units * E["elementwise"] \
                + NL * units * E["nonlinearity"] + units * E["unit_update"]
            memory = (macs + ro * S) * read
            packets = 2 * units  # each unit sends every step to its own layer and to the next/readout
            comm = packets * E["packet"]
            est = estimate_energy(c, load_profile(name), kind)["total"]
            assert est["macs"] == macs + ro * S == c["baselines"][kind]["macs"]
            assert est["compute_pj"] == pytest.approx(compute, rel=1e-12)
            assert est["memory_pj"] == pytest.approx(memory, rel=1e-12)
            assert est["communication_pj"] == pytest.approx(comm, rel=1e-12)
            # ideal time: all work spread over every core
            t = ((macs + ro * S) / (f["chip"]["clock_hz"] * f["chip"]["macs_per_cycle"])
                 + units * f["chip"]["unit_update_ns"] * 1e-9) / f["chip"]["cores"]
            assert est["static_pj"] == pytest.approx(f["chip"]["static_power_w"] * t * 1e12, rel=1e-9)


def test_horowitz_hand_worked_gru_cell():
    """A dense GRUCell(25, 5) for one step: 450 MACs, 15 products (SPEC §2) on horowitz45nm."""
    counts = {"samples": 1, "steps": 1, "layers": [{"inputs": 25, "units": 5}]}
    est = estimate_energy(counts, load_profile("horowitz45nm"), "gru")
    t = est["total"]
    assert t["macs"] == 450 and t["elementwise"] == 15
    # 450 x (3.7 + 0.9) pJ for the MACs, 15 x 3.7 pJ products, 450 x 50 pJ reads from 1 MB SRAM
    nl, upd = _raw("horowitz45nm")["energy"]["nonlinearity"], _raw("horowitz45nm")["energy"]["unit_update"]
    assert t["compute_pj"] == pytest.approx(450 * 4.6 + 15 * 3.7 + 15 * nl + 5 * upd)
    assert t["memory_pj"] == pytest.approx(450 * 50.0)
    assert est["readout"] is None


def test_egru_event_uses_effective_counts(run):
    _, c, _ = run
    p = load_profile("loihi")
    est = estimate_energy(c, p, "egru")
    assert est["executed_as"] == "event"
    for k, row in enumerate(est["layers"]):
        lay = c["layers"][k]
        assert row["macs"] == lay["macs"]["effective"]
        assert row["unit_updates"] == lay["unit_updates"]["event_driven"]
        assert row["compute_pj"] == pytest.approx(lay["macs"]["effective"] * 23.6
                                                  + lay["unit_updates"]["event_driven"] * 81.0)
        assert row["communication_pj"] == pytest.approx(2 * lay["events"] * 1.7)
    assert est["readout"]["macs"] == c["readout"]["macs"]["effective"]
    ac = estimate_energy(c, load_profile("horowitz45nm"), "egru", event_op="ac")["total"]
    mac = estimate_energy(c, load_profile("horowitz45nm"), "egru")["total"]
    eff = c["total"]["macs"]["effective"]
    assert mac["compute_pj"] - ac["compute_pj"] == pytest.approx(eff * (4.6 - 0.9))
    dense = estimate_energy(c, load_profile("gpu-dense"), "egru")
    assert dense["executed_as"] == "clocked" and dense["total"]["macs"] == c["total"]["macs"]["dense"]


def test_spill_fraction_moves_reads_to_dram(run):
    _, c, _ = run
    p = load_profile("horowitz45nm")
    base = estimate_energy(c, p, "egru")
    sp = estimate_energy(c, p, "egru", spill_fraction=[0.5, 0.0, 0.0])
    macs0 = base["layers"][0]["macs"]
    assert sp["layers"][0]["memory_pj"] == pytest.approx(macs0 * (0.5 * 50 + 0.5 * 975))
    assert sp["layers"][1]["memory_pj"] == base["layers"][1]["memory_pj"]
    with pytest.raises(EventsimError, match="spill_fraction needs 3 values"):
        estimate_energy(c, p, "egru", spill_fraction=[0.5])


def test_energy_errors(run):
    _, c, _ = run
    p = load_profile("loihi")
    with pytest.raises(EventsimError, match="workload 'rnn' is unknown"):
        estimate_energy(c, p, "rnn")
    with pytest.raises(EventsimError, match="event_op 'xor' is unknown"):
        estimate_energy(c, p, "egru", event_op="xor")
    bad = copy.deepcopy(c)
    del bad["layers"][1]["macs"]["effective"]
    with pytest.raises(EventsimError, match=r"'macs.effective' is missing"):
        estimate_energy(bad, p, "egru")
    bad = copy.deepcopy(c)
    bad["layers"][0]["events"] = -3
    with pytest.raises(EventsimError, match="events = -3 must be a non-negative integer"):
        estimate_energy(bad, p, "egru")
    bad = copy.deepcopy(c)
    bad["baselines"]["gru"]["macs"] += 1
    with pytest.raises(EventsimError, match="the counts file is inconsistent"):
        estimate_energy(bad, p, "gru")
