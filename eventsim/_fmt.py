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


#: Width every printed table fits in (issue 17: tables fit 100 columns).
TABLE_WIDTH = 100
#: A value that does not apply (a dense model's sparsity) or is not known.
MISSING = "-"


def format_int(n, missing: str = MISSING) -> str:
    """A count with thousands separators: 50816 -> '50,816' (a float is rounded)."""
    if n is None:
        return missing
    return f"{round(float(n)):,}" if not isinstance(n, int) else f"{n:,}"


def format_ratio(x, missing: str = MISSING) -> str:
    """A ratio such as MAC savings: 5.4712 -> '5.47x' (None -> missing, infinity -> 'inf')."""
    if x is None:
        return missing
    x = float(x)
    if x != x:
        return missing
    return "inf" if x == float("inf") else f"{x:.2f}x"


def format_fraction_sparsity(fraction, missing: str = MISSING) -> str:
    """An activity or backward sparsity known only as a fraction (no event count): 81.7%;
    below 1 there were events, so never '100.0%' (see :func:`format_sparsity`)."""
    if fraction is None:
        return missing
    return format_sparsity(fraction, float(fraction) < 1.0)


def format_metric(value, metric: str, missing: str = MISSING) -> str:
    """A test metric as the study prints it: accuracy '95.56%', bpc or perplexity '2.8152'."""
    if value is None:
        return missing
    return f"{float(value):.2%}" if metric == "accuracy" else f"{float(value):.4f}"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(width - 1, 0)] + "…"


def text_table(header, rows, right=(), key: int = 1, groups=None, width: int = TABLE_WIDTH,
               gap: str = "  ") -> str:
    """An aligned text table that fits ``width`` columns.

    header: column names; rows: rows of text cells; right: indexes of right-aligned columns
    (numbers). When one line per row would be wider than ``width``, the columns after the
    first ``key`` ones are split into blocks printed one under the other, each repeating the
    ``key`` columns (e.g. the model name) and its own header: every value stays in the
    table. ``groups``: lists of column indexes kept in one block when they fit (in order);
    default one group per column. A cell too wide for any block (a name of some 90
    characters) is cut with '…' as a last resort.
    """
    header = [str(h) for h in header]
    rows = [[str(c) for c in r] for r in rows]
    n = len(header)
    w = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(n)]
    keys = list(range(min(key, n)))
    rest = [i for i in range(n) if i not in keys]
    if groups is None:
        groups = [[i] for i in rest]
    else:
        seen = {i for g in groups for i in g}
        groups = [list(g) for g in groups] + [[i] for i in rest if i not in seen]

    def span(cols):
        return sum(w[i] for i in cols) + len(gap) * (len(cols) - 1)

    kw = span(keys) if keys else 0
    if kw > width // 2:  # very long names: cut the key columns to leave room for values
        for i in keys:
            w[i] = max(4, min(w[i], width // (2 * len(keys)) - len(gap)))
        kw = span(keys)
    room = width - (kw + len(gap) if keys else 0)
    blocks, cur = [], []
    for g in groups:
        parts = [g] if span(g) <= room else [[i] for i in g]  # a group wider than a block: per column
        for part in parts:
            if cur and span(cur + part) > room:
                blocks.append(cur)
                cur = []
            cur = cur + part
    if cur or not blocks:
        blocks.append(cur)
    out = []
    for b in blocks:
        cols = keys + b

        def line(cells):
            return gap.join(_clip(cells[i], w[i]).rjust(w[i]) if i in right else
                            _clip(cells[i], w[i]).ljust(w[i]) for i in cols).rstrip()
        lines = [line(header)] + [line(r) for r in rows]
        rule = "-" * min(width, max(len(x) for x in lines))
        if out:
            out.append("")
        out += [_clip(lines[0], width), rule] + [_clip(x, width) for x in lines[1:]]
    return "\n".join(out)
