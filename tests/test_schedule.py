"""The schedule (``_runtime.schedule``): its rules, and measuring functions that run as
sequential code outside one."""

import threading

import pytest

from chaosgrad._runtime import schedule as _schedule
from chaosgrad._runtime.schedule import SEQUENTIAL, Schedule, current


class _Program:
    def __init__(self, tag):
        self.tag, self.started, self.joined = tag, 0, 0

    def start(self):
        self.started += 1
        return self

    def join(self):
        self.joined += 1


def test_outside_a_schedule_nothing_runs_ahead_or_beside():
    assert current() is SEQUENTIAL
    assert SEQUENTIAL.program("anything") is None
    SEQUENTIAL.on("event", lambda: pytest.fail("a handler outside a schedule must never run"))
    SEQUENTIAL.announce("event")
    assert SEQUENTIAL.take("role", lambda x: x + 1, 1) == 2
    with pytest.raises(RuntimeError):
        SEQUENTIAL.compile("role", _Program("p"))


def test_programs_are_joined_by_role_and_by_match():
    a, b = _Program(1), _Program(2)
    with Schedule() as schedule:
        assert current() is schedule
        schedule.compile("growth", a)
        schedule.compile("growth", b)
        assert a.started == b.started == 1
        assert schedule.program("growth", matches=lambda p: p.tag == 2) is b
        assert (a.joined, b.joined) == (0, 1)
        assert schedule.program("growth") is b  # rule 2: every program of the role is joined
        assert a.joined == 1
        assert schedule.program("other") is None
    assert current() is SEQUENTIAL


def test_handlers_run_once_in_order_and_first_goes_first():
    calls = []
    with Schedule() as schedule:
        schedule.on("lowered", lambda: calls.append("second"))
        schedule.on("lowered", lambda: calls.append("first"), first=True)
        schedule.on("time", lambda time: calls.append(time))
        schedule.announce("lowered")
        schedule.announce("lowered")  # rule 3: once
        schedule.announce("time", time=2.5)
    assert calls == ["first", "second", 2.5]


def test_a_started_measurement_is_taken_once_and_the_rest_discarded(monkeypatch):
    import chaosgrad._runtime.concurrent as concurrent

    monkeypatch.setattr(concurrent, "compiling_in_background", lambda: False)
    release = threading.Event()
    with Schedule() as schedule:
        schedule.start("spectrum", lambda: 42)
        schedule.start("members", lambda: release.wait(10) and 7)
        assert schedule.take("spectrum", lambda: pytest.fail("started: not recomputed")) == 42
        assert schedule.take("spectrum", lambda: 43) == 43  # rule 4: handed out once
        release.set()  # the member measurement is never taken: discarded on exit


def test_schedules_nest_and_threads_do_not_inherit_one():
    seen = []
    with Schedule() as outer:
        with Schedule() as inner:
            assert current() is inner
            thread = threading.Thread(target=lambda: seen.append(current()))
            thread.start()
            thread.join()
        assert current() is outer
    assert seen == [_schedule.SEQUENTIAL]
