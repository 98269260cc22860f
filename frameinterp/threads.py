"""Threads joined by bounded queues: a producer thread to iterate, a consumer thread to feed.

The bounds keep memory flat however far one stage runs ahead; errors cross to the caller's
thread and are raised there; ``close``/``abandon`` always join the thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

__all__ = ["ThreadedConsumer", "ThreadedIterator"]

T = TypeVar("T")
_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadedIterator(Generic[T]):
    """Runs a generator in a thread, handing items over through a bounded queue.

    The queue bound keeps memory flat; ``close`` stops the producer and joins it, and an error in
    the producer is raised again in the consumer.
    """

    def __init__(self, produce: Callable[[threading.Event], Iterator[T]], maxsize: int, name: str):
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._produce = produce
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._produce(self._stop):
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as error:  # handed to the consumer, which re-raises it
            self._put(_Failure(error))

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the producer and wait for its thread to end."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join()


class ThreadedConsumer(Generic[T]):
    """Feeds items to ``consume`` in a worker thread through a bounded queue.

    ``put`` blocks when the worker falls behind (bounded memory) and raises the worker's error if
    it has failed; ``finish`` waits for every item to be consumed.
    """

    def __init__(self, consume: Callable[[T], None], maxsize: int, name: str) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._consume = consume
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None:
                continue  # drain after a failure so that producers never block forever
            try:
                self._consume(item)
            except BaseException as error:  # re-raised in the producer's thread
                self._error = error

    def put(self, item: T) -> None:
        """Queue ``item``; raise the worker's error if it has failed."""
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    raise RuntimeError(f"thread {self._thread.name} ended unexpectedly") from None

    def finish(self) -> None:
        """Wait until every queued item is consumed; raise the worker's error if any."""
        self._queue.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop after the items already queued are dropped (used when the job is failing)."""
        self._error = self._error or _Abandoned()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._queue.put(_DONE)
        self._thread.join()


class _Abandoned(Exception):
    pass
