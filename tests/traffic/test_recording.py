"""Recordings: aliases instead of tokens, gzip, rotation, and ``rooms-kit validate`` reading them."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import httpx
import orjson
import pytest

from rooms_kit.cli.main import main
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.traffic.aliases import MAX_ALIASES, OVERFLOW, OVERSIZED, Aliases
from rooms_kit.traffic.reading import (
    MAX_LINE_BYTES,
    RecordingError,
    looks_like_recording,
    read_lines,
)
from rooms_kit.traffic.recording import Recorder, rotated_name
from rooms_kit.traffic.seen import Seen
from tests.contract.broken_variants.variants import BadEnumValue
from tests.traffic.hostile import hostile
from tests.traffic.lines import LIST_EXCHANGE
from tests.traffic.support import LoopbackServer, proxy_in_front_of, scenario

SECRET = "s3cret-token-of-alice"


def test_aliases_are_stable_and_hide_every_credential() -> None:
    aliases = Aliases()
    assert aliases.of_authorization(f"Bearer {SECRET}") == "player-1"
    assert aliases.of_authorization("bearer other-token") == "player-2"
    assert aliases.of_authorization(f"Bearer {SECRET}") == "player-1"
    assert aliases.headers([("Authorization", f"Bearer {SECRET}"), ("Accept", "x")]) == [
        ("Authorization", "Bearer player-1"),
        ("Accept", "x"),
    ]
    assert aliases.query(f"alt=json&oauth_token={SECRET}") == "alt=json&oauth_token=player-1"
    assert aliases.caller([], f"oauth_token={SECRET}") == "player-1"
    assert aliases.caller([], "alt=json") == "anonymous"
    assert aliases.scrub(f"echo {SECRET} back") == "echo player-1 back"
    assert aliases.alias("x" * 10_000) == OVERSIZED


# tokens a client may send that are also pieces of every line: replacing them in the written text
# turned every later line of everybody's recording into broken JSON or into no recording line
HOSTILE_TOKENS = ['null,"response"', "recording", '","status":', 'x"y\\z']


def test_a_token_that_is_part_of_the_line_never_breaks_it(tmp_path: Path) -> None:
    aliases = Aliases()
    for token in HOSTILE_TOKENS:
        aliases.alias(token)
    recorder = Recorder(tmp_path / "traffic.ndjson", aliases)
    echoed = {"kind": "games#roomList", "items": [], "echo": HOSTILE_TOKENS, "recording": 1}
    seen = _seen(1)
    seen.response_body = json.dumps(echoed).encode()
    recorder.write(seen, None)
    recorder.write(_seen(2), None)
    recorder.close()
    text = (tmp_path / "traffic.ndjson").read_text(encoding="utf-8")
    lines = [line for _, line in read_lines(str(tmp_path / "traffic.ndjson"))]
    assert [line["n"] for line in lines] == [1, 2]
    assert lines[0]["response"] == {
        "kind": "games#roomList",
        "items": [],
        "echo": ["player-1", "player-2", "player-3", "player-4"],  # echoed tokens, aliased
        "player-2": 1,  # inside a body even a key is aliased
    }
    assert lines[1]["response"] == {"kind": "games#roomList", "items": []}
    assert 'x\\"y' not in text and 'x"y' not in text


def test_aliases_are_bounded() -> None:
    # a client sending a new token with every request was remembered without end, and every
    # line written was searched for every one of them
    aliases = Aliases()
    names = {aliases.alias(f"token-{number}") for number in range(MAX_ALIASES + 50)}
    assert len(aliases.known()) == MAX_ALIASES
    assert len(names) == MAX_ALIASES + 1 and OVERFLOW in names
    assert aliases.alias("token-1") == "player-2"  # the ones remembered keep their names


def _seen(number: int) -> Seen:
    return Seen(
        number=number,
        started=1_700_000_000.0,
        method="GET",
        path="/games/v1/rooms",
        query="",
        player="player-1",
        request_headers=[],
        request_body=b"",
        status=200,
        response_headers=[],
        response_body=b'{"kind": "games#roomList", "items": []}',
    )


@pytest.mark.parametrize("name", ["traffic.ndjson", "traffic.ndjson.gz"])
def test_rotation_keeps_every_line_once_in_order(tmp_path: Path, name: str) -> None:
    recorder = Recorder(tmp_path / name, Aliases(), rotate_bytes=1000)
    for number in range(1, 21):
        recorder.write(_seen(number), None)
    recorder.close()
    assert recorder.files[:3] == [
        tmp_path / name,
        rotated_name(tmp_path / name, 2),
        rotated_name(tmp_path / name, 3),
    ]
    assert rotated_name(tmp_path / name, 2).name == name.replace("traffic", "traffic-2")
    numbers = [line["n"] for path in recorder.files for _, line in read_lines(str(path))]
    assert numbers == list(range(1, 21))
    for path in recorder.files:
        size = len(
            gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
        )
        assert size <= 1000
        assert looks_like_recording(str(path))


def test_a_file_that_is_not_a_recording_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mixed.ndjson"
    good = json.dumps({"recording": 1, "method": "GET", "path": "/", "status": 200})
    path.write_text(good + "\n" + '{"kind": "games#room"}\n', encoding="utf-8")
    with pytest.raises(
        RecordingError, match=r"mixed.ndjson:2: not a line of a rooms-kit recording"
    ):
        list(read_lines(str(path)))
    assert not looks_like_recording(str(tmp_path / "missing.ndjson"))


def test_recording_of_real_traffic_holds_no_token_and_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "traffic.ndjson.gz"
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        with (
            LoopbackServer(app) as upstream,
            proxy_in_front_of(upstream.url, record=record) as proxy,
        ):
            run = scenario(proxy.url)
            with httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as raw:
                answer = raw.get(
                    "/games/v1/rooms", params={"oauth_token": "dev-carol", "alt": "json"}
                )
            assert answer.status_code == 200
    finally:
        app.close()
    text = gzip.decompress(record.read_bytes()).decode()
    for token in ("dev-alice", "dev-bob", "dev-carol", "dev-eve", "dev-dave"):
        assert token not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == len(run.steps) + 1
    # carol is the fourth player to show up (after alice, bob and eve)
    assert lines[-1]["query"] == "oauth_token=player-4&alt=json"
    first = lines[0]
    assert first["operation"] == "games.rooms.create"
    assert first["request"]["invitedPlayerIds"] == ["bob"]
    assert first["response"]["kind"] == "games#room"
    assert first["status"] == 200 and first["latencyMs"] > 0
    # Every body is checked, requests too: the scenario's one invalid create body is named.
    assert main(["validate", str(record)]) == 1
    out = capsys.readouterr().out.splitlines()
    bad_line = next(i for i, line in enumerate(lines, 1) if line["status"] == 400)
    assert out == [
        f"{record}:{bad_line}: games#roomCreateRequest /request/variant: [type] "
        'got string "not a number"; expected integer (int32)',
        f"{sum(len(_bodies(line)) for line in lines)} documents, 1 invalid, "
        + out[1].split(", ", 2)[2],
    ]


def _bodies(line: dict[str, object]) -> list[object]:
    found = []
    if (
        line["operation"]
        in {
            "games.rooms.create",
            "games.rooms.join",
            "games.rooms.leave",
            "games.rooms.reportStatus",
        }
        and line["request"] is not None
    ):
        found.append(line["request"])
    if 200 <= int(line["status"]) < 300 and line["response"] is not None:  # type: ignore[call-overload]
        found.append(line["response"])
    return found


def test_validate_names_the_bad_body_of_a_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "traffic.ndjson"
    rewriter = BadEnumValue()
    try:
        with (
            LoopbackServer(rewriter) as upstream,
            proxy_in_front_of(upstream.url, record=record) as proxy,
        ):
            scenario(proxy.url)
    finally:
        rewriter.close()
    assert main(["validate", str(record)]) == 1
    out = capsys.readouterr().out.splitlines()
    bad = [line for line in out if "PARTICIPANT_ACCEPTED" in line]
    assert bad, out
    line_number = int(bad[0].split(":")[1])
    recorded = record.read_text(encoding="utf-8").splitlines()[line_number - 1]
    assert "PARTICIPANT_ACCEPTED" in recorded
    assert f"{record}:{line_number}: games#room /response/participants/0/status: [enum]" in bad[0]


def test_validate_reports_each_broken_line_of_a_recording_and_checks_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A catalogue of broken lines: each one is an error at its file:line (exit 1), and the lines
    after it are still checked; before, the first one made the whole file unreadable (exit 2)."""
    line = LIST_EXCHANGE
    bad_body = {**line, "response": {"kind": "games#roomList", "items": "none"}}
    path = tmp_path / "broken.ndjson"
    with path.open("wb") as stream:
        stream.write(orjson.dumps(line) + b"\n")  # 1: fine (and makes it a recording)
        stream.write(b'{"recording": 1, "method\n')  # 2: cut off
        stream.write(b'{"kind": "games#room"}\n')  # 3: JSON, not a recording line
        stream.write(b'{"recording": 1, "n": ' + b" " * MAX_LINE_BYTES + b"1}\n")  # 4: too long
        stream.write(orjson.dumps(bad_body) + b"\n")  # 5: a bad body, still found
        stream.write(orjson.dumps(line) + b"\n")  # 6: fine
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[:-1] == [
        f"{path}:2: (root): [json] not JSON: unexpected control character in string (line 1, column 25)",
        f"{path}:3: (root): [kind] not a line of a rooms-kit recording "
        "(it needs recording: 1, method, path and status)",
        f"{path}:4: (root): [size] the line is longer than 64 MiB, the most a recording line "
        "may hold; skipped",
        f'{path}:5: games#roomList /response/items: [type] got string "none"; expected array',
    ]
    assert out[-1].startswith("6 documents, 4 invalid, ")
    assert "Traceback" not in captured.err and "unreadable" not in captured.err
    # replay needs every line: it refuses the file at the first broken one, with its own words
    assert main(["replay", str(path), "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: not JSON: unexpected control character" in err
    path.write_bytes(orjson.dumps(line) + b"\n" + b" " * (MAX_LINE_BYTES + 1) + b"x\n")
    assert main(["replay", str(path), "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: the line is longer than 64 MiB" in err and "--max-bytes" not in err


@pytest.mark.parametrize("levels", [200, 300, 1000])
def test_a_body_nested_too_deep_is_one_depth_error_at_its_line(
    levels: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # past 253 levels orjson could not write the body back for the validators: a traceback
    fine = {"recording": 1, "method": "POST", "path": "/games/v1/rooms/create", "status": 200}
    fine |= {"operation": "games.rooms.create", "request": {"variant": 2}}
    deep = orjson.dumps({**fine, "request": "DEEP"}).replace(
        b'"DEEP"', b"[" * levels + b"1" + b"]" * levels
    )
    path = tmp_path / "deep.ndjson"
    path.write_bytes(orjson.dumps(fine) + b"\n" + deep + b"\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"{path}:2: games#roomCreateRequest /request"
        + "/0" * 128
        + ": [depth] nested deeper than 128 levels (this value starts level 129); "
        "expected at most 128 levels of nested objects and arrays"
    )
    assert out[1].startswith("2 documents, 1 invalid, ")


def test_validate_checks_the_bodies_a_recording_keeps_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A body that is not JSON, or JSON nested past what a line holds, is recorded as
    ``requestText`` / ``responseText``. Such a body of a successful answer (or a request with a
    schema) is still a body to check: it used to be passed over, so a recording of an upstream
    answering HTML or a 300-level list with 200 validated without an error."""
    record = tmp_path / "traffic.ndjson"
    with (
        LoopbackServer(hostile) as upstream,
        proxy_in_front_of(upstream.url, record=record) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        token = {"Authorization": "Bearer t-1234"}
        for name in ("fine", "html", "deep", "fine"):
            assert client.get(f"/games/v1/rooms/{name}", headers=token).status_code == 200
        created = client.post("/games/v1/rooms/create", headers=token, content=b"{not json")
        assert created.status_code == 200  # the hostile upstream answers a room to anything
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert [sorted(k for k in line if k.endswith("Text")) for line in lines] == [
        [], ["responseText"], ["responseText"], [], ["requestText"],
    ]  # fmt: skip
    assert main(["validate", str(record)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [
        f"{record}:2: games#room /responseText: [json] not JSON: unexpected character, "
        "expected a JSON value (line 1, column 1)",
        f"{record}:3: games#room /responseText" + "/0" * 128 + ": [depth] nested deeper than "
        "128 levels (this value starts level 129); expected at most 128 levels of nested "
        "objects and arrays",
        f"{record}:5: games#roomCreateRequest /requestText: [json] not JSON: unexpected "
        "character, expected a string key (line 1, column 2)",
    ]
    assert out[-1].startswith("6 documents, 3 invalid, ")


def test_integers_past_64_bits_are_recorded_as_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """orjson read 99999999999999999999999999 as 1e+26: the recording, replay and validate's
    message all carried the float. Such a body is now kept as the text that came."""
    record = tmp_path / "traffic.ndjson"
    body = b'{"variant": 99999999999999999999999999, "invitedPlayerIds": ["bob"]}'
    with (
        LoopbackServer(hostile) as upstream,
        proxy_in_front_of(upstream.url, record=record) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        token = {"Authorization": "Bearer t-1234"}
        assert client.post("/games/v1/rooms/create", headers=token, content=body).is_success
    (line,) = [json.loads(text) for text in record.read_text(encoding="utf-8").splitlines()]
    assert line["request"] is None
    assert line["requestText"] == body.decode()
    assert main(["validate", str(record)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"{record}:1: games#roomCreateRequest /requestText/variant: [maximum] "
        "99999999999999999999999999 is out of range"
    ), out


@pytest.mark.parametrize(
    ("record", "present", "shown"),
    [
        ("t.ndjson", ["t.ndjson"], "t.ndjson"),
        ("game-2023.ndjson", ["game-2023.ndjson"], "game-2023.ndjson"),  # named like a rotation
        ("t-2.ndjson", ["t.ndjson", "t-2.ndjson", "t-2-2.ndjson"], "t-2.ndjson, t-2-2.ndjson"),
        ("t.ndjson", ["t-2.ndjson", "t-3.ndjson", "other.ndjson"], "t-2.ndjson, t-3.ndjson"),
        ("t.ndjson.gz", ["t-10.ndjson.gz", "t-2.ndjson.gz", "t.ndjson.gz", "t-3.ndjson.gz"],
         "t.ndjson.gz, t-2.ndjson.gz, t-3.ndjson.gz and 1 more"),
    ],
)  # fmt: skip
def test_a_recording_never_replaces_an_earlier_one(
    tmp_path: Path, record: str, present: list[str], shown: str
) -> None:
    """The first file was overwritten and the earlier rotated files kept: replaying the names
    in order mixed two sessions whose aliases were different players."""
    for name in present:
        (tmp_path / name).write_bytes(b"earlier\n")
    with pytest.raises(RecordingError) as refused:
        Recorder(tmp_path / record, Aliases())
    assert str(refused.value) == (
        f"{tmp_path / record}: an earlier recording is there ({shown}); a recording never "
        "replaces one: move it away, or give --record another name"
    )
    assert all((tmp_path / name).read_bytes() == b"earlier\n" for name in present)


def test_a_recording_may_go_to_a_device_or_next_to_other_names(tmp_path: Path) -> None:
    (tmp_path / "t-x.ndjson").write_bytes(b"not a rotation\n")
    (tmp_path / "t-2.json").write_bytes(b"another suffix\n")
    Recorder(tmp_path / "t.ndjson", Aliases()).close()
    Recorder(Path(os.devnull), Aliases()).close()


EDITED_LINES = [
    ({"operation": "games.rooms.nope"},
     "its operation 'games.rooms.nope' is not the API's",
     "its operation 'games.rooms.nope' is not that of POST /games/v1/rooms/create "
     "(games.rooms.create)"),
    ({"operation": 7}, "its operation is neither a string nor null", None),
    ({"operation": "games.rooms.get"},
     "its operation 'games.rooms.get' is not that of POST /games/v1/rooms/create "
     "(games.rooms.create)",
     "its operation 'games.rooms.get' is not that of POST /games/v1/rooms/create "
     "(games.rooms.create)"),
    ({"path": "/games/v1/rooms/create x"},
     "its path is not visible ASCII characters (percent-encode the others)", None),
    ({"requestText": {"a": 1}}, "its requestText is neither a string nor null", None),
    ({"responseText": 5}, "its responseText is neither a string nor null", None),
    ({"player": None}, "its player is not a string", None),
    ({"query": ["a"]}, "its query is neither a string nor null", None),
    ({"status": -1}, "its status -1 is not an HTTP status (0 for no answer, or 100 to 599)", None),
    ({"status": 600}, "its status 600 is not an HTTP status (0 for no answer, or 100 to 599)", None),
]  # fmt: skip


@pytest.mark.parametrize(("change", "validate_says", "replay_says"), EDITED_LINES)
def test_validate_and_replay_refuse_a_line_the_proxy_never_writes_alike(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    validate_says: str,
    replay_says: str | None,
) -> None:
    """validate counted 0 documents (or checked it) where replay sent it or refused it."""
    fine = {"recording": 1, "player": "player-1", "method": "POST", "query": "", "status": 200}
    fine |= {"path": "/games/v1/rooms/create", "operation": "games.rooms.create"}
    fine |= {"request": {"invitedPlayerIds": ["bob"]}, "response": None}
    path = tmp_path / "edited.ndjson"
    path.write_bytes(orjson.dumps(fine) + b"\n" + orjson.dumps({**fine, **change}) + b"\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}:2: (root): [kind] not a line the proxy writes: {validate_says}"
    replay = ["replay", str(path), "--url", "http://127.0.0.1:9", "--token", "player-1=t"]
    assert main(replay) == 2
    expected = replay_says or f"not a line the proxy writes: {validate_says}"
    assert capsys.readouterr().err == f"rooms-kit: error: {path}:2: {expected}\n"
