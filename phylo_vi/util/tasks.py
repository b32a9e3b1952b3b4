"""Independent steps of a computation side by side in threads, or one after another with one thread.

The steps handed to :class:`Tasks` spend their time in Numba kernels compiled with ``nogil=True``
(tree parsing, SBN-EM E-steps, ESS loops), so threads of one process run them on separate cores.
Each step computes the same numbers whatever runs beside it: results do not depend on the number of
threads. ``threads`` counts the caller's thread: ``threads - 1`` workers take steps in submission
order, and a thread waiting for a result (:meth:`Tasks.result`) runs queued steps meanwhile, so no
core idles while steps wait. With one thread a step runs when it is submitted, in the caller's thread.
"""
from __future__ import annotations

import os
import queue
import threading
from collections import deque
from concurrent.futures import Future
from typing import Callable, Iterable, Iterator

_END = object()  # end of a produced stream


def available_cores() -> int:
    """The cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` where that is missing)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _run(future: Future, step: Callable, args: tuple, kwargs: dict) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(step(*args, **kwargs))
    except BaseException as error:  # handed to result(), whichever thread ran the step
        future.set_exception(error)


class Tasks:
    """Steps run by ``threads`` threads, the caller's included (a context manager: leaving it cancels the steps
    not started and waits for the running ones)."""

    def __init__(self, threads: int) -> None:
        self.threads = max(1, int(threads))
        self._queue: deque = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._leaving = threading.Event()  # set on leaving the context: producers of ahead() stop
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"phylo-vi-task-{i}")
                         for i in range(self.threads - 1)]
        for worker in self._workers:
            worker.start()

    def submit(self, step: Callable, *args, **kwargs) -> Future:
        """``step(*args, **kwargs)`` as a future (run at once with one thread, else queued)."""
        future: Future = Future()
        if not self._workers:
            _run(future, step, args, kwargs)
            return future
        with self._ready:
            self._queue.append((future, step, args, kwargs))
            self._ready.notify()
        return future

    def result(self, future: Future):
        """The result of ``future`` (its exception raised); this thread runs queued steps until it is done."""
        while not future.done():
            item = self._take(block=False)
            if item is None:
                break
            _run(*item)
        return future.result()

    def ahead(self, items: Iterable, depth: int = 2) -> Iterator:
        """The items of ``items`` in order, produced up to ``depth`` ahead of the consumer by a step on a worker
        (with one thread: as they come). An exception of ``items`` is raised where its item would have come."""
        if not self._workers:
            yield from items
            return
        produced: queue.Queue = queue.Queue(maxsize=depth)
        stop = threading.Event()

        def put(entry) -> bool:
            while not (stop.is_set() or self._leaving.is_set()):
                try:
                    produced.put(entry, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                for item in items:
                    if not put((item, None)):
                        return
            except BaseException as error:  # re-raised by the consumer
                put((_END, error))
                return
            put((_END, None))

        self.submit(produce)
        try:
            while True:
                item, error = produced.get()
                if item is _END:
                    if error is not None:
                        raise error
                    return
                yield item
        finally:
            stop.set()

    def _take(self, block: bool):
        with self._ready:
            while block and not self._queue and not self._closed:
                self._ready.wait()
            return self._queue.popleft() if self._queue else None

    def _work(self) -> None:
        while (item := self._take(block=True)) is not None:
            _run(*item)

    def __enter__(self) -> "Tasks":
        return self

    def __exit__(self, *exc_info) -> None:
        self._leaving.set()
        with self._ready:
            self._closed = True
            for future, *_ in self._queue:
                future.cancel()
            self._queue.clear()
            self._ready.notify_all()
        for worker in self._workers:
            worker.join()
