"""The Bybit venue: one websocket host (``stream.bybit.com``: ``/v5/public/inverse``,
``/v5/public/spot``, ``/v5/private``) and one REST host (``api.bybit.com``)."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.venues.base import Endpoint
from core.sim.venues.bybit.public import INVERSE_PATH, SPOT_PATH, PublicConn, PublicTickers
from core.sim.ws import bound_port, not_found, serve_conn


class BybitVenue:
    name = "bybit"

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.coins = coins
        self.tickers = PublicTickers(hub, coins)
        self._servers: list[Server] = []

    def port_count(self) -> int:
        return 1

    async def start(self, host: str, ports: tuple[int, ...]) -> list[Endpoint]:
        server = await serve(
            self._handle,
            host,
            ports[0],
            process_request=self._route,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=1,
            max_queue=64,
        )
        self._servers.append(server)
        ws = f"ws://{host}:{bound_port(server)}"
        return [
            ("bybit", "inverse", ws + INVERSE_PATH),
            ("bybit", "spot", ws + SPOT_PATH),
        ]

    async def stop(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()

    def refresh(self) -> None:
        self.tickers.refresh()

    def stepped(self) -> None:
        pass

    def settle(self, st: Settlement) -> None:
        pass

    def _route(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        return None if path in (INVERSE_PATH, SPOT_PATH) else not_found(path)

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = urlsplit(ws.request.path).path
        conn = PublicConn(self.hub, ws, self.tickers, spot=path == SPOT_PATH)
        await serve_conn(self.hub, conn)
