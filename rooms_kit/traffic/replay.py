"""Replay: re-send a recording to another implementation and compare every answer.

Exchanges are sent one after another in the order of the recording, each with the real token of
its player alias (``--token ALIAS=TOKEN``; ``anonymous`` ones without credentials). What the new
server makes up is mapped as it appears: walking the recorded answer and the new one side by side,
every ``roomId``, participant ``id``/``participantId``, ``playerId`` and ``nextPageToken`` that
differs becomes a translation, applied to the paths, query values and bodies sent afterwards and to
the recorded answers before they are compared. Each recorded ``requestId`` is replaced by a fresh
one (the same fresh one every time it recurs, so a retried create stays a retry).

Comparison, after translation: the status and the answer's media type must be equal; a success body must be equal except for
the values of fields that may legitimately differ (timestamps, listed in ``VOLATILE``: only their
JSON type is compared); an error body must have
the same ``code`` and the same list of ``reason``s (messages are prose and may differ).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import orjson

from rooms_kit.contract.bounded import TransportFailure
from rooms_kit.traffic.aliases import ANONYMOUS, QUERY_TOKEN, may_hold_query_token
from rooms_kit.traffic.checking import Limits, body_reader
from rooms_kit.traffic.operations import Route, Router
from rooms_kit.traffic.reading import RecordingError, read_lines, route_problem
from rooms_kit.validation.depth import deeper_than

ID_KEYS = {"roomId", "id", "participantId", "playerId", "nextPageToken"}
VOLATILE = {
    "modifiedTimestampMillis",
    "connectedTimestampMillis",
    "lastUpdateDetails",
    "timeMillis",
}
REQUEST_ID = "requestId"
MAX_DIFFERENCES = 20  # differences whose bodies are kept for the reports (the others: their line)
MAX_BODY_DEPTH = 253  # the deepest body a recording line holds as JSON (orjson writes 254 levels)


@dataclass(frozen=True)
class Difference:
    where: str  # file:line of the recorded exchange
    operation: str
    request: str  # METHOD path as sent to the new server, each oauth_token as its alias
    what: str  # one line: the first differing pointer, or the statuses
    recorded: Any  # both bodies (translated recorded, new), for the side-by-side view
    replayed: Any
    recorded_status: int
    replayed_status: int


@dataclass
class Mapping:
    """Recorded value -> value on the new server."""

    ids: dict[str, str] = field(default_factory=dict)
    request_ids: dict[str, str] = field(default_factory=dict)
    nonce: int = field(default_factory=lambda: time.time_ns() // 1000)

    def fresh_request_id(self, recorded: str) -> str:
        if recorded not in self.request_ids:
            self.request_ids[recorded] = str(self.nonce * 1000 + len(self.request_ids) + 1)
        return self.request_ids[recorded]

    def value(self, text: str) -> str:
        return self.ids.get(text, text)

    def translate(self, node: Any, *, request: bool = False) -> Any:
        """A copy of ``node`` with every mapped id replaced (and, in requests, fresh requestIds)."""
        if isinstance(node, dict):
            return {
                key: self.fresh_request_id(value)
                if request and key == REQUEST_ID and isinstance(value, str)
                else self.translate(value, request=request)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [self.translate(item, request=request) for item in node]
        if isinstance(node, str):
            return self.value(node)
        return node

    def learn(self, recorded: Any, replayed: Any) -> None:
        """Add translations for the ids the new server chose, walking both answers together."""
        if isinstance(recorded, dict) and isinstance(replayed, dict):
            for key, value in recorded.items():
                other = replayed.get(key)
                if key in ID_KEYS and isinstance(value, str) and isinstance(other, str):
                    if value != other:
                        self.ids.setdefault(value, other)
                else:
                    self.learn(value, other)
        elif isinstance(recorded, list) and isinstance(replayed, list):
            for left, right in zip(recorded, replayed, strict=False):
                self.learn(left, right)


def _strip(node: Any) -> Any:
    """Volatile values replaced by their JSON type: a timestamp may change, its type may not."""
    if isinstance(node, dict):
        return {k: f"<{type(v).__name__}>" if k in VOLATILE else _strip(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_strip(item) for item in node]
    return node


def comparable(status: int, body: Any) -> Any:
    """What of an answer must be equal: success bodies without volatile fields, errors by reasons."""
    if status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return body
        reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
        return {"code": error.get("code"), "reasons": reasons}
    return _strip(body)


def first_difference(left: Any, right: Any, at: str = "") -> str | None:
    """The JSON pointer of the first place two values differ, or None when they are equal."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in list(left) + [k for k in right if k not in left]:
            if key not in left or key not in right:
                return f"{at}/{key}: {'missing' if key not in right else 'unexpected'}"
            found = first_difference(left[key], right[key], f"{at}/{key}")
            if found:
                return found
        return None
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return f"{at or '/'}: {len(left)} item(s) recorded, {len(right)} now"
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            found = first_difference(a, b, f"{at}/{index}")
            if found:
                return found
        return None
    if left != right:
        return f"{at or '/'}: {_short(left)} recorded, {_short(right)} now"
    return None


