"""What every unit model's compiled network shares around its kernel: a batch run in sample
chunks under a progress bar, and the final event queues for checking their invariants.

A compiled unit model subclasses :class:`BatchRunner` and supplies ``_run_rows(table, row_of,
record, keep_queue=False)`` (one kernel call on some samples, returning a dict) and
``_merge(parts)`` (join the dicts of consecutive sample chunks).
"""
from __future__ import annotations


class BatchRunner:
    def run(self, table, record=(), progress=False, chunk=None):
        """Run on an :class:`~eventsim.inputs.InputTable`; returns a dict of arrays.

        With ``progress`` the samples run in chunks (``chunk`` samples each,
        default about 1/20 of the batch) under a progress bar; results are the same.
        """
        B = table.row_of.shape[0]
        if not progress or B < 2:
            return self._run_rows(table, table.row_of, record)
        from tqdm.auto import tqdm

        import numba
        chunk = chunk or max(numba.get_num_threads(), -(-B // 20))
        parts = []
        with tqdm(total=B, unit="sample", desc="simulate", leave=False) as bar:
            for b0 in range(0, B, chunk):
                parts.append(self._run_rows(table, table.row_of[b0:b0 + chunk], record))
                bar.update(min(chunk, B - b0))
        return self._merge(parts)

    def final_queues(self, table):
        """The event queue of each sample of ``table`` after its last step (a list of
        :class:`~eventsim.engine.queue.EventQueue`; for checking the queue's invariants)."""
        return self._run_rows(table, table.row_of, (), keep_queue=True)["queues"]
