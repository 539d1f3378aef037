"""How long other clients wait while ``rooms-kit proxy`` judges large answers (part of
``bench/proxy.py``).

A small upstream of its own (a child process, uvicorn on 127.0.0.1) answers ``/games/v1/rooms``
with the 8 MiB list of ``bench/judging.py`` in which every room is wrong (its first room's id
changed each time, so the judge's cache of verdicts never answers) and ``/games/v1/rooms/small``
with one valid room. ``rooms-kit proxy`` runs in front of it. One client fetches the large list
every ``PAUSE`` seconds while another asks for the small room, one request at a time, for
``SECONDS``; what is kept is the small requests' latency (p50, p99, the longest) and how many were
answered. Before large exchanges were judged beside the event loop, every small request that came
during a large answer's checks waited for all of them.

Run alone: ``.venv/bin/python bench/stall.py``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judging
from corpus import room

SECONDS = 10.0
PAUSE = 1.0
HEADERS = {"Authorization": "Bearer bench"}


@dataclass(frozen=True)
class Stall:
    small: list[float]  # milliseconds per small request, sorted
    large: int  # large answers fetched
    seconds: float

    def percentile(self, share: float) -> float:
        return self.small[min(int(len(self.small) * share), len(self.small) - 1)]


def _upstream_app() -> Any:
    wrong = judging.bodies()[1].raw
    first = wrong.index(b'"room-0"') + 1
    small = json.dumps(room(random.Random(1))).encode()
    served = [0]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        if scope["path"] == "/games/v1/rooms":
            served[0] += 1
            body = wrong[:first] + b"%06d" % (served[0] % 1_000_000) + wrong[first + 6 :]
        else:
            body = small
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _serve_upstream() -> None:
    import uvicorn  # noqa: PLC0415  (the child only)

    from rooms_kit.reference_server.serving import bind  # noqa: PLC0415

    sock = bind("127.0.0.1", 0)
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(_upstream_app(), log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def run(proxy_class: Any) -> Stall:
    """The measurement, with ``proxy_class`` (``bench/proxy.py``'s child proxy) in front."""
    upstream = subprocess.Popen(
        [sys.executable, __file__, "--upstream"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert upstream.stdout is not None
        port = int(upstream.stdout.readline())
        with tempfile.TemporaryDirectory(prefix="rooms-bench-stall-") as folder:
            proxy = proxy_class(f"http://127.0.0.1:{port}", Path(folder))
            try:
                return _measure(f"http://127.0.0.1:{proxy.port}")
            finally:
                proxy.stop()
    finally:
        upstream.terminate()  # our own child
        upstream.wait(30)


def _measure(url: str) -> Stall:
    done = threading.Event()
    large = [0]

    def fetch_large() -> None:
        with httpx.Client(base_url=url, trust_env=False, timeout=60) as client:
            while not done.is_set():
                got = client.get("/games/v1/rooms", headers=HEADERS)
                if got.status_code != 200:
                    raise SystemExit(f"the large answer came back as {got.status_code}")
                large[0] += 1
                done.wait(PAUSE)

    small: list[float] = []
    with httpx.Client(base_url=url, trust_env=False, timeout=60) as client:
        for _ in range(50):  # warm-up
            client.get("/games/v1/rooms/small", headers=HEADERS)
        fetcher = threading.Thread(target=fetch_large)
        fetcher.start()
        began = time.perf_counter()
        while time.perf_counter() - began < SECONDS:
            started = time.perf_counter()
            got = client.get("/games/v1/rooms/small", headers=HEADERS)
            small.append((time.perf_counter() - started) * 1000)
            if got.status_code != 200:
                raise SystemExit(f"the small answer came back as {got.status_code}")
        seconds = time.perf_counter() - began
        done.set()
        fetcher.join(120)
    return Stall(sorted(small), large[0], seconds)


def line(stall: Stall) -> str:
    return (
        f"{len(stall.small):,} small `get`s answered in {stall.seconds:.0f} s beside "
        f"{stall.large} large answers: p50 {stall.percentile(0.5):.1f} ms, p99 "
        f"{stall.percentile(0.99):.1f} ms, the longest {stall.small[-1]:.0f} ms"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--upstream"]:
        os.environ.setdefault("PYTHONUNBUFFERED", "1")
        _serve_upstream()
    else:
        from proxy import Proxy

        print(line(run(Proxy)))
