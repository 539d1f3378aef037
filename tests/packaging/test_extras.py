"""Each command that needs an extra names it when it is missing; the base install stays small."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.packaging.conftest import ROOT, TIMEOUT, requirement_closure

# The modules of every extra, hidden from the interpreter as if they were not installed.
HIDE = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
sys.argv = ["rooms-kit", *sys.argv[2:]]
"""
EXTRA_MODULES = (
    "jsonschema,jsonschema_rs,msgspec,orjson,referencing,"
    "starlette,uvicorn,schemathesis,jinja2,datamodel_code_generator,ruff"
)
RUN_KIT = "import runpy; runpy.run_module('rooms_kit', run_name='__main__')"
IMPORT_CLIENT = (
    "import rooms_api.client, rooms_api.async_client, rooms_api.errors, rooms_api.models"
)


def _without_extras(*argv: str, code: str = RUN_KIT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE + code, EXTRA_MODULES, *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=TIMEOUT,
    )


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (("validate", "room.json"), "validate"),
        (("schemas",), "validate"),
        (("example", "room"), "validate"),
        (("replay", "rec.ndjson", "--url", "http://127.0.0.1:9"), "validate"),
        # options checked while parsing (--token imported the replayer, a traceback)
        (("replay", "rec.ndjson", "--url", "http://127.0.0.1:9", "--token", "player-1=t",
          "--token", "player-1=t"), "validate"),
        (("validate", "--kind", "room", "--max-bytes", "1M", "--jobs", "2", "r.json"), "validate"),
        (("serve", "--port", "0", "--max-body-bytes", "1M", "--database",
          "postgresql://u@127.0.0.1:9/rooms"), "server"),
        (("proxy", "--upstream", "http://127.0.0.1:9", "--record", "t.ndjson", "--rotate-bytes",
          "1M"), "server"),
        (("tokens", "add", "bob"), "server"),
        (("db", "upgrade"), "server"),
        (("proxy", "--upstream", "http://127.0.0.1:9"), "server"),
        (("generate", "--output", "out"), "generate"),
        (("serve", "--port", "0"), "server"),
        (("contract", "--reference"), "contract"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_named(argv: tuple[str, ...], extra: str) -> None:
    done = _without_extras(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"needs the [{extra}] extra" in done.stderr
    assert f"pip install 'games-rooms-kit[{extra}]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (ROOT / "out").exists()


def test_the_base_install_runs_the_client() -> None:
    assert _without_extras("--version").returncode == 0
    client = _without_extras(code=IMPORT_CLIENT)
    assert client.returncode == 0, client.stderr
    assert _without_extras(code="import rooms_api.server").returncode == 1  # needs [server]


def test_the_base_install_is_small_and_has_no_heavy_parts() -> None:
    base = requirement_closure("games-rooms-kit")
    heavy = {"schemathesis", "ruff", "datamodel-code-generator", "starlette", "uvicorn", "jinja2"}
    heavy |= {"jsonschema", "jsonschema-rs", "msgspec", "orjson"}  # [validate]
    assert not base & heavy, base & heavy
    assert len(base) <= 13, sorted(base)  # the kit, pydantic and httpx with what they need
    everything = requirement_closure("games-rooms-kit", frozenset({"all"}))
    assert heavy <= everything


POSTGRES_MODULES = "psycopg,psycopg_pool,greenlet"
SERVE_SQLITE = (
    "from rooms_kit.reference_server.app import create_reference_app\n"
    "app = create_reference_app(':memory:', dev_tokens=True)\n"
    "app.close()\n"
    "create_reference_app('postgresql://nobody@127.0.0.1:9/none', dev_tokens=True)\n"
)


def test_the_server_runs_on_sqlite_without_the_postgres_extra() -> None:
    """[server] alone serves SQLite; only a postgresql:// address asks for [postgres]."""
    done = subprocess.run(
        [sys.executable, "-c", HIDE + SERVE_SQLITE, POSTGRES_MODULES],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=TIMEOUT,
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("rooms_kit.reference_server.sqlite_store.StoreError: a postgresql://")
    assert "needs the [postgres] extra" in last
    assert "pip install 'games-rooms-kit[postgres]'" in last
