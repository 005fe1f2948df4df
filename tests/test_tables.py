"""Every printed table fits 100 columns and formats numbers by one rule (issue 17):
percentages '81.7%' (eventsim._fmt.format_sparsity for sparsities), counts with thousands
separators, ratios '5.47x', metrics as the study prints them (accuracy '95.56%', bpc
'2.8152'); no fraction like 0.817 and no exponent like 5.082e+04 in a table."""
import copy
import json
import re
from pathlib import Path

import pytest

from eventsim._fmt import (format_fraction_sparsity, format_int, format_metric, format_ratio, format_sparsity,
                           text_table)
from eventsim.lif.counts import LIFCounts
from eventsim.study.tables import COLUMNS, summary_csv, summary_markdown, summary_table
from eventsim.sweep import format_table

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
EXPONENT = re.compile(r"\b\d+(\.\d+)?[eE][+-]?\d+\b")  # 5.082e+04
BARE_FRACTION = re.compile(r"(?<![\d.,])0\.\d+(?![\d%x])")  # 0.817 rather than 81.7%


def check_lines(text, width=100):
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} columns: {line!r}"
    assert not EXPONENT.search(text), text
    return text


def summaries():
    return sorted(RESULTS.glob("*/summary.json"))


@pytest.mark.parametrize("path", summaries(), ids=lambda p: p.parent.name)
def test_study_table_fits_and_keeps_every_column(path):
    s = json.loads(path.read_text())
    text = check_lines(summary_table(s))
    assert not BARE_FRACTION.search(text), text
    # every column of summary.md is still in the printed table, every value of each model too
    md_rows = [l for l in summary_markdown(s).splitlines() if l.startswith("| ")]
    header = [c.strip() for c in md_rows[0].strip("|").split("|")]
    assert header[0] == "model" and len(header) == len(COLUMNS)
    for h in header:
        assert h in text, h
    blocks = text.split("\n\n")
    for row in md_rows[1:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        lines = [l for b in blocks for l in b.splitlines() if l.split()[0] == cells[0]]
        assert len(lines) == len(blocks), (cells[0], lines)  # the model heads a line in every block
        found = " ".join(lines).split()
        for c in cells:  # a cell of several words (a mean ± sd) as consecutive words
            words = c.split()
            assert any(found[i:i + len(words)] == words for i in range(len(found))), (c, lines)


def test_study_table_formats_numbers_by_the_rule():
    s = json.loads((RESULTS / "digits" / "seed0" / "summary.json").read_text())  # a one-seed study
    e = s["models"]["egru"]
    text = summary_table(s)
    for value in (format_metric(e["metric"], "accuracy"), format_sparsity(e["activity_sparsity"], True),
                  format_int(e["effective_macs_per_step"]), format_ratio(e["savings_vs_gru"])):
        assert value in text, value
    assert "97.50%" in text and "81.5%" in text and "24,298" in text and "149,120" in text and "6.14x" in text
    lm = json.loads((RESULTS / "char-lm" / "summary.json").read_text())
    assert f"{lm['models']['egru']['metric']:.4f}" in summary_table(lm)


def test_study_table_with_long_names_and_deep_models_still_fits():
    """A tiny summary with long model names, deep layers, huge counts and a mismatch."""
    s = json.loads((RESULTS / "tiny" / "summary.json").read_text())
    big = copy.deepcopy(s)
    egru = big["models"].pop("egru")
    egru.update(units=[1024, 1024, 1024, 1024], effective_macs_per_step=123456789.4,
                dense_macs_per_step=9876543210.0, savings_vs_gru=80.0, savings_vs_lstm=106.7,
                activity_sparsity=0.99999, engine_check={"ok": False})
    big["models"]["egru-threshold-0.25-long-name"] = egru
    big["models"]["x" * 120] = copy.deepcopy(s["models"]["gru"])
    text = check_lines(summary_table(big))
    assert "123,456,789" in text and "9,876,543,210" in text and "80.00x" in text and "MISMATCH" in text
    assert "99.999%" in text and "100.0%" not in text  # there were events
    assert "1024x1024x1024x1024" in text and "egru-threshold-0.25-long-name" in text
    # summary.md and summary.csv stay one line per model with every column (they may be wide)
    assert len([l for l in summary_markdown(big).splitlines() if l.startswith("| egru-threshold")]) == 1
    assert summary_csv(big).splitlines()[0].startswith("model,kind,units,metric")
    check_lines(summary_table(big, width=60), width=60)


def test_text_table_blocks_and_alignment():
    head = ["name", "a", "b", "c"]
    rows = [["x", "1", "22", "333"], ["yy", "4,444", "5", "6"]]
    one = text_table(head, rows, right=(1, 2, 3))
    assert one.splitlines() == ["name      a   b    c", "--------------------", "x         1  22  333",
                                "yy    4,444   5    6"]
    two = text_table(head, rows, right=(1, 2, 3), width=14)
    assert [b.splitlines()[0] for b in two.split("\n\n")] == ["name      a", "name   b    c"]
    check_lines(two, width=14)


SWEEP_ROWS = [
    {"task": "units=_16_-1a2b3c4d", "param:models.egru.units": "[16]", "param:train.seed": "0", "status": "ok",
     "model": "egru", "metric": 0.9556, "metric_name": "accuracy", "activity_sparsity": 0.8171,
     "effective_macs_per_step": 50816.25, "savings_vs_gru": 5.4712},
    {"task": "units=_16_-1a2b3c4d", "param:models.egru.units": "[16]", "param:train.seed": "0", "status": "ok",
     "model": "gru", "metric": 0.98, "metric_name": "accuracy", "activity_sparsity": None,
     "effective_macs_per_step": 278016.0, "savings_vs_gru": 1.0},
    {"task": "units=_128,128_-5e6f7a8b", "param:models.egru.units": "[128,128]", "param:train.seed": "1",
     "status": "ok", "model": "egru", "metric": 2.81517, "metric_name": "bpc", "activity_sparsity": 0.99999,
     "effective_macs_per_step": 1.5e9, "savings_vs_gru": 123.456},
    {"task": "units=_32_-9c0d1e2f", "param:models.egru.units": "[32]", "param:train.seed": "2",
     "status": "failed", "error": "EventsimError: " + "a long and winding error message " * 8},
]


def test_sweep_table_fits_and_formats_numbers_by_the_rule():
    text = check_lines(format_table(SWEEP_ROWS, ["models.egru.units", "train.seed"]))
    assert not BARE_FRACTION.search(text), text
    for value in ("95.56%", "81.7%", "50,816", "5.47x", "98.00%", "278,016", "1.00x", "2.8152", "99.999%",
                  "1,500,000,000", "123.46x", "FAILED (1)", "[128,128]"):
        assert value in text, value
    assert "a long and winding error message" in text and "(1) task units=_32_-9c0d1e2f" in text
    # the error is all there, wrapped
    assert " ".join(text.split("(1) task ")[1].split()).count("winding") == 8
    # many swept parameters: the columns split into blocks, still within 100 columns
    rows = [dict(r, **{f"param:scenario.option_number_{i}": f"value-{i}" for i in range(6)}) for r in SWEEP_ROWS]
    check_lines(format_table(rows, ["models.egru.units", "train.seed"] + [f"scenario.option_number_{i}"
                                                                          for i in range(6)]))


def test_lif_counts_table_fits_and_formats_numbers_by_the_rule():
    c = LIFCounts(samples=2, steps=100000, inputs=700, units=4096, nnz_input=200000, nnz_recurrent=3000000,
                  events=123456, input_events=654321, effective_acs=98765432, effective_macs=1234,
                  event_driven_updates=4567890)
    text = check_lines(c.table())
    assert not BARE_FRACTION.search(text), text
    d = c.to_dict()
    for value in (f"{d['synops']['dense']:,}", "98,765,432", "1,234", "654,321", "4,567,890",
                  format_sparsity(d["activity_sparsity"], d["events"]), "100,000 steps", "4,096 units"):
        assert value in text, value
    assert "100.0%" not in text  # events happened
    check_lines(LIFCounts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0).table())


def test_the_shared_formats():
    assert format_int(50816.4) == "50,816" and format_int(1234567) == "1,234,567" and format_int(None) == "-"
    assert format_ratio(5.4712) == "5.47x" and format_ratio(float("inf")) == "inf" and format_ratio(None) == "-"
    assert format_metric(0.95556, "accuracy") == "95.56%" and format_metric(2.81517, "bpc") == "2.8152"
    assert format_fraction_sparsity(0.8171) == "81.7%" and format_fraction_sparsity(1.0) == "100.0%"
    assert format_fraction_sparsity(0.99999) == "99.999%" and format_fraction_sparsity(None) == "-"
