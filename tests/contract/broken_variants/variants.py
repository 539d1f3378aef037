"""The catalogue: one class per defect, and the check that must report it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.contract.broken_variants.rewriting import Answer, Call, Rewriter


def _rooms_in(data: Any) -> list[dict[str, Any]]:
    """The room objects of a reply (a room, or the items of a room list)."""
    if not isinstance(data, dict):
        return []
    if data.get("kind") == "games#room":
        return [data]
    return [item for item in data.get("items") or [] if isinstance(item, dict)]


class Int64AsNumber(Rewriter):
    """modifiedTimestampMillis travels as a JSON number instead of a string."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        for room in _rooms_in(data):
            details = room.get("creationDetails") or {}
            if "modifiedTimestampMillis" in details:
                details["modifiedTimestampMillis"] = int(details["modifiedTimestampMillis"])
        if data is not None:
            answer.set_json(data)
        return answer


class WrongKind(Rewriter):
    """A room says it is a games#rooms (typo in the kind constant)."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        if isinstance(data, dict) and data.get("kind") == "games#room":
            data["kind"] = "games#rooms"
            answer.set_json(data)
        return answer


class BadEnumValue(Rewriter):
    """A participant's status is PARTICIPANT_ACCEPTED, a value the enumeration lacks."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        for room in _rooms_in(data):
            for entry in room.get("participants") or []:
                if entry.get("status") == "PARTICIPANT_JOINED":
                    entry["status"] = "PARTICIPANT_ACCEPTED"
        if data is not None:
            answer.set_json(data)
        return answer


class UnknownProperty(Rewriter):
    """Rooms carry a misspelt extra field, roomStatusVerison (only strict mode catches it)."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        for room in _rooms_in(data):
            room["roomStatusVerison"] = room.get("roomStatusVersion")
        if data is not None:
            answer.set_json(data)
        return answer


class ServerErrorOnClientMistake(Rewriter):
    """A 400 becomes a 500 (in the envelope, with a matching code)."""

    def response(self, call: Call, answer: Answer) -> Answer:
        if answer.status == 400:
            data = answer.json()
            data["error"]["code"] = 500
            answer.status = 500
            answer.set_json(data)
        return answer


class ErrorWithoutEnvelope(Rewriter):
    """Errors travel as {"message": ...} instead of Google's envelope."""

    def response(self, call: Call, answer: Answer) -> Answer:
        if answer.status >= 400:
            answer.set_json({"message": answer.json()["error"]["message"]})
        return answer


class MismatchedErrorCode(Rewriter):
    """The envelope always says code 400, whatever the HTTP status."""

    def response(self, call: Call, answer: Answer) -> Answer:
        if answer.status >= 400:
            data = answer.json()
            data["error"]["code"] = 400
            answer.set_json(data)
        return answer


class PlainTextContentType(Rewriter):
    """Replies are labelled text/plain."""

    def response(self, call: Call, answer: Answer) -> Answer:
        if answer.body:
            answer.headers["content-type"] = "text/plain; charset=utf-8"
        return answer


class PagingLosesItems(Rewriter):
    """Asks the real server for pages twice as long, serves the first half and skips the rest
    (what it asked for stays in the call's notes: the real server refuses unknown parameters)."""

    def request(self, call: Call) -> Call:
        if call.operation == "list" and call.query.get("maxResults", "").isdigit():
            call.notes["asked"] = call.query["maxResults"]
            call.query["maxResults"] = str(int(call.query["maxResults"]) * 2)
        return call

    def response(self, call: Call, answer: Answer) -> Answer:
        if "asked" in call.notes and answer.status == 200:
            data = answer.json()
            data["items"] = (data.get("items") or [])[: int(call.notes["asked"])]
            answer.set_json(data)
        return answer


class PagingStartsOver(Rewriter):
    """After the last page, nextPageToken leads back to the first page."""

    RESTART = "start-over"

    def request(self, call: Call) -> Call:
        if call.operation == "list" and call.query.get("pageToken") == self.RESTART:
            del call.query["pageToken"]
            call.notes["restarted"] = "1"
        return call

    def response(self, call: Call, answer: Answer) -> Answer:
        if call.operation == "list" and answer.status == 200 and not call.notes.get("restarted"):
            data = answer.json()
            if "nextPageToken" not in data and "pageToken" in call.query:
                data["nextPageToken"] = self.RESTART
                answer.set_json(data)
        return answer


class CreateIgnoresRequestId(Rewriter):
    """create drops requestId, so every retry makes a new room."""

    def request(self, call: Call) -> Call:
        body = call.json() if call.operation == "create" and call.body else None
        if isinstance(body, dict) and "requestId" in body:
            del body["requestId"]
            call.body = json.dumps(body).encode()
        return call


