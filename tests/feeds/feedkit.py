"""Helpers for the feed tests: the shared fixtures' location, a scripted websocket server on
127.0.0.1, and a bounded wait on a condition (no sleeping to synchronise)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HEDGETOP_SHARED", REPO.parent / "shared"))
WS_FIXTURES = SHARED / "fixtures" / "ws"
REST_FIXTURES = SHARED / "fixtures" / "rest"


def fixture_lines(name: str) -> list[str]:
    return [line for line in (WS_FIXTURES / name).read_text().splitlines() if line.strip()]


def fixture_json(name: str) -> list[Any]:
    return [json.loads(line) for line in fixture_lines(name)]


async def until(cond: Callable[[], bool], timeout: float = 3.0, what: str = "") -> None:
    """Wait until ``cond()`` holds, checking every 2 ms; fail after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not cond():
                await asyncio.sleep(0.002)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout} s waiting for {what or cond}")


@dataclass
class Conn:
    """One accepted connection: its index (0, 1, ...), the socket and the frames received."""

    index: int
    ws: ServerConnection
    frames: asyncio.Queue[str | bytes] = field(default_factory=asyncio.Queue)

    async def send(self, frame: str | dict[str, Any]) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def next_frame(self, timeout: float = 3.0) -> str | bytes:
        async with asyncio.timeout(timeout):
            return await self.frames.get()


Handler = Callable[[Conn], Awaitable[None]]


class ScriptedServer:
    """A websocket server on 127.0.0.1 that runs ``handler(conn)`` for each connection and
    closes the connection when the handler returns. Every received frame is recorded."""

    def __init__(self, handler: Handler, path: str = "/ws") -> None:
        self.handler = handler
        self.path = path
        self.connections = 0
        self.received: list[tuple[int, str | bytes]] = []
        self.url = ""

    async def _handle(self, ws: ServerConnection) -> None:
        conn = Conn(self.connections, ws)
        self.connections += 1

        async def reader() -> None:
            with contextlib.suppress(Exception):
                async for frame in ws:
                    self.received.append((conn.index, frame))
                    conn.frames.put_nowait(frame)

        task = asyncio.create_task(reader())
        try:
            await self.handler(conn)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        async with serve(self._handle, "127.0.0.1", 0, close_timeout=0.2) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}{self.path}"
            yield self


async def hold_open(conn: Conn) -> None:
    """Keep a connection open until the client closes it."""
    await conn.ws.wait_closed()
