"""Tokens that leaked past the aliases: a %-escaped ``oauth_token`` key or token in the proxy,
the proxy's own names in the traffic, and ``rooms-kit replay``'s --token and reports. Each test
looks for the exact token in everything the tool printed or wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms_kit.cli.main import main
from rooms_kit.reference_server.app import create_reference_app
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.reports import write_reports
from tests.traffic.support import LoopbackServer, proxy_in_front_of

BOB = "TokBobSECRET222"
BOB_ESCAPED = "TokBobSECRE%54222"  # the same token, one character %-escaped
ROOMS = "/games/v1/rooms"


def _texts(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _nowhere(secrets: tuple[str, ...], texts: dict[str, str]) -> None:
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {name}"


# -- the proxy: a %-escaped oauth_token key, a %-escaped token ---------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (f"oauth%5Ftoken={BOB_ESCAPED}", "oauth_token=player-1"),
        (f"oauth%5ftoken={BOB}&alt=json", "oauth_token=player-1&alt=json"),
        (f"alt=json&%6Fauth_token={BOB}", "alt=json&oauth_token=player-1"),
        (f"oauth_token={BOB_ESCAPED}&maxResults=2", "oauth_token=player-1&maxResults=2"),
        ("maxResults=2&q=%41", "maxResults=2&q=%41"),  # no token: left as it came
    ],
)
def test_an_escaped_oauth_token_key_is_aliased_and_normalised(query: str, expected: str) -> None:
    aliases = Aliases()
    assert aliases.query(query) == expected
    assert aliases.known() == ({BOB: "player-1"} if "player-1" in expected else {})


def test_scrub_finds_a_token_with_escaped_characters() -> None:
    aliases = Aliases()
    aliases.alias(BOB)
    for shown in (
        BOB,
        BOB_ESCAPED,
        "%54okBobSECRET222",
        "TokBob%53%45CRET222",
        "T%6fkBobSECRET222",
        "T%6FkBobSECRET222",
    ):
        assert aliases.scrub(f"GET /games/v1/rooms/{shown}/leave?q={shown}") == (
            "GET /games/v1/rooms/player-1/leave?q=player-1"
        ), shown
    assert aliases.scrub("50% off tokbobsecret222") == "50% off tokbobsecret222"


async def _wrong_kind(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An upstream that accepts anything and answers a room list of the wrong kind (a violation
    on every exchange, so that the proxy prints a line for each)."""
    assert scope["type"] == "http"
    body = json.dumps({"kind": "games#rooms", "items": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_the_proxy_shows_no_escaped_token_in_lines_recording_or_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "rec" / "traffic.ndjson"
    record.parent.mkdir()
    with (
        LoopbackServer(_wrong_kind) as upstream,
        proxy_in_front_of(upstream.url, record=record) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
    ):
        client.get(f"{ROOMS}?oauth%5Ftoken={BOB_ESCAPED}")
        client.get(f"{ROOMS}/TokBob%53ECRET222", headers={"Authorization": f"Bearer {BOB}"})
        proxy.wait(2)
        write_reports(tmp_path / "reports", proxy.monitor.results, 2, proxy.parts.aliases)
    captured = capsys.readouterr()
    texts = {"stdout": proxy.out.getvalue() + captured.out, "stderr": captured.err}
    texts |= {f"reports/{k}": v for k, v in _texts(tmp_path / "reports").items()}
    texts["recording"] = record.read_text(encoding="utf-8")
    _nowhere((BOB, BOB_ESCAPED, "TokBob%53ECRET222", "TokBob"), texts)
    lines = [json.loads(line) for line in texts["recording"].splitlines()]
    assert [(line["player"], line["path"], line["query"]) for line in lines] == [
        ("player-1", ROOMS, "oauth_token=player-1"),
        ("player-1", f"{ROOMS}/player-1", ""),
    ]
    assert f"list GET {ROOMS}?oauth_token=player-1: " in proxy.out.getvalue()
    assert f"get GET {ROOMS}/player-1: " in proxy.out.getvalue()


def test_the_reference_server_takes_the_escaped_key_and_the_proxy_aliases_it(
    tmp_path: Path,
) -> None:
    """The server accepts ``oauth%5Ftoken`` (bob's rooms, 200): the key is oauth_token."""
    record = tmp_path / "traffic.ndjson"
    app = create_reference_app(":memory:", {BOB: "bob"})
    try:
        with (
            LoopbackServer(app) as upstream,
            proxy_in_front_of(upstream.url, record=record) as proxy,
            httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
        ):
            assert client.get(f"{ROOMS}?oauth%5Ftoken={BOB_ESCAPED}").status_code == 200
            proxy.wait(1)
    finally:
        app.close()
    text = record.read_text(encoding="utf-8")
    _nowhere((BOB, BOB_ESCAPED), {"recording": text, "stdout": proxy.out.getvalue()})
    assert json.loads(text)["query"] == "oauth_token=player-1"


# -- replay --token: a bare token is no alias --------------------------------------------------

PADDED = "VmVyQjY0VG9rZW4hIQ=="  # a bare token: cut at its first '=' it looked like an alias


@pytest.fixture
def one_player(tmp_path: Path) -> Path:
    """A recording of one exchange by player-1 (dev-alice)."""
    record = tmp_path / "one.ndjson"
    app = create_reference_app(":memory:", dev_tokens=True)
    try:
        with (
            LoopbackServer(app) as upstream,
            proxy_in_front_of(upstream.url, record=record) as proxy,
            httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
        ):
            client.get(ROOMS, headers={"Authorization": "Bearer dev-alice"})
            proxy.wait(1)
    finally:
        app.close()
    return record


def test_a_bare_padded_token_is_refused_while_parsing_and_never_echoed(
    one_player: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_reference_app(":memory:", dev_tokens=True)
    reports = tmp_path / "reports"
    try:
        with LoopbackServer(app) as server:
            argv = ["replay", str(one_player), "--url", server.url, "--report-dir", str(reports)]
            with pytest.raises(SystemExit) as exit_info:
                main([*argv, "--token", "player-1=dev-alice", "--token", PADDED])
    finally:
        app.close()
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert "argument --token: number 2 is not of the form ALIAS=TOKEN" in captured.err
    assert not reports.exists()  # refused before anything was sent
    _nowhere((PADDED.rstrip("="), "dev-alice"), {"stdout": captured.out, "stderr": captured.err})


# -- replay: a token the server sends back ------------------------------------------------------

PLAIN = "VerReplayTok9"
ODD = 'Ver"Replay<Tok&9\\'  # JSON, XML and a URL each write it another way


class Echo:
    """An upstream that answers every request with a room list whose ``nextPageToken`` and
    ``echo`` are the caller's bearer token (or its oauth_token); ``extra`` is added to each
    answer (set between recording and replay, so that every answer differs)."""

    def __init__(self) -> None:
        self.extra: dict[str, Any] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"Bearer ").decode().partition(" ")[2]
        for key, value in httpx.QueryParams(scope["query_string"].decode()).multi_items():
            token = value if key == "oauth_token" else token
        data = {"kind": "games#roomList", "nextPageToken": token, "echo": [token], **self.extra}
        body = json.dumps(data).encode()
        answer = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": answer})
        await send({"type": "http.response.body", "body": body})


def test_replay_shows_a_token_the_server_sends_back_as_its_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = tmp_path / "echo.ndjson"
    echo = Echo()
    with LoopbackServer(echo) as server:
        with (
            proxy_in_front_of(server.url, record=record) as proxy,
            httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client,
        ):
            client.get(ROOMS, headers={"Authorization": f"Bearer {PLAIN}"})
            client.get(ROOMS, params={"oauth_token": ODD, "maxResults": "2"})
            proxy.wait(2)
        _nowhere((PLAIN, "Replay<Tok", 'Replay\\"<Tok'), {"recording": record.read_text()})
        echo.extra = {"kind": "games#rooms"}  # every answer now differs, bodies side by side
        reports = tmp_path / "reports"
        argv = ["replay", str(record), "--url", server.url, "--report-dir", str(reports)]
        tokens = ["--token", f"player-1={PLAIN}", "--token", f"player-2={ODD}"]
        status = main([*argv, *tokens, "--token", "player-9=VerUnusedTok"])
    captured = capsys.readouterr()
    assert status == 1
    texts = {"stdout": captured.out, "stderr": captured.err, **_texts(reports)}
    assert set(texts) == {"stdout", "stderr", "report.txt", "junit.xml"}
    # every form of each token: as it is, in JSON, in XML, %-escaped in a URL
    odd_forms = ("Replay<Tok", 'Replay\\"<Tok', "Replay&lt;Tok", "Replay\\&quot;&lt;Tok")
    _nowhere((PLAIN, *odd_forms, "Replay%3CTok", "Replay%22%3CTok"), texts)
    assert "[difference] /kind" in captured.out
    assert f"list GET {ROOMS}?oauth_token=player-2&maxResults=2: " in captured.out
    for name in ("report.txt", "junit.xml"):
        assert '"nextPageToken": "player-1"' in texts[name]
        assert '"echo": [' in texts[name]


def test_an_error_replay_raises_names_no_token(tmp_path: Path) -> None:
    """An error message passes through the same scrub (here a token that is also words)."""
    from rooms_kit.errors import KitError  # noqa: PLC0415
    from rooms_kit.traffic.replaying import run_replay  # noqa: PLC0415

    record = tmp_path / "empty.ndjson"
    record.write_text("")
    with pytest.raises(KitError) as refused:
        run_replay([str(record)], "http://127.0.0.1:9", {"player-1": "nothing to replay"})
    assert "nothing to replay" not in str(refused.value)
    assert "player-1: the recording holds no exchange" in str(refused.value)
