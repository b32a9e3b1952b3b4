"""``phylo_vi.util.tasks``: steps side by side in threads, results and errors as from direct calls."""
import os
import threading

import numpy as np
import pytest

from phylo_vi.util.tasks import Tasks, available_cores


def test_results_equal_direct_calls_for_any_number_of_threads():
    values = [np.arange(n, dtype=np.float64) for n in range(1, 40)]
    for threads in (1, 2, 4):
        with Tasks(threads) as tasks:
            futures = [tasks.submit(np.cumsum, value) for value in values]
            for value, future in zip(values, futures):
                assert np.array_equal(tasks.result(future), np.cumsum(value))


def test_one_thread_runs_each_step_when_submitted_in_the_callers_thread():
    ran = []
    with Tasks(1) as tasks:
        future = tasks.submit(lambda: ran.append(threading.get_ident()) or len(ran))
        assert ran == [threading.get_ident()] and future.done() and future.result() == 1


def test_two_threads_run_two_steps_at_the_same_time():
    # each step waits at a barrier for the other: only steps running together pass it (a 10 s timeout
    # raises BrokenBarrierError otherwise)
    barrier = threading.Barrier(2, timeout=10)
    with Tasks(2) as tasks:
        futures = [tasks.submit(barrier.wait) for _ in range(2)]
        assert sorted(tasks.result(future) for future in futures) == [0, 1]


def test_an_error_is_raised_by_result():
    with Tasks(2) as tasks:
        future = tasks.submit(int, "not a number")
        with pytest.raises(ValueError, match="not a number"):
            tasks.result(future)


def test_available_cores_is_the_affinity_mask():
    assert available_cores() == len(os.sched_getaffinity(0))


def _numbers_then_error(n):
    yield from range(n)
    raise ValueError("bad item")


def test_ahead_gives_the_items_in_order_and_the_error_where_it_arose():
    for threads in (1, 2):
        with Tasks(threads) as tasks:
            assert list(tasks.ahead(iter(range(1000)), depth=3)) == list(range(1000))
            seen = []
            with pytest.raises(ValueError, match="bad item"):
                for item in tasks.ahead(_numbers_then_error(50)):
                    seen.append(item)
            assert seen == list(range(50))


def test_ahead_stops_producing_when_the_consumer_stops():
    produced = []

    def numbers():
        for i in range(10_000):
            produced.append(i)
            yield i

    with Tasks(2) as tasks:
        stream = tasks.ahead(numbers(), depth=2)
        assert [next(stream) for _ in range(5)] == list(range(5))
        stream.close()
    # the producer stopped: past the 5 items taken, at most the queue's depth and the one it was putting
    assert len(produced) <= 5 + 2 + 1


def test_leaving_after_the_consumer_failed_stops_the_producer():
    # a consumer that fails with its stream still open: leaving the context must stop the producer,
    # else joining the worker would hang (checked from a thread with a timeout)
    outcome = []

    def consume():
        try:
            with Tasks(2) as tasks:
                stream = tasks.ahead(iter(range(10**7)), depth=2)
                next(stream)  # the stream stays open while the context is left
                raise RuntimeError("consumer failed")
        except RuntimeError as error:
            outcome.append(error)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive() and len(outcome) == 1
