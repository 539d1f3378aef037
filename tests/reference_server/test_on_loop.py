"""The greenlet bridge that runs the room service on the event loop (``on_loop``): answers,
errors and cancellations reach the right place, calls interleave at their waits, and
``wait_for`` refuses to run anywhere else."""

from __future__ import annotations

import asyncio
from collections.abc import Generator

import pytest

from rooms_kit.reference_server.on_loop import LoopRunner, inside, wait_for

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""


async def _value_later(value: object, delay: float = 0) -> object:
    await asyncio.sleep(delay)
    return value


async def _refuse_later(message: str) -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def test_a_call_returns_what_its_function_returns_after_its_waits() -> None:
    def work(number: int) -> tuple[object, ...]:
        assert inside()
        first = wait_for(_value_later(number))
        second = wait_for(_value_later(number * 10))
        return (first, second, inside())

    answer = asyncio.run(LoopRunner().call(work, 4))
    assert answer == (4, 40, True)
    assert not inside()


def test_an_awaited_error_is_raised_where_the_function_waits() -> None:
    caught: list[str] = []

    def work() -> str:
        try:
            wait_for(_refuse_later("no room"))
        except ValueError as exc:
            caught.append(str(exc))
        return "handled"

    assert asyncio.run(LoopRunner().call(work)) == "handled"
    assert caught == ["no room"]


def test_an_error_of_the_function_reaches_the_caller() -> None:
    def work() -> None:
        wait_for(_value_later(1))
        raise KeyError("gone")

    with pytest.raises(KeyError, match="gone"):
        asyncio.run(LoopRunner().call(work))


def test_calls_interleave_at_their_waits() -> None:
    """Forty calls, each waiting twice for times that finish out of order: every call gets its
    own answers, and they all run on the loop's one thread at once."""
    runner = LoopRunner()
    running = 0
    most = 0

    def work(number: int) -> tuple[int, object, object]:
        nonlocal running, most
        running += 1
        most = max(most, running)
        first = wait_for(_value_later(number, delay=(number % 7) / 1000))
        second = wait_for(_value_later(-number, delay=(number % 3) / 1000))
        running -= 1
        return number, first, second

    async def main() -> list[tuple[int, object, object]]:
        async with asyncio.timeout(HANG_SECONDS):
            return await asyncio.gather(*(runner.call(work, n) for n in range(40)))

    answers = asyncio.run(main())
    assert answers == [(n, n, -n) for n in range(40)]
    assert most == 40


def test_a_cancelled_call_runs_its_cleanup_and_its_caller_sees_the_cancellation() -> None:
    """A transaction's rollback is itself awaited: it must still run after the cancellation."""
    steps: list[str] = []

    def work() -> None:
        try:
            wait_for(asyncio.sleep(HANG_SECONDS))
            steps.append("not reached")
        finally:
            steps.append(str(wait_for(_value_later("cleaned up"))))

    async def main() -> None:
        call = asyncio.ensure_future(LoopRunner().call(work))
        await asyncio.sleep(0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())
    assert steps == ["cleaned up"]


def test_wait_for_refuses_to_run_outside_a_call() -> None:
    waiting = _value_later(1)
    try:
        with pytest.raises(RuntimeError, match=r"only for code run by LoopRunner\.call"):
            wait_for(waiting)
    finally:
        waiting.close()
    assert not inside()


class _Pending:
    """An awaitable that waits for as long as nobody resumes it (no event loop needed)."""

    def __await__(self) -> Generator[str, object, object]:
        return (yield "waiting")


def test_an_abandoned_call_ends_its_cleanup_without_awaiting() -> None:
    """A call whose coroutine is closed before it finishes (its task dropped, its loop gone)
    can await nothing more: every wait of the function's cleanup fails at once, so the cleanup
    still ends (a transaction's connection is closed rather than rolled back) instead of the
    greenlet staying suspended for ever with what it holds."""
    steps: list[str] = []

    def work() -> None:
        try:
            wait_for(_Pending())
        finally:
            try:
                wait_for(_Pending())  # a rollback, say
                steps.append("not reached")
            except GeneratorExit:
                steps.append("the cleanup's wait failed at once")
                raise
            finally:
                steps.append("released")

    call = LoopRunner().call(work)
    assert call.send(None) == "waiting"
    call.close()  # what dropping a pending task does to its coroutine
    assert steps == ["the cleanup's wait failed at once", "released"]
