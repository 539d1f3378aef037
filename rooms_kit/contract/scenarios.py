"""Deterministic behaviour scenarios: what the API promises, one scenario per promise.

Each scenario is a function of the ``SuiteContext`` that raises ``ContractFailure`` under its own
check name. Scenarios only use invitations (never auto-matching), so they cannot disturb each
other, and each one leaves the rooms it made (a room nobody is joined to is deleted).
Player A is the first token, B the second; C is the third when given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rooms_kit.contract.context import Player, SuiteContext

LEFTOVER_INVITATIONS = 50  # invitations from earlier runs a server that keeps its data may list
P2P_ESTABLISHED = "CONNECTION_ESTABLISHED"


@dataclass(frozen=True)
class Scenario:
    check: str
    operation: str  # the operation whose promise the scenario holds the server to
    run: Callable[[SuiteContext], None]


def _create(
    ctx: SuiteContext, check: str, creator: Player, invited: list[str], **extra: Any
) -> Any:
    body = {"kind": "games#roomCreateRequest", "invitedPlayerIds": invited, **extra}
    room = ctx.ok(check, ctx.call(creator, "create", body=body), "create")
    if not isinstance(room, dict) or not isinstance(room.get("roomId"), str):
        ctx.fail(check, "create answered without a roomId")
    return room


def _entry(room: dict[str, Any], player_id: str) -> dict[str, Any] | None:
    for entry in room.get("participants") or []:
        if (entry.get("player") or {}).get("playerId") == player_id:
            return dict(entry)
    return None


def _status_of(ctx: SuiteContext, check: str, room: dict[str, Any], player: Player) -> str:
    entry = _entry(room, player.player_id)
    if entry is None:
        ctx.fail(check, f"participant {player.player_id} missing from the room")
        return ""
    return str(entry.get("status"))


def _participant_id(ctx: SuiteContext, check: str, room: dict[str, Any], player: Player) -> str:
    entry = _entry(room, player.player_id)
    if entry is None or "id" not in entry:
        ctx.fail(check, f"participant {player.player_id} missing from the room")
        return ""
    return str(entry["id"])


def _page_limit(ctx: SuiteContext, max_results: int | None) -> int:
    """More pages than the data can need: every room this run created could be an invitation,
    plus some left over from earlier runs; a page without maxResults may hold a single item."""
    possible = ctx.rooms_created + LEFTOVER_INVITATIONS
    per_page = max_results or 1
    return -(-possible // per_page) + 1


def _chain(tokens: list[str | None]) -> str:
    """The pageToken chain as sent: the first page, then each token (long ones cut)."""
    shown = ["(first page)"] + [
        repr(t if t is None or len(t) <= 40 else t[:40] + "…") for t in tokens[1:]
    ]
    if len(shown) > 12:
        shown = [*shown[:6], f"… {len(shown) - 11} more …", *shown[-5:]]
    return " → ".join(shown)


def _invitation_ids(
    ctx: SuiteContext, check: str, who: Player, max_results: int | None = None
) -> list[str]:
    """Every roomId of ``who``'s list, page by page, in the order served.

    Paging stops (a ``paging_complete`` failure showing the token chain) at a token the server
    gave before, at a page that repeats items already served, or past the pages the data can
    need, so a server that pages forever cannot keep the suite busy.
    """
    ids: list[str] = []
    served: set[str] = set()
    sent: list[str | None] = [None]
    limit = _page_limit(ctx, max_results)
    while True:
        query: dict[str, Any] = {}
        if max_results is not None:
            query["maxResults"] = max_results
        if sent[-1] is not None:
            query["pageToken"] = sent[-1]
        page = ctx.ok(check, ctx.call(who, "list", query=query), "list")
        items = page.get("items") or []
        if max_results is not None and len(items) > max_results:
            ctx.fail(
                check,
                f"a page holds {len(items)} items with maxResults={max_results}",
                code="page longer than maxResults",
            )
        page_ids = [str(item.get("roomId")) for item in items if isinstance(item, dict)]
        again = [room_id for room_id in page_ids if room_id in served]
        if again:
            ctx.fail(
                "paging_complete",
                f"page {len(sent)} serves {len(again)} room(s) already served",
                f"{', '.join(again[:3])}; pageToken chain: {_chain(sent)}",
                code="repeated items",
            )
        ids += page_ids
        served.update(page_ids)
        token = page.get("nextPageToken")
        if not token:
            return ids
        if token in sent:
            ctx.fail(
                "paging_complete",
                f"page {len(sent)} gives a nextPageToken already used",
                f"pageToken chain: {_chain([*sent, str(token)])}",
                code="repeated token",
            )
        if len(sent) >= limit:
            ctx.fail(
                "paging_complete",
                f"the list did not end after {len(sent)} pages",
                f"this run created {ctx.rooms_created} room(s), so {limit} pages are more than "
                f"the data can need; pageToken chain: {_chain([*sent, str(token)])}",
                code="endless list",
            )
        sent.append(str(token))


def _leave(ctx: SuiteContext, who: Player, room_id: str) -> Any:
    return ctx.call(who, "leave", room_id, body={"kind": "games#roomLeaveRequest"})


def invitation_listed(ctx: SuiteContext) -> None:
    check = "invitation_listed"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    if room["roomId"] not in _invitation_ids(ctx, check, b):
        ctx.fail(check, "the invitation is missing from the invitee's list")
    if room["roomId"] in _invitation_ids(ctx, check, a):
        ctx.fail(check, "the creator's own room is listed as an invitation to the creator")
    _leave(ctx, a, room["roomId"])


def dismiss_hides_invitation(ctx: SuiteContext) -> None:
    check = "dismiss_hides_invitation"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    if room["roomId"] not in _invitation_ids(ctx, check, b):
        ctx.fail(check, "the invitation is missing from the invitee's list before dismiss")
    ctx.ok(check, ctx.call(b, "dismiss", room["roomId"]), "dismiss")
    if room["roomId"] in _invitation_ids(ctx, check, b):
        ctx.fail(check, "the dismissed invitation is still in the invitee's list")
    _leave(ctx, a, room["roomId"])


def decline_hides_invitation(ctx: SuiteContext) -> None:
    check = "decline_hides_invitation"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    if room["roomId"] not in _invitation_ids(ctx, check, b):
        ctx.fail(check, "the invitation is missing from the invitee's list before decline")
    declined = ctx.ok(check, ctx.call(b, "decline", room["roomId"]), "decline")
    if _status_of(ctx, check, declined, b) != "PARTICIPANT_DECLINED":
        ctx.fail(check, "after decline the invitee is not PARTICIPANT_DECLINED")
    if room["roomId"] in _invitation_ids(ctx, check, b):
        ctx.fail(check, "the declined invitation is still in the invitee's list")
    _leave(ctx, a, room["roomId"])


def participant_status(ctx: SuiteContext) -> None:
    check = "participant_status"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    if _status_of(ctx, check, room, a) != "PARTICIPANT_JOINED":
        ctx.fail(check, "the creator is not PARTICIPANT_JOINED in a new room")
    if _status_of(ctx, check, room, b) != "PARTICIPANT_INVITED":
        ctx.fail(check, "the invitee is not PARTICIPANT_INVITED in a new room")
    joined = ctx.ok(
        check, ctx.call(b, "join", room["roomId"], body={"kind": "games#roomJoinRequest"}), "join"
    )
    if _status_of(ctx, check, joined, b) != "PARTICIPANT_JOINED":
        ctx.fail(check, "after join the invitee is not PARTICIPANT_JOINED")
    seen = ctx.ok(check, ctx.call(a, "get", room["roomId"]), "get")
    if _status_of(ctx, check, seen, b) != "PARTICIPANT_JOINED":
        ctx.fail(check, "the creator does not see the invitee as PARTICIPANT_JOINED")
    left = ctx.ok(check, _leave(ctx, b, room["roomId"]), "leave")
    if _status_of(ctx, check, left, b) != "PARTICIPANT_LEFT":
        ctx.fail(check, "after leave the participant is not PARTICIPANT_LEFT")
    _leave(ctx, a, room["roomId"])


def _connect(ctx: SuiteContext, check: str, who: Player, room_id: str, peer_id: str) -> Any:
    body = {
        "kind": "games#roomP2PStatuses",
        "updates": [
            {"kind": "games#roomP2PStatus", "participantId": peer_id, "status": P2P_ESTABLISHED}
        ],
    }
    return ctx.ok(check, ctx.call(who, "reportStatus", room_id, body=body), "reportStatus")


def room_lifecycle(ctx: SuiteContext) -> None:
    check = "room_lifecycle"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    room_id = room["roomId"]
    joined = ctx.ok(
        check, ctx.call(b, "join", room_id, body={"kind": "games#roomJoinRequest"}), "join"
    )
    a_id = _participant_id(ctx, check, joined, a)
    b_id = _participant_id(ctx, check, joined, b)
    _connect(ctx, check, a, room_id, b_id)
    status = _connect(ctx, check, b, room_id, a_id)
    if status.get("status") != "ROOM_ACTIVE":
        ctx.fail(
            check,
            f"with both players connected the room is {status.get('status')}, not ROOM_ACTIVE",
        )
    seen = ctx.ok(check, ctx.call(a, "get", room_id), "get")
    if seen.get("status") != "ROOM_ACTIVE":
        ctx.fail(check, f"get shows {seen.get('status')} for an active room")
    ctx.ok(check, _leave(ctx, a, room_id), "leave (first player)")
    last = ctx.ok(check, _leave(ctx, b, room_id), "leave (last player)")
    if last.get("status") != "ROOM_DELETED":
        ctx.fail(
            check, f"after every player left the room is {last.get('status')}, not ROOM_DELETED"
        )
    # A server may keep the deleted room readable or forget it (404); it may not revive it.
    reread = ctx.call(b, "get", room_id)
    if reread.response.status != 404:
        after = ctx.ok(check, reread, "get (deleted room)")
        if after.get("status") != "ROOM_DELETED":
            ctx.fail(check, f"get of a room everyone left shows {after.get('status')}")


def deleted_room_final(ctx: SuiteContext) -> None:
    check = "deleted_room_final"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    left = ctx.ok(check, _leave(ctx, a, room["roomId"]), "leave (the only joined player)")
    if left.get("status") != "ROOM_DELETED":
        ctx.fail(check, f"a room whose only joined player left is {left.get('status')}")
    join = ctx.call(b, "join", room["roomId"], body={"kind": "games#roomJoinRequest"})
    if not 400 <= join.response.status < 500:
        ctx.fail(
            check, f"join of a deleted room answered {join.response.status}", "expected 409", join
        )


def status_version_monotonic(ctx: SuiteContext) -> None:
    check = "status_version_monotonic"
    a, b = ctx.players[0], ctx.players[1]
    room = _create(ctx, check, a, [b.player_id])
    room_id = room["roomId"]
    version = room.get("roomStatusVersion")
    if not isinstance(version, int):
        ctx.fail(check, "a new room has no integer roomStatusVersion")

    def step(answer: Any, name: str, changed: bool, key: str = "roomStatusVersion") -> None:
        nonlocal version
        current = answer.get(key)
        if not isinstance(current, int):
            ctx.fail(check, f"{name} answered without an integer {key}")
        if changed and current <= version:
            ctx.fail(check, f"{name} changed the room but the version went {version} → {current}")
        if not changed and current < version:
            ctx.fail(check, f"the version went down {version} → {current} at {name}")
        version = current

    step(ctx.ok(check, ctx.call(b, "get", room_id), "get"), "get", changed=False)
    joined = ctx.ok(
        check, ctx.call(b, "join", room_id, body={"kind": "games#roomJoinRequest"}), "join"
    )
    step(joined, "join", changed=True)
    peer = _participant_id(ctx, check, joined, b)
    step(_connect(ctx, check, a, room_id, peer), "reportStatus", changed=True, key="statusVersion")
    step(ctx.ok(check, ctx.call(a, "get", room_id), "get"), "get", changed=False)
    step(ctx.ok(check, _leave(ctx, b, room_id), "leave"), "leave", changed=True)
    step(ctx.ok(check, ctx.call(a, "get", room_id), "get"), "get", changed=False)
    _leave(ctx, a, room_id)


def create_idempotent(ctx: SuiteContext) -> None:
    check = "create_idempotent"
    a, b = ctx.players[0], ctx.players[1]
    request_id = ctx.request_id()
    first = _create(ctx, check, a, [b.player_id], requestId=request_id)
    again = _create(ctx, check, a, [b.player_id], requestId=request_id)
    if again["roomId"] != first["roomId"]:
        ctx.fail(
            check,
            "a retried create with the same requestId made a second room",
            f"requestId {request_id}: first {first['roomId']}, retry {again['roomId']}",
        )
    other = _create(ctx, check, a, [b.player_id], requestId=ctx.request_id())
    if other["roomId"] == first["roomId"]:
        ctx.fail(check, "a create with a new requestId returned an existing room")
    for room_id in {first["roomId"], other["roomId"]}:
        _leave(ctx, a, room_id)


def paging_complete(ctx: SuiteContext) -> None:
    check = "paging_complete"
    a, b = ctx.players[0], ctx.players[1]
    mine = [_create(ctx, check, a, [b.player_id])["roomId"] for _ in range(3)]
    served = _invitation_ids(ctx, check, b, max_results=1)
    repeated = sorted({room_id for room_id in served if served.count(room_id) > 1})
    if repeated:
        ctx.fail(
            check, f"paging served {len(repeated)} room(s) more than once", ", ".join(repeated[:5])
        )
    lost = [room_id for room_id in mine if room_id not in served]
    if lost:
        ctx.fail(check, f"paging lost {len(lost)} of 3 new invitations", ", ".join(lost))
    whole = _invitation_ids(ctx, check, b)
    if sorted(whole) != sorted(served):
        ctx.fail(
            check,
            "pages of one item differ from the whole list",
            f"{len(served)} vs {len(whole)} rooms",
        )
    for room_id in mine:
        ctx.call(b, "decline", room_id)
        _leave(ctx, a, room_id)


def participants_only(ctx: SuiteContext) -> None:
    check = "participants_only"
    a = ctx.players[0]
    outsider = ctx.players[2] if len(ctx.players) > 2 else ctx.players[1]
    invited = (
        ctx.unique("rooms-kit-stranger") if len(ctx.players) <= 2 else ctx.players[1].player_id
    )
    room = _create(ctx, check, a, [invited])
    exchange = ctx.call(outsider, "get", room["roomId"])
    if not 400 <= exchange.response.status < 500:
        ctx.fail(
            check,
            f"a non-participant's get answered {exchange.response.status}",
            "expected 404 or 403",
            exchange,
        )
    if b'"games#room"' in exchange.response.body:
        ctx.fail(check, "the refusal carries the room", exchange=exchange)
    _leave(ctx, a, room["roomId"])


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("invitation_listed", "games.rooms.list", invitation_listed),
    Scenario("dismiss_hides_invitation", "games.rooms.dismiss", dismiss_hides_invitation),
    Scenario("decline_hides_invitation", "games.rooms.decline", decline_hides_invitation),
    Scenario("participant_status", "games.rooms.join", participant_status),
    Scenario("room_lifecycle", "games.rooms.reportStatus", room_lifecycle),
    Scenario("deleted_room_final", "games.rooms.join", deleted_room_final),
    Scenario("status_version_monotonic", "games.rooms.get", status_version_monotonic),
    Scenario("create_idempotent", "games.rooms.create", create_idempotent),
    Scenario("paging_complete", "games.rooms.list", paging_complete),
    Scenario("participants_only", "games.rooms.get", participants_only),
)
