"""The one thread that fires the thread-side statement bounds (``postgres_watch._Watchdog``):
alarms fire once, in deadline order, never after being disarmed, and disarmed ones do not pile
up; the bounds of the mute-database tests rest on it."""

from __future__ import annotations

import threading
import time

from rooms_kit.reference_server.postgres_watch import _Watchdog

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
