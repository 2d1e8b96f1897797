"""The Deribit venue: one host (``www.deribit.com``) serving JSON-RPC over the websocket at
``/ws/api/v2`` and the same public methods to plain HTTP GETs at ``/api/v2/public/<method>``
(query string as params). Public market data only: Deribit hedges are read from the config
(no simulated Deribit account)."""

from __future__ import annotations

import contextlib
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.venues.base import Endpoint
from core.sim.venues.deribit.rpc import (
    HTTP_PREFIX,
    MIN_HEARTBEAT_S,
    WS_PATH,
    DeribitConn,
    DeribitMarket,
    RpcError,
    envelope,
)
from core.sim.ws import bound_port, json_response, not_found, serve_conn


def _query_value(text: str) -> Any:
    """HTTP query values are strings; Deribit reads ``true``/``false`` and numbers."""
    if text in ("true", "false"):
        return text == "true"
    return text


class DeribitVenue:
    name = "deribit"

    def __init__(self, hub: Hub, coins: tuple[str, ...]) -> None:
        self.hub = hub
        self.market = DeribitMarket(hub, coins)
        self.min_heartbeat_s = MIN_HEARTBEAT_S  # tests lower it
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
            ("deribit", "inverse", f"ws://{base}{WS_PATH}"),
            ("deribit", "rest", f"http://{base}"),
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
        """Continuous funding: the model records no settlements for Deribit."""

    def _route(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path == WS_PATH:
            return None
        if parts.path.startswith(HTTP_PREFIX + "public/"):
            self.hub.stats.requests += 1
            method = parts.path.removeprefix(HTTP_PREFIX)
            params = {k: _query_value(v) for k, v in parse_qsl(parts.query)}
            received_us = time.time_ns() // 1000
            try:
                result = self.market.call(method, params)
            except RpcError as exc:
                status = HTTPStatus.NOT_FOUND if exc.code == -32601 else HTTPStatus.BAD_REQUEST
                return json_response({**envelope(None, received_us), "error": exc.obj()}, status)
            return json_response({**envelope(None, received_us), "result": result})
        return not_found(parts.path)

    async def _handle(self, ws: ServerConnection) -> None:
        conn = DeribitConn(self.hub, ws, self.market, min_heartbeat_s=self.min_heartbeat_s)
        await serve_conn(self.hub, conn)
