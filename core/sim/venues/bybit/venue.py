"""The Bybit venue: one websocket host (``stream.bybit.com``: ``/v5/public/inverse``,
``/v5/public/spot``, ``/v5/private``) and one REST host (``api.bybit.com``), and the account
of the API key."""

from __future__ import annotations

import contextlib
import uuid
from urllib.parse import urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from core.sim.accounts import Account, Accounts, Ids
from core.sim.book import Book
from core.sim.hub import Hub
from core.sim.model import Settlement
from core.sim.seed import AccountSeed
from core.sim.venues.base import Endpoint
from core.sim.venues.bybit.margin import BybitMargin
from core.sim.venues.bybit.private import PrivateStreams
from core.sim.venues.bybit.public import (
    INVERSE_PATH,
    PRIVATE_PATH,
    SPOT_PATH,
    PublicConn,
    PublicTickers,
)
from core.sim.venues.bybit.rest import BybitRest
from core.sim.ws import bound_port, not_found, serve_conn


class BybitVenue:
    name = "bybit"

    def __init__(
        self, hub: Hub, coins: tuple[str, ...], seed: AccountSeed, *, rate_limits: bool = True
    ) -> None:
        self.hub = hub
        self.coins = coins
        self.tickers = PublicTickers(hub, coins)
        self.books = {c: Book(hub.model, self.name, c) for c in coins}
        self.accounts = Accounts()
        self.account = Account(
            self.name,
            BybitMargin(),
            self.books,
            lot=lambda coin: 1,
            index=hub.model.price,
            now_ms=hub.now_ms,
            ids=Ids(order_id=self._uuid, exec_id=self._uuid),
            seed=seed.venue(self.name),
        )
        self.accounts.add(seed.api_key, seed.api_secret, self.account)
        self.rest = BybitRest(hub, coins, self.tickers, self.accounts, rate_limits=rate_limits)
        self.rest.listings = dict(seed.venue(self.name).listings)
        self.private = PrivateStreams(hub, self.accounts, self.rest.rows)
        self._servers: list[Server] = []

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.hub.ids_rng.getrandbits(128), version=4))

    def port_count(self) -> int:
        return 2

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
        rest_port = await self.rest.host.start(host, ports[1])
        return [
            ("bybit", "inverse", ws + INVERSE_PATH),
            ("bybit", "spot", ws + SPOT_PATH),
            ("bybit", "rest", f"http://{host}:{rest_port}"),
            ("bybit", "private", ws + PRIVATE_PATH),
        ]

    async def stop(self) -> None:
        for s in self._servers:
            s.close()
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()
        await self.rest.host.stop()

    def refresh(self) -> None:
        self.tickers.refresh()

    def stepped(self) -> None:
        for b in self.books.values():
            b.reset()
        for acct in self.accounts.all():
            acct.match_resting()
            liquidated = acct.check_liquidations()
            self.hub.stats.liquidations += len(liquidated)

    def settle(self, st: Settlement) -> None:
        for acct in self.accounts.all():
            acct.settle_funding(st.coin, st.rate, st.mark, st.ts_ms)

    def _route(self, conn: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        return None if path in (INVERSE_PATH, SPOT_PATH, PRIVATE_PATH) else not_found(path)

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        path = urlsplit(ws.request.path).path
        if path == PRIVATE_PATH:
            await serve_conn(self.hub, self.private.conn(ws))
            return
        conn = PublicConn(self.hub, ws, self.tickers, spot=path == SPOT_PATH)
        await serve_conn(self.hub, conn)
