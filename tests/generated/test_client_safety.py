"""What keeps a client call safe: idempotent retries, the base URL, picklable exceptions."""

from __future__ import annotations

import asyncio
import json
import pickle
import re
from typing import Any

import httpx
import pytest
import rooms_api
from rooms_api import errors
from rooms_api.client import AsyncRoomsClient, RetryPolicy, RoomsClient
from rooms_api.models import Room, RoomCreateRequest, RoomJoinRequest

ROOM = {"kind": "games#room", "roomId": "r1"}
INT64_MAX = 2**63 - 1


class Recorder:
    """Answers from a script of statuses or exceptions; records every request that was tried."""

    def __init__(self, *script: int | Exception) -> None:
        self.script = list(script)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        body = ROOM if step < 400 else {"error": {"code": step, "message": "x", "errors": []}}
        return httpx.Response(step, json=body)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def client(recorder: Recorder, base_url: str = "http://127.0.0.1:9/") -> RoomsClient:
    return RoomsClient(
        "t", base_url=base_url, transport=httpx.MockTransport(recorder), sleep=lambda _: None
    )


def test_create_fills_in_a_request_id_and_keeps_it_across_retries() -> None:
    recorder = Recorder(503, httpx.ReadTimeout("slow"), 200)
    body = RoomCreateRequest(variant=1)
    client(recorder).create(body)
    ids = [b["requestId"] for b in recorder.bodies()]
    assert len(ids) == 3 and len(set(ids)) == 1
    assert 0 < int(ids[0]) <= INT64_MAX
    assert body.request_id is None  # the caller's object is left alone


def test_each_create_gets_its_own_request_id_unless_given_one() -> None:
    recorder = Recorder(200, 200, 200)
    rooms = client(recorder)
    rooms.create(RoomCreateRequest())
    rooms.create(RoomCreateRequest())
    rooms.create(RoomCreateRequest(request_id="-17"))
    first, second, given = (b["requestId"] for b in recorder.bodies())
    assert first != second
    assert given == "-17"


@pytest.mark.parametrize(
    "failure", [502, 503, 429, httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("cut")]
)
def test_a_post_without_key_is_not_sent_twice_once_it_may_have_arrived(
    failure: int | Exception,
) -> None:
    recorder = Recorder(failure, 200)
    with pytest.raises((errors.RoomsHttpError, errors.RoomsConnectionError)):
        client(recorder).join("r1", RoomJoinRequest())
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")]
)
def test_a_post_that_never_left_is_retried(failure: Exception) -> None:
    recorder = Recorder(failure, 200)
    assert client(recorder).leave("r1", rooms_api.RoomLeaveRequest()).room_id == "r1"
    assert len(recorder.requests) == 2


def test_gets_are_still_retried_after_they_arrived() -> None:
    recorder = Recorder(503, httpx.ReadTimeout("slow"), 200)
    assert client(recorder).get("r1").room_id == "r1"
    assert len(recorder.requests) == 3


def test_the_async_client_follows_the_same_rules() -> None:
    async def scenario() -> tuple[int, int]:
        join_script, create_script = Recorder(503), Recorder(503, 200)

        async def no_sleep(_: float) -> None:
            return None

        async with AsyncRoomsClient(
            "t", base_url="http://h", transport=httpx.MockTransport(join_script), sleep=no_sleep
        ) as rooms:
            with pytest.raises(errors.ServerError):
                await rooms.join("r1", RoomJoinRequest())
        async with AsyncRoomsClient(
            "t", base_url="http://h", transport=httpx.MockTransport(create_script), sleep=no_sleep
        ) as rooms:
            await rooms.create(RoomCreateRequest())
        ids = {b["requestId"] for b in create_script.bodies()}
        return len(join_script.requests), len(ids)

    assert asyncio.run(scenario()) == (1, 1)


def test_retry_policy_decisions() -> None:
    policy = RetryPolicy(max_retries=2)
    assert policy.should_retry(0, 503) and policy.should_retry(0, None)
    assert not policy.should_retry(0, 503, replayable=False)
    assert not policy.should_retry(2, 503)
    assert policy.should_retry_failure(0, httpx.ConnectError("x"), replayable=False)
    assert not policy.should_retry_failure(0, httpx.ReadError("x"), replayable=False)
    assert policy.should_retry_failure(0, httpx.ReadError("x"), replayable=True)


# --- base URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        ("http://127.0.0.1:9", "/games/v1/rooms/r1"),
        ("http://127.0.0.1:9/", "/games/v1/rooms/r1"),
        ("http://127.0.0.1:9/games/v1", "/games/v1/rooms/r1"),
        ("http://127.0.0.1:9/games/v1/", "/games/v1/rooms/r1"),
        ("http://127.0.0.1:9/proxy/", "/proxy/games/v1/rooms/r1"),
        ("http://127.0.0.1:9/proxy/games/v1/", "/proxy/games/v1/rooms/r1"),
        (" http://127.0.0.1:9/?x=1 ", "/games/v1/rooms/r1"),
    ],
)
def test_base_url_with_or_without_the_service_path(base_url: str, path: str) -> None:
    recorder = Recorder(200)
    client(recorder, base_url).get("r1")
    assert recorder.requests[0].url.path == path


