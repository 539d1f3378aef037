"""Every check of the suite, by name, with the promise it holds a server to.

Five kinds:

- ``transport``: bounds and HTTP itself, raised while an answer is read (``bounded``, ``wire``);
- ``response``: run on every answer (``checks.py`` registers them with ``@response_check``, the
  function's name being the check's name);
- ``behaviour``: raised by the scenarios, the negative requests and the stateful walks;
- ``run``: about the run as a whole (its deadline, a unit stopped by an answer it cannot use);
- ``traffic``: raised only by ``rooms-kit proxy`` on real traffic, where a client chose the
  request (the suite's own requests never make these checks apply).

Reports, the pytest entry and the docs all take the names from here.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("transport", "response", "behaviour", "run", "traffic")


@dataclass(frozen=True)
class CheckInfo:
    name: str
    kind: str
    promise: str


CHECKS: dict[str, CheckInfo] = {}


def declare(name: str, kind: str, promise: str) -> str:
    """Add a check; a name may be declared once."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of check {kind!r}")
    if name in CHECKS:
        raise ValueError(f"the check {name!r} is declared twice")
    CHECKS[name] = CheckInfo(name, kind, promise)
    return name


def names(kind: str) -> list[str]:
    return [info.name for info in CHECKS.values() if info.kind == kind]


for _name, _promise in (
    ("responds_in_time", "a complete answer arrives within the request timeout"),
    ("response_size", "a body stays under the size cap, decompressed too"),
    ("header_limits", "the header block stays under the header count and size caps"),
    ("complete_response", "an answer arrives whole: no reset, no body shorter than announced"),
    ("http_protocol", "the answer is well-formed HTTP/1.1 with an encoding the suite asked for"),
):
    declare(_name, "transport", _promise)

for _name, _promise in (
    ("rejects_invalid_input", "an invalid parameter or body gets a 4xx, never a 2xx or 5xx"),
    ("requires_credentials", "a request without valid credentials gets 401, never data"),
    ("invitation_listed", "an invitation appears in the invitee's list"),
    ("dismiss_hides_invitation", "a dismissed invitation leaves the invitee's list"),
    ("decline_hides_invitation", "a declined invitation leaves the invitee's list"),
    ("participant_status", "join and leave change the caller's participant status"),
    ("room_lifecycle", "a room becomes active once everyone is connected, deleted once all left"),
    ("deleted_room_final", "a deleted room accepts no join"),
    ("status_version_monotonic", "roomStatusVersion goes up with every change, never down"),
    ("create_idempotent", "a retried create with the same requestId gives the same room"),
    (
        "paging_complete",
        "paging returns every invitation once, then ends (no repeated token, no repeated items, "
        "no more pages than the data needs)",
    ),
    ("participants_only", "a player who is not a participant cannot read the room"),
    (
        "stateful_links",
        "a roomId followed through an OpenAPI link is known to the room's participants",
    ),
):
    declare(_name, "behaviour", _promise)

declare("run_deadline", "run", "the run finishes within --max-time")
declare("unexpected_answer", "run", "every answer is one the step that asked for it can use")
declare(
    "room_id_matches",
    "traffic",
    "an answer about a room is about the room the request's path names",
)
