"""The OKX venue: one host (``ws.okx.com``) serving the public websocket at ``/ws/v5/public``
and, to plain HTTP GETs, ``/api/v5/public/instruments``. Public market data only: OKX
hedges are read from the config (no simulated OKX account)."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.venues.base import Endpoint
from core.sim.venues.okx import rest
from core.sim.venues.okx.public import PATH, OkxConn, OkxMarket
from core.sim.ws import bound_port, json_response, not_found, serve_conn


class OkxVenue:
    name = "okx"

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.market = OkxMarket(hub, coins)
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
        base = f"{host}:{bound_port(server)}"
        return [
            ("okx", "inverse", f"ws://{base}{PATH}"),
            ("okx", "spot", f"ws://{base}{PATH}"),
            ("okx", "rest", f"http://{base}"),
        ]

    async def stop(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()

    def refresh(self) -> None:
        self.market.refresh()

    def stepped(self) -> None:
        """No account here: nothing fills or liquidates."""

    def settle(self, st: Settlement) -> None:
        """No account here: settlements only move the published rate."""

    def _route(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path == PATH:
            return None
        if parts.path == rest.PATH:
            self.hub.stats.requests += 1
            return json_response(rest.instruments(self.market, dict(parse_qsl(parts.query))))
        return not_found(parts.path)

    async def _handle(self, ws: ServerConnection) -> None:
        await serve_conn(self.hub, OkxConn(self.hub, ws, self.market))
