"""The base install alone (no extras), in a fresh interpreter: the client works, and every command
that needs an extra says which one."""

from __future__ import annotations

import pytest

from tests.packaging.conftest import Installed

CLIENT_USE = """
import httpx, rooms_api, sys
def answer(request):
    assert request.url.path == "/games/v1/rooms/r1"
    return httpx.Response(200, json={"kind": "games#room", "roomId": "r1"})
with rooms_api.RoomsClient("t", base_url="http://h/", transport=httpx.MockTransport(answer)) as c:
    print(c.get("r1").room_id)
heavy = {"starlette", "uvicorn", "schemathesis", "jinja2", "ruff", "datamodel_code_generator",
         "jsonschema", "jsonschema_rs", "msgspec", "orjson"}
print(sorted(heavy & set(sys.modules)))
"""


def test_the_fresh_interpreter_sees_only_the_base_install(base_only: Installed) -> None:
    done = base_only.python("-c", "import starlette")
    assert done.returncode == 1 and "No module named 'starlette'" in done.stderr
    version = base_only.python("-m", "rooms_kit", "--version")
    assert (version.returncode, version.stdout) == (0, "rooms-kit 0.1.0\n")


def test_the_client_works_from_the_package_root(base_only: Installed) -> None:
    done = base_only.python("-c", CLIENT_USE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["r1", "[]"]


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (("validate", "room.json"), "validate"),
        (("schemas",), "validate"),
        (("generate", "--output", "out"), "generate"),
        (("serve", "--port", "0"), "server"),
        (("contract", "--reference"), "contract"),
    ],
)
def test_commands_that_need_an_extra_name_it(
    base_only: Installed, argv: tuple[str, ...], extra: str
) -> None:
    done = base_only.python("-m", "rooms_kit", *argv)
    assert done.returncode == 2
    assert f"pip install 'games-rooms-kit[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(base_only.workdir.iterdir()) == []
