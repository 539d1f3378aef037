"""The bounded reader and client on their own (what a proxy would reuse): caps, decompression,
JSON guards, and a connection that is never reused after a broken answer."""

from __future__ import annotations

import gzip
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms_kit.contract.bounded import (
    BodyReader,
    Limits,
    TransportFailure,
    check_headers,
    content_coding,
    json_problem,
)
from rooms_kit.contract.http import RecordedResponse
from rooms_kit.contract.wire import WireClient
from tests.contract.hostile.behaviours import huge_body
from tests.contract.hostile.server import HostileServer

CAP = Limits(max_response_bytes=1000)


def _read(chunks: list[bytes], encoding: str | None, limits: Limits = CAP) -> bytes:
    reader = BodyReader(limits, encoding, started=time.monotonic())
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def test_plain_and_compressed_bodies_read_whole() -> None:
    body = b'{"kind": "games#roomList"}'
    assert _read([body[:5], body[5:]], None) == body
    assert _read([gzip.compress(body)], "gzip") == body
    assert _read([zlib.compress(body)], "deflate") == body


@pytest.mark.parametrize("encoding", [None, "gzip", "deflate"])
def test_the_cap_counts_decompressed_bytes(encoding: str | None) -> None:
    body = b" " * 100_000
    wire = {None: body, "gzip": gzip.compress(body), "deflate": zlib.compress(body)}[encoding]
    assert len(wire) < 100_000 or encoding is None
    with pytest.raises(TransportFailure) as failure:
        _read([wire], encoding)
    assert failure.value.check == "response_size"
    assert len(failure.value.partial) <= CAP.max_response_bytes


def test_broken_encodings_are_named() -> None:
    with pytest.raises(TransportFailure) as unknown:
        _read([b"x"], "br")
    assert unknown.value.check == "http_protocol"
    with pytest.raises(TransportFailure) as cut:
        _read([gzip.compress(b"[1, 2, 3]" * 50)[:30]], "gzip")
    assert cut.value.check == "complete_response"
    with pytest.raises(TransportFailure) as garbage:
        _read([b"not gzip at all"], "gzip")
    assert garbage.value.check == "http_protocol"


def test_a_drip_past_the_request_timeout_is_late() -> None:
    reader = BodyReader(Limits(request_timeout=0.05), None, started=time.monotonic() - 1)
    with pytest.raises(TransportFailure) as late:
        reader.feed(b" ")
    assert late.value.check == "responds_in_time"
    assert "0.05 s" in late.value.title


def test_header_limits() -> None:
    check_headers((("a", "b"),) * 100, Limits())
    with pytest.raises(TransportFailure, match="101 response headers"):
        check_headers((("a", "b"),) * 101, Limits())
    with pytest.raises(TransportFailure, match="headers of"):
        check_headers((("a", "b" * 70_000),), Limits())


def test_json_guards() -> None:
    assert json_problem(b"[" * 513 + b"]" * 513) == "JSON nested deeper than 512 levels"
    assert json_problem(b"[" * 512 + b"]" * 512) is None
    assert json_problem(b'["' + b"[" * 5000 + b'"]') is None  # brackets inside a string
    assert json_problem(b'{"a": "\xff"}') == "invalid UTF-8 at byte 7"


def test_every_content_encoding_header_counts() -> None:
    twice = [("Content-Encoding", "gzip"), ("ETag", "x"), ("content-encoding", "gzip")]
    assert content_coding(twice) == "gzip, gzip"  # the contract's client read only the first
    assert content_coding([("content-type", "application/json")]) is None


def test_a_body_within_the_depth_bound_parses_even_from_a_deep_call_stack() -> None:
    # Python's json stops near 1,000 levels minus the frames below it: a bound of 1,024 let a
    # body 990 levels deep pass json_problem and then raise RecursionError in the checks
    deepest = RecordedResponse(200, (), b"[" * 512 + b"]" * 512)

    def parse_below(frames: int) -> object:
        return deepest.json() if frames == 0 else parse_below(frames - 1)

    value = parse_below(300)
    for _ in range(511):
        assert isinstance(value, list)
        value = value[0]
    assert value == []
    with pytest.raises(ValueError, match="JSON nested deeper than 512 levels"):
        RecordedResponse(200, (), b"[" * 990 + b"]" * 990).json()


def test_the_client_drops_a_connection_after_a_broken_answer() -> None:
    """A body cut at the cap leaves bytes on the wire: the next request needs a new connection."""
    with HostileServer(huge_body, "get") as url:
        client = WireClient(url, Limits(max_response_bytes=100_000, request_timeout=5))
        headers = [("Authorization", "Bearer dev-alice")]
        try:
            with pytest.raises(TransportFailure) as failure:
                client.request("GET", "/games/v1/rooms/abc", headers, None)
            assert failure.value.check == "response_size"
            answer = client.request("GET", "/games/v1/rooms", headers, None)
            assert answer.status == 200
            assert b"games#roomList" in answer.body
            again = client.request("GET", "/games/v1/rooms", headers, None)  # kept alive
            assert again.status == 200
        finally:
            client.close()


def _depth_by_hand(text: str, max_depth: int) -> bool:
    """The plain character loop ``json_problem`` replaced: whether ``text`` nests past
    ``max_depth`` outside its strings."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


@settings(max_examples=2000, deadline=None, database=None)
@given(text=st.text(alphabet='[]{}"\\a,', max_size=60), max_depth=st.integers(0, 4))
def test_the_depth_check_agrees_with_a_plain_character_loop(text: str, max_depth: int) -> None:
    """Strings (escapes, unterminated ones), brackets out of balance, closing before opening:
    the regular-expression depth check says what the character loop says."""
    expected = (
        f"JSON nested deeper than {max_depth} levels" if _depth_by_hand(text, max_depth) else None
    )
    assert json_problem(text.encode(), max_depth) == expected
