"""Runs the proxy until SIGINT or SIGTERM, then writes what it saw.

Announces itself on standard error (``listening on URL, forwarding to URL``); violation lines go to
standard output as they happen; at the stop the verdict goes to standard output and the reports to
the report folder. Binding is the reference server's. At a signal the proxy stops accepting,
closes idle connections, lets exchanges in flight finish (at most ``GRACEFUL_SHUTDOWN_SECONDS``)
and closes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rooms_kit.reference_server.limits import ACCEPT_BATCH, LISTEN_BACKLOG, ConnectionLimits
from rooms_kit.reference_server.serving import bind
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.checking import Judge, Limits, check_base_url
from rooms_kit.traffic.inputs import InputRules
from rooms_kit.traffic.inspections import ABANDON_SECONDS
from rooms_kit.traffic.lifecycle import Lifecycle
from rooms_kit.traffic.monitor import Monitor, Rules
from rooms_kit.traffic.proxy import Proxy
from rooms_kit.traffic.recording import Recorder
from rooms_kit.traffic.reports import verdict, write_reports

GRACEFUL_SHUTDOWN_SECONDS = 30


@dataclass(frozen=True)
class ProxySettings:
    upstream: str
    host: str = "127.0.0.1"
    port: int = 8081
    strict: bool = False
    record: Path | None = None
    rotate_bytes: int | None = None
    report_dir: Path | None = None
    limits: Limits = field(default_factory=Limits)
    connection_limits: ConnectionLimits = field(default_factory=ConnectionLimits)


@dataclass
class Assembled:
    proxy: Proxy
    monitor: Monitor
    recorder: Recorder | None
    aliases: Aliases

    def close(self, err: TextIO | None = None) -> None:
        """Judge (and record) every exchange still waiting, then close the recording. A second
        interrupt cuts the judging short: the exchange being judged is finished, those behind it
        are dropped (said on ``err``), and the recording is closed after the worker has ended,
        so what it holds stays readable and nothing is written after the process's end. A third
        interrupt ends the wait for the worker at once; what was left is said all the same (the
        recording, closed under its lock, takes nothing more)."""
        inspections = self.proxy.inspections
        try:
            inspections.close()
        except KeyboardInterrupt:
            third = False
            try:
                ended = inspections.abandon(ABANDON_SECONDS)
            except KeyboardInterrupt:
                third = True
                ended = inspections.abandon(0)  # drops what the interrupted call may not have
            if inspections.dropped:
                print(
                    f"rooms-kit proxy: interrupted during the judging: {inspections.dropped} exchange(s) "
                    "still waiting to be judged were dropped, neither judged nor recorded",
                    file=err or sys.stderr,
                )
            if not ended and third:
                print(
                    "rooms-kit proxy: interrupted once more: the exchange being judged was "
                    "left unfinished, not recorded",
                    file=err or sys.stderr,
                )
            elif not ended:
                print(
                    "rooms-kit proxy: interrupted during the judging: the exchange being judged was left "
                    f"unfinished after {ABANDON_SECONDS:g} s",
                    file=err or sys.stderr,
                )
            raise
        finally:
            if self.recorder is not None:
                self.recorder.close()


def assemble(
    settings: ProxySettings,
    out: TextIO,
    judge: Judge | None = None,
    err: TextIO | None = None,
) -> Assembled:
    """The proxy app and what judges, prints and records behind it (not yet serving)."""
    upstream = check_base_url(settings.upstream, "--upstream")
    aliases = Aliases()
    recorder = (
        Recorder(settings.record, aliases, rotate_bytes=settings.rotate_bytes, err=err)
        if settings.record is not None
        else None
    )
    judge = judge or Judge()
    rules: list[Rules] = [InputRules(judge.openapi), Lifecycle(aliases)]
    monitor = Monitor(
        judge, aliases, upstream, out=out, err=err or sys.stderr, sink=recorder, rules=rules
    )
    proxy = Proxy(
        upstream,
        monitor.inspect,
        aliases,
        strict=settings.strict,
        limits=settings.limits,
        connection_limits=settings.connection_limits,
        err=err,
        name=monitor.name,
    )
    return Assembled(proxy, monitor, recorder, aliases)


async def serve(
    proxy: Proxy,
    sock: socket.socket,
    stop: asyncio.Event,
    *,
    on_started: Callable[[], None] = lambda: None,
    grace: float = GRACEFUL_SHUTDOWN_SECONDS,
    hurry: asyncio.Event | None = None,
) -> None:
    """Accept on ``sock`` until ``stop`` is set, then stop gracefully (the wait for exchanges in
    flight ends early once ``hurry`` is set)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(proxy.connection, sock=sock, backlog=ACCEPT_BATCH)
    sock.listen(LISTEN_BACKLOG)  # asyncio's backlog is its accept batch; the kernel's stays long
    ticker = loop.create_task(proxy.tick())
    on_started()
    try:
        await stop.wait()
    finally:
        server.close()
        await proxy.stop(grace, hurry)
        ticker.cancel()


