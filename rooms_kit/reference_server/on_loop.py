"""Run the (blocking-style) room service on the event loop, its database waits awaited.

``RoomService`` and the stores are written as plain functions: a transaction executes statements
and gets rows back. On a SQLite file that is fine (reads take microseconds, writes go to one
thread). PostgreSQL answers over a socket, and running each call in a thread cost more CPU than
the call itself: the interpreter lock changes hands at every round trip, and a write makes five.

``LoopRunner.call`` instead runs the function in a greenlet of its own on the event loop's
thread. Whenever the store has to wait for PostgreSQL it calls ``wait_for(awaitable)``, which
switches back to the task that started the call; the task awaits the awaitable (psycopg's
asynchronous connection: the loop serves other requests meanwhile) and switches into the greenlet
again with the answer, or throws the error in. The function's code does not change, no thread is
involved, and a transaction still runs from its first statement to its commit in order.

Cancellation of the awaiting task (a server stopping past its grace period) is thrown into the
function at its current wait, so its ``finally`` blocks run (a transaction rolls back or its
connection is closed) before the cancellation goes on. A call whose coroutine is closed before
it ends (its task dropped) cannot await anything more: the function's cleanup is run with each of
its waits failing at once (``_abandon``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import greenlet

T = TypeVar("T")


class _Call(greenlet.greenlet):  # type: ignore[misc]  # greenlet's class is not typed as final
    """The greenlet of one ``LoopRunner.call`` (its class marks code running inside one)."""


def inside() -> bool:
    """Whether the caller runs inside ``LoopRunner.call`` (and may use ``wait_for``)."""
    return isinstance(greenlet.getcurrent(), _Call)


def wait_for(awaitable: Awaitable[T]) -> T:
    """Inside ``LoopRunner.call``: the result of ``awaitable``, awaited by the calling task."""
    current = greenlet.getcurrent()
    if not isinstance(current, _Call):
        raise RuntimeError("wait_for is only for code run by LoopRunner.call")
    return cast(T, current.parent.switch(awaitable))


ABANDONED_WAITS = 100
"""Waits an abandoned call's cleanup may still try (each fails at once) before it is left."""


def _abandon(child: _Call, step: object) -> None:
    """End ``child`` when the coroutine of its call is closed before the end (its task was
    dropped, or its loop closed): nothing can be awaited any more, so each wait the function's
    cleanup still makes fails at once with ``GeneratorExit``, and the function ends rather than
    staying suspended for ever with what it holds (a pool's connection)."""
    for _ in range(ABANDONED_WAITS):
        close = getattr(step, "close", None)
        if callable(close):
            close()  # an awaitable never awaited (no "never awaited" warning)
        if child.dead:
            return
        try:
            step = child.throw(GeneratorExit)
        except BaseException:  # nobody is left to tell: the call was dropped
            return


class LoopRunner:
    """``await runner.call(function, *args)``: ``function`` on the loop, waits awaited.

    Same interface as ``ThreadHandOver``, so the adapter can use either."""

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        child = _Call(functools.partial(function, *args, **kwargs))
        step: Any = child.switch()
        while not child.dead:
            try:
                value = await step
            except GeneratorExit:
                _abandon(child, step)
                raise
            except BaseException as exc:  # thrown in where the function waits
                step = child.throw(exc)
            else:
                step = child.switch(value)
        return cast(T, step)

    def close(self) -> None:
        """Nothing to stop: calls end with the tasks that await them."""
