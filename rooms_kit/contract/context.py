"""The state a run shares between its units: the session, the players, the checks, the results.

Units call ``ctx.call(player, operation, ...)``; every answer goes through the response checks,
and the exchange is kept as evidence for whatever the unit raises next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rooms_kit.contract.checks import CheckContext, run_response_checks
from rooms_kit.contract.failures import CannotRun, ContractFailure
from rooms_kit.contract.http import Exchange, HttpSession
from rooms_kit.contract.openapi import OpenApi
from rooms_kit.contract.results import Results, UnitResult
from rooms_kit.contract.secrets import NOTE

ROOMS = "/games/v1/rooms"


@dataclass
class Player:
    token: str
    player_id: str = ""


@dataclass
class SuiteContext:
    session: HttpSession
    players: list[Player]
    openapi: OpenApi
    checks: CheckContext
    results: Results
    seed: int
    unit: UnitResult = field(default_factory=lambda: UnitResult("setup", "setup"))
    last: Exchange | None = None
    counter: int = 0
    # Microseconds at the start of the run: requestIds and made-up player ids carry it, so a rerun
    # against a server that kept its data never meets an earlier run's rooms. Generated data does
    # not depend on it (only on the seed).
    nonce: int = field(default_factory=lambda: time.time_ns() // 1000)
    schemathesis_config: Path | None = None  # a schemathesis.toml; None: the suite's defaults
    rooms_created: int = 0  # creates answered 2xx (bounds how many pages a list may need)
    ready: bool = True  # False when setup could not find the players (nothing else can run)

    def unique(self, prefix: str) -> str:
        """A name no earlier run used (reruns may meet a server that kept its data)."""
        self.counter += 1
        return f"{prefix}-{self.nonce}-{self.counter}"

    def request_id(self) -> str:
        """A create ``requestId`` (an int64 string) no earlier run used."""
        self.counter += 1
        return str(self.nonce * 1000 + self.counter)

    def observe(self, exchange: Exchange) -> None:
        self.last = exchange
        self.results.record_pass("responds_in_time", exchange.operation)
        if exchange.operation == "games.rooms.create" and 200 <= exchange.response.status < 300:
            self.rooms_created += 1
        for name, failure in run_response_checks(self.checks, exchange):
            if failure is None:
                self.results.record_pass(name, exchange.operation)
            else:
                self.results.record_failure(failure, exchange.operation, self.unit, exchange)

    def fail(
        self,
        check: str,
        title: str,
        message: str = "",
        exchange: Exchange | None = None,
        *,
        code: str = "",
    ) -> None:
        raise ContractFailure(check, title, message, exchange=exchange or self.last, code=code)

    def call(
        self,
        who: Player | None,
        operation: str,
        room_id: str | None = None,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
        raw_body: bytes | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Exchange:
        """Call ``operation`` (``create``, ``get`` … or ``games.rooms.get``) as ``who``."""
        op = self.openapi.operation(
            operation if operation.startswith("games.") else f"games.rooms.{operation}"
        )
        path = op.path.replace("{roomId}", _quote(room_id or ""))
        exchange = self.session.send(
            op.operation_id,
            op.method,
            path,
            token=token if who is None else who.token,
            query=query,
            body=body,
            raw_body=raw_body,
            headers=headers,
        )
        return exchange

    def ok(self, check: str, exchange: Exchange, step: str) -> Any:
        """The JSON body of a step that had to succeed; a failure of ``check`` otherwise."""
        status = exchange.response.status
        if not 200 <= status < 300:
            self.fail(check, f"{step} answered {status}", "this step must succeed", exchange)
        if status == 204:
            return None
        try:
            return exchange.response.json()
        except ValueError:
            self.fail(check, f"{step} answered with a body that is not JSON", exchange=exchange)
        return None


def _quote(value: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(value, safe="")


def _probe_bodies(ctx: SuiteContext, index: int) -> list[dict[str, Any]]:
    """Two ways to get a room of one's own: auto-matching alone (a variant no one else uses),
    or an invitation to a player id made up for the purpose."""
    return [
        {
            "kind": "games#roomCreateRequest",
            "variant": 700_000 + ctx.nonce % 100_000 * 10 + index,
            "autoMatchingCriteria": {
                "kind": "games#roomAutoMatchingCriteria",
                "minAutoMatchingPlayers": 1,
                "maxAutoMatchingPlayers": 1,
            },
        },
        {"kind": "games#roomCreateRequest", "invitedPlayerIds": [ctx.unique("rooms-kit-probe")]},
    ]


def _creator_id(room: Any) -> str:
    if not isinstance(room, dict):
        return ""
    creator = (room.get("creationDetails") or {}).get("participantId")
    for entry in room.get("participants") or []:
        if isinstance(entry, dict) and entry.get("id") == creator and "player" in entry:
            return str((entry["player"] or {}).get("playerId") or "")
    return ""


def discover_players(ctx: SuiteContext) -> None:
    """Find each token's player id: the creator of a short-lived room of its own is named in it."""
    for index, player in enumerate(ctx.players):
        problems: list[str] = []
        for body in _probe_bodies(ctx, index):
            exchange = ctx.call(player, "create", body=body)
            status = exchange.response.status
            if status == 401:
                raise CannotRun(f"token number {index + 1} is not accepted by the server (401)")
            if not 200 <= status < 300:
                problems.append(f"create answered {status}; reproduce: {exchange.curl()}")
                continue
            try:
                room = exchange.response.json()
            except ValueError:
                room = None
            player.player_id = _creator_id(room)
            if isinstance(room, dict) and isinstance(room.get("roomId"), str):
                ctx.call(player, "leave", room["roomId"], body={"kind": "games#roomLeaveRequest"})
            if player.player_id:
                break
            problems.append(f"the new room does not name its creator; reproduce: {exchange.curl()}")
        if not player.player_id:
            raise CannotRun(
                ctx.session.secrets.scrub(
                    f"cannot find the player of token number {index + 1}:\n  "
                    + "\n  ".join([*problems, NOTE])
                )
            )
    ids = [p.player_id for p in ctx.players]
    if len(set(ids)) != len(ids):
        got = ctx.session.secrets.scrub(str(ids))  # a server may name a player by its token
        raise CannotRun(f"the tokens must stand for different players, got {got}")
