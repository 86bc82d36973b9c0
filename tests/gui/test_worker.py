"""The one worker module: signals, errors, cancellation, bounded stop."""

from __future__ import annotations

import time

import pytest

from dfecs_app.core.progress import Progress
from dfecs_app.errors import InputError
from dfecs_app.gui.worker import Worker, running_workers, start_worker, stop_all


def _count(n: int, state) -> int:  # noqa: ANN001
    total = 0
    for i in range(n):
        total += i
        state.report("count", (i + 1) / n, f"step {i + 1}", force=True, i=i)
    return total


def test_function_worker_reports_progress_and_returns(qtbot) -> None:  # noqa: ANN001
    got: list[Progress] = []
    w = Worker(_count, 5, name="count")
    returned: list = []
    w.yielded.connect(got.append)
    w.returned.connect(returned.append)
    with qtbot.waitSignals([w.returned, w.finished], order="strict", timeout=5000):
        w.start()
    assert returned == [10]
    assert [p.info["i"] for p in got] == [0, 1, 2, 3, 4]
    assert got[-1].fraction == 1.0 and got[-1].stage == "count"
    assert w.result == 10 and not running_workers()


def test_generator_worker_yields_values(qtbot) -> None:  # noqa: ANN001
    def gen(n):  # noqa: ANN001, ANN202
        for i in range(n):
            yield i * i
        return "done"

    got: list[int] = []
    w = Worker(gen, 4, name="squares", pass_state=False)
    w.yielded.connect(got.append)
    with qtbot.waitSignal(w.returned, timeout=5000) as blocker:
        w.start()
    qtbot.waitUntil(lambda: not running_workers(), timeout=5000)
    assert got == [0, 1, 4, 9] and blocker.args == ["done"]


def test_error_comes_back_as_signal_not_dead_thread(qtbot) -> None:  # noqa: ANN001
    def bad(state):  # noqa: ANN001, ANN202
        state.report("x", 0.0)
        raise InputError("column 3 is not a number", "data.csv", line=7, field="x_3")

    w = Worker(bad, name="bad")
    returned: list = []
    w.returned.connect(returned.append)
    with qtbot.waitSignal(w.errored, timeout=5000) as blocker:
        w.start()
    qtbot.waitUntil(w.isFinished, timeout=5000)
    err = blocker.args[0]
    assert isinstance(err, InputError)
    assert str(err) == "data.csv:7: [x_3] column 3 is not a number"
    assert "InputError" in w.error_traceback and returned == []


def test_cancel_stops_between_steps(qtbot) -> None:  # noqa: ANN001
    steps: list[int] = []

    def slow(state):  # noqa: ANN001, ANN202
        for i in range(1000):
            state.report("slow", i / 1000, force=True)
            steps.append(i)
            time.sleep(0.005)
        return "finished"

    w = start_worker(slow, name="slow")
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=5000)
    returned: list = []
    w.returned.connect(returned.append)
    with qtbot.waitSignal(w.aborted, timeout=5000):
        w.cancel()
    qtbot.waitUntil(w.isFinished, timeout=5000)
    assert w.was_cancelled and returned == [] and 3 <= len(steps) < 1000


def test_progress_is_throttled(qtbot) -> None:  # noqa: ANN001
    def chatty(state):  # noqa: ANN001, ANN202
        for i in range(20000):
            state.report("chatty", i / 20000)
        return True

    got: list = []
    w = Worker(chatty, name="chatty", min_interval=0.05)
    w.yielded.connect(got.append)
    with qtbot.waitSignal(w.returned, timeout=10000):
        w.start()
    qtbot.waitUntil(w.isFinished, timeout=5000)
    assert len(got) < 200  # 20,000 reports, at most one per 50 ms get through


def test_stop_all_is_bounded(qtbot) -> None:  # noqa: ANN001
    def forever(state):  # noqa: ANN001, ANN202
        while True:
            state.report("loop")
            time.sleep(0.01)

    ws = [start_worker(forever, name=f"loop{i}") for i in range(2)]
    qtbot.waitUntil(lambda: all(w.isRunning() for w in ws), timeout=5000)
    t0 = time.perf_counter()
    assert stop_all(5000)
    assert time.perf_counter() - t0 < 2.0
    assert all(w.isFinished() and w.was_cancelled for w in ws)
    qtbot.waitUntil(lambda: not running_workers(), timeout=5000)


@pytest.mark.parametrize("pass_state", [True, False])
def test_plain_function_without_reports_still_cancellable_at_end(qtbot, pass_state) -> None:  # noqa: ANN001
    def quick(state=None):  # noqa: ANN001, ANN202
        time.sleep(0.2)
        return 1

    w = Worker(quick, name="quick", pass_state=pass_state)
    with qtbot.waitSignal(w.aborted, timeout=5000):
        w.start()
        w.cancel()
    qtbot.waitUntil(w.isFinished, timeout=5000)
    assert w.result is None
