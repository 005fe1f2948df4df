"""Model inputs: dense arrays, token ids and event streams (SPEC §4).

Whatever its form, an input is turned into one *input table* for the engine:
a CSR matrix whose rows are input vectors ``x_t`` (only nonzero entries
stored, each an input event) and a *calendar* per sample, CSR by step: sample
``b``'s entries ``k`` in ``sptr[b] .. sptr[b+1]`` say that its input at step
``steps[k]`` is row ``rows[k]`` (steps increasing; a step without an entry has no
input event). For dense input the table has one row per (sample, step) with a
nonzero entry; for token ids the rows are the embedding (a memory read per
step, no MAC); for event streams a row holds the events of one (sample, step),
so the table takes memory in proportion to the events, never to samples x steps.

Large allocations are estimated first (:func:`check_memory`): beyond the memory
available (or the budget in the environment variable ``EVENTSIM_MEMORY_LIMIT``,
in bytes, when it is lower) they are refused with one clear error naming the size.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._npz import read_npz, write_npz
from .errors import EventsimError


def _extent(value, key: str) -> int:
    """A declared extent (n_samples, n_steps, n_channels): one whole number >= 0, not an
    array and not a fraction (a float would be silently truncated)."""
    a = np.asarray(value)
    if a.ndim != 0:
        raise EventsimError(f"{key} must be a single integer, got an array of shape {a.shape}")
    if a.dtype.kind not in "iu":
        if a.dtype.kind == "f" and np.isfinite(a) and float(a) == int(a):
            a = np.asarray(int(a))
        else:
            raise EventsimError(f"{key} must be an integer, got {a.dtype} value {a.item()!r}")
    v = int(a)
    if v < 0:
        raise EventsimError(f"{key} = {v}; it must be >= 0")
    return v


def available_memory():
    """Bytes the machine can still give (MemAvailable + SwapFree on Linux), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if line.split()[1:]}
        return info["MemAvailable"] + info.get("SwapFree", 0)
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def memory_budget():
    """Bytes a run may allocate: the machine's available memory, or the budget in the
    environment variable ``EVENTSIM_MEMORY_LIMIT`` (bytes) when set and lower; None if
    neither is known."""
    avail = available_memory()
    limit = os.environ.get("EVENTSIM_MEMORY_LIMIT")
    if limit:
        try:
            limit = int(float(limit))
        except ValueError:
            raise EventsimError(f"EVENTSIM_MEMORY_LIMIT={limit!r} must be a number of bytes") from None
        avail = limit if avail is None else min(avail, limit)
    return avail


def _size(nbytes) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{int(nbytes)} bytes"


def check_memory(nbytes: int, what: str, fix: str = "") -> None:
    """Refuse an allocation of about ``nbytes`` larger than :func:`memory_budget`, with one
    clear sentence naming ``what`` needs it, the size and (``fix``) what to change."""
    avail = memory_budget()
    if avail is None:
        return
    if nbytes > avail:
        raise EventsimError(f"{what} needs about {_size(nbytes)} of memory but only {_size(avail)} "
                            f"are available" + (f"; {fix}" if fix else ""))


