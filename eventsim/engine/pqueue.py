"""A priority queue for continuous time: an indexed binary heap (Numba).

The continuous-time EGRU (SPEC §6) needs a queue whose entries can be moved: a
unit's predicted threshold crossing is rescheduled (or removed) whenever an input
reaches the unit first. The calendar queue of :mod:`eventsim.engine.queue` holds
integer steps only; this is its continuous-time sibling.

Entry. ``(t, key, payload)``: ``t`` a float64 time, ``key`` an int64 that breaks ties
(the queue orders by ``(t, key)``, lexicographically; equal ``(t, key)`` pairs pop in
an unspecified order, so callers make keys unique), ``payload`` an int64 the caller
reads back. Each entry lives in a *slot* (an int, stable while the entry is queued),
so a caller that keeps the slot of an entry can :func:`pq_remove` it or
:func:`pq_update` its time and key in O(log n).

Layout. A queue is a plain tuple of arrays (``cache=True`` works on it):
``(t, key, payload, pos, heap, free, size)``: ``t``/``key``/``payload`` by slot,
``pos[slot]`` the slot's heap position (-1 when free), ``heap[i]`` the slot at heap
position ``i``, ``free`` a stack of free slots and ``size = [queued, free count]``.
:func:`pq_reserve` returns a larger queue when it is full (call it before
:func:`pq_push`; slots keep their numbers).

Why a heap and not ``sortedcontainers.SortedList``: both give O(log n) push, pop and
remove, but the engine's loop is a Numba kernel, which can call the heap and cannot
call a SortedList (a Python object). Measured on the same push/pop/reschedule workload
(``benchmarks/bench_ctegru.py``, ``queue`` in ``benchmarks/results/ctegru.json``): the
heap inside a Numba loop does 0.56–1.2 million operations per second, 8–22 times the
SortedList's from Python (45 000–69 000 per second, 100 to 10 000 entries queued); called
from Python one operation at a time the heap is no faster than the SortedList (Numba's
call overhead dominates), so :class:`PQueue` is for tests and docs, not for loops.

:class:`PQueue` wraps the functions for Python use (tests, docs) and carries
``_check()``, which asserts the heap invariants.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def pq_new(capacity):
    """An empty queue with room for ``capacity`` entries (it grows on demand)."""
    cap = max(int(capacity), 4)
    free = np.empty(cap, np.int64)
    for i in range(cap):
        free[i] = cap - 1 - i  # pop order 0, 1, 2, ...
    size = np.zeros(2, np.int64)
    size[1] = cap
    return (np.zeros(cap, np.float64), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
            np.full(cap, -1, np.int64), np.full(cap, -1, np.int64), free, size)


@njit(cache=True)
def pq_reserve(q):
    """``q`` itself when it has a free slot, else a copy with twice the room."""
    t, key, payload, pos, heap, free, size = q
    if size[1] > 0:
        return q
    cap = t.size
    new = 2 * cap
    t2 = np.zeros(new, np.float64)
    k2 = np.zeros(new, np.int64)
    p2 = np.zeros(new, np.int64)
    pos2 = np.full(new, -1, np.int64)
    heap2 = np.full(new, -1, np.int64)
    free2 = np.empty(new, np.int64)
    t2[:cap] = t
    k2[:cap] = key
    p2[:cap] = payload
    pos2[:cap] = pos
    heap2[:cap] = heap
    for i in range(cap):
        free2[i] = new - 1 - i
    size2 = np.zeros(2, np.int64)
    size2[0] = size[0]
    size2[1] = cap
    return (t2, k2, p2, pos2, heap2, free2, size2)


@njit(cache=True, inline="always")
def _less(t, key, a, b):
    return t[a] < t[b] or (t[a] == t[b] and key[a] < key[b])


@njit(cache=True)
def _sift_up(q, i):
    t, key, payload, pos, heap, free, size = q
    s = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        ps = heap[parent]
        if _less(t, key, s, ps):
            heap[i] = ps
            pos[ps] = i
            i = parent
        else:
            break
    heap[i] = s
    pos[s] = i


@njit(cache=True)
def _sift_down(q, i):
    t, key, payload, pos, heap, free, size = q
    n = size[0]
    s = heap[i]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _less(t, key, heap[child + 1], heap[child]):
            child += 1
        cs = heap[child]
        if _less(t, key, cs, s):
            heap[i] = cs
            pos[cs] = i
            i = child
        else:
            break
    heap[i] = s
    pos[s] = i


@njit(cache=True)
def pq_push(q, when, k, p):
    """Queue ``(when, k, p)`` and return its slot; ``q`` must have room (:func:`pq_reserve`)."""
    t, key, payload, pos, heap, free, size = q
    size[1] -= 1
    s = free[size[1]]
    t[s] = when
    key[s] = k
    payload[s] = p
    i = size[0]
    size[0] += 1
    heap[i] = s
    pos[s] = i
    _sift_up(q, i)
    return s


@njit(cache=True)
def pq_top(q):
    """The slot of the first entry, or -1 when the queue is empty (nothing is removed)."""
    if q[6][0] == 0:
        return -1
    return q[4][0]


@njit(cache=True)
def pq_remove(q, s):
    """Remove the entry in slot ``s`` (which must be queued); its data stay readable
    until the slot is reused."""
    t, key, payload, pos, heap, free, size = q
    i = pos[s]
    n = size[0] - 1
    size[0] = n
    last = heap[n]
    heap[n] = -1
    pos[s] = -1
    free[size[1]] = s
    size[1] += 1
    if i != n:
        heap[i] = last
        pos[last] = i
        _sift_up(q, i)
        _sift_down(q, pos[last])


@njit(cache=True)
def pq_pop(q):
    """Remove the first entry and return its slot (-1 when empty); read ``q[0][slot]``
    (time), ``q[1][slot]`` (key) and ``q[2][slot]`` (payload) before the next push."""
    s = pq_top(q)
    if s >= 0:
        pq_remove(q, s)
    return s


@njit(cache=True)
def pq_update(q, s, when, k):
    """Move the queued entry in slot ``s`` to time ``when`` and key ``k``."""
    t, key, payload, pos, heap, free, size = q
    t[s] = when
    key[s] = k
    i = pos[s]
    _sift_up(q, i)
    _sift_down(q, pos[s])


@njit(cache=True)
def pq_check(q, now):
    """0 if the invariants hold, else the number of the first one broken:
    1 a heap position does not point back to its slot, 2 a parent is after its child,
    3 an entry is earlier than ``now``, 4 the queued and free counts do not add up to
    the capacity, 5 a free slot is marked queued."""
    t, key, payload, pos, heap, free, size = q
    n = size[0]
    if n + size[1] != t.size:
        return 4
    for i in range(n):
        s = heap[i]
        if s < 0 or s >= t.size or pos[s] != i:
            return 1
        if i > 0 and _less(t, key, s, heap[(i - 1) >> 1]):
            return 2
        if t[s] < now:
            return 3
    for j in range(size[1]):
        if pos[free[j]] != -1:
            return 5
    return 0


_BROKEN = {1: "a heap position does not point back to its slot",
           2: "a parent entry is ordered after its child",
           3: "an entry is due before the current time",
           4: "queued and free slots do not add up to the capacity",
           5: "a free slot is marked as queued"}


class PQueue:
    """A Python handle on the Numba queue (tests, docs; kernels call the functions).

    >>> q = PQueue()
    >>> a = q.push(2.0, 0, payload=7); b = q.push(1.0, 5, payload=8)
    >>> q.reschedule(a, 0.5)
    >>> q.pop()
    (0.5, 0, 7)
    >>> q.remove(b); len(q)
    0
    """

    def __init__(self, capacity: int = 16):
        self.q = pq_new(capacity)

    def __len__(self) -> int:
        return int(self.q[6][0])

    def push(self, t: float, key: int = 0, payload: int = 0) -> int:
        """Queue an entry; returns its slot."""
        self.q = pq_reserve(self.q)
        return int(pq_push(self.q, float(t), int(key), int(payload)))

    def pop(self):
        """``(t, key, payload)`` of the first entry by ``(t, key)``; IndexError when empty."""
        s = pq_pop(self.q)
        if s < 0:
            raise IndexError("pop from an empty queue")
        return float(self.q[0][s]), int(self.q[1][s]), int(self.q[2][s])

    def peek(self):
        s = pq_top(self.q)
        if s < 0:
            raise IndexError("peek into an empty queue")
        return float(self.q[0][s]), int(self.q[1][s]), int(self.q[2][s])

    def _queued(self, slot: int) -> None:
        if not (0 <= slot < self.q[0].size and self.q[3][slot] >= 0):
            raise KeyError(f"slot {slot} holds no queued entry")

    def remove(self, slot: int) -> None:
        self._queued(slot)
        pq_remove(self.q, int(slot))

    def reschedule(self, slot: int, t: float, key=None) -> None:
        """Move a queued entry to time ``t`` (and ``key``, if given)."""
        self._queued(slot)
        pq_update(self.q, int(slot), float(t), int(self.q[1][slot] if key is None else key))

    def _check(self, now: float = -np.inf) -> None:
        """Assert the invariants (heap order, slot bookkeeping, nothing due before ``now``)."""
        code = int(pq_check(self.q, float(now)))
        assert code == 0, f"priority queue corrupted: {_BROKEN[code]}"
