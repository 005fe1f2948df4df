"""The continuous-time priority queue (eventsim.engine.pqueue) against a sorted-list model."""
import numpy as np
import pytest

from eventsim.engine.pqueue import PQueue


def test_random_operations_match_a_sorted_list():
    rng = np.random.default_rng(12)
    q = PQueue(capacity=4)  # grows on the way
    model = {}  # slot -> (t, key, payload)
    for step in range(3000):
        op = rng.random()
        if op < 0.45 or not model:
            t, k = float(rng.integers(0, 50)) / 7, int(rng.integers(0, 1000))
            s = q.push(t, k, payload=step)
            assert s not in model
            model[s] = (t, k, step)
        elif op < 0.65:
            got = q.pop()
            first = min(model.values(), key=lambda e: (e[0], e[1]))
            assert got[:2] == first[:2]
            del model[next(s for s, e in model.items() if e == got)]
        elif op < 0.85:
            s = list(model)[int(rng.integers(len(model)))]
            t, k = float(rng.random()), int(rng.integers(0, 1000))
            q.reschedule(s, t, k)
            model[s] = (t, k, model[s][2])
        else:
            s = list(model)[int(rng.integers(len(model)))]
            q.remove(s)
            del model[s]
        assert len(q) == len(model)
        if step % 97 == 0:
            q._check()
    q._check()
    out = [q.pop() for _ in range(len(q))]
    assert out == sorted(model.values(), key=lambda e: (e[0], e[1]))


def test_check_catches_a_corrupted_queue():
    q = PQueue()
    slots = [q.push(t, 0) for t in (3.0, 1.0, 2.0, 5.0, 4.0)]
    q._check()
    q._check(now=1.0)
    with pytest.raises(AssertionError, match="due before the current time"):
        q._check(now=1.5)
    q.q[0][slots[1]] = 9.0  # the root's time changed behind the heap's back
    with pytest.raises(AssertionError, match="parent entry is ordered after its child"):
        q._check()
    q.q[0][slots[1]] = 1.0
    q.q[3][slots[2]] = 0  # a slot's heap position no longer points back
    with pytest.raises(AssertionError, match="does not point back"):
        q._check()


def test_misuse_is_refused():
    q = PQueue()
    with pytest.raises(IndexError):
        q.pop()
    s = q.push(1.0)
    q.remove(s)
    with pytest.raises(KeyError, match="holds no queued entry"):
        q.remove(s)