@dataclass
class EventStream:
    """Input events (SPEC §4): parallel arrays sorted by (sample, t).

    sample, t, channel: int64 arrays; value: float32 (or float64) array.
    n_samples, n_steps, n_channels: the extent of the stream (B, T, m).
    Several events on one channel in one step add up to one input value
    ``x_t[channel]``; a channel whose values add up to 0 is not active.
    """

    sample: np.ndarray
    t: np.ndarray
    channel: np.ndarray
    value: np.ndarray
    n_samples: int
    n_steps: int
    n_channels: int

    @classmethod
    def from_arrays(cls, sample, t, channel, value, n_samples=None, n_steps=None,
                    n_channels=None) -> "EventStream":
        """Validate and build a stream; the extents default to max index + 1."""
        arrs = {}
        for name, a in (("sample", sample), ("t", t), ("channel", channel)):
            a = np.asarray(a)
            if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
                raise EventsimError(f"event stream '{name}' must be a 1-D integer array, got "
                                    f"{a.dtype} with shape {a.shape}")
            arrs[name] = a.astype(np.int64)
        value = np.asarray(value)
        if value.ndim != 1 or (value.size and value.dtype.kind not in "fiu"):
            raise EventsimError(f"event stream 'value' must be a 1-D numeric array, got {value.dtype}")
        sizes = {k: len(v) for k, v in arrs.items()}
        sizes["value"] = len(value)
        if len(set(sizes.values())) != 1:
            raise EventsimError(f"event stream arrays differ in length: {sizes}")
        if value.size and not np.all(np.isfinite(value)):
            raise EventsimError("event stream 'value' holds a NaN or infinite value")
        for name in ("sample", "t", "channel"):
            if arrs[name].size and arrs[name].min() < 0:
                raise EventsimError(f"event stream '{name}' holds a negative index")
        ext = {}
        for name, key, given in (("sample", "n_samples", n_samples), ("t", "n_steps", n_steps),
                                 ("channel", "n_channels", n_channels)):
            hi = int(arrs[name].max()) + 1 if arrs[name].size else 0
            if given is None:
                ext[name] = hi
            else:
                given = _extent(given, key)
                if given < hi:
                    raise EventsimError(f"event stream '{name}' reaches {hi - 1} but the stream "
                                        f"declares only {given} ({key} must be >= {hi})")
                ext[name] = given
        if arrs["sample"].size > 1:
            ds, dt_ = np.diff(arrs["sample"]), np.diff(arrs["t"])
            if np.any((ds < 0) | ((ds == 0) & (dt_ < 0))):
                raise EventsimError("event stream is not sorted by (sample, t); sort it first "
                                    "(e.g. np.lexsort((t, sample)))")
        vdt = value.dtype if value.dtype.kind == "f" else np.float32
        return cls(arrs["sample"], arrs["t"], arrs["channel"], value.astype(vdt), ext["sample"],
                   ext["t"], ext["channel"])

    @classmethod
    def from_dense(cls, x: np.ndarray) -> "EventStream":
        """Every nonzero entry of a (B, T, m) array becomes an event."""
        x = np.asarray(x)
        b, t, c = np.nonzero(x)
        return cls(b.astype(np.int64), t.astype(np.int64), c.astype(np.int64), x[b, t, c],
                   x.shape[0], x.shape[1], x.shape[2])

    def to_dense(self, dtype=np.float32) -> np.ndarray:
        """The (B, T, m) array with events on the same channel and step added up."""
        x = np.zeros((self.n_samples, self.n_steps, self.n_channels), dtype=dtype)
        np.add.at(x, (self.sample, self.t, self.channel), self.value.astype(dtype))
        return x

    def __len__(self) -> int:
        return int(self.sample.size)

    def save(self, path) -> None:
        write_npz(path, dict(sample=self.sample, t=self.t, channel=self.channel,
                             value=self.value.astype(np.float32), n_samples=self.n_samples,
                             n_steps=self.n_steps, n_channels=self.n_channels))

    @classmethod
    def load(cls, path) -> "EventStream":
        path = os.fspath(path)
        data = read_npz(path, "event-stream file")
        missing = [k for k in ("sample", "t", "channel", "value") if k not in data]
        if missing:
            raise EventsimError(f"event-stream file {path!r} lacks key(s) {missing}; it needs "
                                f"sample, t, channel, value (SPEC §4)")
        extra = set(data) - {"sample", "t", "channel", "value", "n_samples", "n_steps", "n_channels"}
        if extra:
            raise EventsimError(f"event-stream file {path!r} has unknown key(s) {sorted(extra)}")
        try:
            ext = {k: _extent(data[k], k) for k in ("n_samples", "n_steps", "n_channels") if k in data}
        except EventsimError as e:
            raise EventsimError(f"event-stream file {path!r}: {e}") from None
        return cls.from_arrays(data["sample"], data["t"], data["channel"], data["value"], **ext)


