"""``rooms-kit serve`` as a real process: start-up, logs, tokens, SIGTERM, SIGKILL, restart."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from rooms_api.client import RoomsClient
from rooms_api.errors import AuthenticationError, RoomsApiError
from rooms_api.models import RoomCreateRequest, RoomJoinRequest

from rooms_kit.reference_server.auth import load_token_file
from tests.reference_server.support import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_cleanly_and_a_restart_keeps_everything(tmp_path: Path) -> None:
    """R-durability-2 R-serve-4"""
    database = tmp_path / "rooms.db"
    with ServerProcess("--dev-tokens", "--database", str(database), cwd=tmp_path) as first:
        with first.client("alice") as alice, first.client("bob") as bob:
            room = alice.create(
                RoomCreateRequest(invited_player_ids=["bob", "carol"], request_id="9")
            )
            assert room.room_id is not None
            joined = bob.join(room.room_id, RoomJoinRequest())
        assert first.terminate() == 0
    events = [r.get("event") for r in first.records()]
    assert events[-1] == "stopped"
    assert not Path(f"{database}-wal").exists()  # closed: the log was checkpointed away

    with ServerProcess("--dev-tokens", "--database", str(database), cwd=tmp_path) as second:
        with (
            second.client("alice") as alice,
            second.client("bob") as bob,
            second.client("carol") as carol,
        ):
            assert bob.get(room.room_id) == joined
            assert [r.room_id for r in carol.list().items or []] == [room.room_id]
            again = alice.create(RoomCreateRequest(invited_player_ids=["x"], request_id="9"))
            assert again.room_id == room.room_id
            later = carol.decline(room.room_id)
            assert later.room_status_version == (joined.room_status_version or 0) + 1
            assert int(later.last_update_details.modified_timestamp_millis or 0) > int(  # type: ignore[union-attr]
                joined.last_update_details.modified_timestamp_millis or 0  # type: ignore[union-attr]
            )
        assert second.terminate() == 0


def test_a_killed_server_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """R-durability-1"""
    database = tmp_path / "rooms.db"
    acknowledged: dict[str, str] = {}
    lock = threading.Lock()
    enough = threading.Event()

    def writer(number: int, server: ServerProcess) -> None:
        with server.client(f"writer{number}") as client:
            try:
                write_until_refused(number, client)
            finally:
                enough.set()  # a writer that stops early must not leave the test waiting

    def write_until_refused(number: int, client: RoomsClient) -> None:
        for attempt in range(10_000):
            request_id = f"{number}{attempt:05d}"
            try:
                room = client.create(
                    RoomCreateRequest(invited_player_ids=["bob"], request_id=request_id)
                )
            except RoomsApiError:
                return  # the server is gone
            with lock:
                acknowledged[f"writer{number}:{request_id}"] = room.room_id or ""
                if len(acknowledged) >= 60:
                    enough.set()

    with ServerProcess("--dev-tokens", "--database", str(database), cwd=tmp_path) as server:
        writers = [threading.Thread(target=writer, args=(n, server)) for n in range(1, 5)]
        for thread in writers:
            thread.start()
        enough.wait()
        assert server.kill() == -9
        for thread in writers:
            thread.join()

    assert len(acknowledged) >= 60
    with ServerProcess("--dev-tokens", "--database", str(database), cwd=tmp_path) as restarted:
        for key, room_id in acknowledged.items():
            player, request_id = key.split(":")
            with restarted.client(player) as client:
                assert client.get(room_id).room_id == room_id
                retried = client.create(
                    RoomCreateRequest(invited_player_ids=["bob"], request_id=request_id)
                )
                assert retried.room_id == room_id
        with restarted.client("bob") as bob:
            listed = {room.room_id for room in bob.list_all()}
        assert set(acknowledged.values()) <= listed
        assert restarted.terminate() == 0


def test_development_mode_is_announced_and_dev_tokens_work(tmp_path: Path) -> None:
    """R-token-2"""
    with ServerProcess("--dev-tokens", "--database", ":memory:", cwd=tmp_path) as server:
        with server.client("alice") as alice:
            room = alice.create(RoomCreateRequest(invited_player_ids=["bob"]))
        with server.client(None, token="alice") as bare, pytest.raises(AuthenticationError):
            bare.list()
        with server.client(None, token="dev-al ice") as spaced, pytest.raises(AuthenticationError):
            spaced.list()
        assert server.terminate() == 0
    records = server.records()
    warnings = [r for r in records if r.get("event") == "development_mode"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    listening = next(r for r in records if r.get("event") == "listening")
    assert listening["host"] == "127.0.0.1"
    assert listening["development_mode"] is True
    assert room.participants is not None
    assert room.participants[0].player is not None
    assert room.participants[0].player.player_id == "alice"


def test_token_file_and_database_tokens(tmp_path: Path) -> None:
    """R-token-1 R-token-3 R-serve-2 R-serve-3"""
    database = tmp_path / "rooms.db"
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"file-secret-of-alice": "alice"}), encoding="utf-8")
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "rooms_kit.cli.main",
            "tokens",
            "add",
            "bob",
            "--database",
            str(database),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    bob_token = added.stdout.strip()
    assert len(bob_token) >= 32
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT digest, player_id FROM tokens").fetchall()
    db.close()
    assert len(stored) == 1
    assert stored[0][1] == "bob"
    assert bob_token not in stored[0][0]

    with ServerProcess(
        "--database", str(database), "--tokens", str(tokens), cwd=tmp_path
    ) as server:
        with server.client(None, token="file-secret-of-alice") as alice:
            room = alice.create(RoomCreateRequest(invited_player_ids=["bob"]))
        with server.client(None, token=bob_token) as bob:
            assert [r.room_id for r in bob.list().items or []] == [room.room_id]
        for refused in ("dev-alice", "file-secret-of-bob", ""):
            with server.client(None, token=refused) as nobody, pytest.raises(AuthenticationError):
                nobody.list()
        with httpx.Client(base_url=server.base_url) as http:
            query = http.get("/games/v1/rooms", params={"oauth_token": "file-secret-of-alice"})
            assert query.status_code == 200
            assert http.get("/healthz").json() == {"status": "ok"}
        assert server.terminate() == 0
    log = "".join(server.lines)
    records = server.records()
    assert not [r for r in records if r.get("event") == "development_mode"]
    assert next(r for r in records if r.get("event") == "listening")["development_mode"] is False
    for secret in ("file-secret-of-alice", bob_token):
        assert secret not in log
    access = [r for r in records if "path" in r and "status" in r]
    assert len(access) >= 7
    assert all(
        set(r) == {"time", "method", "path", "status", "bytes", "duration_ms", "client"}
        for r in access
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected a JSON object"),
        ('{"t": "bad id!"}', "entry 1: every token needs a player id of 1-64 letters"),
        ("{not json", "not JSON"),
        ("[" * 100_000, "nests deeper than the JSON reader goes"),
        ('{"": "bob"}', "entry 1: the token is empty"),
        ('{"t": "' + "x" * 100_000 + '"}', "this one is a string of 100000 characters"),
        # a file of the wrong shape: the value shown as a player id is a token, never quoted
        ('{"tokens": {"VerNestTok42": "alice"}}', "entry 1: every token needs a player id"),
        ('{"alice": "VerRev+Tok/42=="}', "this one is a string of 15 characters that is not"),
        ('{"alice": "VerDupTokA", "alice": "VerDupTokB"}', "entries 1 and 2 give one token"),
        ('{"\\ud800": "alice"}', "entry 1: the token is not text that can be sent (it holds"),
        ('{"t": 1' + "0" * 5000 + "}", "an integer of more than 4300 digits; player ids are"),
        ('{"t": "alice", "u": "carl", "t": "bob"}', "entries 1 and 3 give one token to two"),
        ('{"t": {"a": 1, "a": 2}}', "this one is an object of 1 member that"),  # twice, no token
    ],
)
def test_bad_token_files_stop_the_start_without_naming_tokens(
    tmp_path: Path, content: str, message: str
) -> None:
    """R-token-1 R-token-3"""
    tokens = tmp_path / "tokens.json"
    tokens.write_text(content, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rooms_kit.cli.main",
            "serve",
            "--port",
            "0",
            "--database",
            ":memory:",
            "--tokens",
            str(tokens),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr) < 2000  # what the file holds is quoted in part only
    if content.startswith('{"t"'):
        assert '"t"' not in result.stderr.replace(str(tokens), "")
    for secret in ("VerNestTok42", "VerRev+Tok", "VerDupTok", "xxxxxxxx"):
        assert secret not in result.stderr


def test_a_token_given_twice_to_one_player_is_one_token(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text('{"t": "alice", "u": "bob", "t": "alice"}', encoding="utf-8")
    assert load_token_file(tokens) == {"t": "alice", "u": "bob"}


def test_a_port_in_use_is_reported_without_a_traceback(tmp_path: Path) -> None:
    """R-errors-1"""
    with ServerProcess("--dev-tokens", "--database", ":memory:", cwd=tmp_path) as server:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "rooms_kit.cli.main",
                "serve",
                "--port",
                str(server.port),
                "--database",
                ":memory:",
                "--dev-tokens",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert server.terminate() == 0
    assert result.returncode == 2
    assert "cannot listen on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_leaves_the_database_alone(tmp_path: Path, workers: str) -> None:
    """Bound before the database is opened: no new file, no authentication mode recorded."""
    existing = tmp_path / "existing.db"
    sqlite3.connect(existing).close()  # an empty file that SQLite would take and fill
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for database, mode in (("fresh.db", "--dev-tokens"), (str(existing), "--migrate")):
            result = subprocess.run(
                [sys.executable, "-m", "rooms_kit.cli.main", "serve", "--port", port,
                 "--workers", workers, "--database", database, "--dev-tokens", mode],
                cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
            )  # fmt: skip
            assert result.returncode == 2, result.stderr
            assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.db"]
    assert existing.stat().st_size == 0


def test_a_refused_start_with_migrate_makes_no_sqlite_file(tmp_path: Path) -> None:
    for arguments in (["--migrate"], ["--migrate", "--tokens", "tokens.json"]):
        (tmp_path / "tokens.json").write_text('{"t": "alice", "t": "bob"}', encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "rooms_kit.cli.main", "serve", "--port", "0",
             "--database", "m.db", *arguments],
            cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert not (tmp_path / "m.db").exists()


def test_serve_defaults_to_loopback() -> None:
    """R-serve-1"""
    from rooms_kit.cli.main import build_parser  # noqa: PLC0415

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.database, args.tokens) == (
        "127.0.0.1",
        8080,
        "rooms.db",
        None,
    )


def test_the_listening_socket_is_tcp_so_replies_are_not_delayed() -> None:
    """R-serve-1"""
    from rooms_kit.reference_server.serving import bind  # noqa: PLC0415

    sock = bind("127.0.0.1", 0)
    try:
        # asyncio turns Nagle's algorithm off only for sockets that name IPPROTO_TCP; without it
        # every answer waited for a delayed acknowledgement (about 40 ms on Linux).
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["serve", "--port", "0", "--database", "{tmp}/missing/rooms.db"],
            "argument --database: the folder {tmp}/missing does not exist",
        ),
        (["serve", "--port", "0", "--database", "{tmp}/not-sqlite.db"], "file is not a database"),
        (["tokens", "add", "bad id", "--database", "{tmp}/rooms.db"], "a player id is 1 to 64"),
    ],
)
def test_unusable_databases_and_player_ids_are_reported_cleanly(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    """R-errors-1"""
    (tmp_path / "not-sqlite.db").write_text("this is not SQLite\n" * 100, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "rooms_kit.cli.main",
        *(a.format(tmp=tmp_path) for a in arguments),
    ]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert message.format(tmp=tmp_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_tokens_add_keeps_a_chosen_token(tmp_path: Path) -> None:
    """R-token-1"""
    database = tmp_path / "rooms.db"
    command = [sys.executable, "-m", "rooms_kit.cli.main", "tokens", "add", "carol"]
    done = subprocess.run(
        [*command, "--database", str(database), "--token", "carols-own-token"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (done.stdout, done.stderr) == ("", "")  # a chosen token is never echoed
    from rooms_kit.reference_server import SqliteStore, TokenResolver  # noqa: PLC0415

    store = SqliteStore(database)
    try:
        resolver = TokenResolver(store)
        assert resolver.development_mode is False
        assert resolver.resolve("carols-own-token") == "carol"
        assert resolver.resolve("dev-carol") is None
    finally:
        store.close()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--port", "99999"], "argument --port: 99999 is outside 0..65535"),
        (["--port", "http"], "argument --port: 'http' is not a port number"),
        (["--port", "+80"], "argument --port: '+80' is not a port number"),
        (["--port", "8_0"], "argument --port: '8_0' is not a port number"),
        (["--port", "\u0668\u0660"], "is not a port number"),
        (
            ["--max-body-bytes", "0"],
            "argument --max-body-bytes: '0' is not a size such as 65536, 512K, 100M or 1G",
        ),
        (["--header-timeout", "1e3"], "argument --header-timeout: '1e3' is not a positive number"),
        (["--host", "999.1.1.1", "--port", "0"], "cannot listen on 999.1.1.1:0"),
    ],
)
def test_bad_addresses_are_reported_without_a_traceback(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    """R-errors-1"""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rooms_kit.cli.main",
            "serve",
            "--database",
            ":memory:",
            "--dev-tokens",
            *arguments,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_log_reader_that_stops_reading_never_stalls_the_server(tmp_path: Path) -> None:
    """Standard error is a pipe whose reader stops after the start-up line (a stuck log agent):
    3,000 requests, about ten times what the pipe holds in access lines, are all answered, and
    once the pipe is read again every access line arrives and the server stops with 0."""
    server = subprocess.Popen(
        [sys.executable, "-m", "rooms_kit.cli.main", "serve", "--port", "0", "--dev-tokens"],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        port = 0
        for line in server.stderr:  # read up to the listening line, then never again until the end
            if '"listening"' in line:
                port = int(json.loads(line)["port"])
                break
        assert port, "the server did not start"
        statuses: list[int] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            for _ in range(3000):
                statuses.append(http.get("/healthz").status_code)
        server.terminate()
        _, rest = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert statuses == [200] * 3000
    assert server.returncode == 0
    records = [json.loads(line) for line in rest.splitlines() if line.startswith("{")]
    assert sum(1 for r in records if r.get("path") == "/healthz") == 3000
    assert records[-1]["event"] == "stopped"
    assert "Traceback" not in rest
