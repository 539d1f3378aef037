"""The reference server through HTTP, in-process, with the generated client ``rooms_api``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rooms_api.errors import AuthenticationError, ConflictError, NotFoundError
from rooms_api.models import (
    RoomAutoMatchingCriteria,
    RoomCreateRequest,
    RoomJoinRequest,
    RoomLeaveRequest,
    RoomP2PStatus,
    RoomP2PStatuses,
)

from rooms_kit.reference_server.app import ReferenceApp, create_reference_app
from tests.reference_server.support import InProcess, portal

OPERATIONS = [
    ("POST", "/games/v1/rooms/create", {"invitedPlayerIds": ["bob"]}),
    ("POST", "/games/v1/rooms/{room}/decline", None),
    ("POST", "/games/v1/rooms/{room}/dismiss", None),
    ("GET", "/games/v1/rooms/{room}", None),
    ("POST", "/games/v1/rooms/{room}/join", {}),
    ("POST", "/games/v1/rooms/{room}/leave", {}),
    ("GET", "/games/v1/rooms", None),
    ("POST", "/games/v1/rooms/{room}/reportstatus", {"updates": []}),
]


@pytest.fixture
def app() -> Iterator[ReferenceApp]:
    reference = create_reference_app(":memory:", dev_tokens=True, validate_responses=True)
    yield reference
    reference.close()


@pytest.fixture
def server(app: ReferenceApp) -> Iterator[InProcess]:
    with portal() as running:
        in_process = InProcess(app, running)
        yield in_process
        in_process.close()


def test_two_players_through_the_generated_client(server: InProcess) -> None:
    """R-create-1 R-join-1 R-list-1 R-report-3 R-leave-1 R-decline-1 R-dismiss-1"""
    alice, bob = server.client("alice"), server.client("bob")
    room = alice.create(RoomCreateRequest(invited_player_ids=["bob"], request_id="1"))
    assert room.status == "ROOM_INVITING"
    assert alice.create(RoomCreateRequest(invited_player_ids=["bob"], request_id="1")) == room
    invitations = bob.list(max_results=10)
    assert [r.room_id for r in invitations.items or []] == [room.room_id]
    assert room.room_id is not None
    joined = bob.join(room.room_id, RoomJoinRequest(capabilities=["x"]))
    assert joined.status == "ROOM_CONNECTING"
    ids = [p.id for p in joined.participants or []]
    status = alice.report_status(
        room.room_id,
        RoomP2PStatuses(
            updates=[RoomP2PStatus(participant_id=ids[1], status="CONNECTION_ESTABLISHED")]
        ),
    )
    assert status.status == "ROOM_ACTIVE"
    assert status.status_version == 3
    left = bob.leave(room.room_id, RoomLeaveRequest(reason="REALTIME_TIMEOUT"))
    assert (left.participants or [])[1].leave_reason == "TIMEOUT"
    other = alice.create(RoomCreateRequest(invited_player_ids=["bob"]))
    assert other.room_id is not None
    assert bob.decline(other.room_id).status == "ROOM_CONNECTING"
    third = alice.create(RoomCreateRequest(invited_player_ids=["bob"]))
    assert third.room_id is not None
    bob.dismiss(third.room_id)
    assert bob.list().items in (None, [])
    with pytest.raises(ConflictError):
        bob.join(other.room_id, RoomJoinRequest())


def test_auto_matching_through_the_generated_client(server: InProcess) -> None:
    """R-match-2 R-match-5"""
    criteria = RoomAutoMatchingCriteria(min_auto_matching_players=1, exclusive_bitmask="2")
    host = server.client("alice").create(
        RoomCreateRequest(auto_matching_criteria=criteria, variant=4)
    )
    guest = server.client("bob").create(
        RoomCreateRequest(
            auto_matching_criteria=RoomAutoMatchingCriteria(exclusive_bitmask="1"), variant=4
        )
    )
    assert guest.room_id == host.room_id
    assert (guest.participants or [])[1].auto_matched is True
    assert host.room_id is not None
    seen = server.client("alice").get(host.room_id)
    anonymous = (seen.participants or [])[1]
    assert anonymous.player is None
    assert anonymous.auto_matched_player is not None


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize("authorization", [None, "Bearer nobody", "Bearer dev-", "Basic abc"])
def test_every_operation_needs_credentials(
    server: InProcess, method: str, path: str, body: Any, authorization: str | None
) -> None:
    """R-auth-1"""
    headers = {"Authorization": authorization} if authorization else {}
    with server.http() as http:
        response = http.request(
            method, path.format(room="no-such-room"), json=body, headers=headers
        )
    assert response.status_code == 401
    assert response.json()["error"]["errors"][0]["reason"] == "authError"


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize(
    ("header", "in_query", "status"),
    [
        ("Bearer dev-alice", "dev-bob", 400),  # the header answered as alice before
        ("Bearer dev-bob", "dev-alice", 400),
        ("Bearer nobody", "dev-alice", 400),  # a guess too, whichever is known
        ("Bearer dev-alice", "dev-alice", None),  # one token, twice: no guess
        ("Bearer dev-alice", "", None),  # an empty oauth_token carries none
        ("Bearer", "dev-alice", 400),  # a header without a token is not the parameter's token
        ("Basic YWxpY2U6eA==", "dev-alice", 400),  # nor is another scheme's credential
    ],
)
def test_two_different_tokens_are_refused_before_anything_else(
    server: InProcess,
    method: str,
    path: str,
    body: Any,
    header: str,
    in_query: str,
    status: int | None,
) -> None:
    """R-auth-2"""
    with server.http() as http:
        response = http.request(
            method,
            path.format(room="no-such-room"),
            params={"oauth_token": in_query},
            json=body,
            headers={"Authorization": header},
        )
        alone = http.request(
            method, path.format(room="no-such-room"), json=body, headers={"Authorization": header}
        )
    if status is None:  # answered as the header alone is (create makes a new room each time)
        assert response.status_code == alone.status_code
        assert _shape(response.json()) == _shape(alone.json())
        return
    assert response.status_code == status
    (error,) = response.json()["error"]["errors"]
    assert (error["reason"], error["location"], error["locationType"]) == (
        "badRequest",
        "oauth_token",
        "parameter",
    )
    assert error["message"] == (
        "The Authorization header and the oauth_token parameter carry different tokens"
    )


@pytest.mark.parametrize(
    "query",
    [
        {"maxResults": "many"},  # a bad parameter of list
        {"fields": "items("},  # a bad field selection
        {"surprise": "1"},  # an unknown parameter (strict requests)
        {"prettyPrint": "maybe"},  # read before anything else, but after the tokens
        [("maxResults", "1"), ("maxResults", "2")],  # a parameter given twice
    ],
)
def test_two_different_tokens_are_refused_before_the_parameters_are_looked_at(
    server: InProcess, query: dict[str, str] | list[tuple[str, str]]
) -> None:
    """R-auth-2"""
    pairs = list(query.items()) if isinstance(query, dict) else query
    with server.http() as http:
        alone = http.get("/games/v1/rooms", params=pairs, headers={"Authorization": "Bearer x"})
        both = http.get(
            "/games/v1/rooms",
            params=[*pairs, ("oauth_token", "dev-bob")],
            headers={"Authorization": "Bearer dev-alice"},
        )
    assert alone.status_code == 400  # the parameter alone is refused
    assert alone.json()["error"]["errors"][0]["location"] != "oauth_token"
    assert both.status_code == 400
    (error,) = both.json()["error"]["errors"]
    assert (error["reason"], error["location"]) == ("badRequest", "oauth_token")


def _shape(body: dict[str, Any]) -> Any:
    return body["error"] if "error" in body else body.get("kind")


def test_client_raises_authentication_error(server: InProcess) -> None:
    """R-auth-1"""
    with pytest.raises(AuthenticationError):
        server.client(None, token="who-am-i").list()


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS[1:6] + OPERATIONS[7:])
def test_a_foreign_room_answers_like_a_missing_one(
    server: InProcess, method: str, path: str, body: Any
) -> None:
    """R-hide-1"""
    room = server.client("alice").create(RoomCreateRequest(invited_player_ids=["bob"]))
    answers = []
    with server.http() as http:
        for target in (room.room_id or "", "no-such-room-at-all"):
            response = http.request(
                method,
                path.format(room=target),
                json=body,
                headers={"Authorization": "Bearer dev-eve"},
            )
            answers.append((response.status_code, response.text.replace(target, "<id>")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404
    assert json.loads(answers[0][1])["error"]["errors"][0]["reason"] == "notFound"
    with pytest.raises(NotFoundError):
        server.client("eve").get(room.room_id or "")


BAD_REQUESTS = [
    ("POST", "/games/v1/rooms/create", b"{", None),
    ("POST", "/games/v1/rooms/create", b"[]", None),
    ("POST", "/games/v1/rooms/create", b"{}", None),
    ("POST", "/games/v1/rooms/create", b'{"invitedPlayerIds": ["alice"]}', None),
    ("POST", "/games/v1/rooms/create", b'{"invitedPlayerIds": "bob"}', None),
    ("POST", "/games/v1/rooms/create", b'{"requestId": 5, "invitedPlayerIds": ["b"]}', None),
    ("POST", "/games/v1/rooms/create", b'{"variant": 1e99, "invitedPlayerIds": ["b"]}', None),
    (
        "POST",
        "/games/v1/rooms/create",
        b'{"autoMatchingCriteria": {"minAutoMatchingPlayers": 0}}',
        None,
    ),
    ("POST", "/games/v1/rooms/create", b'{"kind": "games#room", "invitedPlayerIds": ["b"]}', None),
    ("POST", "/games/v1/rooms/create", b'{"invitedPlayerIdz": ["b"]}', None),
    ("POST", "/games/v1/rooms/create", b"\xff\xfe", None),
    ("GET", "/games/v1/rooms", None, "maxResults=0"),
    ("GET", "/games/v1/rooms", None, "maxResults=501"),
    ("GET", "/games/v1/rooms", None, "maxResults=x"),
    ("GET", "/games/v1/rooms", None, "pageToken=garbage"),
    ("GET", "/games/v1/rooms", None, "consistencyToken=abc"),
    ("GET", "/games/v1/rooms", None, "alt=proto"),
    ("POST", "/games/v1/rooms/{room}/leave", b'{"reason": "BORED"}', None),
    (
        "POST",
        "/games/v1/rooms/{room}/reportstatus",
        b'{"updates": [{"participantId": "p_x", "status": "CONNECTION_ESTABLISHED"}]}',
        None,
    ),
    ("POST", "/games/v1/rooms/{room}/reportstatus", b'{"updates": {}}', None),
    ("GET", "/games/v1/rooms/%2F%2F", None, None),
    ("GET", "/games/v1/rooms/{room}", None, "consistencyToken=9223372036854775808"),
]


@pytest.mark.parametrize(("method", "path", "content", "query"), BAD_REQUESTS)
def test_client_mistakes_are_4xx_in_the_envelope(
    server: InProcess, method: str, path: str, content: bytes | None, query: str | None
) -> None:
    """R-errors-1"""
    room = server.client("alice").create(RoomCreateRequest(invited_player_ids=["bob"]))
    url = path.format(room=room.room_id) + (f"?{query}" if query else "")
    with server.http() as http:
        response = http.request(
            method,
            url,
            content=content,
            headers={"Authorization": "Bearer dev-alice", "Content-Type": "application/json"},
        )
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["code"] == response.status_code
    assert "Traceback" not in response.text


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.sampled_from(
    ["invitedPlayerIds", "autoMatchingCriteria", "variant", "requestId", "capabilities", "kind"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(FIELDS, JSON, max_size=4) | JSON)
def test_no_create_body_makes_the_server_fail(server: InProcess, body: Any) -> None:
    """R-errors-1"""
    with server.http() as http:
        response = http.post(
            "/games/v1/rooms/create", json=body, headers={"Authorization": "Bearer dev-alice"}
        )
    assert response.status_code in (200, 400), response.text


def test_the_health_endpoint_answers_outside_the_api(server: InProcess) -> None:
    """R-serve-2"""
    with server.http() as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.post("/healthz").status_code == 405
        assert (
            http.get("/games/v1/healthz", headers={"Authorization": "Bearer dev-a"}).status_code
            == 404
        )


def test_the_health_endpoint_reports_an_unusable_database(
    server: InProcess, app: ReferenceApp
) -> None:
    """R-serve-2"""
    app.store.close()
    with server.http() as http:
        response = http.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "database unavailable"}


def test_access_log_lines_are_json_without_tokens(
    server: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    """R-token-3 R-serve-3"""
    with caplog.at_level("INFO", logger="rooms_kit.access"), server.http() as http:
        http.get("/games/v1/rooms?oauth_token=dev-secretive", headers={})
        http.get("/games/v1/rooms", headers={"Authorization": "Bearer dev-hushhush"})
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "rooms_kit.access"]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", "/games/v1/rooms", 200),
        ("GET", "/games/v1/rooms", 200),
    ]
    assert all(r["bytes"] > 0 and r["duration_ms"] >= 0 for r in records)
    assert "secretive" not in caplog.text
    assert "hushhush" not in caplog.text


CREATE_REFUSALS = [
    ({"invitedPlayerIds": ["bob", "carl", "bob"]}, "/invitedPlayerIds/2",
     "'bob' is invited twice (also at '/invitedPlayerIds/0')"),
    ({"invitedPlayerIds": ["bob", "alice"]}, "/invitedPlayerIds/1",
     "the caller cannot invite itself"),
    ({"invitedPlayerIds": [""]}, "/invitedPlayerIds/0", "a player id is empty"),
    ({"autoMatchingCriteria": {"minAutoMatchingPlayers": 3, "maxAutoMatchingPlayers": 2}},
     "/autoMatchingCriteria/maxAutoMatchingPlayers",
     "2 is less than minAutoMatchingPlayers (3)"),
    ({"autoMatchingCriteria": {"minAutoMatchingPlayers": 0}},
     "/autoMatchingCriteria/minAutoMatchingPlayers", "0; at least 1 other player is needed"),
    ({"invitedPlayerIds": ["b", "c"], "autoMatchingCriteria": {"maxAutoMatchingPlayers": 7}},
     "/autoMatchingCriteria/maxAutoMatchingPlayers",
     "a room holds at most 8 players; this request asks for 10"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "pointer", "what"), CREATE_REFUSALS)
def test_create_refusals_name_the_value_to_blame(
    server: InProcess, body: dict[str, Any], pointer: str, what: str
) -> None:
    """R-limits-1 R-errors-1: the message and the location both carry the JSON pointer."""
    with server.http() as http:
        response = http.post(
            "/games/v1/rooms/create", json=body, headers={"Authorization": "Bearer dev-alice"}
        )
    assert response.status_code == 400
    (error,) = response.json()["error"]["errors"]
    assert (error["reason"], error["location"], error["locationType"]) == (
        "invalid",
        pointer,
        "body",
    )
    assert error["message"] == f"Invalid value at '{pointer}': {what}"


def test_an_integral_float_is_an_integer(server: InProcess) -> None:
    """2.0 is an integer to JSON Schema, and so to validate and the stub: the service agrees."""
    with server.http() as http:
        response = http.post(
            "/games/v1/rooms/create",
            json={"invitedPlayerIds": ["bob"], "variant": 2.0},
            headers={"Authorization": "Bearer dev-alice"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["variant"] == 2
