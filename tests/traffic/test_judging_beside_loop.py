"""Judging beside the proxy's event loop (``rooms_kit.traffic.inspections``).

An 8 MiB answer took the proxy's loop for about a second of judging, during which no other client
was served. Large exchanges, and every exchange behind one, are now judged by one worker thread in
the order they ended; small ones, when nothing waits, at once on the loop. Here the worker is held
on purpose (an inspection that waits for an event), so what is asserted does not depend on how
fast the machine judges.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rooms_kit.contract.failures import ContractFailure
from rooms_kit.traffic import serving
from rooms_kit.traffic.inspections import Inspections
from rooms_kit.traffic.seen import Seen
from rooms_kit.traffic.serving import Assembled, ProxySettings, assemble
from tests.traffic.support import LoopbackServer, ProxyRun, judge, proxy_in_front_of, room_get
from tests.traffic.test_hostile_bodies import LIMITS, SMALL_ROOM, WRONG_ROOMS, _big_and_small

HOLD_LIMIT = 60.0  # the longest any wait below may take (it only catches a hang)
HEADERS = {"Authorization": "Bearer t-1"}


def _seen(number: int, size: int = 0) -> Seen:
    return room_get(number, f"r{number}", b"x" * size, started=0.0)


class Held:
    """An inspector that notes who judged what, and holds exchange ``hold`` until released."""

    def __init__(
        self, hold: int | None = None, judged: Callable[[Seen], list[ContractFailure]] | None = None
    ) -> None:
        self.hold = hold
        self.started = threading.Event()
        self.release = threading.Event()
        self.order: list[tuple[int, str]] = []
        self._judged = judged

    def __call__(self, seen: Seen) -> list[ContractFailure]:
        if seen.number == self.hold:
            self.started.set()
            assert self.release.wait(HOLD_LIMIT)
        self.order.append((seen.number, threading.current_thread().name))
        return self._judged(seen) if self._judged else []


def test_small_exchanges_are_judged_at_once_and_large_ones_and_those_behind_them_by_the_worker() -> (
    None
):
    held = Held(hold=2)
    inspections = Inspections(held, inline_bytes=100)
    inspections.submit(_seen(1, 100))  # nothing waits, small: here, now
    assert held.order == [(1, threading.current_thread().name)]
    inspections.submit(_seen(2, 101))  # large: the worker
    assert held.started.wait(HOLD_LIMIT)
    inspections.submit(_seen(3, 10))  # small, but behind a waiting one: the worker, after it
    assert [number for number, _ in held.order] == [1]
    assert not inspections.drain(timeout=0)
    held.release.set()
    assert inspections.drain(HOLD_LIMIT)
    assert held.order[1:] == [(2, "rooms-kit-proxy-judge"), (3, "rooms-kit-proxy-judge")]
    assert inspections.judged == 3
    inspections.close()
    inspections.submit(_seen(4, 1000))  # after close: judged by the caller
    assert held.order[-1] == (4, threading.current_thread().name)


def test_close_judges_what_waits_before_it_returns() -> None:
    held = Held(hold=1)
    inspections = Inspections(held, inline_bytes=0)
    for number in (1, 2, 3):
        inspections.submit(_seen(number, 10))
    assert held.started.wait(HOLD_LIMIT)
    held.release.set()
    inspections.close()
    assert [number for number, _ in held.order] == [1, 2, 3]
    assert inspections.judged == 3


def _blocked_in_submit(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or 0)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return "submit" in names and "wait" in names


def _wait_until_blocked_in_submit(thread: threading.Thread) -> None:
    for _ in range(int(HOLD_LIMIT * 100)):
        if _blocked_in_submit(thread):
            return
        threading.Event().wait(0.01)
    raise AssertionError("the caller of submit never waited for room")


def test_what_waits_for_the_worker_is_bounded_in_bytes() -> None:
    # 8 bytes wait while the worker holds the first exchange; the next 8 would make 16 > 10, so
    # the caller waits until the worker has room (as if it judged the exchange itself)
    held = Held(hold=1)
    inspections = Inspections(held, inline_bytes=0, queued_bytes=10)
    inspections.submit(_seen(1, 8))
    assert held.started.wait(HOLD_LIMIT)
    submitter = threading.Thread(target=inspections.submit, args=(_seen(2, 8),))
    submitter.start()
    _wait_until_blocked_in_submit(submitter)
    assert submitter.is_alive()
    held.release.set()
    submitter.join(HOLD_LIMIT)
    assert not submitter.is_alive()
    inspections.close()
    assert [number for number, _ in held.order] == [1, 2]


def test_what_a_verdict_holds_besides_the_bodies_counts_against_the_bound() -> None:
    # strict mode keeps the answer as it came (to send it once judged) beside the decoded copy
    # the checks read: 8 + 8 bytes wait, and the next exchange's 1 + 8 would make 25 > 20, so
    # its caller waits (the answers held for strict verdicts were not counted: 2x the bound)
    held = Held(hold=1)
    inspections = Inspections(held, inline_bytes=0, queued_bytes=20)
    inspections.submit(_seen(1, 8), held=8)
    assert held.started.wait(HOLD_LIMIT)
    submitter = threading.Thread(target=inspections.submit, args=(_seen(2, 1),), kwargs={"held": 8})
    submitter.start()
    _wait_until_blocked_in_submit(submitter)
    held.release.set()
    submitter.join(HOLD_LIMIT)
    assert not submitter.is_alive()
    inspections.close()
    assert [number for number, _ in held.order] == [1, 2]


def test_an_inspection_that_fails_is_said_counted_and_answered_with_no_failures() -> None:
    def broken(seen: Seen) -> list[ContractFailure]:
        raise KeyError("boom")

    err = io.StringIO()
    inspections = Inspections(broken, err=err, inline_bytes=0)
    got: list[list[ContractFailure]] = []

    async def main() -> None:
        done = asyncio.Event()

        def then(failures: list[ContractFailure]) -> None:
            got.append(failures)
            done.set()

        inspections.submit(_seen(7, 1), then)
        await asyncio.wait_for(done.wait(), HOLD_LIMIT)

    asyncio.run(main())
    inspections.close()
    assert got == [[]]
    assert (inspections.defects, inspections.judged) == (1, 1)
    assert err.getvalue() == (
        "rooms-kit proxy: exchange 7 could not be judged, a defect of rooms-kit (please report "
        "it): KeyError: 'boom'\n"
    )


def test_a_verdict_from_the_worker_is_handed_to_the_loop() -> None:
    failure = ContractFailure("strict_schema", "wrong")
    inspections = Inspections(lambda seen: [failure], inline_bytes=0)
    got: list[tuple[list[ContractFailure], str]] = []

    async def main() -> None:
        done = asyncio.Event()

        def then(failures: list[ContractFailure]) -> None:
            got.append((failures, threading.current_thread().name))
            done.set()

        inspections.submit(_seen(1, 1), then)
        await asyncio.wait_for(done.wait(), HOLD_LIMIT)

    asyncio.run(main())
    inspections.close()
    assert got == [([failure], threading.current_thread().name)]


@contextmanager
def _held_proxy(strict: bool) -> Iterator[tuple[ProxyRun, Held]]:
    with (
        LoopbackServer(_big_and_small) as upstream,
        proxy_in_front_of(upstream.url, limits=LIMITS, strict=strict) as run,
    ):
        inspections = run.parts.proxy.inspections
        held = Held(hold=1, judged=run.monitor.inspect)
        inspections._inspect = held
        try:
            yield run, held
        finally:
            held.release.set()


def test_clients_are_served_while_a_big_answer_is_judged() -> None:
    # the list of 8 MiB of wrong rooms is relayed, and its judging held: meanwhile another client
    # gets two small rooms (on the old proxy the loop was busy judging for about a second); the
    # small exchanges are judged after the big one, in the order they ended
    with _held_proxy(strict=False) as (run, held):
        with httpx.Client(base_url=run.url, trust_env=False, timeout=HOLD_LIMIT) as client:
            got = client.get("/games/v1/rooms", headers=HEADERS)
            assert (got.status_code, got.content) == (200, WRONG_ROOMS)
            assert held.started.wait(HOLD_LIMIT)
            rooms = [client.get("/games/v1/rooms/small", headers=HEADERS) for _ in range(2)]
            assert [(r.status_code, r.text) for r in rooms] == [(200, SMALL_ROOM)] * 2
            assert not held.release.is_set() and held.order == [] and run.lines() == []
            held.release.set()
            run.wait(3)
        assert [number for number, _ in held.order] == [1, 2, 3]
        assert {line.split(":", 2)[1] for line in run.lines()} == {"1"}
        assert run.checks() == {"openapi_response_schema", "strict_schema"}
        assert (run.monitor.exchanges, run.monitor.defects) == (3, 0)


def test_in_strict_mode_each_answer_waits_for_its_own_verdict() -> None:
    # the big list is refused with a 502 once the worker has judged it; a small room asked for
    # meanwhile on another connection is judged after it, and then relayed unchanged
    with _held_proxy(strict=True) as (run, held):
        with (
            ThreadPoolExecutor(2) as pool,
            httpx.Client(base_url=run.url, trust_env=False, timeout=HOLD_LIMIT) as first,
            httpx.Client(base_url=run.url, trust_env=False, timeout=HOLD_LIMIT) as second,
        ):
            big = pool.submit(first.get, "/games/v1/rooms", headers=HEADERS)
            assert held.started.wait(HOLD_LIMIT)
            small = pool.submit(second.get, "/games/v1/rooms/small", headers=HEADERS)
            assert not big.done()
            held.release.set()
            refused, relayed = big.result(HOLD_LIMIT), small.result(HOLD_LIMIT)
        assert refused.status_code == 502
        assert refused.json()["error"]["errors"][0]["reason"] == "contractViolation"
        assert (relayed.status_code, relayed.text) == (200, SMALL_ROOM)
        run.wait(2)
        assert [number for number, _ in held.order] == [1, 2]
        assert run.monitor.defects == 0


@pytest.mark.parametrize("strict", [False, True])
def test_the_proxy_still_serves_and_judges_after_big_answers(strict: bool) -> None:
    with _held_proxy(strict=strict) as (run, held):
        held.release.set()
        with httpx.Client(base_url=run.url, trust_env=False, timeout=HOLD_LIMIT) as client:
            statuses = [
                client.get("/games/v1/rooms", headers=HEADERS).status_code for _ in range(2)
            ]
            small = client.get("/games/v1/rooms/small", headers=HEADERS)
        assert statuses == [502 if strict else 200] * 2
        assert (small.status_code, small.text) == (200, SMALL_ROOM)
        run.wait(3)
        assert [number for number, _ in held.order] == [1, 2, 3]


def test_a_second_interrupt_leaves_the_recording_closed_and_the_worker_quiet(
    tmp_path: Path,
) -> None:
    # Ctrl-C during the last judging (the stop's ``Assembled.close``) closed the recording while
    # the worker still judged: its next line went to a closed recorder (AssertionError, said
    # as a defect of rooms-kit; with gzip, possibly bytes after the file's end), and the worker
    # (a daemon thread) could still be writing as the interpreter ended. Now the exchange being
    # judged is finished and recorded, the one waiting behind it dropped and said, and the
    # worker has ended before the recording closes.
    record = tmp_path / "traffic.ndjson.gz"
    err = io.StringIO()
    parts, held = _held_behind(record, err)
    inspections = parts.proxy.inspections

    def interrupted() -> None:
        raise KeyboardInterrupt

    inspections.close = interrupted  # type: ignore[method-assign]

    def release_once_3_is_dropped() -> None:
        # 2 ends while the stop waits for it: once the stop has dropped 3 (a fixed 0.2 s let
        # 2 end first on a loaded machine, and the worker then judged 3 as well)
        deadline = time.monotonic() + HOLD_LIMIT
        while not inspections.dropped and time.monotonic() < deadline:
            time.sleep(0.01)
        held.release.set()

    releasing = threading.Thread(target=release_once_3_is_dropped)
    releasing.start()
    with pytest.raises(KeyboardInterrupt):
        parts.close(err)
    releasing.join()
    assert inspections._worker is None  # ended, not left running into the interpreter's end
    assert (inspections.judged, inspections.dropped, inspections.defects) == (2, 1, 0)
    assert parts.monitor.defects == 0
    assert err.getvalue() == (
        "rooms-kit proxy: interrupted during the judging: 1 exchange(s) still waiting to be "
        "judged were dropped, neither judged nor recorded\n"
    )
    with gzip.open(record, "rt") as lines:
        assert [json.loads(line)["n"] for line in lines] == [1, 2]
    assert parts.recorder is not None and parts.recorder.failure is None
    assert inspections.drain(0)  # nothing counted as waiting any more
    assert inspections._bytes == 0


def test_a_second_interrupt_does_not_wait_forever_for_the_judging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serving, "ABANDON_SECONDS", 0.1)
    err = io.StringIO()
    parts = assemble(ProxySettings(upstream="http://127.0.0.1:9"), io.StringIO(), judge(), err=err)
    inspections = parts.proxy.inspections
    held = Held(hold=1)
    inspections._inspect = held
    inspections.inline_bytes = 0
    inspections.submit(_seen(1, 10))
    assert held.started.wait(HOLD_LIMIT)

    def interrupted() -> None:
        raise KeyboardInterrupt

    inspections.close = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        parts.close(err)  # still judging 1: said, not waited for
    assert err.getvalue() == (
        "rooms-kit proxy: interrupted during the judging: the exchange being judged was left "
        "unfinished after 0.1 s\n"
    )
    held.release.set()
    assert inspections.drain(HOLD_LIMIT)
    assert (inspections.judged, inspections.dropped) == (1, 0)


class _Interrupts:
    """Real SIGINTs to this (the main) thread after each delay, as Ctrl-C sends them, while
    ``armed`` is set (so that one coming late cannot interrupt the test run itself)."""

    def __init__(self, *delays: float, sig: signal.Signals = signal.SIGINT) -> None:
        main = threading.main_thread().ident
        self.sig = sig
        assert main is not None and threading.current_thread().ident == main
        self.armed = threading.Event()
        self.armed.set()
        self.sent = threading.Event()  # the first has been sent
        self._thread = threading.Thread(target=self._send, args=(main, delays))
        self._thread.start()

    def _send(self, main: int, delays: tuple[float, ...]) -> None:
        for delay in delays:
            if self.armed.wait(0) and not self._disarmed(delay):
                signal.pthread_kill(main, self.sig)
                self.sent.set()

    def _disarmed(self, delay: float) -> bool:
        time.sleep(delay)
        return not self.armed.is_set()

    def stop(self) -> None:
        self.armed.clear()
        self._thread.join()


def _release_once_interrupted(interrupts: _Interrupts, held: Held) -> threading.Thread:
    """Exchange 2 ends while the stop, interrupted, waits for it (started here)."""

    def release() -> None:
        if interrupts.sent.wait(HOLD_LIMIT):
            time.sleep(0.5)
        held.release.set()

    releasing = threading.Thread(target=release)
    releasing.start()
    return releasing


def _held_behind(record: Path, err: io.StringIO) -> tuple[Assembled, Held]:
    """Exchange 1 judged and recorded, 2 being judged (held), 3 waiting behind it."""
    parts = assemble(
        ProxySettings(upstream="http://127.0.0.1:9", record=record), io.StringIO(), judge(), err=err
    )
    inspections = parts.proxy.inspections
    held = Held(hold=2, judged=parts.monitor.inspect)
    inspections._inspect = held
    inspections.inline_bytes = 0
    inspections.submit(_seen(1, 10))
    assert inspections.drain(HOLD_LIMIT)
    inspections.submit(_seen(2, 10))
    assert held.started.wait(HOLD_LIMIT)
    inspections.submit(_seen(3, 10))
    return parts, held


def test_a_real_second_interrupt_waits_for_the_exchange_being_judged(tmp_path: Path) -> None:
    # The Ctrl-C that lands in the stop's wait for the worker (``Thread.join``): on Python 3.11
    # an interrupted join marks the thread as ended while it still runs, so the wait that
    # followed returned at once, the recording was closed under the worker and exchange 2, being
    # judged, was lost without a word (the test above stands in for ``close`` and missed it).
    record = tmp_path / "traffic.ndjson"
    err = io.StringIO()
    parts, held = _held_behind(record, err)
    inspections = parts.proxy.inspections
    interrupts = _Interrupts(0.3)
    releasing = _release_once_interrupted(interrupts, held)
    try:
        with pytest.raises(KeyboardInterrupt):
            parts.close(err)
    finally:
        interrupts.stop()
        releasing.join()
        held.release.set()
    assert err.getvalue() == (
        "rooms-kit proxy: interrupted during the judging: 1 exchange(s) still waiting to be "
        "judged were dropped, neither judged nor recorded\n"
    )
    assert inspections._worker is None
    assert (inspections.judged, inspections.dropped, inspections.defects) == (2, 1, 0)
    assert [json.loads(line)["n"] for line in record.read_text().splitlines()] == [1, 2]
    assert inspections.drain(0) and inspections._bytes == 0


def test_a_third_interrupt_ends_the_wait_and_still_says_what_was_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C pressed a third time while the second one waits for the worker: the interrupt left
    # ``abandon`` midway, so neither the dropped exchange nor the unfinished one was said (they
    # vanished without a word). Now the third interrupt only ends the wait: both are said, the
    # recording is closed whole, and the interrupt goes on to the command (exit 130).
    monkeypatch.setattr(serving, "ABANDON_SECONDS", HOLD_LIMIT)
    record = tmp_path / "traffic.ndjson"
    err = io.StringIO()
    parts, held = _held_behind(record, err)
    inspections = parts.proxy.inspections
    interrupts = _Interrupts(0.3, 0.5)  # the second in ``close``, the third in the wait after it
    try:
        with pytest.raises(KeyboardInterrupt):
            parts.close(err)
    finally:
        interrupts.stop()
        held.release.set()
    assert err.getvalue() == (
        "rooms-kit proxy: interrupted during the judging: 1 exchange(s) still waiting to be "
        "judged were dropped, neither judged nor recorded\n"
        "rooms-kit proxy: interrupted once more: the exchange being judged was left "
        "unfinished, not recorded\n"
    )
    assert inspections.drain(HOLD_LIMIT)  # 2 ends, into a recording already closed
    assert (inspections.judged, inspections.dropped, inspections.defects) == (2, 1, 0)
    assert inspections._bytes == 0
    assert [json.loads(line)["n"] for line in record.read_text().splitlines()] == [1]
    assert parts.recorder is not None and parts.recorder.failure is None


def test_sigterm_during_the_last_judging_is_an_interrupt_too(tmp_path: Path) -> None:
    """Once the proxy's loop has ended, SIGTERM had its default action back: the process ended
    at once, the recording (gzip: its end) unwritten and nothing said. While the stop judges
    what waited, it now cuts the judging short as SIGINT does."""
    record = tmp_path / "traffic.ndjson"
    err = io.StringIO()
    parts, held = _held_behind(record, err)
    ignored = signal.signal(signal.SIGTERM, lambda *_: None)  # a late one must not end pytest
    try:
        fallback = signal.getsignal(signal.SIGTERM)
        interrupts = _Interrupts(0.3, sig=signal.SIGTERM)
        releasing = _release_once_interrupted(interrupts, held)
        try:
            with pytest.raises(KeyboardInterrupt), serving._sigterm_interrupts():
                parts.close(err)
        finally:
            interrupts.stop()
            releasing.join()
            held.release.set()
        assert signal.getsignal(signal.SIGTERM) is fallback  # given back
    finally:
        signal.signal(signal.SIGTERM, ignored)
    assert err.getvalue() == (
        "rooms-kit proxy: interrupted during the judging: 1 exchange(s) still waiting to be "
        "judged were dropped, neither judged nor recorded\n"
    )
    assert [json.loads(line)["n"] for line in record.read_text().splitlines()] == [1, 2]


class _SignalledOnDrop(Inspections):
    """Inspections that send this process ``sig`` (a real signal, as Ctrl-C or SIGTERM would)
    right after ``abandon`` has counted what it drops, before the rest of its state changes."""

    sig: signal.Signals | None = None  # set: the next count of dropped exchanges sends it
    sent = False

    @property
    def dropped(self) -> int:
        return self._dropped

    @dropped.setter
    def dropped(self, value: int) -> None:
        self._dropped = value
        if self.sig is not None:
            sig, self.sig = self.sig, None
            self.sent = True
            signal.raise_signal(sig)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_inside_abandon_leaves_the_counts_whole(sig: signal.Signals) -> None:
    # An interrupt that landed in ``abandon``'s locked section between its lines left the
    # exchanges counted as dropped still queued: the worker judged them as well (dropped and
    # judged together more than were submitted), and the count of those waiting stayed wrong.
    # Now the interrupt comes once the section is whole, and the handler is given back.
    held = Held(hold=1)
    inspections = _SignalledOnDrop(held, inline_bytes=0)
    inspections.submit(_seen(1, 10))
    assert held.started.wait(HOLD_LIMIT)
    inspections.submit(_seen(2, 10))
    inspections.submit(_seen(3, 10))
    handler = signal.getsignal(signal.SIGINT)
    with serving._sigterm_interrupts():  # SIGTERM raises KeyboardInterrupt, as at the stop
        inspections.sig = sig
        with pytest.raises(KeyboardInterrupt):
            inspections.abandon(0)
    assert inspections.sent  # the signal did come inside the section
    assert signal.getsignal(signal.SIGINT) is handler
    held.release.set()
    assert inspections.abandon(HOLD_LIMIT)  # what the stop does after the interrupt
    assert (inspections.judged, inspections.dropped) == (1, 2)
    assert [number for number, _ in held.order] == [1]
    assert inspections.drain(0) and inspections._bytes == 0
