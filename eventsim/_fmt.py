"""Number formatting shared by the tables of every command and unit model."""
from __future__ import annotations


def format_sparsity(fraction, events) -> str:
    """Activity sparsity as a percentage that never reads 100.0% when there were events
    (nor 0.0% when not every entry was one): more digits near the ends, then '>99.99%'."""
    pct = 100.0 * float(fraction)
    text = f"{pct:.1f}%"
    if events and text == "100.0%" or (pct > 0 and text == "0.0%"):
        for digits in (2, 3, 4):
            text = f"{pct:.{digits}f}%"
            if text not in (f"{100:.{digits}f}%", f"{0:.{digits}f}%"):
                return text
        return ">99.9999%" if pct > 50 else "<0.0001%"
    return text
