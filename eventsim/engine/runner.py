"""What every unit model's compiled network shares around its kernel: a batch run in sample
chunks and, inside each, in chunks of steps, under a progress bar; and the final event queues
for checking their invariants.

A run returns to Python every ~0.25 s of work (:func:`step_chunks`), so Ctrl-C
(KeyboardInterrupt) stops it within about a second, and a progress bar moves even for one long
sample. The kernel resumes each chunk from the state it carried out of the previous one (unit
states, event queues, counts, the input cursor found again by binary search), so the results do
not depend on the chunking, bit for bit.

A compiled unit model subclasses :class:`BatchRunner` and supplies ``_start(table, b0, b1,
record, keep_queue)`` (allocate the outputs and carried state of samples ``b0 .. b1-1``;
returns a job), ``_advance(job, t0, t1)`` (one kernel call: steps ``t0 .. t1-1`` of those
samples), ``_collect(job)`` (their results as a dict), ``_merge(parts)`` (join the dicts of
consecutive sample chunks), ``_sample_bytes(T, record)`` ((bytes kept per sample for the
whole run, bytes carried per sample of a chunk): checked before anything is allocated) and
``_ops_per_step()`` (the largest count a step adds, e.g. a dense GRU's MACs: the counts are
exact 64-bit integers, so a run whose counts would not fit is refused, :func:`check_counts`).
"""
from __future__ import annotations

import time

#: wall-clock seconds of work per kernel call: KeyboardInterrupt is honoured between calls
STEP_SECONDS = 0.25
#: carried state (event queues, ...) of one sample chunk stays below this many bytes
CHUNK_BYTES = 256 << 20


def check_counts(samples: int, steps: int, ops_per_step: int) -> None:
    """Refuse a run whose exact counts (int64) could overflow: samples x steps x the largest
    count one step adds. (With event streams the memory of a run does not grow with its
    steps, so a declared length of 10^18 steps is otherwise accepted.)"""
    total = int(samples) * int(steps) * max(int(ops_per_step), 1)
    if total >= 2**63:
        from ..errors import EventsimError
        raise EventsimError(f"a run of {samples:,} samples x {steps:,} steps would count about {total:.3g} "
                            f"dense operations, more than the 64-bit integers its exact counts are "
                            f"kept in hold; use fewer samples or steps")


def step_chunks(T: int, steps=None, seconds: float = STEP_SECONDS, first: int = 256):
    """Yield step ranges ``(t0, t1)`` covering ``0 .. T``: of ``steps`` steps each when given,
    else sized from the time the previous range took (the caller's work between yields) so that
    each takes about ``seconds`` (starting with ``first`` steps, growing at most 8x a time)."""
    if steps is not None and steps < 1:
        raise ValueError(f"steps = {steps} must be >= 1")
    t = 0
    n = steps or min(first, T)
    while t < T:
        t1 = min(T, t + n)
        tic = time.perf_counter()
        yield t, t1
        if steps is None:
            done = t1 - t
            dt = time.perf_counter() - tic
            n = max(1, min(8 * done, int(done * seconds / dt) if dt > 0 else 8 * done))
        t = t1


class BatchRunner:
    def run(self, table, record=(), progress=False, chunk=None, step_chunk=None, keep_queue=False):
        """Run on an :class:`~eventsim.inputs.InputTable`; returns a dict of arrays.

        Samples run in chunks (``chunk`` samples each; with ``progress`` about 1/20 of the
        batch, else as many as the carried state allows), each chunk in ranges of steps
        (``step_chunk`` steps each, default: about :data:`STEP_SECONDS` of work each). With
        ``progress`` a progress bar counts samples, or steps when one chunk holds every
        sample. Results are the same whatever the chunks.
        """
        from ..inputs import check_memory

        B, T = table.n_samples, table.n_steps
        check_counts(B, T, self._ops_per_step())
        size = self._chunk_size(B, T, record, progress, chunk)
        check_memory(self.run_bytes(B, T, record, keep_queue, size),
                     f"a run of {B:,} samples x {T:,} steps (outputs, records and event queues)",
                     "use fewer samples or steps, record less, or smaller delays")
        by_steps = progress and size >= B
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = (tqdm(total=T, unit="step", desc="simulate", leave=False) if by_steps
                   else tqdm(total=B, unit="sample", desc="simulate", leave=False))
        parts = []
        try:
            for b0 in range(0, B, size):
                b1 = min(B, b0 + size)
                job = self._start(table, b0, b1, record, keep_queue)
                for t0, t1 in step_chunks(T, step_chunk):
                    self._advance(job, t0, t1)
                    if by_steps:
                        bar.update(t1 - t0)
                parts.append(self._collect(job))
                if bar is not None and not by_steps:
                    bar.update(b1 - b0)
        finally:
            if bar is not None:
                bar.close()
        return parts[0] if len(parts) == 1 else self._merge(parts)

    def _chunk_size(self, B, T, record, progress=False, chunk=None):
        import numba
        threads = numba.get_num_threads()
        carried = self._sample_bytes(T, record)[1]
        size = chunk or (max(threads, -(-B // 20)) if progress else B)
        return max(1, min(size, B, max(threads, CHUNK_BYTES // max(carried, 1))))

    def run_bytes(self, B, T, record=(), keep_queue=False, size=None):
        """About the memory a run of ``B`` samples x ``T`` steps allocates (outputs, records,
        the carried state of one sample chunk), for checking before allocating anything."""
        kept, carried = self._sample_bytes(T, record)
        size = self._chunk_size(B, T, record) if size is None else size
        return B * (kept + (carried if keep_queue else 0)) + size * carried

    def final_queues(self, table, step_chunk=None):
        """The event queue of each sample of ``table`` after its last step (a list of
        :class:`~eventsim.engine.queue.EventQueue`; for checking the queue's invariants)."""
        return self.run(table, (), step_chunk=step_chunk, keep_queue=True)["queues"]
