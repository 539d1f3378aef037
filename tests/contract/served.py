"""A broken variant (or any rewriter) served over HTTP on 127.0.0.1, for tests that run the
contract suite as users do: by URL."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.contract.broken_variants.rewriting import Rewriter


@contextmanager
def served(app: Rewriter) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 (a free port) while the block runs; closed after."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", http="h11")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
        app.close()
