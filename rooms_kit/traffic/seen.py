"""One proxied exchange as the proxy saw it, with credentials already replaced by aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from rooms_kit.contract.failures import ContractFailure


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
    _parsed: tuple[Any, bool] | None = field(default=None, repr=False, compare=False)

    def response_json(self) -> Any:
        """The answer's body parsed once (orjson) for every rule; raises ``ValueError`` when it
        is not JSON."""
        if self._parsed is None:
            try:
                self._parsed = (orjson.loads(self.response_body), True)
            except orjson.JSONDecodeError:
                self._parsed = (None, False)
        if not self._parsed[1]:
            raise ValueError("the answer is not JSON")
        return self._parsed[0]

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")


def body_value(body: bytes) -> tuple[Any, str | None]:
    """A body as (parsed JSON, None), or (None, its text) when it is not JSON, or (None, None)."""
    if not body:
        return None, None
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError:
        return None, body.decode("utf-8", "replace")
