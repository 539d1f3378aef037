"""Standard streams a careless shell may hand over broken: closed, or on a full disk.

``rooms-kit … >/dev/full`` or ``rooms-kit … >&-`` used to end in a Python traceback (and exit 1,
which means "the checked thing is wrong"). While a command runs, ``guarded_stdout`` puts a thin
wrapper on the process's own standard output: a write or flush that fails becomes
``OutputFailed`` (a ``KitError``: one line on standard error, exit 2), and the descriptor is then
pointed at the null device so that the interpreter's last flush at exit cannot fail again. A
failure that some code caught and went on (the proxy's request handler) is raised again when the
command ends, so the exit status still says 2. A broken pipe stays a ``BrokenPipeError`` (``rooms-kit … | head`` is not an error). A closed
standard error is replaced by the null device: there is nowhere left to complain.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from rooms_kit.errors import KitError


class OutputFailed(KitError):
    """Standard output cannot be written (closed, disk full, I/O error)."""


class _Closed:
    """Stands for a standard stream the parent process closed."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "it is closed")

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False


class _Guarded:
    """Delegates to the real stream; turns a failed write or flush into ``OutputFailed``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.failed: OutputFailed | None = None  # the first failure, even if someone caught it

    def _fail(self, exc: OSError) -> OutputFailed:
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.close(null)
        failure = OutputFailed(f"cannot write to standard output: {exc.strerror or exc}")
        if self.failed is None:
            self.failed = failure
        return failure

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._fail(exc) from None

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._fail(exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_stdout() -> Iterator[None]:
    """Guard the process's own standard output (and mend a closed stderr) while a command runs.

    A stream already replaced (by a test's capture, say) is left as it is. The output is flushed
    before the guard goes, so a failure at the end is reported like one in the middle.
    """
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # kept until exit
    original: TextIO | None = sys.stdout
    if original is not None and original is not sys.__stdout__:
        yield
        return
    guard = _Guarded(_Closed() if original is None else original)
    sys.stdout = guard
    try:
        yield
    finally:
        try:
            guard.flush()  # on SystemExit (--help) too: a failure here becomes OutputFailed
        finally:
            sys.stdout = original
    if guard.failed is not None:  # a failure some code caught (a server's request handler)
        raise guard.failed