def _short(value: Any) -> str:
    return orjson.dumps(value).decode()[:80]


@dataclass
class Step:
    where: str
    line: dict[str, Any]


class Replayer:
    """Sends recorded exchanges to ``url`` with the real tokens and compares the answers."""

    def __init__(
        self,
        url: str,
        tokens: dict[str, str],
        router: Router,
        *,
        limits: Limits | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = httpx.URL(url.rstrip("/"))
        self.tokens = tokens
        self.router = router
        self.limits = limits or Limits()
        self.mapping = Mapping()
        self.client = httpx.Client(
            timeout=httpx.Timeout(self.limits.seconds),
            trust_env=False,
            follow_redirects=False,
            transport=transport,
        )
        self.sent = 0
        self.answered = 0  # exchanges the server answered (even wrongly)

    def close(self) -> None:
        self.client.close()

    def _path(self, path: str, method: str) -> str:
        route = self.router.match(method, path)
        if route is None or route.room_id is None:
            return path
        recorded = quote(route.room_id, safe="")
        return path.replace(
            f"/{recorded}", "/" + quote(self.mapping.value(route.room_id), safe=""), 1
        )

    def _query(self, query: str, *, shown: bool = False) -> str:
        """The recorded query with new room ids, and each ``oauth_token`` alias replaced by
        that player's token, so that a request that carried two tokens (R-auth-2) carries them
        again; ``shown``: the same query as it may be printed, each alias left in place."""
        pairs = [
            (
                key,
                (value if shown else self.tokens[value])
                if key == QUERY_TOKEN
                else self.mapping.value(value),
            )
            for key, value in parse_qsl(query, keep_blank_values=True)
            if key != QUERY_TOKEN or value in self.tokens
        ]
        return urlencode(pairs)

    def send(self, step: Step) -> Difference | None:
        line = step.line
        method = line["method"]
        # A raw '#' reached the recorded server as part of the path (the proxy forwards the
        # target as it came); sent as it is, an HTTP client would cut the path there.
        path = self._path(line["path"].replace("#", "%23"), method)
        query = self._query(line.get("query") or "")
        shown = self._query(line.get("query") or "", shown=True)
        headers = {"Accept": "application/json"}
        player = line.get("player", ANONYMOUS)
        if player != ANONYMOUS:
            headers["Authorization"] = f"Bearer {self.tokens[player]}"
        content: bytes | None = None
        if line.get("request") is not None:
            content = orjson.dumps(self.mapping.translate(line["request"], request=True))
            headers["Content-Type"] = "application/json"
        elif line.get("requestText") is not None:
            content = str(line["requestText"]).encode()
        target = path + (f"?{query}" if query else "")
        try:
            url = self.base.copy_with(raw_path=self.base.raw_path.rstrip(b"/") + target.encode())
        except httpx.InvalidURL as exc:
            raise RecordingError(f"{step.where}: its path cannot be sent: {exc}") from None
        self.sent += 1
        status, content_type, body, text = self._exchange(method, url, headers, content)
        recorded_status = int(line["status"])
        recorded = line.get("response")
        if recorded is None and line.get("responseText") is not None:
            recorded = line["responseText"]
        if 200 <= status < 300 and 200 <= recorded_status < 300:
            self.mapping.learn(recorded, body)
        expected = self.mapping.translate(recorded)
        replayed = body if body is not None else text
        what: str | None
        recorded_type = line.get("contentType")
        if status == 0 and recorded_status != 0:
            what = f"status {recorded_status} recorded, {text}"
        elif status != recorded_status:
            what = f"status {recorded_status} recorded, {status} now"
        elif recorded_type and status and content_type != recorded_type:
            what = f"content type {recorded_type} recorded, {content_type or '(none)'} now"
        else:
            what = first_difference(
                comparable(recorded_status, expected), comparable(status, replayed)
            )
        if what is None:
            return None
        return Difference(
            step.where,
            str(line.get("operation")),
            f"{method} {path}" + (f"?{shown}" if shown else ""),
            what,
            expected,
            replayed,
            recorded_status,
            status,
        )

    def _exchange(
        self, method: str, url: httpx.URL, headers: dict[str, str], content: bytes | None
    ) -> tuple[int, str | None, Any, str | None]:
        """(status, media type, JSON body or None, text of a body that is not JSON); status 0:
        no answer."""
        started = time.monotonic()
        try:
            with self.client.stream(method, url, headers=headers, content=content) as response:
                status = response.status_code
                coding = response.headers.get("content-encoding")
                reader = body_reader(self.limits, coding, started=started, status=status)
                for chunk in response.iter_raw():
                    reader.feed(chunk)
                raw = reader.finish()
                media = response.headers.get("content-type")
        except httpx.ConnectError as exc:
            if not self.answered:
                raise Unreachable(f"{self.base}: {_reason(exc)}") from None
            return 0, None, None, f"no answer: {_reason(exc)}"
        except httpx.TimeoutException as exc:
            return 0, None, None, f"no answer: {_timeout(exc, self.limits.seconds)}"
        except httpx.HTTPError as exc:
            return 0, None, None, f"no answer: {_reason(exc)}"
        except TransportFailure as failure:
            self.answered += 1
            return 0, None, None, f"answer refused: {failure}"
        self.answered += 1
        media = media.split(";")[0].strip().lower() if media else None
        if not raw:
            return status, media, None, None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        if body is None or deeper_than(body, MAX_BODY_DEPTH) is not None:  # compared as text
            return status, media, None, raw.decode("utf-8", "replace")
        return status, media, body, None


TRANSPORT_WORDS: dict[type[httpx.HTTPError], str] = {
    httpx.ConnectError: "cannot connect",
    httpx.RemoteProtocolError: "the answer is not valid HTTP",
    httpx.ReadError: "the connection broke while reading",
    httpx.WriteError: "the request could not be sent",
}


class Unreachable(Exception):
    """Nothing answered: the server could not be reached before any answer came."""


def _reason(exc: httpx.HTTPError) -> str:
    """A transport failure in a few words: what went wrong, then the system's reason (without
    Python's ``[Errno N]``) or the library's own words."""
    detail = re.sub(r"\[Errno -?\d+\]\s*", "", str(exc)).strip()
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            detail = cause.strerror.lower()
            break
        cause = cause.__cause__ or cause.__context__
    for cls, words in TRANSPORT_WORDS.items():
        if isinstance(exc, cls):
            return f"{words}: {detail}" if detail else words
    return detail or type(exc).__name__


def _timeout(exc: httpx.TimeoutException, seconds: float) -> str:
    phase = {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }
    for cls, name in phase.items():
        if isinstance(exc, cls):
            return f"{name} timeout ({seconds:g} s)"
    return f"timeout ({seconds:g} s)"


def unsendable(line: dict[str, Any]) -> str | None:
    """Why a recording line cannot be sent as it stands, or None. The proxy never writes such a
    line (it took the request from a client), but a recording is a file anyone may edit. The
    types of its fields were checked as it was read (``reading.shape_problem``)."""
    for key in ("request", "response"):
        if deeper_than(line.get(key), MAX_BODY_DEPTH) is not None:
            return (
                f"its {key} is nested deeper than {MAX_BODY_DEPTH} levels (the proxy records such "
                f"a body as {key}Text)"
            )
    return None


def steps(paths: list[str], router: Router) -> Iterator[Step]:
    """The exchanges to API operations, in file order; a line that cannot be sent stops the
    reading with ``RecordingError`` naming it (anything outside the API, such as ``/healthz``
    or ``*``, is left out)."""
    for path in paths:
        for number, line in read_lines(path):
            if api_route(f"{path}:{number}", line, router) is not None:
                yield Step(f"{path}:{number}", line)


def query_aliases(line: dict[str, Any]) -> list[str]:
    """The player aliases a recorded query carries as ``oauth_token`` (the proxy writes the
    alias in place of the token)."""
    query = line.get("query") or ""
    if not may_hold_query_token(query):  # oauth%5Ftoken is oauth_token too
        return []
    return [v for k, v in parse_qsl(query, keep_blank_values=True) if k == QUERY_TOKEN and v]


def api_route(where: str, line: dict[str, Any], router: Router) -> Route | None:
    """The API operation a recording line is sent to, or None outside the API (left out); a
    line that cannot be sent as it stands, or whose recorded operation is not that of its
    method and path (an edited line), raises ``RecordingError`` naming ``where``."""
    route = router.match(line["method"], line["path"])
    mismatch = route_problem(line, route.operation if route else None)
    if mismatch is not None:
        raise RecordingError(f"{where}: {mismatch}")
    if route is not None:
        problem = unsendable(line)
        if problem is not None:
            raise RecordingError(f"{where}: {problem}")
    return route
