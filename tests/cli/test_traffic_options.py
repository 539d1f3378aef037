"""``rooms-kit proxy`` and ``replay``: output paths and sizes that cannot work are refused while
parsing (exit 2, one line), not after a whole session, when the reports or the recording are
written. Catalogue: arguments -> the exact complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

from rooms_kit.cli.main import main
from rooms_kit.errors import KitError
from rooms_kit.traffic.aliases import Aliases
from rooms_kit.traffic.checking import check_base_url
from rooms_kit.traffic.front import Request
from rooms_kit.traffic.proxy import Proxy

UPSTREAM = "http://127.0.0.1:9"  # never contacted: every case is refused while parsing


def _proxy(*extra: str) -> list[str]:
    return ["proxy", "--upstream", UPSTREAM, "--port", "0", *extra]


def _replay(recording: Path, *extra: str) -> list[str]:
    return ["replay", str(recording), "--url", UPSTREAM, "--token", "player-1=t", *extra]


@pytest.fixture
def taken(tmp_path: Path) -> Path:
    path = tmp_path / "taken"
    path.write_text("mine\n")
    return path


def _refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: {message}\n" in err, err
    assert "Traceback" not in err and "listening" not in err


def test_proxy_report_dir_that_is_a_file(taken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(
        _proxy("--report-dir", str(taken)),
        f"argument --report-dir: {taken} is a file, not a folder",
        capsys,
    )
    assert taken.read_text() == "mine\n"


def test_proxy_record_below_a_file(taken: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(
        _proxy("--record", str(taken / "traffic.ndjson")),
        f"argument --record: {taken} is a file, not a folder",
        capsys,
    )


def test_proxy_record_into_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(
        _proxy("--record", str(tmp_path)),
        f"argument --record: {tmp_path} is a folder, not a file",
        capsys,
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-response-bytes", "99999999G", "99999999G is more than the largest allowed, 1G"),
        ("--max-request-bytes", "2G", "2G is more than the largest allowed, 1G"),
        ("--max-request-bytes", "\u0661\u0660K", "'\u0661\u0660K' is not a size such as 65536, "
         "512K, 100M or 1G"),  # Arabic-Indic digits are not ASCII digits
    ],
)  # fmt: skip
def test_proxy_sizes_stay_bounds(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _refused(_proxy(option, value), f"argument {option}: {message}", capsys)


def test_replay_report_dir_that_is_a_file(
    taken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    _refused(
        _replay(recording, "--report-dir", str(taken / "reports")),
        f"argument --report-dir: {taken} is a file, not a folder",
        capsys,
    )


EMPTY_HOST = (
    "argument --host: '' is not an address; an empty --host would listen on every interface "
    "(give 0.0.0.0 or :: if that is what you want)"
)


@pytest.mark.parametrize(
    "argv",
    [
        _proxy("--host", ""),
        _proxy("--host", " 127.0.0.1"),
        ["serve", "--host", "", "--port", "0", "--dev-tokens", "--database", ":memory:"],
    ],
)
def test_an_empty_host_never_means_every_interface(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    host = argv[argv.index("--host") + 1]
    _refused(argv, EMPTY_HOST.replace("''", repr(host)), capsys)


def test_an_upstream_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["proxy", "--upstream", "http://127.0.0.1:99999", "--port", "0"]
    _refused(
        argv,
        "argument --upstream: 'http://127.0.0.1:99999' is not a usable URL: "
        "Port out of range 0-65535",
        capsys,
    )


def test_a_replay_url_port_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    argv = ["replay", str(recording), "--url", "http://127.0.0.1:70000", "--token", "player-1=t"]
    _refused(
        argv,
        "argument --url: 'http://127.0.0.1:70000' is not a usable URL: Port out of range 0-65535",
        capsys,
    )


@pytest.mark.parametrize("token", ["dev-alice\r\nX-Evil: 1", "two words", "x" * 8193])
def test_a_replay_token_that_cannot_be_sent(
    token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    argv = ["replay", str(recording), "--url", UPSTREAM, "--token", f"player-1={token}"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "rooms-kit: error: --token player-1=…: the token cannot be sent in an 'Authorization: "
        "Bearer' header (1 to 8192 visible ASCII characters, without spaces)\n"
    )


def _refused_url(
    command: str, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[str, str]:
    """``proxy --upstream url`` or ``replay … --url url``, which must exit 2: the flag that took
    the URL and what went to standard error."""
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    argv = (
        ["proxy", "--upstream", url, "--port", "0"]
        if command == "proxy"
        else ["replay", str(recording), "--url", url, "--token", "player-1=t"]
    )
    assert main(argv) == 2
    return ("--upstream" if command == "proxy" else "--url"), capsys.readouterr().err


@pytest.mark.parametrize("command", ["proxy", "replay", "contract"])
@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@127.0.0.1:9",
        "http://user:secret@127.0.0.1:99999",  # a port out of range was reported, URL and all
        "http://user:secret@[::1",  # so was an open bracket
        "http://user:se@cret@127.0.0.1:9/path",
    ],
)
def test_a_url_with_a_password_is_refused_without_echoing_it(
    command: str, url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the proxy sent 'host: user:secret@127.0.0.1:9', the password in every forwarded request
    if command == "contract":
        flag = "--url"
        with pytest.raises(SystemExit) as refused:
            main(["contract", "--url", url, "--token", "a", "--token", "b"])
        assert refused.value.code == 2
        err = capsys.readouterr().err
    else:
        with pytest.raises(SystemExit) as refused:
            _refused_url(command, url, tmp_path, capsys)
        assert refused.value.code == 2
        flag = "--upstream" if command == "proxy" else "--url"
        err = capsys.readouterr().err
    assert err.endswith(
        f"rooms-kit {command}: error: argument {flag}: a user name or password in the URL is not "
        "supported (each request carries its own credentials); the URL is not shown\n"
    )
    assert "secret" not in err and "cret" not in err


def test_an_upstream_path_goes_upstream_percent_encoded() -> None:
    # the prefix went out raw: '/a b' broke the request line, '/€' stopped the proxy with a
    # UnicodeEncodeError before it listened
    proxy = Proxy("http://bücher.example:8080/a b/€/", lambda seen: [], Aliases())
    request = Request(b"GET", b"/games/v1/rooms", [], b"", True)
    sent = proxy.request_bytes(request, request.target)
    assert sent == (
        b"GET /a%20b/%E2%82%AC/games/v1/rooms HTTP/1.1\r\nhost: xn--bcher-kva.example:8080\r\n\r\n"
    )


@pytest.mark.parametrize("command", ["proxy", "replay"])
def test_a_host_that_is_not_valid_idna_is_refused_in_words(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 'xn--ls8h' decodes to an emoji, which IDNA forbids: idna's InvalidCodepoint came out as a
    # traceback (exit 1) when the URL was taken apart
    url = "http://xn--ls8h.la"
    flag, err = _refused_url(command, url, tmp_path, capsys)
    assert err == (
        f"rooms-kit: error: {flag} {url!r} is not a URL: Codepoint U+1F4A9 at position 1 of "
        "'💩' not allowed\n"
    )


def test_one_player_with_two_tokens_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    argv = ["replay", str(recording), "--url", UPSTREAM]
    _refused(
        [*argv, "--token", "player-1=dev-alice", "--token", "player-1=dev-bob"],
        "argument --token: player-1 is given two different tokens; give one --token per player",
        capsys,
    )
    assert "dev-alice" not in capsys.readouterr().err  # _refused read it: nothing echoed there


HEALTHZ = (
    '{"recording": 1, "n": 1, "player": "anonymous", "method": "GET", "path": "/healthz", '
    '"status": 200, "response": {"status": "ok"}}\n'
)
NOTHING = {
    "empty": (
        "",
        "nothing to replay: the recording holds no exchange (empty or blank files); "
        "nothing was compared",
    ),
    "blank lines": (
        "\n  \n",
        "nothing to replay: the recording holds no exchange (empty or blank files); "
        "nothing was compared",
    ),
    "only /healthz": (
        HEALTHZ * 2,
        "nothing to replay: none of the recording's 2 exchange(s) is to a rooms API operation "
        "(such as /healthz or GET *, which replay leaves out); nothing was compared",
    ),
}


@pytest.mark.parametrize("case", sorted(NOTHING))
@pytest.mark.parametrize("twice", [False, True], ids=["one pair", "the same pair twice"])
def test_nothing_to_replay_could_not_do_its_job(
    case: str, twice: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, message = NOTHING[case]
    recording = tmp_path / "traffic.ndjson"
    recording.write_text(text)
    tokens = ["--token", "player-1=dev-alice"] * (2 if twice else 1)
    assert main(["replay", str(recording), "--url", UPSTREAM, *tokens]) == 2  # never contacted
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"rooms-kit: error: {message}\n"


@pytest.mark.parametrize("url", ["http://u:secret@127.0.0.1:99999", "http://u:secret@[::1"])
def test_check_base_url_never_echoes_a_password(url: str) -> None:
    with pytest.raises(KitError) as refused:
        check_base_url(url, "--upstream")
    assert str(refused.value) == (
        "--upstream: a user name or password in the URL is not supported (each request carries "
        "its own credentials)"
    )


@pytest.mark.parametrize(
    ("pairs", "number"),
    [
        (["player-1=T", "VmVyQjY0VG9rZW4hIQ=="], 2),  # a bare token, padded: no alias at all
        (["VerTokA=x", "VerTokA=y"], 1),  # a token taken for an alias
        (["player-1=T", "player-1=T", "VerTokA=x"], 3),  # counted as given, the repeat too
        (["VerTokA"], 1),
        (["player-0=VerTokA"], 1),
        (["player-01=VerTokA"], 1),
        (["player-10001=VerTokA"], 1),  # the proxy names at most 10,000 players
        (["anonymous=VerTokA"], 1),  # anonymous exchanges carry no token
        (["player-1="], 1),
    ],
)
def test_a_replay_token_whose_alias_the_proxy_never_writes_is_refused_unechoed(
    pairs: list[str], number: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    argv = ["replay", str(recording), "--url", UPSTREAM]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, *(arg for pair in pairs for arg in ("--token", pair))])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert (
        f"error: argument --token: number {number} is not of the form ALIAS=TOKEN, where ALIAS "
        "is a player alias of the recording (player-1, player-2 …, player-overflow, "
        "oversized-token); it is not shown, since it may be a token\n"
    ) in captured.err
    for secret in ("VmVyQjY0VG9rZW4hIQ", "VerTokA", "=x", "=y"):
        assert secret not in captured.out + captured.err


@pytest.mark.parametrize(
    "alias", ["player-1", "player-10000", "player-overflow", "oversized-token"]
)
def test_every_alias_the_proxy_writes_is_taken(
    alias: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "traffic.ndjson"
    recording.write_text("")
    assert main(["replay", str(recording), "--url", UPSTREAM, "--token", f"{alias}=t"]) == 2
    assert "nothing to replay" in capsys.readouterr().err  # past the parsing