class VersionStuckAtOne(Rewriter):
    """roomStatusVersion (and statusVersion) never moves from 1."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        if isinstance(data, dict) and "statusVersion" in data:
            data["statusVersion"] = 1
        for room in _rooms_in(data):
            room["roomStatusVersion"] = 1
        if data is not None:
            answer.set_json(data)
        return answer


class JoinDeletedRoomAllowed(Rewriter):
    """A join refused with 409 (e.g. a deleted room) is answered 200 with the room instead."""

    async def rewritten(self, call: Call) -> Answer:
        answer = await self.ask(call)
        if call.operation == "join" and answer.status == 409:
            room_path = call.path.rsplit("/", 1)[0]
            return await self.ask(Call("GET", room_path, {}, dict(call.headers), b""))
        return answer


class StrangersMayRead(Rewriter):
    """get of a room the caller is not in is answered with the room (read as its creator)."""

    def __post_init__(self) -> None:
        self.creators: dict[str, dict[str, str]] = {}

    async def rewritten(self, call: Call) -> Answer:
        answer = await self.ask(call)
        if call.operation == "create" and answer.status == 200:
            self.creators[answer.json()["roomId"]] = dict(call.headers)
        if call.operation == "get" and answer.status == 404:
            room_id = call.path.rsplit("/", 1)[-1]
            if room_id in self.creators:
                return await self.ask(Call("GET", call.path, {}, self.creators[room_id], b""))
        return answer


class MissingAuthAccepted(Rewriter):
    """A request without an Authorization header is served as player 'anonymous'."""

    def request(self, call: Call) -> Call:
        if "authorization" not in call.headers:
            call.headers["authorization"] = "Bearer dev-anonymous"
        return call


class DismissIgnored(Rewriter):
    """dismiss answers 204 without doing anything."""

    async def rewritten(self, call: Call) -> Answer:
        if call.operation == "dismiss" and "authorization" in call.headers:
            return Answer(204, {}, b"")
        return await self.ask(call)


class AcceptsOutOfRangeMaxResults(Rewriter):
    """maxResults outside 1..500 is quietly clamped instead of refused."""

    def request(self, call: Call) -> Call:
        value = call.query.get("maxResults", "")
        if value.lstrip("-").isdigit():
            call.query["maxResults"] = str(min(max(int(value), 1), 500))
        return call


class NeverActive(Rewriter):
    """reportStatus and get never show ROOM_ACTIVE (they say ROOM_CONNECTING)."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if answer.status == 200 else None
        if isinstance(data, dict) and data.get("status") == "ROOM_ACTIVE":
            data["status"] = "ROOM_CONNECTING"
            answer.set_json(data)
        return answer


class JoinAnswersAnotherRoomId(Rewriter):
    """join answers with a roomId that names no room, so links from join lead nowhere."""

    def response(self, call: Call, answer: Answer) -> Answer:
        data = answer.json() if call.operation == "join" and answer.status == 200 else None
        if isinstance(data, dict) and "roomId" in data:
            data["roomId"] = "gone-" + data["roomId"]
            answer.set_json(data)
        return answer


class CreateAcceptsAnyBody(Rewriter):
    """create refused as invalid is retried behind the caller's back with a valid body (200)."""

    async def rewritten(self, call: Call) -> Answer:
        answer = await self.ask(call)
        if call.operation == "create" and answer.status == 400:
            body = json.dumps({"invitedPlayerIds": ["someone-else"]}).encode()
            headers = {**call.headers, "content-type": "application/json"}
            headers["content-length"] = str(len(body))
            return await self.ask(Call("POST", call.path, {}, headers, body))
        return answer


@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[], Rewriter]
    caught_by: str  # the check that must report it
    phases: tuple[str, ...] = ("negative", "scenarios")  # what the suite must run to see it

    @property
    def defect(self) -> str:
        return (self.build.__doc__ or "").strip()


CATALOGUE: tuple[Variant, ...] = (
    Variant("int64_as_number", Int64AsNumber, "int64_strings"),
    Variant("wrong_kind", WrongKind, "strict_schema"),
    Variant("bad_enum_value", BadEnumValue, "openapi_response_schema"),
    Variant("unknown_property", UnknownProperty, "strict_schema"),
    Variant("server_error_on_client_mistake", ServerErrorOnClientMistake, "not_a_server_error"),
    Variant("error_without_envelope", ErrorWithoutEnvelope, "error_envelope"),
    Variant("mismatched_error_code", MismatchedErrorCode, "error_envelope"),
    Variant("plain_text_content_type", PlainTextContentType, "json_content_type"),
    Variant("paging_loses_items", PagingLosesItems, "paging_complete"),
    Variant("paging_starts_over", PagingStartsOver, "paging_complete"),
    Variant("create_ignores_request_id", CreateIgnoresRequestId, "create_idempotent"),
    Variant("version_stuck_at_one", VersionStuckAtOne, "status_version_monotonic"),
    Variant("join_deleted_room_allowed", JoinDeletedRoomAllowed, "deleted_room_final"),
    Variant("strangers_may_read", StrangersMayRead, "participants_only"),
    Variant("missing_auth_accepted", MissingAuthAccepted, "requires_credentials"),
    Variant("dismiss_ignored", DismissIgnored, "dismiss_hides_invitation"),
    Variant(
        "accepts_out_of_range_max_results", AcceptsOutOfRangeMaxResults, "rejects_invalid_input"
    ),
    Variant("never_active", NeverActive, "room_lifecycle"),
    Variant(
        "join_answers_another_room_id", JoinAnswersAnotherRoomId, "stateful_links", ("stateful",)
    ),
    Variant("create_accepts_any_body", CreateAcceptsAnyBody, "rejects_invalid_input", ("fuzz",)),
)
