"""The read-ahead helper the remix pipeline streams its frames through."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from generation.pipeline.prefetch import mapped_ahead, prefetched


def test_items_come_back_in_order_having_been_worked_in_another_thread() -> None:
    workers: set[str] = set()

    def square(n: int) -> int:
        workers.add(threading.current_thread().name)
        return n * n

    assert list(mapped_ahead(square, range(50), depth=3)) == [n * n for n in range(50)]
    assert workers == {"prefetch"}


def test_a_failure_in_the_producer_is_raised_where_it_happened() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("corrupt frame")

    seen: list[int] = []
    with pytest.raises(ValueError, match="corrupt frame"):
        for item in prefetched(source()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_caller_that_stops_early_stops_the_producer_and_closes_its_source() -> None:
    pulled: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for n in range(1000):
                pulled.append(n)
                yield n
        finally:
            closed.set()

    stream = prefetched(source(), depth=2)
    assert next(stream) == 0
    stream.close()  # what a `break` or an exception in the caller's loop does
    assert closed.is_set()
    assert len(pulled) <= 5  # one handed over, two queued, one waiting to be put


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError):
        list(prefetched([1], depth=0))
