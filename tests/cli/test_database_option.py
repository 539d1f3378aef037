"""``--database`` is checked while the arguments are parsed, the same way by ``serve``, ``db upgrade``
and ``tokens add``: each hostile value below is refused with exit 2, the usage line and the exact
complaint, before any store is opened, and leaves nothing behind; the accepted forms pass."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rooms_kit.cli.main import build_parser, main
from tests.cli.conftest import ROOMS_KIT

# command -> the arguments before --database (every one of them valid)
COMMANDS = {
    "serve": ["serve", "--port", "0", "--dev-tokens"],
    "db upgrade": ["db", "upgrade"],
    "tokens add": ["tokens", "add", "alice"],
}
ACCEPTED = "a SQLite file path, :memory:, or a postgresql:// (or postgres://) address"
UNPRINTABLE = "starts or ends with a space, or holds a line break or another unprintable character"
NOT_A_URL = "addresses are not read; give the SQLite file's path itself, such as rooms.db or " + (
    "/srv/rooms/rooms.db"
)
OTHER_SCHEME = (
    "addresses are not supported; the accepted addresses are postgresql:// and postgres://, "
    "and a SQLite database is given as a plain file path"
)
NEAR_POSTGRES = (
    "is not how a PostgreSQL address starts; write postgresql:// or postgres://, in lower case"
)

UNESCAPED = (
    "the user name or password of the postgresql:// address holds '/', '@', '?' or '#' as it is; "
    "write them %-escaped (%2F, %40, %3F, %23), or libpq reads part of the password as the host "
    "or the database name and shows it in its messages; the address is not shown"
)
HIDDEN = (
    "the value is not a usable SQLite file path, and it may hold a password, so it is not shown; "
    f"give {ACCEPTED}"
)
NO_HOST = (
    "the port of the postgresql:// address is not a number: is it user:password without "
    "'@host' after it? The address is not shown, since it may hold a password"
)
KEY_VALUE = (
    "this looks like a libpq key=value connection string (host=... dbname=...), which is not "
    "read; give a postgresql://user@host:port/name address (the value is not shown, since it may "
    "hold a password)"
)
UNREADABLE = (
    "the postgresql:// address cannot be read (look at the brackets around an IPv6 host and the "
    "%-escapes in the user name and password); it is not shown, since it may hold a password"
)

# case -> (value, exact complaint); {tmp} is the test's folder (see the folder fixture)
REFUSED = {
    "empty": ("", f"the value is empty; give {ACCEPTED}"),
    "leading space": (" rooms.db", f"' rooms.db' {UNPRINTABLE}; give {ACCEPTED}"),
    "trailing space": ("rooms.db ", f"'rooms.db ' {UNPRINTABLE}; give {ACCEPTED}"),
    "line break": ("rooms\n.db", f"'rooms\\n.db' {UNPRINTABLE}; give {ACCEPTED}"),
    "mysql address": ("mysql://user:hunter2@db.example/rooms", f"mysql:// {OTHER_SCHEME}"),
    "https address": ("https://db.example/rooms", f"https:// {OTHER_SCHEME}"),
    "SQLAlchemy driver": (
        "postgresql+psycopg://user:hunter2@db.example/rooms",
        f"postgresql+psycopg:// {OTHER_SCHEME}",
    ),
    "upper-case postgresql": (
        "POSTGRESQL://user:hunter2@db.example/rooms",
        f"POSTGRESQL:// {NEAR_POSTGRES}",
    ),
    "mixed-case postgres": ("Postgres://db.example/rooms", f"Postgres:// {NEAR_POSTGRES}"),
    # libpq's own complaint quotes the address, password and all: never shown
    "IPv6 bracket left open": ("postgresql://u:hunter2@[::1:5432/rooms", UNREADABLE),
    "bad %-escape in the password": ("postgresql://u:hunter2%ZZ@127.0.0.1/rooms", UNREADABLE),
    "postgresql address after a control character": (
        "\x01postgresql://u:hunter2@127.0.0.1/rooms",
        f"the value {UNPRINTABLE}; give {ACCEPTED}",
    ),
    "postgresql address after a zero-width space": (
        "\u200bpostgres://u:hunter2@127.0.0.1/rooms",
        f"the value {UNPRINTABLE}; give {ACCEPTED}",
    ),
    # libpq reads part of such a password as the host or the database name, and says so
    "password with a slash": ("postgresql://rooms:Xy7/hunter2@db.internal/rooms", UNESCAPED),
    "password with an @": ("postgresql://u:hunter2@t99@127.0.0.1:1/rooms", UNESCAPED),
    "password with a %-escape that is not UTF-8": (
        "postgresql://rooms:hunter2%e9@127.0.0.1:1/rooms",
        UNREADABLE,
    ),
    "address in quotes (from a .env file)": (
        '"postgresql://rooms:hunter2@db.internal/rooms"',
        HIDDEN,
    ),
    "address after a variable name": ("DATABASE_URL=postgresql://rooms:hunter2@db/rooms", HIDDEN),
    "JDBC address": ("jdbc:postgresql://rooms:hunter2@db.internal/rooms", HIDDEN),
    "user and password without @host": ("postgresql://alice:hunter2/rooms", NO_HOST),
    "address without its scheme": ("alice:hunter2@db.internal/rooms", HIDDEN),
    "address without its scheme, ending in a slash": (
        "alice:hunter2@db.internal/",
        "the value ends with /, so it names a folder; give the path of a SQLite file",
    ),
    "libpq key=value string": ("host=127.0.0.1 password=hunter2 dbname=rooms", KEY_VALUE),
    "libpq key=value string ending in a slash": ("dbname=x password=hunter2/", KEY_VALUE),
    "postgresql address with a trailing space": (
        "postgresql://u:hunter2@127.0.0.1/rooms ",
        f"the value {UNPRINTABLE}; give {ACCEPTED}",
    ),
    "one slash": ("postgresql:/user:hunter2@db.example/rooms", f"postgresql:/ {NEAR_POSTGRES}"),
    "no slash": ("postgres:host=db.example", f"postgres: {NEAR_POSTGRES}"),
    "sqlite URL": ("sqlite:///{tmp}/rooms.db", f"sqlite: {NOT_A_URL}"),
    "sqlite3 URL": ("sqlite3:rooms.db", f"sqlite3: {NOT_A_URL}"),
    "SQLite URI": ("file:rooms.db?mode=rwc", f"file: {NOT_A_URL}"),
    "folder": (
        "{tmp}",
        "{tmp} is a folder; give the path of a SQLite file, such as {tmp}/rooms.db",
    ),
    "trailing slash": (
        "{tmp}/new/",
        "{tmp}/new/ ends with /, so it names a folder; give the path of a SQLite file",
    ),
    "missing folder": (
        "{tmp}/missing/rooms.db",
        "the folder {tmp}/missing does not exist; create it first (only the file is created)",
    ),
    "missing folders": (
        "{tmp}/missing/deeper/rooms.db",
        "the folder {tmp}/missing/deeper does not exist; create it first (only the file is created)",
    ),
    "file as folder": ("{tmp}/a-file/rooms.db", "{tmp}/a-file is a file, not a folder"),
    "file as a far folder": (
        "{tmp}/a-file/deeper/rooms.db",
        "{tmp}/a-file is a file, not a folder",
    ),
    "loop of links": (
        "{tmp}/loop",
        "{tmp}/loop: cannot look at it: Too many levels of symbolic links",
    ),
    "name too long": ("x" * 300, f"{'x' * 300}: cannot look at it: File name too long"),
    "device": ("/dev/null", "/dev/null is not a regular file, so it cannot be a SQLite database"),
    "FIFO": ("{tmp}/fifo", "{tmp}/fifo is not a regular file, so it cannot be a SQLite database"),
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder, made the current one (so relative names land in it), with a file, a
    FIFO and a link to itself in it."""
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to("loop")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _refused(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command, which must stop while parsing; its stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    return err


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_values_are_refused_while_parsing(
    command: str, case: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    value, message = (text.format(tmp=folder) for text in REFUSED[case])
    before = sorted(folder.iterdir())
    err = _refused([*COMMANDS[command], "--database", value], capsys)
    assert err.startswith(f"usage: rooms-kit {command} ")
    assert err.endswith(f"\nrooms-kit {command}: error: argument --database: {message}\n")
    assert "hunter2" not in err  # only the scheme of an address is shown, never a password
    assert sorted(folder.iterdir()) == before  # no store was opened: nothing made, no "-writer"


@pytest.fixture
def without_permission(folder: Path) -> Iterator[dict[str, str]]:
    """A folder and a file this user may not write to -> the complaint about each."""
    locked = folder / "locked"
    locked.mkdir()
    read_only = folder / "read-only.db"
    read_only.write_bytes(b"")
    locked.chmod(0o555)
    read_only.chmod(0o444)
    yield {
        str(locked / "rooms.db"): f"no permission to create files in {locked}, which SQLite "
        "needs for the database and its journal files",
        str(read_only): f"no permission to read and write {read_only}",
    }
    locked.chmod(0o755)
    read_only.chmod(0o644)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere, so the checks pass")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_places_without_write_permission_are_refused(
    command: str, without_permission: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Skipped when the tests run as root (euid 0), for whom every permission check passes;
    the test below covers that case where it can."""
    for value, message in without_permission.items():
        err = _refused([*COMMANDS[command], "--database", value], capsys)
        assert err.endswith(f"argument --database: {message}\n")


CAPSH = shutil.which("capsh")


@pytest.mark.skipif(os.geteuid() != 0 or CAPSH is None, reason="needs root and capsh")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_places_without_write_permission_are_refused_to_root_without_its_overrides(
    command: str, without_permission: dict[str, str], folder: Path
) -> None:
    """As root the checks above only bite once root's power to ignore file modes is dropped
    (capsh, in a child process): then the same refusals come."""
    assert CAPSH is not None
    drop = "--drop=cap_dac_override,cap_dac_read_search,cap_fowner"
    for value, message in without_permission.items():
        arguments = [*COMMANDS[command], "--database", value]
        done = subprocess.run(
            [CAPSH, drop, "--", "-c", 'exec "$0" "$@"', str(ROOMS_KIT), *arguments],
            capture_output=True,
            text=True,
            cwd=folder,
            check=False,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.endswith(f"argument --database: {message}\n")
    assert not (folder / "locked" / "rooms.db").exists()


GOOD = [
    ":memory:",
    "rooms.db",
    "./file:rooms.db",  # a name that starts like a SQLite URI, given literally
    "{tmp}/new.db",
    "{tmp}/existing.db",
    "postgresql://user:secret@127.0.0.1:5432/rooms?sslmode=disable",
    "postgresql://",
    "postgres://db.example/rooms",
]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("value", GOOD)
def test_the_accepted_forms_pass_unchanged(command: str, value: str, folder: Path) -> None:
    (folder / "existing.db").write_bytes(b"")  # an empty file is a new SQLite database
    database = value.format(tmp=folder)
    args = build_parser().parse_args([*COMMANDS[command], "--database", database])
    assert args.database == database


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_default_passes(command: str, folder: Path) -> None:
    assert build_parser().parse_args(COMMANDS[command]).database == "rooms.db"


def test_accepted_values_still_open(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on SQLite: the check lets the ordinary uses through."""
    assert main(["db", "upgrade", "--database", ":memory:"]) == 0
    assert main(["db", "upgrade", "--database", "rooms.db"]) == 0
    assert main(["tokens", "add", "alice", "--database", str(folder / "rooms.db")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        ":memory:: layout version 1, up to date",
        "rooms.db: layout version 1, up to date",
    ]
    assert len(out) == 3
    assert (folder / "rooms.db").is_file()


def test_the_schemes_are_those_of_the_stores() -> None:
    """The option accepts exactly what ``open_store`` sends to PostgreSQL, case included."""
    from rooms_kit.cli import database_option  # noqa: PLC0415
    from rooms_kit.reference_server import stores  # noqa: PLC0415

    assert database_option.POSTGRES_SCHEMES == stores.POSTGRES_SCHEMES
    assert stores.is_postgres("postgres://h/rooms")
    assert not stores.is_postgres("POSTGRESQL://h/rooms")  # hence the upper-case refusal


def test_tokens_add_refuses_a_database_that_ends_with_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # it printed a token and exited 0, though the token was gone with the process
    assert main(["tokens", "add", "alice", "--database", ":memory:"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "rooms-kit: error: --database :memory: ends with this command, so the token would be "
        "lost at once; give the file or postgresql:// address the server will use\n"
    )
