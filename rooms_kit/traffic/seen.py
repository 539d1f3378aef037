"""One proxied exchange as the proxy saw it, with credentials already replaced by aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from rooms_kit.contract.bounded import read_json
from rooms_kit.contract.failures import ContractFailure
from rooms_kit.validation.numbers import WideIntegerError, load


@dataclass
class Seen:
    number: int  # 1-based, in the order requests arrived
    started: float  # wall-clock seconds since the epoch
    method: str
    path: str  # raw path, still percent-encoded
    query: str  # raw query string, oauth_token aliased
    player: str  # alias of the caller, or "anonymous"
    request_headers: list[tuple[str, str]]  # aliased
    request_body: bytes
    status: int = 0  # 0: no answer reached the proxy
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""  # without its content coding
    latency_ms: float = 0.0
    problem: ContractFailure | None = None  # a bound broken or no answer, found by the proxy itself
    unjudged: str = ""  # why the proxy did not keep the answer to judge it (its own bound)
    cut_at_stop: bool = False  # unjudged because the stop's grace ran out before the answer did
    _reading: tuple[Any, bool] | str | None = field(default=None, repr=False, compare=False)
    _for_rules: bool | None = field(default=None, repr=False, compare=False)

    def reading(self) -> tuple[Any, bool]:
        """The answer's body as ``read_json`` reads it, once for every check and rule: its
        value, and whether orjson read it; raises ``ValueError`` when it is not JSON."""
        if self._reading is None:
            try:
                self._reading = read_json(self.response_body)
            except ValueError as exc:
                self._reading = str(exc)
        if isinstance(self._reading, str):
            raise ValueError(self._reading)
        return self._reading

    def forget_reading(self) -> None:
        self._reading = self._for_rules = None

    def response_json(self) -> Any:
        """The answer's body for the rules; raises ``ValueError`` when it is not JSON, or holds
        what orjson refuses (NaN, Infinity, a lone surrogate: values the rules would quote in
        lines that must stay printable)."""
        value, quick = self.reading()
        if self._for_rules is None:
            self._for_rules = quick or _orjson_reads(self.response_body)
        if not self._for_rules:
            raise ValueError("the answer is not JSON that orjson reads")
        return value

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def body_value(body: bytes) -> tuple[Any, str | None]:
    """A body as (parsed JSON, None), or (None, its text) when it is not JSON, or (None, None)."""
    if not body:
        return None, None
    try:
        return load(body), None  # integers past 64 bits exact, not floats
    except (orjson.JSONDecodeError, WideIntegerError):
        return None, body.decode("utf-8", "replace")


def _orjson_reads(body: bytes) -> bool:
    """Whether orjson reads ``body`` (which only json read: was that needed?)."""
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True
