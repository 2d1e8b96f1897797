"""The websocket connection every simulated stream is served through: requests in, data out
through the chaos filters (garbage, repeat/swap), stall and drop honoured. Venues subclass
``StreamConn`` for their protocol (``on_message``, ``tick_frames``)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from core.sim.fmt import dumps
from core.sim.hub import Hub


def not_found(path: str) -> Response:
    body = f"no such path on this simulated host: {path}\n".encode()
    headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return Response(int(HTTPStatus.NOT_FOUND), "Not Found", headers, body)


def json_response(obj: Any, status: HTTPStatus = HTTPStatus.OK) -> Response:
    """A plain HTTP answer with a JSON body, for the REST paths a websocket host also serves
    (OKX and Deribit answer REST on their websocket hosts)."""
    body = dumps(obj).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return Response(int(status), status.phrase, headers, body)


def bound_port(server: Server) -> int:
    for sock in server.sockets:
        return int(sock.getsockname()[1])
    raise OSError("server has no socket")


class StreamConn:
    """One client connection: replies to requests, pushes its subscriptions every tick."""

    def __init__(self, hub: Hub, ws: ServerConnection) -> None:
        self.hub = hub
        self.ws = ws
        self.rng = random.Random(hub.rng.getrandbits(64))
        self._held: str | None = None

    # -- for the drop fault ----------------------------------------------------------------

    def abort(self) -> None:
        self.ws.transport.abort()

    def close_soon(self) -> None:
        self.hub.spawn(self.ws.close(1001, "sim: drop"))

    # -- protocol --------------------------------------------------------------------------

    async def on_message(self, text: str) -> None:
        raise NotImplementedError

    def tick_frames(self) -> list[str]:
        """Public data frames due this tick (private streams push on change instead)."""
        return []

    async def write_loop(self) -> None:
        hub = self.hub
        while True:
            ev = hub.tick_event
            assert ev is not None
            await ev.wait()
            if hub.stalled():
                continue
            for frame in self.tick_frames():
                await self.send_data(frame)

    async def reply(self, obj: Any) -> None:
        await self.ws.send(dumps(obj))

    async def send_data(self, text: str) -> None:
        """Send a market-data frame through the chaos filters (garbage, repeat/swap)."""
        hub = self.hub
        ch = hub.chaos
        if ch.garbage_p and self.rng.random() < ch.garbage_p:
            text = hub.garble(text, self.rng)
            hub.stats.garbage += 1
        out = [text]
        if ch.reorder_p and self.rng.random() < ch.reorder_p:
            if self.rng.random() < 0.5:
                out.append(text)
                hub.stats.repeated += 1
            elif self._held is None:
                self._held = text
                return
        if self._held is not None:
            out.append(self._held)
            self._held = None
            hub.stats.swapped += 1
        hook = hub.on_frame_sent
        for frame in out:
            if hook is not None:
                hook(frame)
            await self.ws.send(frame)
            hub.stats.frames += 1

    async def closed(self) -> None:
        """Called once the connection is gone (private streams unregister here)."""


async def serve_conn(hub: Hub, conn: StreamConn) -> None:
    """Run ``conn`` until the client goes: its requests here, its ticks in a writer task."""
    hub.stats.connections += 1
    hub.conns.add(conn)
    writer = asyncio.create_task(conn.write_loop())
    try:
        async for message in conn.ws:
            if hub.stalled():
                continue
            text = message if isinstance(message, str) else message.decode("utf-8", "replace")
            await conn.on_message(text)
    except ConnectionClosed:
        pass
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await writer
        hub.conns.discard(conn)
        await conn.closed()
