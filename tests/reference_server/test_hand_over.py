"""The thread hand-over for blocking store calls (PostgreSQL, ``:memory:``): answers and errors
reach their own caller, the threads run side by side, and closing finishes what was handed over."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from rooms_kit.reference_server.app import MEMORY_THREADS, create_reference_app
from rooms_kit.reference_server.hand_over import HandOverClosed, ThreadHandOver

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""


def test_answers_and_errors_reach_their_own_callers() -> None:
    hand_over = ThreadHandOver(3)

    def work(number: int) -> int:
        if number % 5 == 0:
            raise ValueError(f"refused {number}")
        return number * 2

    async def main() -> list[object]:
        return await asyncio.gather(
            *(hand_over.call(work, n) for n in range(40)), return_exceptions=True
        )

    try:
        answers = asyncio.run(main())
    finally:
        hand_over.close()
    for number, answer in enumerate(answers):
        if number % 5 == 0:
            assert isinstance(answer, ValueError) and str(answer) == f"refused {number}"
        else:
            assert answer == number * 2


def test_the_threads_run_calls_side_by_side() -> None:
    """Four calls that can only finish together finish: there are four threads, not one."""
    hand_over = ThreadHandOver(4)
    together = threading.Barrier(4)

    def meet() -> str:
        together.wait(HANG_SECONDS)  # broken (and raising) if fewer threads run the calls
        return threading.current_thread().name

    async def main() -> list[str]:
        return await asyncio.gather(*(hand_over.call(meet) for _ in range(4)))

    try:
        names = asyncio.run(main())
    finally:
        hand_over.close()
    assert len(set(names)) == 4
    assert all(name.startswith("rooms-kit-store-") for name in names)


def test_close_finishes_the_calls_handed_over_then_refuses_new_ones() -> None:
    hand_over = ThreadHandOver(1)
    finished: list[int] = []

    def slow(number: int) -> None:
        time.sleep(0.01)
        finished.append(number)

    async def hand(count: int) -> None:
        # handed over without waiting for the answers; the loop is closed before they come
        calls = [asyncio.ensure_future(hand_over.call(slow, number)) for number in range(count)]
        await asyncio.sleep(0)
        assert not any(call.done() for call in calls)

    asyncio.run(hand(5))
    hand_over.close()
    assert finished == [0, 1, 2, 3, 4]

    async def late() -> None:
        await hand_over.call(slow, 99)

    with pytest.raises(HandOverClosed):
        asyncio.run(late())
    hand_over.close()  # a second close is harmless


def test_a_cancelled_caller_loses_only_its_answer() -> None:
    hand_over = ThreadHandOver(1)
    started, release = threading.Event(), threading.Event()

    def blocked() -> str:
        started.set()
        release.wait(HANG_SECONDS)
        return "done"

    async def main() -> str:
        first = asyncio.ensure_future(hand_over.call(blocked))
        while not started.is_set():
            await asyncio.sleep(0.001)
        first.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await hand_over.call(str.upper, "next")  # the thread goes on serving

    try:
        assert asyncio.run(main()) == "NEXT"
    finally:
        hand_over.close()


def test_the_reference_server_hands_memory_calls_to_its_threads(tmp_path: Path) -> None:
    memory = create_reference_app(":memory:", dev_tokens=True)
    on_file = create_reference_app(tmp_path / "rooms.db", dev_tokens=True)
    try:
        assert memory.hand_over is not None and memory.writer is None
        assert len(memory.hand_over._threads) == MEMORY_THREADS
        assert on_file.hand_over is None and on_file.writer is not None  # group commit instead
    finally:
        memory.close()
        on_file.close()
    with pytest.raises(HandOverClosed):
        asyncio.run(memory.hand_over.call(str, 1))


def test_zero_threads_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        ThreadHandOver(0)
