"""The Binance venue: the COIN-M stream host (``dstream.binance.com``: ``/stream``, ``/ws``, and
the user data stream at ``/ws/<listenKey>``), the spot stream host (``stream.binance.com``),
the COIN-M REST host (``dapi.binance.com``) and the spot REST host (``api.binance.com``)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.venues.base import Endpoint
from core.sim.venues.binance.public import COINM, SPOT, PublicConn, PublicStreams
from core.sim.ws import bound_port, not_found, serve_conn


class BinanceVenue:
    name = "binance"

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.coins = coins
        self.streams = PublicStreams(hub, coins)
        self._servers: list[Server] = []

    def port_count(self) -> int:
        return 2

    async def start(self, host: str, ports: tuple[int, ...]) -> list[Endpoint]:
        urls: list[str] = []
        for kind, port in zip((COINM, SPOT), ports, strict=True):
            server = await serve(
                self._handler(kind),
                host,
                port,
                process_request=self._route,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=1,
                max_queue=64,
            )
            self._servers.append(server)
            urls.append(f"ws://{host}:{bound_port(server)}")
        return [
            ("binance", "inverse", urls[0] + "/stream"),
            ("binance", "spot", urls[1] + "/stream"),
        ]

    async def stop(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()

    def refresh(self) -> None:
        self.streams.refresh()

    def stepped(self) -> None:
        pass

    def settle(self, st: Settlement) -> None:
        pass

    @staticmethod
    def _route(conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        ok = path in ("/stream", "/ws") or path.startswith("/ws/")
        return None if ok else not_found(path)

    def _handler(self, kind: str) -> Callable[[ServerConnection], Awaitable[None]]:
        async def handle(ws: ServerConnection) -> None:
            assert ws.request is not None
            parts = urlsplit(ws.request.path)
            streams: list[str] = []
            combined = parts.path == "/stream"
            if combined:
                for value in parse_qs(parts.query).get("streams", []):
                    streams.extend(s for s in value.split("/") if s)
            elif parts.path.startswith("/ws/"):
                streams.extend(s for s in parts.path[4:].split("/") if s)
            conn = PublicConn(
                self.hub, ws, self.streams, host=kind, combined=combined, streams=streams
            )
            await serve_conn(self.hub, conn)

        return handle
