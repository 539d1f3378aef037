"""Code written against the generated package type-checks under ``mypy --strict``.

``make typecheck`` already checks ``rooms_api`` itself; this checks a user of it: the fake handler
must satisfy ``RoomsHandler``, and typed client calls must be accepted (or rejected) as intended.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api

HERE = Path(__file__).resolve().parent

USER_CODE = """
from rooms_api.client import RoomsClient
from rooms_api.models import Room, RoomCreateRequest, RoomList

def use(client: RoomsClient) -> tuple[Room, RoomList]:
    room = client.create(RoomCreateRequest(variant=1), language="en")
    page = client.list(max_results=10, page_token=None)
    client.dismiss("r1")
    assert Room(room_id="r", room_status_version=2).kind == "games#room"
    return room, page
"""

MISUSE = """
from rooms_api.client import RoomsClient
from rooms_api.models import Room, RoomCreateRequest

def misuse(client: RoomsClient) -> None:
    client.get("r1", "en")
    client.list(max_results="ten")
    Room(roomId="r")
    RoomCreateRequest(varient=1)
    RoomsClient("token")
"""

ROOT_IMPORTS = """
import rooms_api

def use(token: str) -> rooms_api.Room:
    with rooms_api.RoomsClient(token, base_url="http://127.0.0.1:8080") as client:
        return client.create(rooms_api.RoomCreateRequest(variant=1))
"""


def run_mypy(*targets: str) -> tuple[int, str]:
    stdout, stderr, status = api.run(["--strict", "--no-error-summary", *targets])
    return status, stdout + stderr


def test_fake_handler_and_client_use_type_check(tmp_path: Path) -> None:
    (tmp_path / "user_code.py").write_text(USER_CODE)
    status, output = run_mypy(str(HERE / "stub_support.py"), str(tmp_path / "user_code.py"))
    assert status == 0, output


def test_misuse_is_caught(tmp_path: Path) -> None:
    (tmp_path / "misuse.py").write_text(MISUSE)
    status, output = run_mypy(str(tmp_path / "misuse.py"))
    assert status == 1
    assert "Too many positional arguments" in output
    assert 'Argument "max_results" to "list" of "RoomsClient" has incompatible type "str"' in output
    assert 'Unexpected keyword argument "roomId" for "Room"' in output
    assert 'Unexpected keyword argument "varient" for "RoomCreateRequest"' in output
    assert 'Missing named argument "base_url" for "RoomsClient"' in output


def test_the_package_root_is_typed(tmp_path: Path) -> None:
    (tmp_path / "root_user.py").write_text(ROOT_IMPORTS)
    status, output = run_mypy(str(tmp_path / "root_user.py"))
    assert status == 0, output