async def _serve_until_signal(proxy: Proxy, sock: socket.socket, err: TextIO) -> None:
    """Serve until SIGINT or SIGTERM; a second one ends the wait for exchanges in flight."""
    stop, hurry = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, _on_signal, proxy, stop, hurry, err)
    try:
        await serve(proxy, sock, stop, hurry=hurry)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _on_signal(proxy: Proxy, stop: asyncio.Event, hurry: asyncio.Event, err: TextIO) -> None:
    if not stop.is_set():
        stop.set()
    elif not hurry.is_set():
        hurry.set()
        if not proxy.in_flight:  # the wait is over, or had nothing to wait for
            return
        print(
            "rooms-kit proxy: signalled again: the exchanges still in flight are ended now",
            file=err,
            flush=True,
        )


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt meanwhile (its default would end the process at once,
    the recording left unclosed); only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def run_proxy(settings: ProxySettings, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Serve until a signal; 2 when the recording failed or an exchange could not be judged (a
    defect of the kit), else 1 on a violation, else 0."""
    parts = assemble(settings, out, err=err)
    # What was built to judge (compiled schemas, validators, modules) lives as long as the
    # process: the garbage collector need not walk it again at every full collection, which a
    # large answer's parsing sets off in the judging thread while holding the interpreter lock
    # (40-70 ms each with it walked, 12-17 ms without, on an 8 MiB answer).
    gc.collect()  # nothing left by the start is frozen with what lives on
    gc.freeze()
    monitor, recorder, app, aliases = parts.monitor, parts.recorder, parts.proxy, parts.aliases
    upstream = app.upstream
    try:
        sock = bind(settings.host, settings.port)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        mode = " (strict: violating answers become 502)" if settings.strict else ""
        print(
            f"rooms-kit proxy: listening on http://{shown}:{port}, forwarding to {upstream}{mode}",
            file=err,
            flush=True,
        )
        asyncio.run(_serve_until_signal(app, sock, err))
    finally:
        with _sigterm_interrupts():  # judging what waited: SIGTERM cuts it short as SIGINT does
            parts.close(err)
    out.write(verdict(monitor.results, monitor.exchanges) + "\n")
    out.flush()
    if recorder is not None:
        files = ", ".join(map(str, recorder.files))
        if recorder.failure is None:
            print(f"rooms-kit proxy: recording in {files}", file=err)
        else:
            print(
                f"rooms-kit proxy: recording incomplete ({recorder.lines} line(s) in {files}): "
                f"{recorder.failure}",
                file=err,
            )
    if settings.report_dir is not None:
        write_reports(settings.report_dir, monitor.results, monitor.exchanges, aliases)
        print(f"rooms-kit proxy: reports in {settings.report_dir}", file=err)
    for line in unjudged_lines(monitor.unjudged, monitor.cut_at_stop):
        print(line, file=err)
    defects = monitor.defects + app.inspections.defects
    if defects:
        print(
            f"rooms-kit proxy: {defects} exchange(s) could not be judged (a defect of "
            "rooms-kit, each said above); exit status 2",
            file=err,
        )
    if (recorder is not None and recorder.failure is not None) or defects:
        return 2
    return 1 if monitor.violations else 0


def unjudged_lines(past_budget: int, cut_at_stop: int) -> list[str]:
    """What the stop says about exchanges that went through without being judged, by cause."""
    lines = []
    if past_budget:
        lines.append(
            f"rooms-kit proxy: {past_budget} exchange(s) went through neither checked nor "
            "recorded, past --max-held-bytes (each said above)"
        )
    if cut_at_stop:
        lines.append(
            f"rooms-kit proxy: {cut_at_stop} exchange(s) had no whole answer when the "
            f"stop's wait ended ({GRACEFUL_SHUTDOWN_SECONDS} s at most): answered 503 or, when "
            "under way, cut; neither checked nor recorded (each said above)"
        )
    return lines