@dataclass
class InputTable:
    """The engine's view of an input (see module docstring).

    indptr (R+1,) int64, idx (nnz,) int32 channel of each entry, val (nnz,) value: the rows;
    sptr (B+1,) int64, steps (K,) int64, rows (K,) int64: each sample's calendar (sample b's
    input at step ``steps[k]`` is row ``rows[k]``, k in ``sptr[b] .. sptr[b+1]``).
    """

    indptr: np.ndarray
    idx: np.ndarray
    val: np.ndarray
    sptr: np.ndarray
    steps: np.ndarray
    rows: np.ndarray
    n_samples: int
    n_steps: int
    n_channels: int
    single: bool  # the user passed one sample without a batch axis

    def dense(self) -> np.ndarray:
        """The (B, T, m) float input (for the dense references); its size is checked first."""
        B, T, m = self.n_samples, self.n_steps, self.n_channels
        check_memory(B * T * m * self.val.dtype.itemsize * 4,
                     f"the dense form of an input of {B:,} samples x {T:,} steps x {m:,} channels",
                     "use the event engine, or fewer samples or steps")
        x = np.zeros((B, T, m), dtype=self.val.dtype)
        for b in range(B):
            for k in range(self.sptr[b], self.sptr[b + 1]):
                r = self.rows[k]
                a, z = self.indptr[r], self.indptr[r + 1]
                x[b, self.steps[k], self.idx[a:z]] = self.val[a:z]
        return x


def _csr_from_rows(x2d: np.ndarray):
    nz = x2d != 0
    indptr = np.zeros(x2d.shape[0] + 1, dtype=np.int64)
    np.cumsum(nz.sum(axis=1), out=indptr[1:])
    rows, cols = np.nonzero(nz)
    return indptr, cols.astype(np.int32), x2d[rows, cols]


def _every_step(B: int, T: int, rows: np.ndarray):
    """The calendar of an input with a row at every step: (sptr, steps, rows)."""
    return (np.arange(B + 1, dtype=np.int64) * T, np.tile(np.arange(T, dtype=np.int64), B),
            np.ascontiguousarray(rows, dtype=np.int64).reshape(-1))


def _stream_table(inputs: "EventStream", B: int, T: int, m: int, dtype, run_bytes=None) -> InputTable:
    """An event stream's table: one row per (sample, step) holding events, memory in
    proportion to the events (and 16 bytes per sample while it is built); ``run_bytes(B, T)``
    adds what the run will need beside it to the estimate made before anything is built."""
    extra = int(run_bytes(B, T)) if run_bytes is not None else 0
    check_memory(16 * (B + 1) + 64 * len(inputs) + extra,
                 f"a run on an event stream of {B:,} samples x {T:,} steps ({len(inputs):,} events)",
                 "use fewer samples (the largest sample index sets the number of samples) or "
                 "steps, record less, or use smaller delays")
    order = np.lexsort((inputs.channel, inputs.t, inputs.sample))
    smp, stp, ch = inputs.sample[order], inputs.t[order], inputs.channel[order]
    vals = inputs.value[order].astype(dtype)
    if vals.size:  # events on one channel in one step add up to one input value
        new = np.ones(vals.size, dtype=bool)
        new[1:] = (np.diff(smp) != 0) | (np.diff(stp) != 0) | (np.diff(ch) != 0)
        start = np.flatnonzero(new)
        vals = np.add.reduceat(vals, start)
        smp, stp, ch = smp[start], stp[start], ch[start]
        keep = vals != 0
        smp, stp, ch, vals = smp[keep], stp[keep], ch[keep], vals[keep]
    first = np.ones(smp.size, dtype=bool)  # the first entry of each (sample, step): a row
    first[1:] = (np.diff(smp) != 0) | (np.diff(stp) != 0)
    starts = np.flatnonzero(first)
    indptr = np.append(starts, smp.size).astype(np.int64)
    row_smp, row_stp = smp[starts], stp[starts]
    sptr = np.searchsorted(row_smp, np.arange(B + 1, dtype=np.int64)).astype(np.int64)
    return InputTable(indptr, ch.astype(np.int32), np.ascontiguousarray(vals), sptr,
                      np.ascontiguousarray(row_stp, dtype=np.int64), np.arange(starts.size, dtype=np.int64),
                      B, T, m, False)


