"""Whatever a client sends, the stub answers in the envelope and never with a 5xx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rooms_api.models import Room
from rooms_api.server import create_app

from tests.generated.stub_support import GOOD_TOKEN, FakeHandler, authenticate, call

AUTH = {"Authorization": f"Bearer {GOOD_TOKEN}"}
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    ["kind", "variant", "requestId", "invitedPlayerIds", "autoMatchingCriteria", "capabilities",
     "reason", "leaveDiagnostics", "updates", "clientAddress", "networkDiagnostics"]
)  # fmt: skip
BODIES = st.dictionaries(FIELDS, JSON, max_size=4) | JSON
PATHS = st.sampled_from(
    ["rooms/create", "rooms/r1/join", "rooms/r1/leave", "rooms/r1/reportstatus", "rooms/r1/decline"]
)


def stub() -> Any:
    handler = FakeHandler()
    handler.rooms["r1"] = Room(room_id="r1")
    return create_app(handler, authenticate)


APP = stub()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=PATHS, body=BODIES)
def test_any_json_body_gets_success_or_400(path: str, body: Any) -> None:
    response = call(APP, "POST", f"/games/v1/{path}", json=body, headers=AUTH)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["errors"][0]["reason"] == "invalid"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    segments=st.lists(st.text(max_size=6), max_size=4),
    query=st.dictionaries(
        st.sampled_from(["alt", "fields", "maxResults", "consistencyToken", "prettyPrint", "x"]),
        st.text(max_size=8),
        max_size=3,
    ),
)
def test_any_path_and_query_gets_an_answer_below_500(
    method: str, segments: list[str], query: dict[str, str]
) -> None:
    path = "/games/v1/" + "/".join(quote(s, safe="") for s in segments)
    response = call(APP, method, path, params=query, headers=AUTH)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] == response.status_code
