"""Replay against servers that misbehave, and from recordings that are broken: bounded, named."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path

import httpx
import pytest

from rooms_kit.cli.main import main
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.checking import Limits
from rooms_kit.traffic.recording import Recorder
from rooms_kit.traffic.replaying import run_replay
from tests.traffic.hostile import ROOM, _bomb, hostile
from tests.traffic.support import LoopbackServer, room_get


def _recording(tmp_path: Path, names: list[str], file: str = "recorded.ndjson") -> Path:
    path = tmp_path / file
    recorder = Recorder(path, Aliases())
    for number, name in enumerate(names, 1):
        recorder.write(room_get(number, name, ROOM % name.encode(), started=1_700_000_000.0), None)
    recorder.close()
    return path


def _replayed(path: Path, url: str, seconds: float) -> tuple[int, list[str]]:
    out = io.StringIO()
    limits = Limits(seconds=seconds, max_response_bytes=256 * 1024)
    status = run_replay([str(path)], url, {"player-1": "t-1"}, limits=limits, out=out)
    return status, out.getvalue().splitlines()


def test_hostile_answers_are_differences_within_the_bounds(tmp_path: Path) -> None:
    """Two replays: the upstreams that must meet the time bound (kept short, 1 s), then those
    answering at once, with a bound no loaded machine reaches (1 s applied to them too: a good
    answer slowed past it would be a difference of its own)."""
    _bomb()
    timed = _recording(tmp_path, ["hang", "drip"], "timed.ndjson")
    at_once = _recording(tmp_path, ["huge", "bomb", "html", "short", "fine"], "at-once.ndjson")
    with LoopbackServer(hostile) as server:
        status, lines = _replayed(timed, server.url, 1.0)
        other_status, other_lines = _replayed(at_once, server.url, 30.0)
    assert (status, other_status) == (1, 1)
    assert lines[-1] == "DIFFERENT: 2 of 2 exchange(s) answered differently"
    assert other_lines[-1] == "DIFFERENT: 4 of 5 exchange(s) answered differently"
    by_line = {int(line.split(":")[1]): line for line in lines[:-1]}
    assert sorted(by_line) == [1, 2]
    # the console line names why there is no answer (before, only report.txt did)
    assert by_line[1].endswith("status 200 recorded, no answer: read timeout (1 s)")
    assert "status 200 recorded, answer refused: [responds_in_time]" in by_line[2]
    by_line = {int(line.split(":")[1]): line for line in other_lines[:-1]}
    assert sorted(by_line) == [1, 2, 3, 4]
    assert "status 200 recorded, answer refused: [response_size]" in by_line[1]
    assert "status 200 recorded, answer refused: [response_size]" in by_line[2]
    assert "status 200 recorded, no answer: the answer is not valid HTTP" in by_line[4]
    assert not any(line.endswith(" 0 now") for line in lines + other_lines)
    assert "content type application/json recorded, text/html now" in by_line[3]


def test_a_broken_recording_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recording(tmp_path, ["fine"])
    with path.open("a", encoding="utf-8") as stream:
        stream.write('{"recording": 1, "method": "GET"\n')
    assert main(["replay", str(path), "--url", "http://127.0.0.1:9", "--token", "player-1=x"]) == 2
    assert f"{path}:2: not JSON" in capsys.readouterr().err


def test_a_server_that_cannot_be_reached_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _recording(tmp_path, ["fine", "fine", "fine"])
    with socket.socket() as bound:  # bound, never listening: every connection is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        reports = tmp_path / "reports"
        args = ["replay", str(path), "--url", url, "--token", "player-1=x"]
        status = main([*args, "--report-dir", str(reports)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.splitlines() == [
        f"rooms-kit: error: cannot reach {url}: cannot connect: connection refused "
        "(nothing answered, nothing was compared)"
    ]
    assert "Traceback" not in captured.err and "Errno" not in captured.err


def test_a_token_without_alias_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:  # refused while parsing
        main(["replay", "x.ndjson", "--url", "http://127.0.0.1:9", "--token", "secret"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--token: number 1 is not of the form ALIAS=TOKEN" in err
    assert "secret" not in err


def test_recorded_lines_are_json_with_every_field(tmp_path: Path) -> None:
    line = json.loads(_recording(tmp_path, ["fine"]).read_text(encoding="utf-8"))
    assert set(line) == {
        "recording", "n", "time", "player", "method", "path", "query", "operation",
        "status", "latencyMs", "contentType", "request", "response",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("-", "-: a recording is read from files"),
        (".", ".: a folder, not a recording file; give the files it holds"),
        ("missing.ndjson", "missing.ndjson: cannot read: No such file or directory"),
    ],
)
def test_a_path_that_is_not_a_recording_file_is_named_in_plain_words(
    path: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["replay", path, "--url", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err == f"rooms-kit: error: {message}" + err.split(message, 1)[1]
    assert "Errno" not in err and len(err.splitlines()) == 1


def test_an_answer_nested_too_deep_is_compared_as_text(tmp_path: Path) -> None:
    path = _recording(tmp_path, ["deep", "fine"])
    out = io.StringIO()
    with LoopbackServer(hostile) as server:
        status = run_replay([str(path)], server.url, {"player-1": "t-1"}, out=out)
    lines = out.getvalue().splitlines()
    assert status == 1
    # the recorded room against the text of the answer (both shortened to 80 characters)
    assert lines[0].startswith(f"{path}:1: None GET /games/v1/rooms/deep: [difference] /: {{")
    assert lines[0].endswith(' recorded, "' + "[" * 79 + " now")
    assert lines[1:] == ["DIFFERENT: 1 of 2 exchange(s) answered differently"]


def _edited(tmp_path: Path, **changes: object) -> Path:
    """A one-line recording of a get, with fields changed as a hand (or a tool) might."""
    path = _recording(tmp_path, ["fine"])
    line = json.loads(path.read_text(encoding="utf-8"))
    line.update(changes)
    text = json.dumps(line).replace('"DEEP"', "[" * 300 + "]" * 300)
    path.write_text(text + "\n", encoding="utf-8")
    return path


# fields of an edited line, and what replay says of it (exit 2, nothing sent); each was a
# traceback before (KeyError, AttributeError, httpx.InvalidURL, UnicodeDecodeError, RecursionError)
EDITED = [
    ({"player": 7}, "not a line the proxy writes: its player is not a string"),
    ({"query": 5}, "not a line the proxy writes: its query is neither a string nor null"),
    ({"path": "/games/v1/rooms/caf\u00e9"},
     "not a line the proxy writes: its path is not visible ASCII characters"),
    ({"path": "/games/v1/rooms/a\r\nX: 1"},
     "not a line the proxy writes: its path is not visible ASCII characters"),
    ({"response": "DEEP"}, "its response is nested deeper than 253 levels"),
    ({"method": "POST", "path": "/games/v1/rooms/create", "request": "DEEP"},
     "its request is nested deeper than 253 levels"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    EDITED,
    ids=["player", "query", "path-utf8", "path-crlf", "deep-response", "deep-request"],
)
def test_a_line_that_cannot_be_sent_is_refused_with_its_line(
    changes: dict[str, object], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _edited(tmp_path, **changes)
    tokens = ["--token", "player-1=x"]  # "7=y" is no alias now: refused while parsing
    with LoopbackServer(hostile) as server:
        assert main(["replay", str(path), "--url", server.url, *tokens]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rooms-kit: error: {path}:1: {message}")
    assert len(err.splitlines()) == 1


def test_exchanges_outside_the_api_are_not_replayed(tmp_path: Path) -> None:
    # the proxy records what clients send, "GET *" and "/healthz" included; replay crashed on "*"
    path = _recording(tmp_path, ["fine"])
    with path.open("a", encoding="utf-8") as stream:
        for target in ("*", "/healthz"):
            line = {"recording": 1, "n": 9, "player": "anonymous", "method": "GET", "path": target}
            stream.write(json.dumps({**line, "status": 200, "response": {"status": "ok"}}) + "\n")
    out = io.StringIO()
    with LoopbackServer(hostile) as server:
        assert run_replay([str(path)], server.url, {"player-1": "x"}, out=out) == 0
    assert out.getvalue() == "SAME: 1 exchange(s) replayed, no difference\n"


def test_only_the_first_differences_keep_their_bodies(tmp_path: Path) -> None:
    # every Difference kept both bodies (each up to --max-response-bytes) until the end, for the
    # reports: a long recording against a server that answers otherwise grew without bound
    path = _recording(tmp_path, [f"room-{number}" for number in range(25)])
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps({**line, "status": 201}) + "\n" for line in lines))
    out = io.StringIO()
    with LoopbackServer(hostile) as server:
        status = run_replay(
            [str(path)], server.url, {"player-1": "t"}, report_dir=tmp_path / "r", out=out
        )
    assert status == 1
    assert out.getvalue().splitlines()[-1] == "DIFFERENT: 25 of 25 exchange(s) answered differently"
    report = (tmp_path / "r" / "report.txt").read_text(encoding="utf-8")
    blocks = report.split("DIFFERENCE ")[1:]
    assert len(blocks) == 25
    assert all('"roomId": "room-' in block for block in blocks[:20])
    elided = "(body not kept after the first 20 differences)"
    assert all(elided in block and '"roomId"' not in block for block in blocks[20:])


def test_a_path_with_a_raw_hash_is_replayed(tmp_path: Path) -> None:
    """The proxy records the target as it came, '#' included (a raw client may send one); replay
    ended in httpx.InvalidURL, a traceback. It is sent as %23, which the server reads alike."""
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        with LoopbackServer(app) as server:
            auth = {"Authorization": "Bearer dev-alice"}
            answer = httpx.get(server.url + "/games/v1/rooms/x%23frag", headers=auth)
            assert answer.status_code == 404
            line = {"recording": 1, "player": "player-1", "method": "GET", "query": "",
                    "path": "/games/v1/rooms/x#frag", "operation": "games.rooms.get",
                    "status": 404, "contentType": "application/json", "request": None,
                    "response": answer.json()}  # fmt: skip
            path = tmp_path / "hash.ndjson"
            path.write_text(json.dumps(line) + "\n", encoding="utf-8")
            out = io.StringIO()
            status = run_replay([str(path)], server.url, {"player-1": "dev-alice"}, out=out)
    finally:
        app.close()
    assert (status, out.getvalue()) == (0, "SAME: 1 exchange(s) replayed, no difference\n")
