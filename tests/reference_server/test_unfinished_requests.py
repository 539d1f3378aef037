"""A request the stub does not finish still gets an answer in Google's envelope and its access
line: an error that escapes the stub (500), and a request cancelled because the server is
stopping past its grace period (503). Neither leaves an exception for uvicorn to print."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from rooms_kit.reference_server.access_log import ACCESS_LOGGER
from rooms_kit.reference_server.app import ReferenceApp, create_reference_app

HANG_SECONDS = 60
"""Only a guard against a hang, never a measurement."""


async def _escaping_error(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug past the stub's own error handling")


async def _never_answering(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(HANG_SECONDS)


def _app_around(inner: Any) -> ReferenceApp:
    real = create_reference_app(":memory:", dev_tokens=True)
    return ReferenceApp(inner, service=real.service, resolver=real.resolver, store=real.store)


def _request(app: ReferenceApp, *, cancel_after: float | None) -> tuple[list[Message], bool]:
    """Messages sent for one GET, and whether the app's task ended in an exception."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/games/v1/rooms",
        "raw_path": b"/games/v1/rooms",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 50000),
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    async def main() -> bool:
        task = asyncio.ensure_future(app(scope, receive, send))
        if cancel_after is not None:
            await asyncio.sleep(cancel_after)
            task.cancel()  # what uvicorn does to requests still running after its grace period
        async with asyncio.timeout(HANG_SECONDS):
            await asyncio.wait([task])
        return task.cancelled() or task.exception() is not None

    try:
        failed = asyncio.run(main())
    finally:
        app.close()
    return sent, failed


def _answer(sent: list[Message]) -> tuple[int, dict[str, Any]]:
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    headers = dict(sent[0]["headers"])
    assert headers[b"content-type"] == b"application/json; charset=UTF-8"
    assert int(headers[b"content-length"]) == len(sent[1]["body"])
    return int(sent[0]["status"]), json.loads(sent[1]["body"])


def _access_statuses(caplog: pytest.LogCaptureFixture) -> list[object]:
    lines = [r.getMessage() for r in caplog.records if r.name == ACCESS_LOGGER]
    return [json.loads(line)["status"] for line in lines]


@pytest.mark.parametrize(
    ("inner", "cancel_after", "status", "reason", "message"),
    [
        (_escaping_error, None, 500, "backendError", "Internal error."),
        (
            _never_answering,
            0.05,
            503,
            "backendError",
            "The server stopped before finishing this request.",
        ),
    ],
    ids=["error-escaping-the-stub", "cancelled-at-shutdown"],
)
def test_an_unfinished_request_gets_the_envelope_and_an_access_line(
    caplog: pytest.LogCaptureFixture,
    inner: Any,
    cancel_after: float | None,
    status: int,
    reason: str,
    message: str,
) -> None:
    caplog.set_level(logging.INFO)
    sent, failed = _request(_app_around(inner), cancel_after=cancel_after)
    assert not failed  # nothing left for the server to print a traceback about
    assert _answer(sent) == (
        status,
        {
            "error": {
                "code": status,
                "message": message,
                "errors": [{"domain": "global", "reason": reason, "message": message}],
            }
        },
    )
    assert _access_statuses(caplog) == [status]
