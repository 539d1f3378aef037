"""The one thread that fires the thread-side statement bounds (``postgres_watch._Watchdog``):
alarms fire once, in deadline order, never after being disarmed, and disarmed ones do not pile
up; the bounds of the mute-database tests rest on it."""

from __future__ import annotations

import os
import threading
import time

import pytest

from rooms_kit.reference_server.postgres_watch import _WATCHDOG, _Watchdog

HANG_SECONDS = 30.0
"""Only a guard against a hang, never a measurement."""


def test_alarms_fire_once_in_deadline_order_and_a_disarmed_one_never() -> None:
    watchdog = _Watchdog()
    fired: list[str] = []
    done = threading.Event()

    def note(name: str) -> None:
        fired.append(name)
        if name == "last":
            done.set()

    watchdog.arm(0.3, lambda: note("last"))
    watchdog.arm(0.1, lambda: note("second"))
    cancelled = watchdog.arm(0.05, lambda: note("disarmed"))
    watchdog.arm(0.0, lambda: note("first"))
    watchdog.disarm(cancelled)
    assert done.wait(HANG_SECONDS)
    time.sleep(0.05)  # room for a wrong extra call to show
    assert fired == ["first", "second", "last"]


def test_one_thread_serves_every_alarm() -> None:
    watchdog = _Watchdog()
    threads: set[int] = set()
    count = threading.Semaphore(0)

    def note() -> None:
        threads.add(threading.get_ident())
        count.release()

    for number in range(50):
        watchdog.arm(0.001 * number, note)
    for _ in range(50):
        assert count.acquire(timeout=HANG_SECONDS)
    assert len(threads) == 1
    assert threading.get_ident() not in threads


def test_disarmed_alarms_do_not_pile_up() -> None:
    """A bound is armed and disarmed for every statement, 40 s ahead: without clearing them,
    a busy process would hold every statement of the last 40 s."""
    watchdog = _Watchdog()
    for _ in range(10_000):
        watchdog.disarm(watchdog.arm(40.0, lambda: None))
    assert len(watchdog._heap) <= 130


def test_an_alarm_sooner_than_the_one_waited_for_wakes_the_thread() -> None:
    watchdog = _Watchdog()
    fired = threading.Event()
    watchdog.arm(HANG_SECONDS * 10, lambda: None)  # the thread now sleeps toward this one
    time.sleep(0.05)
    watchdog.arm(0.0, fired.set)
    assert fired.wait(HANG_SECONDS)


def test_an_alarm_that_raises_leaves_the_others_armed(caplog: pytest.LogCaptureFixture) -> None:
    """The thread outlives a failing alarm: before, it died with it, and the alarms already
    armed (statements hanging on a mute database) never fired until another one was armed."""
    watchdog = _Watchdog()
    fired = threading.Event()

    def fail() -> None:
        raise OSError("a bound that breaks")

    watchdog.arm(0.0, fail)
    watchdog.arm(0.2, fired.set)
    assert fired.wait(HANG_SECONDS)
    assert "a statement bound failed as it fired" in caplog.text


def test_a_forked_child_never_fires_its_parents_alarms() -> None:
    """The child starts with no alarm: its parent's would shut down sockets the two share."""
    read, write = os.pipe()

    def say(what: bytes) -> None:
        os.write(write, what)

    parents = _WATCHDOG.arm(0.2, lambda: say(b"parent "))
    pid = os.fork()
    if pid == 0:  # the child: one alarm of its own, then time for the parent's to come due
        try:
            _WATCHDOG.arm(0.3, lambda: say(b"child"))
            time.sleep(0.6)
        finally:
            os._exit(0)
    _WATCHDOG.disarm(parents)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        assert pipe.read() == b"child"
    assert status == 0
