"""Work on the next items of a stream while the caller works on this one.

Decoding, resizing and the mediapipe models release the GIL, so a stage run in its own thread
uses the second core while the caller's stage uses the first. Items keep their order; an
exception in the producer is raised in the caller at the item where it happened; a caller
that stops early (an exception, a cancel, a `break`) stops the producer too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
U = TypeVar("U")

_DONE = object()
_POLL_S = 0.1  # how often a blocked producer looks whether the caller has gone


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(items: Iterable[T], *, depth: int = 4) -> Generator[T, None, None]:
    """The items, produced up to `depth` ahead in a thread of their own."""
    return mapped_ahead(lambda item: item, items, depth=depth)


def mapped_ahead(
    work: Callable[[T], U], items: Iterable[T], *, depth: int = 4
) -> Generator[U, None, None]:
    """work(item) for each item in order, run up to `depth` items ahead in one other thread
    (so `work` may keep state from one item to the next)."""
    if depth < 1:
        raise ValueError("depth must be at least 1")
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(value, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(work(item)):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the caller, raised there
            put(_Failed(error))
        finally:
            # A generator is closed in the thread that ran it (a decoder releases its file).
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value = ready.get()
            if value is _DONE:
                return
            if isinstance(value, _Failed):
                raise value.error
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
