"""Generated requests straight into the reference server's ASGI application: whatever the path,
query string, headers and body (in whatever chunks), the answer is never a 5xx and nothing is
logged as an error (no traceback)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rooms_kit.reference_server.app import ReferenceApp, create_reference_app

DEFAULT_RECURSION_LIMIT = 1000
SEGMENTS = st.sampled_from(
    ["games", "v1", "rooms", "create", "join", "leave", "decline", "dismiss", "reportstatus",
     "", "%2F", "%00", "%ff", "..", "%", "%zz", "r1", "x" * 300]
) | st.text(max_size=20).map(lambda text: text.encode("utf-8", "surrogatepass").hex())  # fmt: skip
OPERATION_PATHS = st.sampled_from(
    ["/games/v1/rooms/create", "/games/v1/rooms/r1/join", "/games/v1/rooms/r1/leave",
     "/games/v1/rooms/r1/reportstatus", "/games/v1/rooms/r1/decline", "/games/v1/rooms/r1",
     "/games/v1/rooms/r1/dismiss", "/games/v1/rooms"]
)  # fmt: skip
PATHS = st.one_of(
    OPERATION_PATHS,
    OPERATION_PATHS,
    st.lists(SEGMENTS, max_size=6).map(lambda parts: "/games/v1/" + "/".join(parts)),
    st.lists(SEGMENTS, max_size=6).map(lambda parts: "/" + "/".join(parts)),
    st.just("/healthz"),
)
KEYS = st.sampled_from(
    ["fields", "maxResults", "prettyPrint", "alt", "pageToken", "consistencyToken", "language",
     "oauth_token", "key", "quotaUser", "userIp", "bogus", "", "fields[]"]
)  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["1", "-1", "+5", "1_0", "%205", "%D9%A5", "true", "json", "a(b", "*",
                     "a" * 3000, "(" * 100, "a(" * 500, "a/" * 1000, "dev-alice", "%", "%%", "99999999999999999999999"]),
    st.text(max_size=30),
)  # fmt: skip
QUERIES = st.lists(st.tuples(KEYS, VALUES), max_size=5).map(
    lambda pairs: "&".join(f"{key}={value}" for key, value in pairs).encode("utf-8", "replace")
)
HEADER_VALUES = st.one_of(
    st.sampled_from([b"Bearer dev-alice", b"Bearer dev-", b"Bearer", b"bearer  dev-bob ",
                     b"Basic xyz", b"-1", b"1e3", b"18446744073709551616", b"0", b"5",
                     b"application/json", b"text/plain", b"chunked"]),
    st.binary(max_size=40),
)  # fmt: skip
AUTHORIZED = st.booleans().map(lambda yes: [(b"authorization", b"Bearer dev-alice")] if yes else [])
HEADERS = AUTHORIZED.flatmap(lambda auth: st.lists(
    st.tuples(
        st.sampled_from([b"authorization", b"content-length", b"content-type",
                         b"transfer-encoding", b"accept", b"x-junk"]),
        HEADER_VALUES,
    ),
    max_size=4,
).map(lambda more: auth + more))  # fmt: skip
JSONISH = st.sampled_from(
    [b"", b"{}", b"[]", b"null", b'{"invitedPlayerIds": ["bob"]}', b'{"updates": [{}]}',
     b'{"capabilities": ' + b"[" * 200 + b"]" * 200 + b"}", b"[" * 5000, b'{"reason": 5}',
     b'{"capabilities": ' + b"[" * 1000 + b"]" * 1000 + b"}",
     b'{"autoMatchingCriteria": {"maxAutoMatchingPlayers": 2147483648}}', b"\xff\xfe",
     b'{"invitedPlayerIds": ["' + b"p" * 5000 + b'"]}']
)  # fmt: skip


def _deep(key: str, depth: int, opener: bytes) -> bytes:
    closer = b"]" if opener == b"[" else b"}"
    inner = opener * depth + (b"1" if opener != b"[" else b"") + closer * depth
    return b'{"' + key.encode() + b'": ' + inner + b"}"


DEEP = st.builds(
    _deep,
    st.sampled_from(["capabilities", "invitedPlayerIds", "autoMatchingCriteria", "updates", "x"]),
    st.integers(min_value=0, max_value=1022) | st.sampled_from([500, 999, 1000, 1021, 1022, 1023]),
    st.sampled_from([b"[", b'{"a":']),
)
BODIES = JSONISH | DEEP | st.binary(max_size=200)
METHODS = st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def app() -> Iterator[ReferenceApp]:
    reference = create_reference_app(":memory:", dev_tokens=True)
    yield reference
    reference.close()


ERRORS = Errors()


@pytest.fixture(scope="module")
def errors() -> Iterator[Errors]:
    logging.getLogger().addHandler(ERRORS)
    yield ERRORS
    logging.getLogger().removeHandler(ERRORS)


def run(app: ReferenceApp, scope: dict[str, Any], chunks: list[bytes]) -> int:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    ERRORS.records.clear()

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    # Hypothesis raises the recursion limit while a test runs; the server gets Python's default,
    # as it has in production, so that unbounded recursion shows here.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
    try:
        asyncio.run(app(scope, receive, send))
    finally:
        sys.setrecursionlimit(limit)
    assert sent and sent[0]["type"] == "http.response.start"
    return int(sent[0]["status"])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    method=METHODS,
    path=PATHS,
    query=QUERIES,
    headers=HEADERS,
    body=BODIES,
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=3),
)
def test_no_request_gets_a_5xx_or_a_traceback(
    app: ReferenceApp,
    errors: Errors,
    method: str,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    cuts: list[int],
) -> None:
    """R-errors-1"""
    edges = sorted({0, len(body), *(min(cut, len(body)) for cut in cuts)})
    chunks = [body[a:b] for a, b in itertools.pairwise(edges)] or [b""]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode("utf-8", "replace"),
        "query_string": query, "root_path": "", "headers": headers,
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 5000),
    }  # fmt: skip
    status = run(app, scope, chunks)
    assert status < 500, (method, path, query, headers, body[:100])
    assert errors.records == []


def scope_of(method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> Any:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": headers, "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }  # fmt: skip


WRITES = st.sampled_from(
    ["/games/v1/rooms/create", "/games/v1/rooms/r1/join", "/games/v1/rooms/r1/leave",
     "/games/v1/rooms/r1/reportstatus"]
)  # fmt: skip
READS = st.sampled_from(["/games/v1/rooms", "/games/v1/rooms/r1"])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@example(True, "/games/v1/rooms/create", "/games/v1/rooms", b"", _deep("capabilities", 1000, b"["))
@example(True, "/games/v1/rooms/r1/join", "/games/v1/rooms", b"", _deep("x", 1022, b'{"a":'))
@example(False, "/games/v1/rooms/create", "/games/v1/rooms/r1", b"fields=" + b"a(" * 500, b"")
@example(False, "/games/v1/rooms/create", "/games/v1/rooms", b"fields=" + b"a/" * 4000, b"")
@given(
    write=st.booleans(),
    write_path=WRITES,
    read_path=READS,
    query=QUERIES,
    body=DEEP | BODIES,
)
def test_signed_in_requests_with_hostile_parts_get_no_5xx(
    app: ReferenceApp,
    errors: Errors,
    write: bool,
    write_path: str,
    read_path: str,
    query: bytes,
    body: bytes,
) -> None:
    """R-errors-1: the same, for requests that pass authentication and reach the bodies."""
    headers = [(b"authorization", b"Bearer dev-alice"), (b"content-type", b"application/json")]
    if write:
        status = run(app, scope_of("POST", write_path, query, headers), [body])
    else:
        status = run(app, scope_of("GET", read_path, query, headers), [b""])
    assert status < 500, (write_path if write else read_path, query, body[:100])
    assert errors.records == []