@pytest.mark.parametrize("cls", [RoomsClient, AsyncRoomsClient])
def test_there_is_no_default_host(cls: type[RoomsClient] | type[AsyncRoomsClient]) -> None:
    """A client built without ``base_url`` says so in its own name; before, Python's message
    named the internal ``BlockingTransport.__init__()``."""
    name = cls.__name__
    needs = (
        f"{name}() needs base_url=, the address of a server that implements the rooms API, for "
        f"example {name}(token, base_url='http://127.0.0.1:8080') (the service at "
        "https://www.googleapis.com/ was retired, so there is no default)"
    )
    with pytest.raises(TypeError) as raised:
        cls("t")  # type: ignore[call-arg]
    assert str(raised.value) == needs
    with pytest.raises(TypeError) as raised:
        cls()  # type: ignore[call-arg]
    assert str(raised.value) == needs


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("http://127.0.0.1:8080",),
            {},
            "; an address was passed by position, where only the token goes: name it",
        ),
        (("t", "http://127.0.0.1:8080"), {}, "; an address was passed by position"),
        (("t",), {"base_url": "http://h", "timout": 3}, "(): got an unexpected keyword argument"),
        (("t", "u"), {"base_url": "http://h"}, "(): too many positional arguments"),
    ],
)
def test_a_constructor_call_that_does_not_fit_names_the_client(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    for cls in (RoomsClient, AsyncRoomsClient):
        with pytest.raises(TypeError) as raised:
            cls(*args, **kwargs)
        text = str(raised.value)
        assert text.startswith(f"{cls.__name__}()"), text
        assert message in text, text
        assert "Transport" not in text, text


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("", "base_url is required: the address of a server"),
        ("   ", "base_url is required"),
        ("ftp://example.invalid", "must be an http:// or https:// URL with a host"),
        ("127.0.0.1:8080", "must be an http:// or https:// URL with a host"),
        ("http://", "must be an http:// or https:// URL with a host"),
        ("http://[::1", "is not a URL"),
    ],
)
def test_a_bad_base_url_is_refused_before_anything_is_sent(base_url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RoomsClient("t", base_url=base_url)


# --- exceptions cross process boundaries ------------------------------------------------------


def _raised(status: int, body: Any) -> errors.RoomsApiError:
    def answer(request: httpx.Request) -> httpx.Response:
        del request
        return httpx.Response(status, json=body)

    rooms = RoomsClient(
        "t", base_url="http://h", transport=httpx.MockTransport(answer), retry=RetryPolicy(0)
    )
    with pytest.raises(errors.RoomsApiError) as caught:
        rooms.get("r1")
    return caught.value


ENVELOPE = {"error": {"code": 0, "message": "gone", "errors": [{"reason": "notFound"}]}}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 418, 429, 500, 503])
def test_http_errors_pickle_with_their_details(status: int) -> None:
    error = _raised(status, ENVELOPE)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert isinstance(copy, errors.RoomsHttpError) and isinstance(error, errors.RoomsHttpError)
    assert (copy.status, copy.reason, copy.message) == (status, "notFound", "gone")
    assert copy.envelope == error.envelope
    assert copy.response.status_code == status


def test_other_client_errors_pickle() -> None:
    unexpected = _raised(200, {"roomId": 5})
    assert isinstance(unexpected, errors.UnexpectedResponseError)
    copy = pickle.loads(pickle.dumps(unexpected))
    assert (type(copy), str(copy), copy.status) == (type(unexpected), str(unexpected), 200)

    refused = Recorder(httpx.ConnectError("refused"))
    rooms = RoomsClient(
        base_url="http://h", transport=httpx.MockTransport(refused), retry=RetryPolicy(0)
    )
    with pytest.raises(errors.RoomsConnectionError) as caught:
        rooms.get("r1")
    copy_conn = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy_conn), str(copy_conn)) == (errors.RoomsConnectionError, str(caught.value))


# --- the package root ---------------------------------------------------------------------------


def test_the_main_names_come_from_the_package_root() -> None:
    assert rooms_api.RoomsClient is RoomsClient
    assert rooms_api.AsyncRoomsClient is AsyncRoomsClient
    assert rooms_api.Room is Room
    assert rooms_api.NotFoundError is errors.NotFoundError
    assert rooms_api.__all__ == sorted(rooms_api.__all__)
    for name in rooms_api.__all__:
        assert getattr(rooms_api, name) is not None
    assert {"RetryPolicy", "RoomsApiError", "RoomList", "PeerStatus"} <= set(rooms_api.__all__)
    assert "create_app" not in rooms_api.__all__  # the server needs the [server] extra
