"""Running the sandbox as a real HTTP server on loopback, in a background thread, for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import SandboxConfig
from .faults import silence_simulated_drops
from .state import SandboxState
from .stats import Stats
from .tenant import Tenant


class SignalledServer(uvicorn.Server):
    """A uvicorn server that reports, through an event, the moment it accepts connections (or fails to start)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
            if self.started and self.on_ready is not None:
                self.on_ready()
        finally:
            self.ready.set()


@dataclass
class RunningSandbox:
    base_url: str
    access_token: str
    app: Starlette
    tenant: Tenant
    stats: Stats

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox


def bind(host: str, port: int) -> socket.socket:
    """Bind and listen before the server starts, so that the port is known (even port 0) and never raced for.

    The protocol is named (IPPROTO_TCP, not 0): accepted connections inherit it, and asyncio turns Nagle's
    algorithm off only on sockets that say TCP. Without it, a response written in two parts waits for the client's
    delayed ACK, about 40 ms on every keep-alive request.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def uvicorn_config(app: Starlette, log_level: str = "warning") -> uvicorn.Config:
    silence_simulated_drops()
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
        log_config=None,
    )


@contextmanager
def run_server(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    tenant: Tenant | None = None,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox with uvicorn in a background thread until the block exits, then stop and join it."""
    config = config or SandboxConfig()
    app = create_app(config, tenant)
    sock = bind(host, port)
    server = SignalledServer(uvicorn_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="egnyte-sandbox", daemon=True)
    thread.start()
    server.ready.wait()
    try:
        if not server.started:
            raise RuntimeError("the sandbox server failed to start")
        state: SandboxState = app.state.sandbox
        yield RunningSandbox(base_url(sock), config.static_token, app, state.tenant, state.stats)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