def prepare_input(model, inputs, n_steps: Optional[int] = None, run_bytes=None,
                  embedding_rows=None) -> InputTable:
    """Check ``inputs`` against ``model`` and build the engine's input table.

    Of ``model`` only ``dtype``, ``n_in``, ``embedding`` and ``vocab`` are read, so any
    unit model's parameters (or a small stand-in object) can be passed; the LIF model does.
    ``embedding_rows()``: for a model with an embedding, returns its CSR rows (indptr, idx,
    val), e.g. kept from an earlier call (default: built from ``model.embedding``, as
    :func:`embedding_rows` does). ``run_bytes(B, T)``:
    the memory the run will take beside the table, checked with the table's before an event
    stream's table is built (a stream's extents can be huge at a few events).
    """
    dtype = model.dtype
    m = model.n_in
    if isinstance(inputs, EventStream):
        if model.embedding is not None:
            raise EventsimError("the model has an embedding and takes token ids, not an event stream")
        if inputs.n_channels > m:
            raise EventsimError(f"the event stream has channels up to {inputs.n_channels - 1} but "
                                f"the model has {m} inputs")
        B, T = inputs.n_samples, inputs.n_steps if n_steps is None else int(n_steps)
        if T < inputs.n_steps:
            raise EventsimError(f"n_steps = {T} is shorter than the event stream ({inputs.n_steps} steps)")
        if B == 0 or T == 0:
            raise EventsimError("the event stream is empty: it has no samples or no steps")
        return _stream_table(inputs, B, T, m, dtype, run_bytes)
    x = np.asarray(inputs)
    if model.embedding is not None:
        if x.dtype.kind not in "iu":
            raise EventsimError(f"the model has an embedding, so inputs must be integer token ids "
                                f"of shape (T,) or (B, T); got dtype {x.dtype}")
        single = x.ndim == 1
        if single:
            x = x[None]
        if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
            raise EventsimError(f"token ids must have shape (T,) or (B, T) with T >= 1; got {np.shape(inputs)}")
        V = model.vocab
        if x.min() < 0 or x.max() >= V:
            raise EventsimError(f"token ids must lie in [0, {V - 1}] (vocabulary size {V}); "
                                f"found {int(x.min())}..{int(x.max())}")
        B, T = x.shape
        check_memory(24 * B * T, f"the input table of {B:,} x {T:,} token ids", "use fewer samples or steps")
        indptr, idx, val = embedding_rows() if embedding_rows is not None else _csr_from_rows(model.embedding)
        return InputTable(indptr, idx, val, *_every_step(B, T, x), B, T, m, single)
    if x.dtype.kind not in "fiub":
        raise EventsimError(f"inputs must be a numeric array, got dtype {x.dtype}")
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.ndim != 3:
        raise EventsimError(f"dense inputs must have shape (T, m) or (B, T, m); got {np.shape(inputs)}")
    if x.shape[2] != m:
        raise EventsimError(f"inputs have {x.shape[2]} channels but the model's layer0 has {m} inputs")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise EventsimError(f"inputs are empty: shape {np.shape(inputs)}")
    x = x.astype(dtype, copy=False)
    if not np.all(np.isfinite(x)):
        raise EventsimError("inputs hold a NaN or infinite value")
    B, T = x.shape[:2]
    indptr, idx, val = _csr_from_rows(x.reshape(B * T, m))
    return InputTable(indptr, idx, val, *_every_step(B, T, np.arange(B * T)), B, T, m, single)


def embedding_rows(E: np.ndarray):
    """The CSR rows (indptr, idx, val) of an embedding matrix (one row per token)."""
    return _csr_from_rows(E)


def load_input(path):
    """Read an input file: ``.npy`` dense array / token ids, or ``.npz`` event stream."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise EventsimError(f"input file {path!r} does not exist")
    if path.endswith(".npz"):
        return EventStream.load(path)
    if path.endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except Exception as e:
            raise EventsimError(f"input file {path!r} is not a readable .npy array ({e})") from None
    raise EventsimError(f"input file {path!r}: use .npy (dense array or token ids) or .npz (event stream)")
